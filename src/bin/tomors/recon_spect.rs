//! `tomors recon-spect NM CT OUT [--bed NM ...]`: SPECT-CT reconstruction from DICOM with
//! attenuation, scatter and collimator response, written as DICOM, NIfTI and a summary PNG;
//! with further beds, all beds reconstructed jointly into one volume (or each on its own and
//! stitched).

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use tomors::pipeline::{
    DecayCorrection, MultiBed, ScatterCorrection, SpectCtOptions, Stage, spect_ct, spect_ct_beds,
};
use tomors::{Backend, Collimator};

use super::common::{CliResult, err};

#[derive(clap::Args)]
pub struct ReconSpectArgs {
    /// The NM tomographic acquisition (one multi-frame DICOM file).
    nm: PathBuf,
    /// The CT: a folder (searched recursively) or a file.
    ct: PathBuf,
    /// Output folder (created; existing results in it are never overwritten).
    out: PathBuf,
    /// A further bed of the same study (its NM file; repeat for each): the beds are
    /// reconstructed jointly, in one OSEM, into one volume over the CT, written as one DICOM
    /// series and NIfTI.
    #[arg(long = "bed")]
    beds: Vec<PathBuf>,
    /// With several beds: reconstruct each on its own and stitch them (weighted by each bed's
    /// sensitivity where they overlap) instead of jointly.
    #[arg(long, requires = "beds")]
    stitch: bool,
    /// Photopeak energy, keV (208 for Lu-177, 140.5 for Tc-99m, ...).
    #[arg(long)]
    kev: f64,
    /// Scatter estimate: tew, dew, none.
    #[arg(long, default_value = "tew")]
    scatter: String,
    /// DEW ratio k (with --scatter dew).
    #[arg(long, default_value_t = 0.5)]
    dew_k: f64,
    /// Skip attenuation correction.
    #[arg(long)]
    no_attenuation: bool,
    /// Cortical bone CT number (HU) on this CT, instead of the value for its kVp.
    #[arg(long)]
    bone_hu: Option<f64>,
    /// Collimator type (lehr, legp, megp, hegp) instead of the header's: Siemens Symbia's holes
    /// at the photopeak energy (the header's collimator is modelled with its manufacturer's).
    #[arg(long)]
    collimator: Option<String>,
    /// OSEM iterations (passes over all subsets).
    #[arg(long, default_value_t = 4)]
    iterations: usize,
    /// Ordered subsets per iteration: interleaved views, 1 to the number of views.
    #[arg(long, default_value_t = 8)]
    subsets: usize,
    /// Gaussian post-filter FWHM, mm.
    #[arg(long)]
    post_filter_fwhm: Option<f64>,
    /// Sensitivity in counts per second per MBq: output in Bq/mL instead of counts/s.
    #[arg(long)]
    calibration: Option<f64>,
    /// Decay correction: start (to the acquisition's start, when the header gives the
    /// half-life), injection (needs the injection and acquisition times too) or none.
    #[arg(long, default_value = "start")]
    decay: String,
    /// Register the CT to the emission data (for a patient who moved between the scans)
    /// instead of trusting the scanners' shared coordinates.
    #[arg(long)]
    register: bool,
    /// Accept an NM and a CT of different frames of reference.
    #[arg(long)]
    allow_other_frame: bool,
    /// Refuse a CT that stops short of the body in the emission field of view (by default it is
    /// accepted with a warning, and air is assumed beyond it).
    #[arg(long)]
    require_full_ct: bool,
    /// auto (GPU when present), gpu or cpu.
    #[arg(long, default_value = "auto")]
    backend: Backend,
}

pub fn run(a: &ReconSpectArgs) -> CliResult<()> {
    // Refuse before the work, not after.
    tomors::io::check_output_folder(&a.out, &tomors::pipeline::SpectCt::OUTPUTS).map_err(err)?;
    let mut o = SpectCtOptions::new(a.kev);
    o.scatter = match a.scatter.as_str() {
        "tew" => ScatterCorrection::TripleEnergyWindow,
        "dew" => ScatterCorrection::DualEnergyWindow { k: a.dew_k },
        "none" => ScatterCorrection::None,
        other => {
            return Err(
                format!("unknown scatter method {other:?}; expected tew, dew or none").into(),
            );
        }
    };
    o.attenuation = !a.no_attenuation;
    o.hu_to_mu = a
        .bone_hu
        .map(|h| tomors::physics::HuToMu::with_bone_ct_number(a.kev, h))
        .transpose()
        .map_err(err)?;
    o.collimator = a
        .collimator
        .as_deref()
        .map(|name| Collimator::for_camera(None, name, a.kev))
        .transpose()
        .map_err(err)?;
    o.iterations = a.iterations;
    o.subsets = a.subsets;
    o.post_filter_fwhm = a.post_filter_fwhm;
    o.calibration_cps_per_mbq = a.calibration;
    o.decay_correction = match a.decay.as_str() {
        "start" => DecayCorrection::AcquisitionStart,
        "injection" => DecayCorrection::Injection,
        "none" => DecayCorrection::None,
        other => {
            return Err(format!(
                "unknown decay correction {other:?}; expected start, injection or none"
            )
            .into());
        }
    };
    o.register = a.register;
    o.allow_other_frame = a.allow_other_frame;
    o.require_full_ct = a.require_full_ct;
    o.backend = a.backend;

    let pb = ProgressBar::new(a.iterations as u64);
    pb.set_style(
        ProgressStyle::with_template("{prefix}{msg:24} {bar:30} {pos}/{len} [{elapsed}]")
            .expect("valid template"),
    );
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    let mut progress = |stage: Stage| match stage {
        Stage::Reading => pb.set_message("reading DICOM"),
        Stage::Registration => pb.set_message("registering CT"),
        Stage::AttenuationMap => pb.set_message("mu-map from CT"),
        Stage::Scatter => pb.set_message("scatter estimate"),
        Stage::Iteration { done, .. } => {
            pb.set_message("OSEM iterations");
            pb.set_position(done as u64);
        }
    };
    if !a.beds.is_empty() {
        let nm: Vec<PathBuf> = std::iter::once(a.nm.clone())
            .chain(a.beds.clone())
            .collect();
        let n = nm.len();
        let mut per_bed = |bed: Option<usize>, stage: Stage| {
            pb.set_prefix(match bed {
                Some(b) => format!("bed {} of {n}: ", b + 1),
                None => format!("{n} beds: "),
            });
            progress(stage)
        };
        let method = if a.stitch {
            MultiBed::Stitched
        } else {
            MultiBed::Joint
        };
        let whole = spect_ct_beds(&nm, &a.ct, &o, method, Some(&mut per_bed)).map_err(err)?;
        pb.set_message("writing");
        let files = whole.write(&a.out).map_err(err)?;
        pb.finish_and_clear();
        for line in whole.beds[0].settings() {
            println!("{line}");
        }
        for w in whole.beds.iter().flat_map(|b| &b.warnings) {
            eprintln!("warning: {w}");
        }
        println!(
            "{n} beds {} into {}x{}x{} voxels; wrote {} DICOM slices (series {}), {}",
            if a.stitch {
                "stitched"
            } else {
                "reconstructed jointly"
            },
            whole.volume.grid.shape[2],
            whole.volume.grid.shape[1],
            whole.volume.grid.shape[0],
            files.dicom.len(),
            files.series_uid,
            files.nifti.display()
        );
        return Ok(());
    }
    let result = spect_ct(&a.nm, &a.ct, &o, Some(&mut progress)).map_err(err)?;
    pb.set_message("writing");
    let files = result.write(&a.out).map_err(err)?;
    pb.finish_and_clear();
    for line in result.settings() {
        println!("{line}");
    }
    for w in &result.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "wrote {} DICOM slices (series {}), {}, {}{}",
        files.dicom.len(),
        files.series_uid,
        files.nifti.display(),
        files
            .mu_map_nifti
            .as_ref()
            .map(|p| format!("{}, ", p.display()))
            .unwrap_or_default(),
        files.summary_png.display()
    );
    Ok(())
}
