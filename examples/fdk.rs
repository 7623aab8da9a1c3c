//! FDK of the 3D Shepp-Logan phantom from its exact cone-beam projections on a circular orbit:
//! the volume's central slice compared with the phantom's.
//!
//! ```sh
//! cargo run --release --example fdk [-- SIZE]   # SIZE³ voxels of 1 mm (default 96)
//! ```

use tomors::phantom::EllipsoidPhantom;
use tomors::{Backend, ConeBeam, ConeOrbit, ConeProjector, Fdk, ImageGrid, RampFilter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(96), |s| s.parse())?;
    let views = 2 * n;
    let angles = (0..views)
        .map(|i| i as f64 * 2.0 * std::f64::consts::PI / views as f64)
        .collect();
    // Source 4n mm from the axis, detector 6n mm from the source, pixels 1.5 mm.
    let (dso, dsd) = (4.0 * n as f64, 6.0 * n as f64);
    let orbit = ConeOrbit::new(angles, n + n / 2, n + n / 2, 1.5, 1.5, dso, dsd);
    let cone = ConeBeam::orbit(&orbit)?;
    let grid = ImageGrid::new_3d([n, n, n], [1.0; 3])?;
    let phantom = EllipsoidPhantom::shepp_logan(0.4 * n as f64);
    let data = phantom.solids().cone_projections(&cone); // exact, [views, rows, cols]
    let projector = ConeProjector::new(cone, grid.clone(), Backend::Auto)?;
    let started = std::time::Instant::now();
    let volume = Fdk::new(&projector, RampFilter::default())?.reconstruct(data.view())?;
    let seconds = started.elapsed().as_secs_f64();
    let truth = phantom.rasterize(&grid, 2)?;
    let mid = n / 2;
    let (mut err, mut count) = (0.0f64, 0usize);
    for y in 0..n {
        for x in 0..n {
            let d = volume[[mid, y, x]] as f64 - truth[[mid, y, x]] as f64;
            err += d * d;
            count += 1;
        }
    }
    println!(
        "FDK of {views} views into {n}³ voxels on {}: {seconds:.3} s, central-slice RMSE {:.4}",
        projector.backend(),
        (err / count as f64).sqrt()
    );
    Ok(())
}
