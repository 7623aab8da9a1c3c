//! 3D PET from list mode: a PETLINK acquisition (the Siemens mMR's), optionally its norm, into
//! an OSEM image of the prompts, randoms from the delayeds; written as NIfTI.
//!
//! ```sh
//! cargo run --release --example pet_listmode -- LIST.l.hdr out.nii.gz [NORM.n.hdr]
//! ```

use std::path::Path;
use tomors::pipeline::{PetData, PetReconOptions, reconstruct_pet};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (list, out, norm) = match args.as_slice() {
        [l, o] => (l, o, None),
        [l, o, n] => (l, o, Some(Path::new(n))),
        _ => {
            eprintln!("usage: pet_listmode LIST.l.hdr out.nii.gz [NORM.n.hdr]");
            std::process::exit(2);
        }
    };
    let options = PetReconOptions {
        iterations: 2,
        subsets: 21,
        ..PetReconOptions::default()
    };
    let started = std::time::Instant::now();
    let data = PetData::ListMode(list.into());
    let recon = reconstruct_pet(&data, norm, None, &options, None)?;
    for line in &recon.settings {
        println!("{line}");
    }
    for w in &recon.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "image {:?} after {:.1} s",
        recon.image.shape(),
        started.elapsed().as_secs_f64()
    );
    tomors::io::nifti::write_nifti(recon.image.view(), &recon.grid, Path::new(out), "counts")?;
    println!("written: {out}");
    Ok(())
}
