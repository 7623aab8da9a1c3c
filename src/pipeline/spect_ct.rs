//! From a gamma camera's NM file and its CT folder to an attenuation-, scatter- and
//! resolution-corrected SPECT reconstruction in the CT's frame of reference.
//!
//! The steps, in order ([`spect_ct`]):
//! 1. read the NM projections and the CT series; refuse a pair from different studies or
//!    frames of reference (unless told otherwise);
//! 2. choose the photopeak window holding [`SpectCtOptions::photopeak_kev`] and the scatter
//!    windows adjacent to it (their edges within 3 % of the photopeak energy of its edges);
//! 3. scatter: triple-energy-window (default), dual-energy-window, or none, as the additive
//!    background of the model;
//! 4. the CT placed by the scanners' shared coordinates, or by a rigid motion you give
//!    ([`SpectCtOptions::ct_motion`], e.g. from [`crate::fusion::register_rigid`] of this CT to
//!    another session's), and with [`SpectCtOptions::register`] refined by registering the CT
//!    to the emission data itself ([`register_ct_to_emission`]);
//! 5. the μ-map: CT numbers → μ at the photopeak energy ([`HuToMu`], from the CT's kVp unless
//!    given), then averaged onto the emission grid; where the CT stops short of the body in the
//!    emission field of view, a warning (or, with `require_full_ct`, an error);
//! 6. OSEM with attenuation and the collimator-detector response (from the header's
//!    collimator, or given) in the system model, and an optional Gaussian post-filter;
//! 7. units: counts per second per voxel (the counts each voxel sends to the camera per view,
//!    divided by the time per view), or Bq/mL with a calibration factor in counts per second
//!    per MBq (the planar sensitivity, measured in air);
//! 8. decay correction ([`DecayCorrection`]): by default to the acquisition's start when the
//!    header gives the half-life, or to the injection when it also gives both times.
//!
//! [`SpectCt::write`] writes the result as a DICOM NM series in the CT's study and frame of
//! reference, NIfTI volumes of the reconstruction and the μ-map, and a one-page summary PNG.
//! Not done (yet): views of different durations (refused).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use ndarray::{Array3, ArrayView3, Ix3};

use super::attenuation::attenuation_map;
use super::frame::check_same_frame;
use super::register::register_ct_to_emission;
use super::summary::Summary;
use super::windows::adjacent_windows;
use crate::backend::{ActiveBackend, Backend};
use crate::error::{Error, Result};
use crate::fusion::write_png;
use crate::fusion::{Registration, Rigid};
use crate::geometry::{Collimator, ImageGrid, PatientGrid, SpectGeometry};
use crate::io::dicom::{
    CtSeries, NmProjections, ReadLimits, Reference, SeriesSelect, SeriesWriter, WriteModality,
    read_ct_series, read_nm_projections,
};
use crate::operator::SystemModel;
use crate::physics::{HuToMu, dual_energy_window, triple_energy_window};
use crate::projector::SpectProjector;
use crate::recon::Osem;

/// How scatter in the photopeak window is estimated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScatterCorrection {
    /// Triple energy window from the windows just below and above the photopeak; without
    /// an upper window its counts are taken as 0 (the usual choice for Tc-99m), and the
    /// settings say so.
    TripleEnergyWindow,
    /// Dual energy window: `k` times the counts of the window just below the photopeak.
    DualEnergyWindow {
        /// The ratio `k` (0.5 in Jaszczak's Tc-99m work; calibrate it for yours).
        k: f64,
    },
    /// No scatter estimate.
    None,
}

/// To which moment the activity is corrected for radioactive decay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecayCorrection {
    /// None: the image is the mean over the acquisition.
    None,
    /// To the start of the acquisition (the default), for decay during it: × λT / (1 − e^(−λT))
    /// for an acquisition of `T` seconds (views × time per view ÷ detectors) and
    /// λ = ln 2 / half-life. Applied when the header gives the half-life; without it the
    /// settings say that no correction was made.
    AcquisitionStart,
    /// To the injection: as `AcquisitionStart`, and × e^(λ·Δt) for the time Δt from the
    /// injection to the acquisition's start. Needs the half-life and both times in the header.
    Injection,
}

/// Settings of [`spect_ct`].
#[derive(Debug, Clone)]
pub struct SpectCtOptions {
    /// The photopeak, keV: the narrowest window holding it is reconstructed; its μ-map is
    /// computed at this energy.
    pub photopeak_kev: f64,
    /// Scatter estimate (default triple energy window).
    pub scatter: ScatterCorrection,
    /// Attenuation correction from the CT (default on).
    pub attenuation: bool,
    /// Your own HU → μ curve (default: [`HuToMu::at_energy`] at the photopeak and the CT's kVp).
    pub hu_to_mu: Option<HuToMu>,
    /// Collimator-detector response (default: the preset named by the header's collimator).
    pub collimator: Option<Collimator>,
    /// OSEM iterations (default 4).
    pub iterations: usize,
    /// OSEM subsets (default 8).
    pub subsets: usize,
    /// Gaussian post-filter FWHM, mm (default none).
    pub post_filter_fwhm: Option<f64>,
    /// System sensitivity, counts per second per MBq: the result is then in Bq/mL.
    pub calibration_cps_per_mbq: Option<f64>,
    /// Decay correction (default: to the acquisition's start, when the header gives the
    /// half-life).
    pub decay_correction: DecayCorrection,
    /// Where the CT lies relative to the emission data, when the scanners' coordinates are not
    /// to be trusted: the CT's value at `motion.apply(p)` belongs at emission position `p`
    /// (as [`crate::fusion::Registration::transform`] gives it; e.g. from registering this
    /// CT to another session's CT). Default: none (the hardware registration is trusted).
    pub ct_motion: Option<Rigid>,
    /// Register the CT to the emission data ([`register_ct_to_emission`]), starting from
    /// `ct_motion` (or the scanners' coordinates), and place it by the result (default off:
    /// the hardware registration is trusted). For patients who moved between the scans.
    pub register: bool,
    /// Accept an NM and a CT of different frames of reference (or without the UIDs to tell);
    /// their placement is then only as good as the scanners' coordinates (or `ct_motion`).
    pub allow_other_frame: bool,
    /// Refuse a CT that cuts through the body inside the emission field of view. By default
    /// such a CT is accepted with a warning (in [`SpectCt::warnings`]): the tissue beyond it
    /// is taken as air (μ = 0), which under-corrects there and only there. Low-dose CTs of
    /// SPECT-CT are often shorter than the camera's field (the shared study's CT stops above
    /// the neck but below the top of the head).
    pub require_full_ct: bool,
    /// Where to compute (default: the GPU when there is one).
    pub backend: Backend,
    /// Which CT series of the folder (default the largest).
    pub ct_series: SeriesSelect,
    /// Reading limits.
    pub limits: ReadLimits,
}

impl SpectCtOptions {
    /// Defaults (see each field) for the photopeak at `photopeak_kev`.
    pub fn new(photopeak_kev: f64) -> Self {
        Self {
            photopeak_kev,
            scatter: ScatterCorrection::TripleEnergyWindow,
            attenuation: true,
            hu_to_mu: None,
            collimator: None,
            iterations: 4,
            subsets: 8,
            post_filter_fwhm: None,
            calibration_cps_per_mbq: None,
            decay_correction: DecayCorrection::AcquisitionStart,
            ct_motion: None,
            register: false,
            allow_other_frame: false,
            require_full_ct: false,
            backend: Backend::Auto,
            ct_series: SeriesSelect::Largest,
            limits: ReadLimits::default(),
        }
    }
}

/// Where [`spect_ct`] is, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading the DICOM files.
    Reading,
    /// Estimating scatter.
    Scatter,
    /// Registering the CT to the emission data.
    Registration,
    /// Computing the μ-map.
    AttenuationMap,
    /// OSEM: `done` of `of` iterations finished.
    Iteration {
        /// Iterations finished.
        done: usize,
        /// Iterations in all.
        of: usize,
    },
}

/// A finished SPECT-CT reconstruction.
#[derive(Debug)]
pub struct SpectCt {
    /// The activity, `[z, y, x]` on `grid`, in `units`.
    pub image: Array3<f32>,
    /// `"CPS"` (counts per second per voxel) or `"BQML"`.
    pub units: &'static str,
    /// Where the image lies, in the CT's frame of reference.
    pub grid: PatientGrid,
    /// The μ-map the model used, 1/mm, on `grid` (`None` without attenuation correction).
    pub mu_map: Option<Array3<f32>>,
    /// The HU → μ curve used (`None` without attenuation correction).
    pub hu_to_mu: Option<HuToMu>,
    /// The registration of the CT to the emission data, with [`SpectCtOptions::register`]: its
    /// transform placed the CT.
    pub registration: Option<Registration>,
    /// The NM acquisition as read.
    pub nm: NmProjections,
    /// The NM file.
    pub nm_path: PathBuf,
    /// The CT as read (shared by the beds of a whole-body study: one copy in memory).
    pub ct: Arc<CtSeries>,
    /// Index (into `nm.windows`) of the photopeak window.
    pub photopeak: usize,
    /// Indices of the lower and upper scatter windows used.
    pub scatter_windows: (Option<usize>, Option<usize>),
    /// The collimator-detector response modelled.
    pub collimator: Collimator,
    /// The decay correction the image was multiplied by (1 without one).
    pub decay_factor: f64,
    /// What the decay correction corrected to (a settings line).
    pub decay_description: String,
    /// Where the reconstruction ran.
    pub backend: ActiveBackend,
    /// Seconds spent reconstructing (planning, OSEM and post-filter).
    pub reconstruction_seconds: f64,
    /// The settings asked for.
    pub options: SpectCtOptions,
    /// What the user should know about this result (e.g. a CT shorter than the emission field
    /// of view).
    pub warnings: Vec<String>,
}

/// Reads `nm_path` (an NM tomographic acquisition) and the CT in `ct_path` (a folder or file)
/// and reconstructs them (see the module docs); `progress` is told each stage.
///
/// # Errors
/// Everything [`read_nm_projections`], [`read_ct_series`] and [`spect_ct_from`] report.
pub fn spect_ct(
    nm_path: &Path,
    ct_path: &Path,
    options: &SpectCtOptions,
    mut progress: Option<&mut dyn FnMut(Stage)>,
) -> Result<SpectCt> {
    if let Some(p) = progress.as_deref_mut() {
        p(Stage::Reading);
    }
    let nm = read_nm_projections(nm_path, &options.limits)?;
    let ct = read_ct_series(ct_path, &options.ct_series, &options.limits)?;
    spect_ct_from(nm, nm_path, ct, options, progress)
}

/// As [`spect_ct`], from an NM acquisition and a CT already read (`nm_path` names the NM
/// file for the record).
///
/// # Errors
/// [`Error::InvalidArgument`] for: a photopeak no window holds; missing scatter windows;
/// an NM and a CT of different studies or frames of reference; a CT not covering the body in
/// the emission field of view (with `require_full_ct`); a CT without kVp (and no curve given); an unknown collimator
/// (and none given); views of different durations; a bad calibration factor. Errors of the
/// projector and OSEM.
pub fn spect_ct_from(
    nm: NmProjections,
    nm_path: &Path,
    ct: CtSeries,
    options: &SpectCtOptions,
    mut progress: Option<&mut dyn FnMut(Stage)>,
) -> Result<SpectCt> {
    let mut tell = |stage| {
        if let Some(p) = progress.as_deref_mut() {
            p(stage)
        }
    };
    prepare(nm, nm_path, Arc::new(ct), options, &mut tell)?.reconstruct_alone(&mut tell)
}

/// A bed read, placed and corrected, ready to be reconstructed alone or with others.
pub(super) struct Prepared {
    /// The result but for its image (empty until [`Prepared::finish`]), backend and time.
    pub result: SpectCt,
    /// The acquisition with the collimator response modelled.
    pub geometry: SpectGeometry,
    /// The reconstruction's grid, in the NM's own frame.
    pub image_grid: ImageGrid,
    /// The scatter estimate in the photopeak window, when corrected.
    pub scatter: Option<Array3<f32>>,
    /// From reconstructed values to the output units, decay included.
    pub scale: f64,
}

impl Prepared {
    /// The photopeak counts, `[views, rows, cols]`.
    pub fn counts(&self) -> ndarray::ArrayView3<'_, f32> {
        self.result.nm.counts[self.result.photopeak].view()
    }

    /// The bed's system model: its orbit, collimator response and μ-map.
    pub fn projector(&self) -> Result<SpectProjector> {
        SpectProjector::new(
            self.geometry.clone(),
            self.image_grid.clone(),
            self.result.mu_map.as_ref().map(|m| m.view()),
            self.result.options.backend,
        )
    }

    /// The bed reconstructed on its own ([`reconstruct`] through [`Prepared::projector`]);
    /// `tell` hears each iteration.
    pub fn reconstruct_alone(self, tell: &mut dyn FnMut(Stage)) -> Result<SpectCt> {
        let t = Instant::now();
        let spect = self.projector()?;
        let counts = reconstruct(
            &spect,
            self.counts(),
            self.scatter.as_ref(),
            &self.result.options,
            tell,
        )?;
        let backend = spect.backend().clone();
        Ok(self.finish(counts, backend, t.elapsed().as_secs_f64()))
    }

    /// The result with its image: `counts` (the reconstruction, on the bed's grid) in the
    /// output units.
    pub fn finish(self, counts: Array3<f32>, backend: ActiveBackend, seconds: f64) -> SpectCt {
        let scale = self.scale;
        SpectCt {
            image: counts.mapv(|v| (v as f64 * scale) as f32),
            backend,
            reconstruction_seconds: seconds,
            ..self.result
        }
    }
}

/// Reads, places and corrects one bed: every step of [`spect_ct_from`] before OSEM.
pub(super) fn prepare(
    nm: NmProjections,
    nm_path: &Path,
    ct: Arc<CtSeries>,
    options: &SpectCtOptions,
    tell: &mut dyn FnMut(Stage),
) -> Result<Prepared> {
    check_same_frame(
        "NM",
        (&nm.study_uid, &nm.frame_of_reference_uid),
        &ct,
        options.allow_other_frame,
    )?;
    let mut warnings = Vec::new();
    let photopeak = nm.window_at(options.photopeak_kev).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "no energy window holds {} keV; the windows are {}",
            options.photopeak_kev,
            list_windows(&nm)
        ))
    })?;
    let t_view = seconds_per_view(&nm)?;
    let (scale, units) = units_scale(&nm.grid, t_view, options.calibration_cps_per_mbq)?;
    let (decay_factor, decay_description) =
        decay_correction_factor(&nm, t_view, options.decay_correction)?;
    let collimator = match options.collimator {
        Some(c) => c,
        None => nm.collimator_at(options.photopeak_kev)?,
    };
    let geometry = nm.spect_geometry(Some(collimator))?;
    let image_grid = nm.image_grid()?;

    tell(Stage::Scatter);
    let (scatter, scatter_windows) = scatter_estimate(&nm, photopeak, options.scatter)?;

    let registration = if options.register {
        tell(Stage::Registration);
        Some(register_ct_to_emission(
            &nm,
            photopeak,
            collimator,
            &ct,
            options.ct_motion,
            options.backend,
        )?)
    } else {
        None
    };
    let ct_motion = registration
        .as_ref()
        .map(|r| r.transform)
        .or(options.ct_motion);
    let grid = ct_motion.map_or_else(|| nm.grid.clone(), |m| m.move_grid(&nm.grid));

    let (mu_map, hu_to_mu) = if options.attenuation {
        tell(Stage::AttenuationMap);
        let (mu, curve) = attenuation_map(
            &ct,
            &grid,
            options.photopeak_kev,
            options.hu_to_mu,
            options.require_full_ct,
            options.backend,
            &mut warnings,
        )?;
        (Some(mu), Some(curve))
    } else {
        (None, None)
    };

    Ok(Prepared {
        result: SpectCt {
            image: Array3::zeros((0, 0, 0)),
            units,
            grid,
            mu_map,
            hu_to_mu,
            registration,
            photopeak,
            scatter_windows,
            collimator,
            decay_factor,
            decay_description,
            backend: ActiveBackend::Cpu,
            reconstruction_seconds: 0.0,
            nm,
            nm_path: nm_path.to_path_buf(),
            ct,
            options: options.clone(),
            warnings,
        },
        geometry,
        image_grid,
        scatter,
        scale: scale * decay_factor,
    })
}

/// OSEM of the photopeak `counts` with the `scatter` background through `model`, as
/// `options` say (iterations, subsets, post-filter); `tell` hears each iteration.
pub(super) fn reconstruct(
    model: &impl SystemModel,
    counts: ArrayView3<'_, f32>,
    scatter: Option<&Array3<f32>>,
    options: &SpectCtOptions,
    tell: &mut dyn FnMut(Stage),
) -> Result<Array3<f32>> {
    let osem = Osem {
        background: scatter.map(|s| s.view().into_dyn()),
        post_filter_fwhm: options.post_filter_fwhm,
        ..Osem::new(options.iterations, options.subsets)
    };
    let of = options.iterations;
    let mut on_iteration = |r: &crate::recon::IterationReport<'_>| {
        tell(Stage::Iteration {
            done: r.iteration,
            of,
        });
        true
    };
    let image = osem.run_with(model, counts.into_dyn(), Some(&mut on_iteration))?;
    Ok(image.into_dimensionality::<Ix3>().expect("3D model"))
}

fn list_windows(nm: &NmProjections) -> String {
    nm.windows
        .iter()
        .map(|w| format!("{:.1}–{:.1}", w.lower_kev, w.upper_kev))
        .collect::<Vec<_>>()
        .join(", ")
        + " keV"
}

fn seconds_per_view(nm: &NmProjections) -> Result<f64> {
    let d = &nm.frame_durations;
    let mean = d.iter().sum::<f64>() / d.len().max(1) as f64;
    if mean.is_nan() || mean <= 0.0 || d.iter().any(|t| (t - mean).abs() > 0.01 * mean) {
        return Err(Error::InvalidArgument(format!(
            "views last {:.3}–{:.3} s; tomors needs views of one positive duration",
            d.iter().copied().fold(f64::INFINITY, f64::min),
            d.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        )));
    }
    Ok(mean)
}

/// Scale from the reconstruction to the output units. The projector's sums are line integrals
/// (image value × mm, CONVENTIONS.md), so a voxel of value `x` sends `x · d` counts per view
/// to the camera (`d` its side, mm; SPECT voxels are cubes of the bin size).
fn units_scale(
    grid: &PatientGrid,
    seconds_per_view: f64,
    calibration_cps_per_mbq: Option<f64>,
) -> Result<(f64, &'static str)> {
    let cps = grid.spacing[2] / seconds_per_view;
    match calibration_cps_per_mbq {
        None => Ok((cps, "CPS")),
        Some(c) if c.is_finite() && c > 0.0 => {
            let voxel_ml = grid.spacing.iter().product::<f64>() / 1000.0;
            // cps / (cps per MBq) = MBq; × 1e6 Bq/MBq; per mL.
            Ok((cps / c * 1e6 / voxel_ml, "BQML"))
        }
        Some(c) => Err(Error::InvalidArgument(format!(
            "calibration factor {c} counts/s per MBq; expected a finite value > 0"
        ))),
    }
}

/// The decay factor for `which` and its settings line (see [`DecayCorrection`]).
fn decay_correction_factor(
    nm: &NmProjections,
    seconds_per_view: f64,
    which: DecayCorrection,
) -> Result<(f64, String)> {
    if which == DecayCorrection::None {
        return Ok((1.0, "no decay correction".into()));
    }
    let Some(half_life) = nm.half_life_s else {
        return match which {
            DecayCorrection::Injection => Err(Error::InvalidArgument(
                "decay correction to the injection needs the radionuclide half-life, which the \
                 NM header does not give"
                    .into(),
            )),
            _ => Ok((
                1.0,
                "no decay correction (no half-life in the header)".into(),
            )),
        };
    };
    let lambda = std::f64::consts::LN_2 / half_life;
    let mut detectors = nm.detectors.clone();
    detectors.sort_unstable();
    detectors.dedup();
    let duration = seconds_per_view * nm.angles.len() as f64 / detectors.len().max(1) as f64;
    let x = lambda * duration;
    // λT / (1 − e^(−λT)), → 1 + λT/2 for short acquisitions.
    let during = if x > 1e-9 { x / -(-x).exp_m1() } else { 1.0 };
    let days = half_life / 86_400.0;
    match which {
        DecayCorrection::Injection => {
            let Some(elapsed) = nm.injection_to_start_s.filter(|t| *t >= 0.0) else {
                return Err(Error::InvalidArgument(format!(
                    "decay correction to the injection needs the injection and acquisition \
                     times; the NM header gives {}",
                    match nm.injection_to_start_s {
                        Some(t) => format!("an acquisition {:.0} s before the injection", -t),
                        None => "not both".into(),
                    }
                )));
            };
            let f = during * (lambda * elapsed).exp();
            Ok((
                f,
                format!(
                    "decay-corrected to injection ({:.2} h before; T1/2 {days:.3} d), x{f:.4}",
                    elapsed / 3600.0
                ),
            ))
        }
        _ => Ok((
            during,
            format!("decay-corrected to acquisition start (T1/2 {days:.3} d), x{during:.5}"),
        )),
    }
}

#[allow(clippy::type_complexity)]
fn scatter_estimate(
    nm: &NmProjections,
    peak: usize,
    method: ScatterCorrection,
) -> Result<(Option<Array3<f32>>, (Option<usize>, Option<usize>))> {
    if method == ScatterCorrection::None {
        return Ok((None, (None, None)));
    }
    let (below, above) = adjacent_windows(nm, peak);
    let Some(lower) = below else {
        return Err(Error::InvalidArgument(format!(
            "no scatter window lies just below the photopeak {:.1}–{:.1} keV (windows: {}); \
             choose scatter correction None",
            nm.windows[peak].lower_kev,
            nm.windows[peak].upper_kev,
            list_windows(nm)
        )));
    };
    let view = |i: usize| nm.counts[i].view().into_dyn();
    let estimate = match method {
        ScatterCorrection::TripleEnergyWindow => triple_energy_window(
            view(lower),
            above.map(view),
            nm.windows[lower].width_kev(),
            above.map_or(1.0, |u| nm.windows[u].width_kev()),
            nm.windows[peak].width_kev(),
        )?,
        ScatterCorrection::DualEnergyWindow { k } => dual_energy_window(view(lower), k)?,
        ScatterCorrection::None => unreachable!("handled above"),
    };
    let above = match method {
        ScatterCorrection::TripleEnergyWindow => above,
        _ => None,
    };
    Ok((
        Some(estimate.into_dimensionality::<Ix3>().expect("3D counts")),
        (Some(lower), above),
    ))
}

/// What [`SpectCt::write`] wrote.
#[derive(Debug, Clone)]
pub struct SpectCtFiles {
    /// The DICOM NM series' files.
    pub dicom: Vec<PathBuf>,
    /// Its Series Instance UID.
    pub series_uid: String,
    /// The reconstruction as NIfTI.
    pub nifti: PathBuf,
    /// The μ-map as NIfTI (with attenuation correction).
    pub mu_map_nifti: Option<PathBuf>,
    /// The one-page summary.
    pub summary_png: PathBuf,
}

impl SpectCt {
    /// What [`SpectCt::write`] puts into its folder (the DICOM series under `dicom/`).
    pub const OUTPUTS: [&str; 4] = ["recon.nii.gz", "mu_map.nii.gz", "summary.png", "dicom"];

    /// Writes into `folder`: `dicom/` (an NM series in the CT's study and frame of reference),
    /// `recon.nii.gz`, `mu_map.nii.gz` (with attenuation correction) and `summary.png`. Every
    /// file is written atomically; existing files are never overwritten.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when an output exists already; writing failures.
    pub fn write(&self, folder: &Path) -> Result<SpectCtFiles> {
        let nifti = folder.join("recon.nii.gz");
        let mu_nifti = folder.join("mu_map.nii.gz");
        let summary_png = folder.join("summary.png");
        crate::io::check_output_folder(folder, &Self::OUTPUTS)?;
        let reference = Reference::from_file(&self.ct.volume.files[0])?;
        let writer = SeriesWriter {
            description: format!(
                "tomors SPECT {:.0} keV OSEM {}x{}{}{}",
                self.options.photopeak_kev,
                self.options.iterations,
                self.options.subsets,
                if self.mu_map.is_some() { " AC" } else { "" },
                if self.scatter_windows.0.is_some() {
                    " SC"
                } else {
                    ""
                },
            ),
            ..SeriesWriter::new(WriteModality::Nm, self.units).with_reference(reference)
        };
        let written = writer.write(self.image.view(), &self.grid, &folder.join("dicom"))?;
        crate::io::nifti::write_nifti(self.image.view(), &self.grid, &nifti, self.units)?;
        let mu_map_nifti = match &self.mu_map {
            Some(mu) => {
                crate::io::nifti::write_nifti(mu.view(), &self.grid, &mu_nifti, "mu 1/mm")?;
                Some(mu_nifti)
            }
            None => None,
        };
        write_summary(self, &summary_png)?;
        Ok(SpectCtFiles {
            dicom: written.files,
            series_uid: written.series_uid,
            nifti,
            mu_map_nifti,
            summary_png,
        })
    }

    /// The settings as lines of text (for the summary and logs).
    pub fn settings(&self) -> Vec<String> {
        let w = &self.nm.windows;
        let o = &self.options;
        let window = |i: usize| format!("{:.1}-{:.1} keV", w[i].lower_kev, w[i].upper_kev);
        let mut lines = vec![
            format!(
                "photopeak {:.1} keV, window {}",
                o.photopeak_kev,
                window(self.photopeak)
            ),
            format!(
                "OSEM {} it x {} subsets, {} views, {}",
                o.iterations,
                o.subsets,
                self.nm.angles.len(),
                self.backend
            ),
            match self.scatter_windows {
                (Some(l), Some(u)) => format!("scatter TEW {} / {}", window(l), window(u)),
                (Some(l), None) => match o.scatter {
                    ScatterCorrection::DualEnergyWindow { k } => {
                        format!("scatter DEW k {k} x {}", window(l))
                    }
                    _ => format!("scatter TEW {} / none above", window(l)),
                },
                _ => "no scatter correction".into(),
            },
            match &self.hu_to_mu {
                Some(c) => format!(
                    "attenuation: CT {} kVp, mu water {:.4}/cm, bone slope {:.3e}/cm/HU",
                    self.ct.kvp.map_or("?".into(), |k| format!("{k:.0}")),
                    c.mu_water * 10.0,
                    c.upper_slope * 10.0
                ),
                None => "no attenuation correction".into(),
            },
            format!(
                "collimator {} (response modelled)",
                match (o.collimator, self.nm.collimator.as_deref()) {
                    (None, Some(name)) => name,
                    _ => "given",
                }
            ),
            self.decay_description.clone(),
            format!(
                "post-filter {}, units {}",
                o.post_filter_fwhm
                    .map_or("none".into(), |f| format!("{f} mm FWHM")),
                self.units
            ),
            format!(
                "grid {}x{}x{} of {:.2} mm, recon {:.1} s",
                self.grid.shape[2],
                self.grid.shape[1],
                self.grid.shape[0],
                self.grid.spacing[2],
                self.reconstruction_seconds
            ),
        ];
        if let Some(t) = &o.ct_motion {
            lines.push(format!("CT placed by {}", placement(t)));
        }
        if let Some(r) = &self.registration {
            lines.push(format!(
                "CT registered to emission: {}, NMI {:.4} -> {:.4}",
                placement(&r.transform),
                r.nmi_start,
                r.nmi
            ));
        }
        lines
    }
}

/// A rigid motion as one line: translation (mm) and angles (degrees).
pub(super) fn placement(t: &Rigid) -> String {
    format!(
        "({:.1}, {:.1}, {:.1}) mm, ({:.2}, {:.2}, {:.2}) deg",
        t.translation[0],
        t.translation[1],
        t.translation[2],
        t.angles[0].to_degrees(),
        t.angles[1].to_degrees(),
        t.angles[2].to_degrees(),
    )
}

/// The summary page of `r` as RGB bytes `[rows, cols, 3]`.
///
/// # Errors
/// Only resampling errors, which a finished reconstruction does not produce.
pub fn summary_page(r: &SpectCt) -> Result<Array3<u8>> {
    let mut lines = r.settings();
    lines.extend(r.warnings.iter().map(|w| format!("WARNING: {w}")));
    Summary {
        image: r.image.view(),
        grid: &r.grid,
        units: r.units,
        ct: r.ct.volume.data.view(),
        ct_grid: &r.ct.volume.grid,
        // 0 to 1.5 × water's μ in grey.
        mu_map: r.mu_map.as_ref().map(|m| {
            let top = r.hu_to_mu.map_or(0.02, |c| 1.5 * c.mu_water) as f32;
            (m.view(), top)
        }),
        lines,
    }
    .page()
}

/// Writes [`summary_page`] as PNG (atomically).
///
/// # Errors
/// As [`summary_page`] and [`write_png`].
pub fn write_summary(r: &SpectCt, path: &Path) -> Result<()> {
    write_png(summary_page(r)?.view(), path)
}
