//! The quick start as a program: a Shepp-Logan slice, its exact sinogram, FBP, and the error.
//!
//! `cargo run --release --example quick_start`

use std::f64::consts::PI;
use tomors::phantom::EllipsePhantom;
use tomors::{Backend, Fbp, FilterWindow, ImageGrid, ParallelBeam, Projector, RampFilter};

fn main() -> tomors::Result<()> {
    // 256 × 256 pixels of 1 mm; 360 views over 180°; 363 detector bins of 1 mm.
    let grid = ImageGrid::new_2d([256, 256], [1.0, 1.0])?;
    let angles = (0..360).map(|i| i as f64 * PI / 360.0).collect();
    let projector = Projector::new(
        ParallelBeam::new(angles, 363, 1.0)?,
        grid.clone(),
        Backend::Auto,
    )?;
    println!("running on {}", projector.backend());

    let phantom = EllipsePhantom::shepp_logan(128.0);
    let sinogram = phantom.line_integrals(projector.geometry())?.into_dyn();
    let filter = RampFilter::new(FilterWindow::Hann, 1.0)?;
    let image = Fbp::new(&projector, filter)?.reconstruct(sinogram.view())?;

    let truth = phantom.rasterize(&grid, 4)?.into_dyn();
    let rmse = ((&image - &truth)
        .mapv(|d| (d as f64).powi(2))
        .mean()
        .unwrap())
    .sqrt();
    println!(
        "FBP (Hann) of exact line integrals: RMSE {rmse:.4} over the whole image (phantom maximum 1.0)"
    );
    Ok(())
}
