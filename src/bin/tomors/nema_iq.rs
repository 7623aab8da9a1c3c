//! `tomors nema-iq SERIES OUT`: NEMA NU 2 image quality of a reconstructed NEMA IEC body
//! phantom.

use std::path::PathBuf;

use tomors::phantom::{NemaIecPhantom, Nu2Filling, SPHERE_DIAMETERS};
use tomors::pipeline::nema_image_quality;

use super::common::{CliResult, err};

#[derive(clap::Args)]
pub struct NemaIqArgs {
    /// The PT series of the phantom (folder or file): axial slices, the phantom centred on
    /// x = y = 0 (as recon-pet writes a scan of a centred phantom).
    series: PathBuf,
    /// Output folder for nu2.md (the table) and nu2.png (the slice with the ROIs).
    out: PathBuf,
    /// Sphere-to-background concentration ratio of the hot spheres.
    #[arg(long, default_value_t = 4.0)]
    ratio: f64,
    /// Diameters (mm) of the spheres filled with water only, e.g. 28,37 (NU 2-2007).
    #[arg(long, value_delimiter = ',')]
    cold: Vec<f64>,
    /// z (mm) of the spheres' centres in the series' coordinates.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    sphere_z: f64,
}

pub fn run(a: &NemaIqArgs) -> CliResult<()> {
    tomors::io::check_output_folder(&a.out, &tomors::pipeline::NemaIq::OUTPUTS).map_err(err)?;
    let mut cold = [false; 6];
    for d in &a.cold {
        let i = SPHERE_DIAMETERS
            .iter()
            .position(|s| (s - d).abs() < 0.5)
            .ok_or_else(|| format!("--cold {d}: the spheres are {SPHERE_DIAMETERS:?} mm"))?;
        cold[i] = true;
    }
    let phantom = NemaIecPhantom {
        sphere_plane: a.sphere_z,
        ..NemaIecPhantom::pet()
    };
    let filling = Nu2Filling {
        ratio: a.ratio,
        cold,
    };
    let iq = nema_image_quality(&a.series, &phantom, &filling).map_err(err)?;
    let files = iq.write(&a.out).map_err(err)?;
    print!("{}", iq.quality.table());
    println!("wrote {}, {}", files.table.display(), files.png.display());
    Ok(())
}
