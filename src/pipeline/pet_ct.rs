//! PET-CT: stacks of 2D PET sinograms reconstructed with attenuation factors from the CT.
//!
//! The μ-map is the CT at 511 keV ([`crate::physics::HuToMu`], from the CT's kVp unless given)
//! averaged onto the PET image grid, which must lie in the CT's frame of reference; the
//! attenuation factors `exp(−∫μ)` along each line of response come from the PET model's own
//! projector ([`PetProjector`]), multiplied by the normalisation when given; randoms and
//! scatter are the additive background of OSEM. PET images already reconstructed are placed
//! over their CT by [`super::fuse_pet_ct`].

use std::time::Instant;

use ndarray::{Array3, ArrayViewD, Ix3};

use super::attenuation::attenuation_map;
use crate::backend::{ActiveBackend, Backend};
use crate::error::{Error, Result};
use crate::geometry::{ParallelBeam, PatientGrid};
use crate::io::dicom::CtSeries;
use crate::physics::HuToMu;
use crate::projector::PetProjector;
use crate::recon::Osem;

/// The annihilation photons' energy, keV.
const PET_KEV: f64 = 511.0;

/// Settings of [`pet_ct`].
#[derive(Debug, Clone)]
pub struct PetCtOptions<'a> {
    /// OSEM iterations (default 4).
    pub iterations: usize,
    /// OSEM subsets (default 12).
    pub subsets: usize,
    /// Randoms plus scatter, shaped like the sinograms, ≥ 0.
    pub background: Option<ArrayViewD<'a, f32>>,
    /// Detector efficiencies, shaped like the sinograms, ≥ 0.
    pub normalisation: Option<ArrayViewD<'a, f32>>,
    /// Your own HU → μ curve at 511 keV (default: the CT's kVp).
    pub hu_to_mu: Option<HuToMu>,
    /// Refuse a CT that stops short of the body in the PET field of view (default: accept it,
    /// air beyond, with a warning).
    pub require_full_ct: bool,
    /// Gaussian post-filter FWHM, mm.
    pub post_filter_fwhm: Option<f64>,
    /// Where to compute (default: the GPU when there is one).
    pub backend: Backend,
}

impl Default for PetCtOptions<'_> {
    fn default() -> Self {
        Self {
            iterations: 4,
            subsets: 12,
            background: None,
            normalisation: None,
            hu_to_mu: None,
            require_full_ct: false,
            post_filter_fwhm: None,
            backend: Backend::Auto,
        }
    }
}

/// A finished PET-CT reconstruction.
#[derive(Debug)]
pub struct PetCt {
    /// Activity `[plane, y, x]` on `grid`, in the sinograms' units per line integral of a
    /// voxel (counts / mm, CONVENTIONS.md).
    pub image: Array3<f32>,
    /// The PET image grid, in the CT's frame of reference.
    pub grid: PatientGrid,
    /// The 511 keV μ-map the model used, 1/mm, on `grid`.
    pub mu_map: Array3<f32>,
    /// The HU → μ curve used.
    pub hu_to_mu: HuToMu,
    /// Where it ran.
    pub backend: ActiveBackend,
    /// Seconds spent in the model's plan and OSEM.
    pub reconstruction_seconds: f64,
    /// What the user should know (e.g. a CT shorter than the field of view).
    pub warnings: Vec<String>,
}

/// Reconstructs `sinograms` (`[views, planes, cols]`, prompts, ≥ 0) of `geometry` (views over
/// [0, π), one detector row per plane) on the PET image `grid` (`[planes, y, x]`, square
/// pixels, placed in `ct`'s frame of reference) with attenuation from `ct`.
///
/// # Errors
/// [`Error::InvalidGeometry`] for a grid that does not suit the geometry (planes ≠ rows, pixel
/// sizes); [`Error::ShapeMismatch`] for sinograms of another shape; the errors of the μ-map
/// ([`crate::pipeline::SpectCtOptions::require_full_ct`] alike), the projector and OSEM.
pub fn pet_ct(
    sinograms: ArrayViewD<'_, f32>,
    geometry: ParallelBeam,
    grid: &PatientGrid,
    ct: &CtSeries,
    options: &PetCtOptions<'_>,
) -> Result<PetCt> {
    let image_grid = grid.image_grid()?;
    if geometry.n_rows() != grid.shape[0] {
        return Err(Error::InvalidGeometry(format!(
            "the PET geometry has {} detector rows but the image grid {} planes; expected one \
             row per plane",
            geometry.n_rows(),
            grid.shape[0]
        )));
    }
    let mut warnings = Vec::new();
    let (mu_map, hu_to_mu) = attenuation_map(
        ct,
        grid,
        PET_KEV,
        options.hu_to_mu,
        options.require_full_ct,
        options.backend,
        &mut warnings,
    )?;
    let t = Instant::now();
    let pet = PetProjector::new(
        geometry,
        image_grid,
        Some(mu_map.view().into_dyn()),
        options.normalisation.clone(),
        options.backend,
    )?;
    let osem = Osem {
        background: options.background.clone(),
        post_filter_fwhm: options.post_filter_fwhm,
        ..Osem::new(options.iterations, options.subsets)
    };
    let image = osem
        .run(&pet, sinograms)?
        .into_dimensionality::<Ix3>()
        .expect("3D grid");
    Ok(PetCt {
        image,
        grid: grid.clone(),
        mu_map,
        hu_to_mu,
        backend: pet.backend().clone(),
        reconstruction_seconds: t.elapsed().as_secs_f64(),
        warnings,
    })
}
