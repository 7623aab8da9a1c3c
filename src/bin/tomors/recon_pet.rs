//! `tomors recon-pet OUT --listmode FILE.l.hdr [--lm-osem [--sensitivity S.hv]] | --sinogram
//! FILE.hs [--norm N] [--mu MU.hv | --ct DIR]`: 3D PET with normalisation, randoms from
//! delayeds and attenuation, by OSEM of the histogram or list-mode OSEM of the prompts, written
//! as DICOM PT, NIfTI and a summary PNG (and the list-mode sensitivity image for later frames).

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use tomors::Backend;
use tomors::io::dicom::{ReadLimits, SeriesSelect, read_ct_series};
use tomors::physics::{PetCalibration, Radionuclide, Sex};
use tomors::pipeline::{
    MuMap, PetData, PetQuantitationOptions, PetReconOptions, PetStage, ScatterEstimationOptions,
    phantom_calibration, reconstruct_pet,
};

use super::common::{CliError, CliResult, err};

#[derive(clap::Args)]
pub struct ReconPetArgs {
    /// Output folder (created; existing results in it are never overwritten).
    out: PathBuf,
    /// A PETLINK list-mode file (its .l.hdr, or the .l beside it).
    #[arg(
        long,
        conflicts_with = "sinogram",
        required_unless_present = "sinogram"
    )]
    listmode: Option<PathBuf>,
    /// A STIR Interfile sinogram (.hs).
    #[arg(long)]
    sinogram: Option<PathBuf>,
    /// Siemens component normalisation (.n.hdr or .n).
    #[arg(long)]
    norm: Option<PathBuf>,
    /// μ-map as an Interfile image in 1/cm (.hv).
    #[arg(long, conflicts_with = "ct")]
    mu: Option<PathBuf>,
    /// μ-map from a CT series (folder or file), HU → μ at 511 keV from its kVp.
    #[arg(long)]
    ct: Option<PathBuf>,
    /// Additive background sinograms (randoms, scatter) in the data's layout (.hs); repeatable.
    #[arg(long)]
    background: Vec<PathBuf>,
    /// Do not estimate randoms from the list-mode delayeds.
    #[arg(long)]
    no_randoms: bool,
    /// How randoms are estimated from the delayeds: ml-singles (singles fitted by maximum
    /// likelihood to the delayeds' fan sums) or fan-sums (the fan sums' product).
    #[arg(long, default_value = "ml-singles")]
    randoms_estimate: tomors::physics::RandomsEstimate,
    /// Axial compression of the histogram (list mode).
    #[arg(long, default_value_t = 11)]
    span: u32,
    /// Unmashed views per view (list mode).
    #[arg(long, default_value_t = 1)]
    mash: u32,
    /// Time window in seconds from the start: START END (list mode).
    #[arg(long, num_args = 2, value_names = ["START", "END"])]
    window: Option<Vec<f64>>,
    /// OSEM iterations (passes over all subsets).
    #[arg(long, default_value_t = 3)]
    iterations: usize,
    /// Ordered subsets per iteration: interleaved views of the sinogram (1 to the number of
    /// views), or interleaved events in list mode.
    #[arg(long, default_value_t = 21)]
    subsets: usize,
    /// In-plane voxel size, mm (slices are half a ring apart).
    #[arg(long, default_value_t = 4.17)]
    voxel: f64,
    /// Gaussian post-filter FWHM, mm.
    #[arg(long)]
    post_filter_fwhm: Option<f64>,
    /// Reconstruct the prompts themselves (list-mode OSEM) instead of their histogram; writes
    /// the sensitivity image as OUT/sensitivity.hv for later frames.
    #[arg(long, requires = "listmode")]
    lm_osem: bool,
    /// With --lm-osem: a sensitivity image an earlier frame wrote (same scanner, span,
    /// normalisation and μ-map), read instead of computed.
    #[arg(long, requires = "lm_osem")]
    sensitivity: Option<PathBuf>,
    /// Device (or host) memory in MiB the data-sized inputs of OSEM may hold (the sinogram or
    /// the events, factors, background: span 1 and 10⁸ events need GiBs); beyond it they are
    /// sent a subset at a time, for the same image. Default: no bound.
    #[arg(long)]
    max_resident_mib: Option<u64>,
    /// After OSEM, BSREM with the relative-difference prior of this weight β (penalised
    /// likelihood; histogrammed data only). β is in the sensitivity image's units: try 1–100.
    #[arg(long, conflicts_with = "lm_osem")]
    rdp_beta: Option<f64>,
    /// Edge preservation γ of the relative-difference prior (with --rdp-beta).
    #[arg(long, default_value_t = 2.0, requires = "rdp_beta")]
    rdp_gamma: f64,
    /// BSREM iterations after OSEM (with --rdp-beta).
    #[arg(long, default_value_t = 10, requires = "rdp_beta")]
    bsrem_iterations: usize,
    /// The scanner's calibration, Bq·s/mL per image unit (as --phantom-bq-ml measured it for
    /// the same settings): the image is then in Bq/mL decay-corrected to the scan start.
    #[arg(long, conflicts_with = "phantom_bq_ml")]
    calibration: Option<f64>,
    /// Calibrate: the data are a uniform phantom of this concentration (Bq/mL at
    /// --phantom-assay-time); writes OUT/calibration.txt with the factor for --calibration.
    #[arg(long, requires = "phantom_assay_time")]
    phantom_bq_ml: Option<f64>,
    /// When the phantom's concentration was measured, YYYY-MM-DDTHH:MM:SS on the scanner's
    /// clock.
    #[arg(long, requires = "phantom_bq_ml")]
    phantom_assay_time: Option<String>,
    /// Radionuclide name, over the header's (with --half-life and --positron-fraction).
    #[arg(long, requires_all = ["half_life", "positron_fraction"])]
    isotope: Option<String>,
    /// Half-life, s (with --isotope).
    #[arg(long, requires = "isotope")]
    half_life: Option<f64>,
    /// Positrons per decay (with --isotope).
    #[arg(long, requires = "isotope")]
    positron_fraction: Option<f64>,
    /// Patient's weight, kg (SUV; with --calibration).
    #[arg(long, requires = "calibration")]
    weight: Option<f64>,
    /// Patient's height, m (SUL).
    #[arg(long, requires = "weight")]
    height: Option<f64>,
    /// Patient's sex, M or F (SUL).
    #[arg(long, requires = "weight")]
    sex: Option<SexArg>,
    /// Injected activity, MBq, over the header's.
    #[arg(long, requires = "calibration")]
    injected_mbq: Option<f64>,
    /// The injection, YYYY-MM-DDTHH:MM:SS on the scanner's clock, over the header's.
    #[arg(long, requires = "calibration")]
    injection_time: Option<String>,
    /// Fraction of the counts the electronics kept (dead time), in (0, 1]; default: from the
    /// list mode's singles and the norm's dead-time components when both are there, else 1
    /// (not corrected, with a warning saying which is missing). Printed either way.
    #[arg(long)]
    live_fraction: Option<f64>,
    /// Scatter correction: sss (single scatter simulation from the μ-map and the image,
    /// scaled to the tails of the data outside the object, in a loop with the
    /// reconstruction; needs --mu or --ct) or none.
    #[arg(long, default_value = "none")]
    scatter: ScatterArg,
    /// Simulations of the scatter loop (with --scatter sss), each but the last followed by one
    /// OSEM iteration.
    #[arg(long, default_value_t = 3)]
    scatter_iterations: usize,
    /// auto (GPU when present), gpu or cpu.
    #[arg(long, default_value = "auto")]
    backend: Backend,
}

/// `--scatter`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ScatterArg {
    None,
    Sss,
}

/// `--sex`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum SexArg {
    M,
    F,
}

pub fn run(a: &ReconPetArgs) -> CliResult<()> {
    // Refuse before minutes of work, not after.
    let outputs = tomors::pipeline::PetRecon::outputs(a.lm_osem);
    tomors::io::check_output_folder(&a.out, &outputs).map_err(err)?;
    let data = match (&a.listmode, &a.sinogram) {
        (Some(l), None) => PetData::ListMode(l.clone()),
        (None, Some(s)) => PetData::Sinogram(s.clone()),
        _ => return Err(CliError::input("give one of --listmode and --sinogram")),
    };
    let mu = match (&a.mu, &a.ct) {
        (Some(m), _) => Some(MuMap::Interfile(m.clone())),
        (None, Some(ct)) => Some(MuMap::Ct(Box::new(
            read_ct_series(ct, &SeriesSelect::Largest, &ReadLimits::default()).map_err(err)?,
        ))),
        (None, None) => None,
    };
    let window = a.window.as_ref().map(|w| (w[0], w[1]));
    tomors::io::petlink::check_window(window).map_err(err)?;
    let scanner_spacing = 4.0625 / 2.0;
    let time = |t: &Option<String>| {
        t.as_deref()
            .map(tomors::io::acquisition::parse_date_time)
            .transpose()
            .map_err(err)
    };
    let nuclide = match (&a.isotope, a.half_life, a.positron_fraction) {
        (Some(name), Some(h), Some(f)) => Some(Radionuclide::new(name, h, f).map_err(err)?),
        _ => None,
    };
    let calibration = a
        .calibration
        .map(PetCalibration::new)
        .transpose()
        .map_err(err)?;
    let quantitation = PetQuantitationOptions {
        calibration,
        nuclide: nuclide.clone(),
        weight_kg: a.weight,
        height_m: a.height,
        sex: a.sex.map(|s| match s {
            SexArg::M => Sex::Male,
            SexArg::F => Sex::Female,
        }),
        injected_activity_bq: a.injected_mbq.map(|m| m * 1e6),
        injection_s: time(&a.injection_time)?,
        live_fraction: a.live_fraction,
    };
    let assay = time(&a.phantom_assay_time)?;
    let options = PetReconOptions {
        span: a.span,
        view_mashing: a.mash,
        window,
        iterations: a.iterations,
        subsets: a.subsets,
        spacing: Some([scanner_spacing, a.voxel, a.voxel]),
        randoms: !a.no_randoms,
        randoms_estimate: a.randoms_estimate,
        background_files: a.background.clone(),
        post_filter_fwhm: a.post_filter_fwhm,
        list_mode: a.lm_osem,
        sensitivity: a.sensitivity.clone(),
        max_resident_bytes: a.max_resident_mib.map(|m| m.saturating_mul(1 << 20)),
        prior: a
            .rdp_beta
            .map(|b| tomors::recon::Prior::relative_difference(b, a.rdp_gamma))
            .transpose()
            .map_err(err)?,
        bsrem_iterations: a.bsrem_iterations,
        scatter: (a.scatter == ScatterArg::Sss).then(|| ScatterEstimationOptions {
            iterations: a.scatter_iterations,
            ..ScatterEstimationOptions::new(a.subsets)
        }),
        quantitation,
        backend: a.backend,
        ..PetReconOptions::default()
    };
    let pb = ProgressBar::new(a.iterations as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg:24} {bar:30} {pos}/{len} [{elapsed}]")
            .expect("valid template"),
    );
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    let mut progress = |stage: PetStage| match stage {
        PetStage::Data => pb.set_message("reading data"),
        PetStage::Normalisation => pb.set_message("normalisation"),
        PetStage::Attenuation => pb.set_message("attenuation factors"),
        PetStage::Randoms => pb.set_message("randoms"),
        PetStage::Scatter { done, of } => pb.set_message(format!("scatter {done}/{of}")),
        PetStage::Iteration { done, .. } => {
            pb.set_message("OSEM iterations");
            pb.set_position(done as u64);
        }
    };
    let result = reconstruct_pet(
        &data,
        a.norm.as_deref(),
        mu.as_ref(),
        &options,
        Some(&mut progress),
    )
    .map_err(err)?;
    pb.set_message("writing");
    let files = result.write(&a.out).map_err(err)?;
    pb.finish_and_clear();
    for line in &result.settings {
        println!("{line}");
    }
    for w in &result.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "wrote {} DICOM slices, {}, {}",
        files.dicom.len(),
        files.nifti.display(),
        files.summary_png.display()
    );
    if let (Some(c), Some(assay)) = (a.phantom_bq_ml, assay) {
        let p = phantom_calibration(
            &result.acquisition,
            result.image.view(),
            window,
            c,
            assay,
            nuclide.as_ref(),
            result.dead_time.live_fraction(),
        )
        .map_err(err)?;
        let line = format!(
            "calibration {:.6e} Bq·s/mL per image unit ({} at {c} Bq/mL, mean {:.6e} over {} \
             uniform voxels)",
            p.calibration.factor(),
            p.nuclide.name(),
            p.mean,
            p.voxels
        );
        let path = a.out.join("calibration.txt");
        tomors::io::write_atomically(&path, |tmp| {
            std::fs::write(tmp, format!("{line}\n")).map_err(|source| tomors::Error::Io {
                path: tmp.to_path_buf(),
                source,
            })
        })
        .map_err(err)?;
        println!("{line}\nwrote {}", path.display());
    }
    if let Some(s) = &files.sensitivity {
        println!("wrote {} (--sensitivity for later frames)", s.display());
    }
    Ok(())
}
