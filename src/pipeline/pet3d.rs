//! 3D PET from the scanner's own files: PETLINK list-mode (histogrammed, randoms from its
//! delayeds) or an Interfile sinogram, a Siemens component normalisation, a μ-map (Interfile,
//! 1/cm as STIR writes it, or a CT at 511 keV), reconstructed by OSEM with every correction
//! in the model and written as a DICOM PT series, NIfTI and a one-page summary.
//!
//! The image lies in scanner coordinates, centred on the scanner; for a head-first supine
//! patient they are DICOM LPS (x to the patient's left, y posterior, z towards the head). A CT
//! that gives the μ-map is taken to lie in those coordinates (a PET-CT's CT does), so the
//! series joins the CT's study and frame of reference; otherwise it has its own.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{Array2, Array3, Ix3};

use super::attenuation::attenuation_map;
use super::pet_quant::{DeadTime, PetQuantitation, PetQuantitationOptions, frame_dead_time};
use super::pet_scatter::{ScatterEstimationOptions, estimate_scatter};
use crate::backend::{ActiveBackend, Backend};
use crate::error::{Error, Result};
use crate::fusion::{
    Colormap, Overlay, Page, Plane, Resampling, Window, fuse, plane_image, resample,
};
use crate::geometry::pet::SinogramLayout;
use crate::geometry::{ImageGrid, PatientGrid};
use crate::io::acquisition::PetAcquisition;
use crate::io::dicom::{CtSeries, PetTags, Reference, SeriesWriter, WriteModality};
use crate::io::interfile::{
    InterfileHeader, read_interfile_image, read_interfile_sinogram, write_interfile_image,
};
use crate::io::petlink::ListModeFile;
use crate::io::siemens_norm::MmrNormalisation;
use crate::physics::{RandomsEstimate, randoms_from_delayeds};
use crate::projector::{ListModeEvents, ListModeProjector, Pet3dProjector};
use crate::recon::{Bsrem, Osem, Prior, lm_osem_with};

/// Where the emission data come from.
#[derive(Debug, Clone)]
pub enum PetData {
    /// A PETLINK list-mode file (its `.l.hdr`), histogrammed into the layout of the options.
    ListMode(PathBuf),
    /// A STIR Interfile sinogram (`.hs`), with its own layout.
    Sinogram(PathBuf),
}

/// Where the μ-map comes from.
#[derive(Debug, Clone)]
pub enum MuMap {
    /// An Interfile image (`.hv`) in 1/cm (STIR's unit), resampled onto the image grid.
    Interfile(PathBuf),
    /// A CT series (HU → μ at 511 keV from its kVp), averaged onto the image grid.
    Ct(Box<CtSeries>),
}

/// Settings of [`reconstruct_pet`].
#[derive(Debug, Clone)]
pub struct PetReconOptions {
    /// Axial compression of the histogram (list mode; default 11).
    pub span: u32,
    /// Unmashed views per view (list mode; default 1).
    pub view_mashing: u32,
    /// Time window, seconds from the start (list mode; default all).
    pub window: Option<(f64, f64)>,
    /// OSEM iterations (default 3) and subsets (default 21).
    pub iterations: usize,
    /// See `iterations`.
    pub subsets: usize,
    /// Image voxels `[nz, ny, nx]` (default: the rings' axial extent in half-ring slices,
    /// the transaxial field of view in 4.17 mm voxels).
    pub shape: Option<[usize; 3]>,
    /// Voxel size `[dz, dy, dx]`, mm (default: half a ring, 4.17 mm in-plane).
    pub spacing: Option<[f64; 3]>,
    /// Estimate randoms from the delayeds (list mode; default true).
    pub randoms: bool,
    /// How: ML singles (default) or the fan-sum product.
    pub randoms_estimate: RandomsEstimate,
    /// Additive background sinograms (randoms, scatter) in the data's layout, Interfile
    /// (`.hs`), summed.
    pub background_files: Vec<PathBuf>,
    /// Gaussian post-filter FWHM, mm.
    pub post_filter_fwhm: Option<f64>,
    /// Reconstruct the prompts themselves by list-mode OSEM instead of their histogram (list
    /// mode only; needs view mashing 1; the randoms and background enter per event).
    pub list_mode: bool,
    /// The sensitivity image of list-mode OSEM, an Interfile image (`.hv`) on the
    /// reconstruction's grid as [`PetRecon::write`] leaves it beside an earlier frame's result
    /// (same scanner, layout, normalisation and μ-map): read instead of computed.
    pub sensitivity: Option<PathBuf>,
    /// Bytes the data-sized inputs of OSEM (the sinogram or the events, factors, background)
    /// may take in the backend's memory; beyond it they are sent a subset at a time (the same
    /// image; [`Osem::max_resident_bytes`]). Default: no bound.
    pub max_resident_bytes: Option<u64>,
    /// Penalised-likelihood reconstruction: after the OSEM iterations, `bsrem_iterations` of
    /// BSREM with this penalty ([`Prior::relative_difference`], the usual choice), from the
    /// OSEM image (sinogram data; list-mode OSEM keeps OSEM). Default: none.
    pub prior: Option<Prior>,
    /// BSREM iterations after OSEM when `prior` is given (default 10).
    pub bsrem_iterations: usize,
    /// Scatter by single scatter simulation, scaled to the tails ([`estimate_scatter`]; needs
    /// a μ-map; non-TOF layouts). Default: none.
    pub scatter: Option<ScatterEstimationOptions>,
    /// Calibration, radionuclide, patient and injection for Bq/mL and SUV (over the header's).
    pub quantitation: PetQuantitationOptions,
    /// Where to run.
    pub backend: Backend,
}

impl Default for PetReconOptions {
    fn default() -> Self {
        Self {
            span: 11,
            view_mashing: 1,
            window: None,
            iterations: 3,
            subsets: 21,
            shape: None,
            spacing: None,
            randoms: true,
            randoms_estimate: RandomsEstimate::MlSingles,
            background_files: Vec::new(),
            post_filter_fwhm: None,
            list_mode: false,
            sensitivity: None,
            max_resident_bytes: None,
            prior: None,
            bsrem_iterations: 10,
            scatter: None,
            quantitation: PetQuantitationOptions::default(),
            backend: Backend::Auto,
        }
    }
}

/// A step of [`reconstruct_pet`], for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PetStage {
    /// Reading or histogramming the data.
    Data,
    /// Expanding the normalisation.
    Normalisation,
    /// μ-map and attenuation factors.
    Attenuation,
    /// Randoms from the delayeds.
    Randoms,
    /// Scatter simulation `done` of `of` finished.
    Scatter {
        /// Simulations done.
        done: usize,
        /// Simulations planned.
        of: usize,
    },
    /// OSEM iteration `done` of `of` finished.
    Iteration {
        /// Iterations done.
        done: usize,
        /// Iterations planned.
        of: usize,
    },
}

/// A 3D PET reconstruction.
#[derive(Debug, Clone)]
pub struct PetRecon {
    /// The image `[z, y, x]`: Bq/mL decay-corrected to the scan start with a calibration
    /// ([`PetRecon::quantitation`]), else proportional to counts.
    pub image: Array3<f32>,
    /// What turned the image into Bq/mL (and its SUV factors), when calibrated.
    pub quantitation: Option<PetQuantitation>,
    /// The frame's live fraction and where it came from (given, or from the list mode's
    /// singles and the norm's dead-time components), or why none was applied; computed with
    /// or without a calibration, applied through it.
    pub dead_time: DeadTime,
    /// Timing, radionuclide and injection the header states.
    pub acquisition: PetAcquisition,
    /// The CT's study, frame of reference and patient, when the μ-map came from a CT: the
    /// written series joins them.
    pub reference: Option<Reference>,
    /// The corrections in the model, DICOM Corrected Image terms (`NORM`, `ATTN`, `RAN`,
    /// `SCAT`, `DECY`).
    pub corrected: Vec<&'static str>,
    /// DICOM Reconstruction Method, e.g. `OSEM 3i21s`.
    pub reconstruction_method: String,
    /// Where its voxels lie (scanner coordinates, see the module docs).
    pub grid: PatientGrid,
    /// The μ-map on the image grid (1/mm), when attenuation was corrected.
    pub mu_map: Option<Array3<f32>>,
    /// The sensitivity image `Aᵀm` of list-mode OSEM (`[z, y, x]`), for later frames.
    pub sensitivity: Option<Array3<f32>>,
    /// Randoms (or the given background) over prompts, summed over the layout.
    pub randoms_fraction: Option<f64>,
    /// Scatter over prompts minus randoms, and the tail fit as a profile across the field
    /// (per tangential bin: prompts − randoms, scatter), when scatter was estimated.
    pub scatter: Option<ScatterSummary>,
    /// The settings and what was read, one line each.
    pub settings: Vec<String>,
    /// Warnings (a reconstruction without normalisation, a CT short of the field of view).
    pub warnings: Vec<String>,
}

/// What [`reconstruct_pet`] reports of its scatter estimate.
#[derive(Debug, Clone)]
pub struct ScatterSummary {
    /// Scatter over prompts minus randoms.
    pub fraction: f64,
    /// The tail fit's global scale (about 1 plus the multiple scatter's share when the
    /// normalisation is in absolute units).
    pub global_scale: f64,
    /// Per tangential bin, summed over views and planes: prompts − randoms, and scatter.
    pub profile: Vec<[f64; 2]>,
}

/// Files written by [`PetRecon::write`].
#[derive(Debug, Clone)]
pub struct PetFiles {
    /// The DICOM PT series, one file per slice.
    pub dicom: Vec<PathBuf>,
    /// The NIfTI volume.
    pub nifti: PathBuf,
    /// The list-mode sensitivity image (Interfile `.hv` and `.v`), when there is one.
    pub sensitivity: Option<PathBuf>,
    /// The one-page summary.
    pub summary_png: PathBuf,
}

/// Reconstructs `data` with the normalisation file `norm` (Siemens `.n.hdr`) and the μ-map
/// `mu` when given, calling `progress` at each step.
///
/// # Errors
/// Reading errors (typed, naming the file); [`Error::InvalidArgument`] for settings the data
/// do not allow (a span the scanner does not have, more subsets than views); backend failures.
pub fn reconstruct_pet(
    data: &PetData,
    norm: Option<&Path>,
    mu: Option<&MuMap>,
    options: &PetReconOptions,
    mut progress: Option<&mut dyn FnMut(PetStage)>,
) -> Result<PetRecon> {
    let mut report = |s: PetStage| {
        if let Some(p) = progress.as_deref_mut() {
            p(s);
        }
    };
    let start = Instant::now();
    let mut settings = Vec::new();
    let mut warnings = Vec::new();
    report(PetStage::Data);
    if options.list_mode && !matches!(data, PetData::ListMode(_)) {
        return Err(Error::InvalidArgument(
            "list-mode OSEM needs list-mode data (a sinogram has no events)".into(),
        ));
    }
    if options.list_mode && options.view_mashing != 1 {
        return Err(Error::InvalidArgument(format!(
            "list-mode OSEM needs view mashing 1 (events keep their own view), not {}",
            options.view_mashing
        )));
    }
    if options.prior.is_some() && options.list_mode {
        return Err(Error::InvalidArgument(
            "BSREM runs on the histogram: list-mode OSEM keeps one sensitivity share per \
             subset, which BSREM's preconditioner does not use; leave out the prior or \
             list mode"
                .into(),
        ));
    }
    if options.scatter.is_some() && mu.is_none() {
        return Err(Error::InvalidArgument(
            "a scatter estimate needs the μ-map (where photons scatter): give --mu or --ct".into(),
        ));
    }
    if options.sensitivity.is_some() && !options.list_mode {
        return Err(Error::InvalidArgument(
            "a sensitivity image is read for list-mode OSEM only".into(),
        ));
    }
    let mut prompts: Option<Vec<[u32; 4]>> = None;
    let mut corrected = Vec::new();
    // The header's acquisition keys and the duration counted (list mode).
    let header_acquisition = |h: Result<PetAcquisition>, warnings: &mut Vec<String>| match h {
        Ok(a) => Ok(a),
        Err(e) if options.quantitation.calibration.is_none() => {
            warnings.push(format!("timing and radionuclide not read: {e}"));
            Ok(PetAcquisition::default())
        }
        Err(e) => Err(e),
    };
    // The frame's singles and prompts per pair of buckets (list mode), or why there are none.
    let mut singles: std::result::Result<_, String> =
        Err("a sinogram carries no singles (dead time needs list mode)".to_string());
    let (measured, layout, mut background, acquisition, counted_s) = match data {
        PetData::ListMode(path) => {
            let file = ListModeFile::open(path)?;
            let native = file.layout();
            let layout = SinogramLayout::new(
                native.scanner().clone(),
                native.tangential(),
                options.span,
                native.max_ring_difference(),
                options.view_mashing,
            )?;
            let acquisition = header_acquisition(file.acquisition(), &mut warnings)?;
            let h = file.histogram(&layout, options.window)?;
            if h.prompts.iter().all(|&v| v == 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "{}: no prompts in the layout within the time window {:?} s ({} words read), \
                     nothing to reconstruct",
                    path.display(),
                    options.window.unwrap_or((0.0, f64::INFINITY)),
                    h.counts.words
                )));
            }
            if options.list_mode {
                prompts = Some(file.prompt_pairs(options.window)?.0);
            }
            settings.push(format!(
                "{}: {} prompts, {} delayeds in {:.3} s ({} words)",
                path.display(),
                h.counts.prompts,
                h.counts.delayeds,
                h.counts.last_time_ms as f64 / 1e3,
                h.counts.words
            ));
            let randoms = if options.randoms && h.counts.delayeds > 0 {
                report(PetStage::Randoms);
                let total: f64 = h.delayeds.iter().map(|&v| v as f64).sum();
                let r = randoms_from_delayeds(
                    native,
                    &layout,
                    &h.delayed_fan_sums,
                    total,
                    options.randoms_estimate,
                )?;
                let estimated: f64 = r.iter().map(|&v| v as f64).sum();
                settings.push(format!(
                    "randoms: {total:.0} delayeds, {} estimate holding {estimated:.0}",
                    options.randoms_estimate
                ));
                Some(r)
            } else {
                None
            };
            let counted_s = Some(h.counts.last_time_ms as f64 / 1e3);
            singles = match (h.singles, file.singles_buckets()) {
                (Some(s), _) => {
                    settings.push(format!(
                        "singles: {} reports from {:.0} to {:.0} s, {} of {} buckets, mean \
                         {:.0} counts/s per bucket",
                        s.reports,
                        s.first_s,
                        s.last_s,
                        s.reporting(),
                        s.buckets.len(),
                        s.mean_rate_cps()
                    ));
                    Ok((s, h.bucket_prompts))
                }
                (None, Some(_)) => Err(format!(
                    "the list-mode file has no singles reports within the frame ({} singles \
                     tags in {:.3} s read; the mMR reports every {} s)",
                    h.counts.singles_tags,
                    h.counts.last_time_ms as f64 / 1e3,
                    file.header()
                        .get("singles polling interval (sec)")
                        .unwrap_or("2")
                )),
                (None, None) => Err(
                    "the list-mode header states no singles buckets (total number of singles \
                     blocks)"
                        .to_string(),
                ),
            };
            (h.prompts, layout, randoms, acquisition, counted_s)
        }
        PetData::Sinogram(path) => {
            let (s, layout) = read_interfile_sinogram(path)?;
            if s.iter().all(|&v| v == 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "{}: every bin of the sinogram is 0, nothing to reconstruct",
                    path.display()
                )));
            }
            settings.push(format!("{}: {:.0} counts", path.display(), s.sum()));
            let acquisition = header_acquisition(
                InterfileHeader::read(path).and_then(|h| PetAcquisition::from_header(&h)),
                &mut warnings,
            )?;
            (s, layout, None, acquisition, None)
        }
    };
    for f in &options.background_files {
        let (b, l) = read_interfile_sinogram(f)?;
        if l.shape() != layout.shape() {
            return Err(Error::ShapeMismatch {
                what: "background sinogram",
                expected: layout.shape(),
                got: l.shape(),
            });
        }
        background = Some(match background {
            Some(a) => a + &b,
            None => b,
        });
    }
    settings.push(format!(
        "{}: span {}, max ring difference {}, {} views × {} planes × {} bins",
        layout.scanner().name(),
        layout.span(),
        layout.max_ring_difference(),
        layout.views(),
        layout.planes(),
        layout.tangential()
    ));

    if background.is_some() {
        corrected.push("RAN");
    }
    let norm_file = norm.map(MmrNormalisation::read).transpose()?;
    let dead_time = frame_dead_time(
        options.quantitation.live_fraction,
        singles
            .as_ref()
            .map(|(s, p)| (s, p.as_slice()))
            .map_err(Clone::clone),
        match &norm_file {
            Some(n) => n.dead_time.as_ref().ok_or_else(|| {
                "the normalisation file lists no dead-time components (5 and 6)".to_string()
            }),
            None => Err("no normalisation file (the mMR's dead-time components are its)".into()),
        },
    )?;
    settings.push(dead_time.summary());
    let quantitation = PetQuantitation::new(
        &acquisition,
        options.window,
        counted_s,
        &PetQuantitationOptions {
            live_fraction: dead_time.live_fraction(),
            ..options.quantitation.clone()
        },
    )?;
    let grid = image_grid(&layout, options)?;
    // A given sensitivity image is checked against the grid before any model work.
    let given_sensitivity = match &options.sensitivity {
        Some(path) => {
            settings.push(format!("sensitivity image {}", path.display()));
            Some(read_sensitivity(path, &grid)?)
        }
        None => None,
    };
    let patient = patient_grid(&grid)?;
    let mut model = Pet3dProjector::new(layout.clone(), grid.clone(), options.backend)?;
    let normalisation = match (norm, &norm_file) {
        (Some(path), Some(norm_file)) => {
            report(PetStage::Normalisation);
            let factors = norm_file.factors(&layout)?;
            model = model.with_normalisation(factors.view())?;
            corrected.push("NORM");
            settings.push(format!("normalisation {}", path.display()));
            Some(factors)
        }
        _ => {
            warnings.push("no normalisation: detector efficiencies assumed equal".into());
            None
        }
    };
    let mut reference = None;
    let mu_map = match mu {
        Some(source) => {
            report(PetStage::Attenuation);
            let mu = match source {
                MuMap::Interfile(path) => {
                    let (m, g) = read_interfile_image(path)?;
                    check_mu_covers(path, &g, &grid, fov_radius(&layout))?;
                    let m = m.mapv(|v| v * 0.1);
                    let from = patient_grid(&g)?;
                    settings.push(format!("μ-map {} (1/cm → 1/mm)", path.display()));
                    resample(
                        m.view(),
                        &from,
                        &patient,
                        0.0,
                        Resampling::Average,
                        options.backend,
                    )?
                }
                MuMap::Ct(ct) => {
                    reference = Some(Reference::from_file(&ct.volume.files[0])?);
                    let (m, curve) = attenuation_map(
                        ct,
                        &patient,
                        511.0,
                        None,
                        false,
                        options.backend,
                        &mut warnings,
                    )?;
                    settings.push(format!(
                        "μ-map from CT, water {:.4}/cm",
                        curve.mu_water * 10.0
                    ));
                    m
                }
            };
            model = model.with_attenuation(mu.view().into_dyn())?;
            corrected.push("ATTN");
            Some(mu)
        }
        None => {
            warnings.push("no attenuation correction".into());
            None
        }
    };
    let backend: ActiveBackend = model.backend().clone();
    // Voxels outside the transaxial field of view (which only a few oblique lines of response
    // graze) start, and stay, at 0.
    let fov = fov_radius(&layout);
    let x0 = fov_mask(&grid, fov);
    settings.push(format!("field of view: radius {fov:.0} mm"));
    let prompts_total: f64 = measured.iter().map(|&v| v as f64).sum();
    let randoms_fraction = background
        .as_ref()
        .map(|b| b.iter().map(|&v| v as f64).sum::<f64>() / prompts_total);
    if let Some(f) = randoms_fraction {
        settings.push(format!("randoms fraction {:.1} % of prompts", 100.0 * f));
    }
    let scatter = match (&options.scatter, &mu_map) {
        (Some(so), Some(mu)) => {
            let t = Instant::now();
            let mut step = |done, of| report(PetStage::Scatter { done, of });
            let e = estimate_scatter(
                &model,
                measured.view(),
                background.as_ref().map(|b| b.view()),
                mu.view(),
                normalisation.as_ref().map(|n| n.view()),
                Some(x0.view().into_dyn()),
                so,
                options.backend,
                Some(&mut step),
            )?;
            settings.push(format!(
                "scatter: single scatter simulation ({} points, {}×{} detectors), {} loops of \
                 OSEM {}×{}, tail scale {:.3} (tails: {:.0} prompts − randoms, {:.0} \
                 scatter), fraction {:.1} % of prompts − randoms, {:.1} s",
                e.points,
                e.detectors[0],
                e.detectors[1],
                so.iterations,
                so.osem_iterations,
                so.subsets,
                e.fit.global_scale,
                e.fit.tail_prompts - e.fit.tail_randoms,
                e.fit.tail_scatter,
                100.0 * e.scatter_fraction,
                t.elapsed().as_secs_f64()
            ));
            corrected.push("SCAT");
            let summary = ScatterSummary {
                fraction: e.scatter_fraction,
                global_scale: e.fit.global_scale,
                profile: e.fit.profile.clone(),
            };
            background = Some(match background {
                Some(b) => b + &e.fit.scatter,
                None => e.fit.scatter,
            });
            Some(summary)
        }
        _ => None,
    };
    let osem = Osem {
        background: background.as_ref().map(|b| b.view()),
        x0: Some(x0.view().into_dyn()),
        // With BSREM after it, the filter applies to BSREM's result only.
        post_filter_fwhm: options.post_filter_fwhm.filter(|_| options.prior.is_none()),
        max_resident_bytes: options.max_resident_bytes,
        ..Osem::new(options.iterations, options.subsets)
    };
    let mut cb = |r: &crate::recon::IterationReport<'_>| {
        report(PetStage::Iteration {
            done: r.iteration,
            of: options.iterations,
        });
        true
    };
    let (image, sensitivity) = match prompts {
        Some(pairs) => {
            let events = ListModeEvents::from_crystals(&layout, &pairs, None)?;
            if events.outside_layout() > 0 {
                warnings.push(format!(
                    "{} of {} prompts lie outside the layout (ring difference above {}) and \
                     were left out",
                    events.outside_layout(),
                    pairs.len(),
                    layout.max_ring_difference()
                ));
            }
            drop(pairs);
            let sensitivity = match given_sensitivity {
                Some(s) => s,
                None => model.sensitivity()?,
            };
            let mut lm = ListModeProjector::with_sensitivity(events, &model, sensitivity.view())?;
            if let Some(b) = &background {
                lm = lm.with_background(b.view())?;
            }
            settings.push(format!("list-mode OSEM of {} prompts", lm.events().len()));
            let image = lm_osem_with(&lm, &osem, Some(&mut cb))?;
            (image, Some(sensitivity))
        }
        None => {
            let image = osem.run_with(&model, measured.view(), Some(&mut cb))?;
            match &options.prior {
                None => (image, None),
                Some(prior) => {
                    let bsrem = Bsrem {
                        background: background.as_ref().map(|b| b.view()),
                        x0: Some(image.view()),
                        post_filter_fwhm: options.post_filter_fwhm,
                        max_resident_bytes: options.max_resident_bytes,
                        ..Bsrem::new(options.bsrem_iterations, options.subsets, *prior)
                    };
                    let image = bsrem.run(&model, measured.view())?;
                    settings.push(format!(
                        "BSREM {} it × {} subsets, {:?} penalty β {}",
                        options.bsrem_iterations, options.subsets, prior.kind, prior.beta
                    ));
                    (image, None)
                }
            }
        }
    };
    let mut image: Array3<f32> = image.into_dimensionality::<Ix3>().expect("3D image");
    if let Some(q) = &quantitation {
        let scale = q.scale.bq_ml_per_unit;
        image.par_mapv_inplace(|v| (v as f64 * scale) as f32);
        corrected.push("DECY");
        match &dead_time {
            DeadTime::NotCorrected(why) => {
                warnings.push(format!("dead time not corrected (live fraction 1): {why}"))
            }
            _ => corrected.push("DTIM"),
        }
        settings.push(q.summary());
    } else {
        warnings.push("no calibration: the image is in counts (PROPCNTS), not Bq/mL".into());
    }
    let sensitivity = sensitivity.map(|s| s.into_dimensionality::<Ix3>().expect("3D image"));
    let [nz, ny, nx] = grid.shape();
    let [dz, dy, dx] = grid.spacing();
    settings.push(format!(
        "OSEM {} it × {} subsets on {backend}, grid {nx}×{ny}×{nz} of {dx:.2}×{dy:.2}×{dz:.2} mm, {:.1} s",
        options.iterations,
        options.subsets,
        start.elapsed().as_secs_f64()
    ));
    Ok(PetRecon {
        image,
        quantitation,
        dead_time,
        acquisition,
        reference,
        corrected,
        reconstruction_method: format!(
            "{}OSEM {}i{}s",
            if options.list_mode { "LM-" } else { "" },
            options.iterations,
            options.subsets
        ),
        grid: patient,
        mu_map,
        sensitivity,
        randoms_fraction,
        scatter,
        settings,
        warnings,
    })
}

/// `v` with 3 significant digits, in scientific notation outside 0.01–99999.
fn significant(v: f32) -> String {
    if (0.01..1e5).contains(&v.abs()) {
        let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
        format!("{v:.digits$}")
    } else {
        format!("{v:.2e}")
    }
}

/// What the summary page shows of `image`: the top of its window (the 99.5th percentile of the
/// voxels above 0, never 0), the activity's centre (the centroid of the image clipped to that
/// window, as a voxel index), and the box `[lo, hi)` of the voxels above 5 % of the window
/// (from the 0.5th to the 99.5th percentile of their indices along each axis, so that a few
/// stray voxels do not stretch it) with a margin of 4 voxels (the whole volume when none is).
fn display_frame(
    image: ndarray::ArrayView3<'_, f32>,
) -> (f32, [usize; 3], ([usize; 3], [usize; 3])) {
    let shape = [image.dim().0, image.dim().1, image.dim().2];
    let mut positive: Vec<f32> = image.iter().copied().filter(|v| *v > 0.0).collect();
    let top = if positive.is_empty() {
        f32::MIN_POSITIVE
    } else {
        let k = ((positive.len() - 1) as f64 * 0.995) as usize;
        *positive.select_nth_unstable_by(k, f32::total_cmp).1
    };
    let mut above: [Vec<usize>; 3] = Default::default();
    let (mut weight, mut sum) = (0.0f64, [0.0f64; 3]);
    for ((z, y, x), &v) in image.indexed_iter() {
        let w = v.clamp(0.0, top) as f64;
        weight += w;
        for (s, i) in sum.iter_mut().zip([z, y, x]) {
            *s += w * i as f64;
        }
        if v > 0.05 * top {
            for (a, i) in above.iter_mut().zip([z, y, x]) {
                a.push(i);
            }
        }
    }
    let (mut lo, mut hi) = ([0; 3], shape);
    if !above[0].is_empty() {
        for (k, a) in above.iter_mut().enumerate() {
            a.sort_unstable();
            let at = |q: f64| a[((a.len() - 1) as f64 * q).round() as usize];
            (lo[k], hi[k]) = (at(0.005), at(0.995) + 1);
        }
    }
    let bounds = |k: usize| (lo[k].saturating_sub(4), (hi[k] + 4).min(shape[k]));
    let (lo, hi) = (
        [0, 1, 2].map(|k| bounds(k).0),
        [0, 1, 2].map(|k| bounds(k).1),
    );
    let centre = [0, 1, 2].map(|k| {
        let c = if weight > 0.0 {
            (sum[k] / weight).round() as usize
        } else {
            shape[k] / 2
        };
        c.clamp(lo[k], hi[k] - 1)
    });
    (top, centre, (lo, hi))
}

/// A sensitivity image written by [`PetRecon::write`], checked against `grid`.
fn read_sensitivity(path: &Path, grid: &ImageGrid) -> Result<ndarray::ArrayD<f32>> {
    let (s, g) = read_interfile_image(path)?;
    let close = |a: [f64; 3], b: [f64; 3]| a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-3);
    if g.shape() != grid.shape()
        || !close(g.spacing(), grid.spacing())
        || !close(g.origin(), grid.origin())
    {
        return Err(Error::InvalidArgument(format!(
            "{}: a sensitivity image of {:?} voxels of {:?} mm at {:?}, but the reconstruction's \
             grid is {:?} voxels of {:?} mm at {:?}",
            path.display(),
            g.shape(),
            g.spacing(),
            g.origin(),
            grid.shape(),
            grid.spacing(),
            grid.origin()
        )));
    }
    Ok(s.into_dyn())
}

/// Refuses a μ-map (`path`, on `mu`) whose box does not hold the reconstruction's: the
/// image's slices and the field of view's circle of radius `fov` about the image's axis, to
/// within half an image voxel. Attenuation would silently go uncorrected where it does not
/// reach.
fn check_mu_covers(path: &Path, mu: &ImageGrid, image: &ImageGrid, fov: f64) -> Result<()> {
    let span = |g: &ImageGrid, k: usize| {
        let (o, d, n) = (g.origin()[k], g.spacing()[k], g.shape()[k] as f64);
        (o - d / 2.0, o + (n - 0.5) * d)
    };
    let (slices, rows, cols) = (span(image, 0), span(image, 1), span(image, 2));
    let centre = |(a, b): (f64, f64)| (a + b) / 2.0;
    let need = [
        slices,
        (centre(rows) - fov, centre(rows) + fov),
        (centre(cols) - fov, centre(cols) + fov),
    ];
    let axes = ["z", "y", "x"];
    for k in 0..3 {
        let (have, want) = (span(mu, k), need[k]);
        let slack = image.spacing()[k] / 2.0;
        if have.0 > want.0 + slack || have.1 < want.1 - slack {
            return Err(Error::InvalidArgument(format!(
                "{}: the μ-map spans {:.1} to {:.1} mm in {}, but the reconstruction needs \
                 {:.1} to {:.1} mm (its slices and field of view): attenuation would go \
                 uncorrected beyond it",
                path.display(),
                have.0,
                have.1,
                axes[k],
                want.0,
                want.1
            )));
        }
    }
    Ok(())
}

/// Radius of the transaxial field of view the layout's tangential bins span, mm.
fn fov_radius(layout: &SinogramLayout) -> f64 {
    let s = layout.scanner();
    let half = layout.tangential() as f64 / 2.0;
    let r = s.effective_radius_mm()
        * (half * std::f64::consts::PI / s.crystals_per_ring() as f64).sin();
    r.min(s.radius_mm())
}

/// 1 inside the cylinder of radius `r` about the z axis, 0 outside.
fn fov_mask(grid: &ImageGrid, r: f64) -> Array3<f32> {
    let [nz, ny, nx] = grid.shape();
    let [_, oy, ox] = grid.origin();
    let [_, dy, dx] = grid.spacing();
    Array3::from_shape_fn((nz, ny, nx), |(_, iy, ix)| {
        let (x, y) = (ox + ix as f64 * dx, oy + iy as f64 * dy);
        if x.hypot(y) <= r { 1.0 } else { 0.0 }
    })
}

/// The image grid: the options' or the scanner's default.
fn image_grid(layout: &SinogramLayout, o: &PetReconOptions) -> Result<ImageGrid> {
    let s = layout.scanner();
    let half_ring = s.ring_spacing_mm() / 2.0;
    let spacing = o.spacing.unwrap_or([half_ring, 4.17, 4.17]);
    let shape = match o.shape {
        Some(shape) => shape,
        None => {
            // The field of view the tangential bins span, and every ring.
            let n = ((2.0 * fov_radius(layout) / spacing[2]).ceil() as usize).max(1);
            let nz =
                ((s.axial_length_mm() - s.ring_spacing_mm()) / spacing[0]).round() as usize + 1;
            [nz, n, n]
        }
    };
    ImageGrid::new_3d(shape, spacing)
}

fn patient_grid(g: &ImageGrid) -> Result<PatientGrid> {
    let [oz, oy, ox] = g.origin();
    PatientGrid::axis_aligned(g.shape(), g.spacing(), [ox, oy, oz])
}

impl PetRecon {
    /// What [`PetRecon::write`] puts into its folder, `sensitivity.hv` with `sensitivity`
    /// (after list-mode OSEM).
    pub fn outputs(sensitivity: bool) -> Vec<&'static str> {
        let mut names = vec!["recon.nii.gz", "summary.png", "dicom"];
        if sensitivity {
            names.push("sensitivity.hv");
        }
        names
    }

    /// Writes into `folder`: `dicom/` (a PT series, units PROPCNTS), `recon.nii.gz`,
    /// `summary.png` and, after list-mode OSEM, `sensitivity.hv` (for later frames,
    /// [`PetReconOptions::sensitivity`]), each file atomically; existing files are never
    /// overwritten.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when an output exists already; writing failures.
    pub fn write(&self, folder: &Path) -> Result<PetFiles> {
        let nifti = folder.join("recon.nii.gz");
        let summary_png = folder.join("summary.png");
        let sensitivity_hv = folder.join("sensitivity.hv");
        crate::io::check_output_folder(folder, &Self::outputs(self.sensitivity.is_some()))?;
        std::fs::create_dir_all(folder).map_err(|source| Error::Io {
            path: folder.to_path_buf(),
            source,
        })?;
        let writer = SeriesWriter {
            description: "tomors 3D PET OSEM".into(),
            pet: self.pet_tags(),
            reference: self.reference.clone(),
            ..SeriesWriter::new(WriteModality::Pt, self.units())
        };
        let written = writer.write(self.image.view(), &self.grid, &folder.join("dicom"))?;
        crate::io::nifti::write_nifti(self.image.view(), &self.grid, &nifti, self.units())?;
        crate::fusion::write_png(self.summary_page()?.view(), &summary_png)?;
        let sensitivity = match &self.sensitivity {
            Some(s) => {
                write_interfile_image(&sensitivity_hv, s.view(), &self.grid.image_grid()?)?;
                Some(sensitivity_hv)
            }
            None => None,
        };
        Ok(PetFiles {
            dicom: written.files,
            nifti,
            summary_png,
            sensitivity,
        })
    }

    /// The image's units: DICOM's `BQML` when calibrated, else `PROPCNTS`.
    pub fn units(&self) -> &'static str {
        if self.quantitation.is_some() {
            "BQML"
        } else {
            "PROPCNTS"
        }
    }

    /// The PET attributes of the DICOM series, when the scan's start is known.
    fn pet_tags(&self) -> Option<PetTags> {
        let a = &self.acquisition;
        let q = self.quantitation.as_ref();
        let series_start_s = q.map(|q| q.series_start_s).or(a.study_start_s)?;
        let suv = q.and_then(|q| q.suv.as_ref());
        Some(PetTags {
            series_start_s,
            utc_offset: a.utc_offset.clone(),
            frame_duration_s: q.map_or(a.duration_s.unwrap_or(0.0), |q| q.duration_s),
            frame_reference_s: q
                .map_or(0.0, |q| q.frame_start_s + q.scale.frame_reference_offset_s),
            decay_correction: if q.is_some() { "START" } else { "NONE" },
            decay_factor: q.map(|q| q.scale.decay_factor),
            dose_calibration_factor: q.map(|q| q.calibration.factor()),
            corrected: self.corrected.clone(),
            randoms_correction: self.corrected.contains(&"RAN").then(|| "DLYD".to_string()),
            attenuation_correction: self
                .corrected
                .contains(&"ATTN")
                .then(|| "measured mu-map (511 keV)".to_string()),
            scatter_correction: None,
            reconstruction_method: self.reconstruction_method.clone(),
            nuclide: q.map(|q| q.nuclide.clone()).or_else(|| a.nuclide.clone()),
            radiopharmaceutical: a.radiopharmaceutical.clone(),
            injection_s: suv.map(|s| s.injection_s).or(a.injection_s),
            injected_activity_bq: suv
                .map(|s| s.injected_activity_bq)
                .or(a.injected_activity_bq),
            patient_weight_kg: suv.map(|s| s.weight_kg),
            patient_size_m: suv.and_then(|s| s.height_m),
            patient_sex: suv.and_then(|s| s.sex).map(|s| match s {
                crate::physics::Sex::Male => "M",
                crate::physics::Sex::Female => "F",
            }),
        })
    }

    /// The summary page: MIP and three planes through the activity's centre, the μ-map, the
    /// settings. The window runs from 0 to the 99.5th percentile of the voxels with activity
    /// (SUVbw when the SUV is known, else the image's units), so a few hot voxels at the edge
    /// of the field do not set it; the pictures are cropped to the voxels above 5 % of it.
    /// RGB bytes `[rows, cols, 3]`.
    ///
    /// # Errors
    /// Only for an empty image.
    pub fn summary_page(&self) -> Result<Array3<u8>> {
        let (scale, units) = match self.quantitation.as_ref().and_then(|q| q.suv_bw_per_bq_ml) {
            Some(suv) => (suv as f32, "SUVbw"),
            None if self.quantitation.is_some() => (1.0, "Bq/mL"),
            None => (1.0, "counts"),
        };
        let shown = self.image.mapv(|v| v * scale);
        let (top, centre, (lo, hi)) = display_frame(shown.view());
        let cropped = shown.slice(ndarray::s![lo[0]..hi[0], lo[1]..hi[1], lo[2]..hi[2]]);
        let at = [0, 1, 2].map(|k| centre[k] - lo[k]);
        let overlay = Overlay {
            colormap: Colormap::Hot,
            range: (0.0, top),
            threshold: 0.0,
            alpha: 1.0,
        };
        let emission = |plane: Array2<f32>| -> Result<Array3<u8>> {
            let black = Array2::<f32>::from_elem(plane.dim(), -1000.0);
            fuse(
                black.view(),
                Window::SOFT_TISSUE,
                Some((plane.view(), overlay)),
            )
        };
        let spacing = self.grid.spacing;
        let mut page = Page::new(4, 320);
        page.picture(
            &format!("MIP {units} 0-{}", significant(top)),
            emission(plane_image(cropped, spacing, Plane::Coronal, at, true)?)?.view(),
        );
        for (name, plane) in [
            ("axial", Plane::Axial),
            ("coronal", Plane::Coronal),
            ("sagittal", Plane::Sagittal),
        ] {
            page.picture(
                &format!("{name} at centre"),
                emission(plane_image(cropped, spacing, plane, at, false)?)?.view(),
            );
        }
        if let Some(mu) = &self.mu_map {
            let mu = mu.slice(ndarray::s![lo[0]..hi[0], lo[1]..hi[1], lo[2]..hi[2]]);
            let p = plane_image(mu, spacing, Plane::Coronal, at, false)?;
            let window = Window {
                centre: 0.0075,
                width: 0.015,
            };
            page.picture("mu 0-0.15/cm", fuse(p.view(), window, None)?.view());
        }
        if let Some(sc) = &self.scatter {
            let measured: Vec<f64> = sc.profile.iter().map(|p| p[0]).collect();
            let scatter: Vec<f64> = sc.profile.iter().map(|p| p[1]).collect();
            page.picture(
                &format!(
                    "scatter {:.1}%: data white, scatter cyan",
                    100.0 * sc.fraction
                ),
                crate::fusion::log_profile_chart(
                    &[(&measured, [255, 255, 255]), (&scatter, [0, 220, 255])],
                    320,
                )
                .view(),
            );
        }
        // The fractions first: the settings that follow may run past the panel.
        let mut lines = Vec::new();
        if let Some(r) = self.randoms_fraction {
            lines.push(format!("randoms {:.1} % of prompts", 100.0 * r));
        }
        if let Some(sc) = &self.scatter {
            lines.push(format!(
                "scatter {:.1} % of prompts - randoms (tail scale {:.3})",
                100.0 * sc.fraction,
                sc.global_scale
            ));
        }
        lines.extend(self.settings.iter().cloned());
        lines.extend(self.warnings.iter().map(|w| format!("WARNING: {w}")));
        page.text("settings", &lines);
        Ok(page.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A few hot voxels at the edge of the field neither set the window nor move the centre;
    /// the box holds the object with its margin.
    #[test]
    fn the_page_frames_the_activity() {
        let mut image = Array3::<f32>::zeros((20, 40, 40));
        for ((z, y, x), v) in image.indexed_iter_mut() {
            let (dy, dx) = (y as f64 - 24.0, x as f64 - 14.0);
            if (5..15).contains(&z) && dy.hypot(dx) < 8.0 {
                *v = 1.0;
            }
        }
        image[[0, 0, 39]] = 1000.0;
        image[[19, 39, 0]] = 500.0;
        let (top, centre, (lo, hi)) = display_frame(image.view());
        assert_eq!(top, 1.0);
        let c = centre.map(|v| v as f64);
        assert!(
            (c[0] - 9.5).abs() <= 0.6 && (c[1] - 24.0).abs() <= 1.0 && (c[2] - 14.0).abs() <= 1.0,
            "{centre:?}"
        );
        // The object (z 5–14, y 17–31, x 7–21) and 4 voxels around it.
        assert_eq!((lo, hi), ([1, 13, 3], [19, 36, 26]), "{lo:?} {hi:?}");
        assert_eq!(
            [1234.5, 0.5, 12.34, 3.2e-5, 0.0].map(significant),
            ["1234", "0.500", "12.3", "3.20e-5", "0.00e0"]
        );
        let empty = Array3::<f32>::zeros((3, 4, 5));
        let (top, centre, (lo, hi)) = display_frame(empty.view());
        assert!(top > 0.0 && centre == [1, 2, 2] && lo == [0; 3] && hi == [3, 4, 5]);
    }
}
