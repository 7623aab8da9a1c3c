//! An already reconstructed PET series and its CT in one frame: SUV, placement (the scanners'
//! coordinates, a given motion, or registration of the CT to the PET), and the fused one-page
//! summary.
//!
//! [`fuse_pet_ct`] reads both series, refuses a pair from different studies or frames of
//! reference (unless told otherwise), converts the PET to SUVbw when its header gives what SUV
//! needs (else keeps its units, with a warning saying what is missing), places it over the CT,
//! and [`FusedPetCt::write`] writes the summary page and the (SUV) volume as NIfTI.

use std::path::{Path, PathBuf};

use ndarray::Array3;

use super::frame::check_same_frame;
use super::register::register_ct_to_image;
use super::summary::Summary;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::fusion::{Registration, Rigid, write_png};
use crate::geometry::PatientGrid;
use crate::io::dicom::{
    CtSeries, PetSeries, ReadLimits, SeriesSelect, read_ct_series, read_pet_series,
};

/// Settings of [`fuse_pet_ct`].
#[derive(Debug, Clone)]
pub struct FusePetCtOptions {
    /// Convert to SUVbw when the header allows (default on).
    pub suv: bool,
    /// Where the CT lies relative to the PET, when the scanners' coordinates are not to be
    /// trusted: the CT's value at `motion.apply(p)` belongs at PET position `p`.
    pub ct_motion: Option<Rigid>,
    /// Register the CT to the PET image ([`super::register_ct_to_image`]), starting from
    /// `ct_motion` (or the scanners' coordinates), and place it by the result (default off).
    pub register: bool,
    /// Accept a PET and a CT of different frames of reference (or without the UIDs to tell).
    pub allow_other_frame: bool,
    /// Which PET series of its folder (default the largest).
    pub pet_series: SeriesSelect,
    /// Which CT series of its folder (default the largest).
    pub ct_series: SeriesSelect,
    /// Reading limits.
    pub limits: ReadLimits,
    /// Where registration's cost runs (default: the GPU when there is one).
    pub backend: Backend,
}

impl Default for FusePetCtOptions {
    fn default() -> Self {
        Self {
            suv: true,
            ct_motion: None,
            register: false,
            allow_other_frame: false,
            pet_series: SeriesSelect::Largest,
            ct_series: SeriesSelect::Largest,
            limits: ReadLimits::default(),
            backend: Backend::Auto,
        }
    }
}

/// A PET series placed over its CT.
#[derive(Debug)]
pub struct FusedPetCt {
    /// The PET volume `[z, y, x]` on `grid`, in `units`.
    pub image: Array3<f32>,
    /// `"SUVbw"` (g/mL), or the series' own units (e.g. `"BQML"`) when SUV was not asked for or
    /// the header lacks what it needs.
    pub units: String,
    /// Where the PET lies in the CT's frame of reference.
    pub grid: PatientGrid,
    /// The registration of the CT to the PET, with [`FusePetCtOptions::register`].
    pub registration: Option<Registration>,
    /// The PET series as read (values as stored, rescaled).
    pub pet: PetSeries,
    /// The CT as read.
    pub ct: CtSeries,
    /// The settings asked for.
    pub options: FusePetCtOptions,
    /// What the user should know (e.g. why there is no SUV).
    pub warnings: Vec<String>,
}

/// What [`FusedPetCt::write`] wrote.
#[derive(Debug, Clone)]
pub struct FusedPetCtFiles {
    /// The PET volume (in [`FusedPetCt::units`]) as NIfTI, on its grid in the CT's frame.
    pub nifti: PathBuf,
    /// The one-page summary.
    pub summary_png: PathBuf,
}

/// Reads the PET series in `pet_path` and the CT in `ct_path` (folders or files) and places
/// the PET over the CT (see the module docs).
///
/// # Errors
/// Everything [`read_pet_series`], [`read_ct_series`] and [`fuse_pet_ct_from`] report.
pub fn fuse_pet_ct(
    pet_path: &Path,
    ct_path: &Path,
    options: &FusePetCtOptions,
) -> Result<FusedPetCt> {
    let pet = read_pet_series(pet_path, &options.pet_series, &options.limits)?;
    let ct = read_ct_series(ct_path, &options.ct_series, &options.limits)?;
    fuse_pet_ct_from(pet, ct, options)
}

/// As [`fuse_pet_ct`], from series already read.
///
/// # Errors
/// [`Error::InvalidArgument`] for a PET and a CT of different studies or frames of reference
/// (unless allowed); non-finite PET values; registration errors.
pub fn fuse_pet_ct_from(
    pet: PetSeries,
    ct: CtSeries,
    options: &FusePetCtOptions,
) -> Result<FusedPetCt> {
    let v = &pet.volume;
    check_same_frame(
        "PET",
        (&v.study_uid, &v.frame_of_reference_uid),
        &ct,
        options.allow_other_frame,
    )?;
    crate::error::check_finite("PET series", v.data.as_slice().expect("standard layout"))?;
    let mut warnings = Vec::new();
    let stored_units = pet.suv.units.clone().unwrap_or_else(|| "as stored".into());
    let (image, units) = if options.suv {
        match pet.suv.suv_bw_scale() {
            Ok(k) => (v.data.mapv(|x| (x as f64 * k) as f32), "SUVbw".to_string()),
            Err(e) => {
                let why = match e {
                    Error::InvalidArgument(why) => why,
                    other => other.to_string(),
                };
                warnings.push(format!("no SUV: {why}; the image is in {stored_units}"));
                (v.data.clone(), stored_units)
            }
        }
    } else {
        (v.data.clone(), stored_units)
    };
    let registration = if options.register {
        Some(register_ct_to_image(
            image.view(),
            &v.grid,
            &ct,
            options.ct_motion,
            options.backend,
        )?)
    } else {
        None
    };
    let motion = registration
        .as_ref()
        .map(|r| r.transform)
        .or(options.ct_motion);
    let grid = motion.map_or_else(|| v.grid.clone(), |m| m.move_grid(&v.grid));
    Ok(FusedPetCt {
        image,
        units,
        grid,
        registration,
        pet,
        ct,
        options: options.clone(),
        warnings,
    })
}

impl FusedPetCt {
    /// The settings as lines of text (for the summary and logs).
    pub fn settings(&self) -> Vec<String> {
        let v = &self.pet.volume;
        let s = &self.pet.suv;
        let [nz, ny, nx] = self.grid.shape;
        let [dz, dy, dx] = self.grid.spacing;
        let mut lines = vec![
            format!("PET series {}", v.series_uid),
            format!(
                "grid {nx}x{ny}x{nz} of {dx:.2} x {dy:.2} x {dz:.2} mm, units {}",
                self.units
            ),
        ];
        if self.units == "SUVbw" {
            lines.push(format!(
                "SUVbw: {:.0} MBq, {:.1} kg, decay correction {}",
                s.injected_activity_bq.unwrap_or(f64::NAN) / 1e6,
                s.patient_weight_kg.unwrap_or(f64::NAN),
                s.decay_correction.as_deref().unwrap_or("?")
            ));
        }
        lines.push(format!("CT series {}", self.ct.volume.series_uid));
        if let Some(t) = &self.options.ct_motion {
            lines.push(format!("CT placed by {}", super::spect_ct::placement(t)));
        }
        if let Some(r) = &self.registration {
            lines.push(format!(
                "CT registered to PET: {}, NMI {:.4} -> {:.4}",
                super::spect_ct::placement(&r.transform),
                r.nmi_start,
                r.nmi
            ));
        }
        lines
    }

    /// The one-page summary (coronal MIP, the three planes fused over the CT through the
    /// hottest voxel, the settings) as RGB bytes `[rows, cols, 3]`.
    ///
    /// # Errors
    /// Only resampling errors, which series on valid grids do not produce.
    pub fn summary_page(&self) -> Result<Array3<u8>> {
        let mut lines = self.settings();
        lines.extend(self.warnings.iter().map(|w| format!("WARNING: {w}")));
        Summary {
            image: self.image.view(),
            grid: &self.grid,
            units: &self.units,
            ct: self.ct.volume.data.view(),
            ct_grid: &self.ct.volume.grid,
            mu_map: None,
            lines,
        }
        .page()
    }

    /// What [`FusedPetCt::write`] puts into its folder.
    pub const OUTPUTS: [&str; 2] = ["pet.nii.gz", "summary.png"];

    /// Writes into `folder` (created when absent): `pet.nii.gz` (the image in
    /// [`FusedPetCt::units`], on its grid in the CT's frame) and `summary.png`, each
    /// atomically; existing files are never overwritten.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when an output exists already; writing failures.
    pub fn write(&self, folder: &Path) -> Result<FusedPetCtFiles> {
        let nifti = folder.join("pet.nii.gz");
        let summary_png = folder.join("summary.png");
        crate::io::check_output_folder(folder, &Self::OUTPUTS)?;
        std::fs::create_dir_all(folder).map_err(|e| Error::Io {
            path: folder.to_path_buf(),
            source: e,
        })?;
        crate::io::nifti::write_nifti(self.image.view(), &self.grid, &nifti, &self.units)?;
        write_png(self.summary_page()?.view(), &summary_png)?;
        Ok(FusedPetCtFiles { nifti, summary_png })
    }
}
