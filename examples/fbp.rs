//! Filtered back-projection of the Shepp-Logan phantom from its exact parallel-beam sinogram:
//! the plan made once, reused, and the error against the phantom printed.
//!
//! ```sh
//! cargo run --release --example fbp [-- SIZE]   # SIZE² pixels of 1 mm (default 256)
//! ```

use tomors::phantom::EllipsePhantom;
use tomors::{Backend, Fbp, ImageGrid, ParallelBeam, Projector, RampFilter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(256), |s| s.parse())?;
    let grid = ImageGrid::new_2d([n, n], [1.0, 1.0])?;
    let views = (n as f64 * std::f64::consts::FRAC_PI_2).ceil() as usize;
    let angles = (0..views)
        .map(|i| i as f64 * std::f64::consts::PI / views as f64)
        .collect();
    let projector = Projector::new(
        ParallelBeam::new(angles, n + 7, 1.0)?,
        grid.clone(),
        Backend::Auto,
    )?;
    let phantom = EllipsePhantom::shepp_logan(0.45 * n as f64);
    let sinogram = phantom.line_integrals(projector.geometry())?; // exact, [views, columns]
    let fbp = Fbp::new(&projector, RampFilter::default())?; // plan once, reconstruct many
    let started = std::time::Instant::now();
    let image = fbp.reconstruct(sinogram.view().into_dyn())?;
    let seconds = started.elapsed().as_secs_f64();
    let truth = phantom.rasterize(&grid, 4)?;
    let rmse = (image
        .iter()
        .zip(truth.iter())
        .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
        .sum::<f64>()
        / truth.len() as f64)
        .sqrt();
    println!(
        "FBP of {views} views into {n}² pixels on {}: {seconds:.3} s, RMSE against the phantom {rmse:.4}",
        projector.backend()
    );
    Ok(())
}
