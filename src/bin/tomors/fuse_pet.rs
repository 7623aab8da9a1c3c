//! `tomors fuse-pet PET CT OUT`: a reconstructed PET series over its CT, in SUV, with a one-page
//! fused summary and the volume as NIfTI.

use std::path::PathBuf;

use tomors::Backend;
use tomors::pipeline::{FusePetCtOptions, fuse_pet_ct};

use super::common::{CliResult, err};

#[derive(clap::Args)]
pub struct FusePetArgs {
    /// The PET series: a folder (searched recursively) or a file.
    pet: PathBuf,
    /// The CT: a folder (searched recursively) or a file.
    ct: PathBuf,
    /// Output folder (created; existing results in it are never overwritten).
    out: PathBuf,
    /// Keep the series' units instead of converting to SUVbw.
    #[arg(long)]
    no_suv: bool,
    /// Register the CT to the PET (for a patient who moved between the scans) instead of
    /// trusting the scanners' shared coordinates.
    #[arg(long)]
    register: bool,
    /// Accept a PET and a CT of different frames of reference.
    #[arg(long)]
    allow_other_frame: bool,
    /// Where registration runs: auto (GPU when present), gpu or cpu.
    #[arg(long, default_value = "auto")]
    backend: Backend,
}

pub fn run(a: &FusePetArgs) -> CliResult<()> {
    // Refuse before the work, not after.
    tomors::io::check_output_folder(&a.out, &tomors::pipeline::FusedPetCt::OUTPUTS).map_err(err)?;
    let options = FusePetCtOptions {
        suv: !a.no_suv,
        register: a.register,
        allow_other_frame: a.allow_other_frame,
        backend: a.backend,
        ..FusePetCtOptions::default()
    };
    let fused = fuse_pet_ct(&a.pet, &a.ct, &options).map_err(err)?;
    let files = fused.write(&a.out).map_err(err)?;
    for line in fused.settings() {
        println!("{line}");
    }
    for w in &fused.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "wrote {}, {}",
        files.nifti.display(),
        files.summary_png.display()
    );
    Ok(())
}
