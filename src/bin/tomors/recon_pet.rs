//! `tomors recon-pet OUT --listmode FILE.l.hdr [--lm-osem [--sensitivity S.hv]] | --sinogram
//! FILE.hs [--norm N] [--mu MU.hv | --ct DIR]`: 3D PET with normalisation, randoms from
//! delayeds and attenuation, by OSEM of the histogram or list-mode OSEM of the prompts, written
//! as DICOM PT, NIfTI and a summary PNG (and the list-mode sensitivity image for later frames).

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use tomors::Backend;
use tomors::io::dicom::{ReadLimits, SeriesSelect, read_ct_series};
use tomors::pipeline::{MuMap, PetData, PetReconOptions, PetStage, reconstruct_pet};

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
    /// auto (GPU when present), gpu or cpu.
    #[arg(long, default_value = "auto")]
    backend: Backend,
}

pub fn run(a: &ReconPetArgs) -> CliResult<()> {
    // Refuse before minutes of work, not after.
    let sensitivity_out = if a.lm_osem {
        Some("sensitivity.hv")
    } else {
        None
    };
    for name in ["recon.nii.gz", "summary.png", "dicom"]
        .into_iter()
        .chain(sensitivity_out)
    {
        let p = a.out.join(name);
        if p.exists() {
            return Err(CliError::file(format!(
                "{} exists already; tomors never overwrites results: choose an empty folder",
                p.display()
            )));
        }
    }
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
    if let Some(s) = &files.sensitivity {
        println!("wrote {} (--sensitivity for later frames)", s.display());
    }
    Ok(())
}
