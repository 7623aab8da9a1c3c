//! SPECT-CT from DICOM: a gamma camera's NM projection file and its CT series to an
//! attenuation- and scatter-corrected OSEM reconstruction, written as NIfTI.
//!
//! ```sh
//! cargo run --release --example spect_ct -- NM.dcm CT_FOLDER/ PHOTOPEAK_KEV out.nii.gz
//! # e.g. the Lu-177 study of the real-data set: 208 keV
//! ```

use std::path::Path;
use tomors::pipeline::{SpectCtOptions, spect_ct};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [nm, ct, kev, out] = args.as_slice() else {
        eprintln!("usage: spect_ct NM.dcm CT_FOLDER/ PHOTOPEAK_KEV out.nii.gz");
        std::process::exit(2);
    };
    let options = SpectCtOptions::new(kev.parse()?);
    let started = std::time::Instant::now();
    let recon = spect_ct(Path::new(nm), Path::new(ct), &options, None)?;
    println!(
        "{} {:?} in {} after {:.1} s",
        nm,
        recon.image.shape(),
        recon.units,
        started.elapsed().as_secs_f64()
    );
    tomors::io::nifti::write_nifti(recon.image.view(), &recon.grid, Path::new(out), recon.units)?;
    println!("written: {out}");
    Ok(())
}
