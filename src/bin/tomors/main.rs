//! The `tomors` command line: `demo` (the quick start), `fbp` and `osem` on `.npy` data,
//! `info`, `bench`, `dicom info`, `recon-spect` (SPECT-CT from DICOM), `fuse-pet` and `batch`.
//!
//! One module per subcommand. Every argument is parsed (and typed: backends, filters, cases)
//! before any data is read; errors keep their kind, and the kind is the exit status (see
//! [`common::Kind`]: 3 invalid input, 4 files, 5 no GPU, 6 GPU failure; 2 is the parser's).

mod batch;
mod bench;
mod common;
mod demo;
mod dicom;
mod fbp;
mod fdk;
mod fuse_pet;
mod info;
mod nema_iq;
mod osem;
mod pacs;
mod recon_pet;
mod recon_spect;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "tomors",
    version,
    about = "Tomographic reconstruction on the GPU and the CPU",
    after_help = "Exit status: 0 success, 2 usage, 3 invalid input, 4 file error, 5 no GPU \
                  adapter, 6 GPU failure, 7 PACS, 8 batch with failed studies or unreadable input files, 1 \
                  internal error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Quick start: Shepp-Logan phantom → exact sinogram → forward projection and FBP on the
    /// best backend → PNG images and a table of timings and errors.
    Demo(demo::DemoArgs),
    /// Filtered back-projection of a `.npy` sinogram `[views, cols]` or stack `[views, rows, cols]`.
    Fbp(fbp::FbpArgs),
    /// FDK of a `.npy` cone-beam projection stack `[views, rows, cols]` (circular orbit, flat or
    /// cylindrical detector, full or short scan, offset detector) into a volume (.npy or NIfTI,
    /// optionally a DICOM CT series).
    Fdk(fdk::FdkArgs),
    /// OSEM of a `.npy` SPECT projection stack `[views, rows, cols]` (counts), with attenuation
    /// and collimator response in the model.
    Osem(osem::OsemArgs),
    /// Lists the GPU adapters wgpu finds, with their limits, and what `auto` would use.
    Info,
    /// DICOM tools.
    #[command(subcommand)]
    Dicom(DicomCommand),
    /// SPECT-CT from DICOM: an NM acquisition and its CT → attenuation-, scatter- and
    /// collimator-corrected OSEM, written as a DICOM series over the CT, NIfTI and a summary PNG.
    ReconSpect(recon_spect::ReconSpectArgs),
    /// 3D PET from list mode or a sinogram, with normalisation, randoms and attenuation.
    ReconPet(Box<recon_pet::ReconPetArgs>),
    /// A reconstructed PET series over its CT: SUV, placement, fused summary page.
    FusePet(fuse_pet::FusePetArgs),
    /// NEMA NU 2 image quality of a reconstructed NEMA IEC body phantom series: contrast
    /// recovery per sphere, background variability, lung residual (table and PNG).
    NemaIq(nema_iq::NemaIqArgs),
    /// Times forward projection, adjoint and FBP at the standard sizes on each backend and
    /// prints a table (giga voxel-updates per second = voxels × views / time); `spect` and
    /// `pet` time OSEM of the emission benchmark cases.
    Bench(bench::BenchArgs),
    /// Every study under a folder tree, each by the pipeline it needs (SPECT-CT, PET over CT),
    /// into a folder of its own, with a JSON-lines log; resumable.
    Batch(batch::BatchArgs),
    /// A PACS (DICOM network, `[pacs]` in the settings file): echo, find studies, pull them
    /// into a batch's input folder (C-GET), store results (C-STORE).
    #[command(subcommand)]
    Pacs(pacs::PacsCommand),
}

#[derive(Subcommand)]
enum DicomCommand {
    /// Prints what a DICOM folder or file holds: series, modality, sizes and grids; for NM
    /// projections the energy windows, views, angles, radius and collimator.
    Info {
        /// A folder (searched recursively) or a file.
        path: PathBuf,
    },
}

/// Mesa's drivers print "XDG_RUNTIME_DIR is invalid or not set" on every start when it is
/// unset (containers, CI, ssh without a login session). tomors draws nothing on a display, so a
/// private folder serves; it is removed on exit. Returns the folder made, if any.
fn private_runtime_dir() -> Option<std::path::PathBuf> {
    let usable =
        std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_dir());
    if usable {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("tomors-runtime-{}", std::process::id()));
    std::fs::create_dir(&dir).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).ok()?;
    }
    // SAFETY: called first thing in `main`, before any other thread exists.
    unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    Some(dir)
}

fn main() -> ExitCode {
    // Parsed first: a usage error exits (status 2) before anything is read or started.
    let cli = Cli::parse();
    let runtime_dir = private_runtime_dir();
    let result = match &cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Fbp(args) => fbp::run(args),
        Command::Fdk(args) => fdk::run(args),
        Command::Osem(args) => osem::run(args),
        Command::Info => {
            info::run();
            Ok(())
        }
        Command::Dicom(DicomCommand::Info { path }) => dicom::info(path),
        Command::ReconSpect(args) => recon_spect::run(args),
        Command::ReconPet(args) => recon_pet::run(args),
        Command::FusePet(args) => fuse_pet::run(args),
        Command::NemaIq(args) => nema_iq::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Batch(args) => batch::run(args),
        Command::Pacs(command) => pacs::run(command),
    };
    if let Some(dir) = runtime_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.kind as u8)
        }
    }
}
