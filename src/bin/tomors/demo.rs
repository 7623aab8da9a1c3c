//! `tomors demo`: the quick start on the Shepp-Logan phantom.

use super::common::{CliResult, err, max, rel_l2, rmse_in_circle, timed, write_png};
use ndarray::Axis;
use std::f64::consts::PI;
use std::path::PathBuf;
use tomors::phantom::EllipsoidPhantom;
use tomors::{
    Backend, Fbp, FilterWindow, Geometry, ImageGrid, ParallelBeam, Projector, RampFilter,
};

/// Quick start: Shepp-Logan phantom → exact sinogram → forward projection and FBP on the best
/// backend → PNG images and a table of timings and errors.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Image size (pixels of 1 mm per side).
    #[arg(long, default_value_t = 512)]
    size: usize,
    /// Number of views over 180°.
    #[arg(long, default_value_t = 720)]
    views: usize,
    /// auto (GPU when present), gpu or cpu.
    #[arg(long, default_value = "auto")]
    backend: Backend,
    /// Filter window: ram-lak, shepp-logan, cosine, hamming, hann.
    #[arg(long, default_value = "ram-lak")]
    filter: FilterWindow,
    /// Folder for the PNG images.
    #[arg(long, default_value = "tomors-demo")]
    out: PathBuf,
}

pub fn run(a: &DemoArgs) -> CliResult<()> {
    let (size, views, backend, out) = (a.size, a.views, a.backend, a.out.as_path());
    let filter = RampFilter::new(a.filter, 1.0).map_err(err)?;
    let grid = ImageGrid::new_2d([size, size], [1.0, 1.0]).map_err(err)?;
    let n_cols = ((size as f64) * std::f64::consts::SQRT_2).ceil() as usize | 1;
    let angles = (0..views).map(|i| i as f64 * PI / views as f64).collect();
    let geometry = ParallelBeam::new(angles, n_cols, 1.0).map_err(err)?;
    let radius = size as f64 / 2.0;
    let phantom = EllipsoidPhantom::shepp_logan(radius);
    let (truth, t_phantom) = timed("rasterising the phantom", || {
        phantom.rasterize(&grid, 4).map_err(err)
    })?;
    let geometry: Geometry = geometry.into();
    let (exact, t_exact) = timed("exact line integrals", || {
        phantom.line_integrals(&geometry, &grid).map_err(err)
    })?;
    let exact = exact.index_axis_move(Axis(1), 0);
    let (projector, t_plan) = timed("planning", || {
        Projector::new(geometry.clone(), grid.clone(), backend).map_err(err)
    })?;
    let truth2 = truth.index_axis(Axis(0), 0).to_owned().into_dyn();
    let (sino, t_fwd) = timed("forward projection", || {
        projector.forward(truth2.view()).map_err(err)
    })?;
    let (plan, t_fbp_plan) = timed("planning FBP", || Fbp::new(&projector, filter).map_err(err))?;
    let (rec, t_fbp) = timed("filtered back-projection", || {
        plan.reconstruct(exact.view()).map_err(err)
    })?;
    let (adj, t_adj) = timed("adjoint", || projector.adjoint(exact.view()).map_err(err))?;
    drop(adj);

    let fwd_err = rel_l2(sino.as_slice().unwrap(), exact.as_slice().unwrap());
    let rmse = rmse_in_circle(&rec, &truth2, &grid);
    std::fs::create_dir_all(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    write_png(&out.join("phantom.png"), truth2.view(), 0.0, 0.5)?;
    write_png(&out.join("sinogram.png"), exact.view(), 0.0, max(&exact))?;
    write_png(&out.join("fbp.png"), rec.view(), 0.0, 0.5)?;
    let diff = (&rec - &truth2).mapv(|v| v + 0.05);
    write_png(&out.join("fbp_error.png"), diff.view(), 0.0, 0.1)?;

    let gvox = (size * size * views) as f64 / 1e9;
    println!(
        "tomors demo: {size}×{size} modified Shepp-Logan (1 mm pixels), {views} views over 180°, {n_cols} bins of 1 mm"
    );
    println!("backend: {}\n", projector.backend());
    println!(
        "| step                       | time (s) | GVox-updates/s | accuracy                               |"
    );
    println!(
        "|----------------------------|---------:|---------------:|----------------------------------------|"
    );
    println!(
        "| phantom (4×4 supersampled) | {t_phantom:8.3} |                |                                        |"
    );
    println!(
        "| exact line integrals       | {t_exact:8.3} |                |                                        |"
    );
    println!(
        "| plan projector             | {t_plan:8.3} |                |                                        |"
    );
    println!(
        "| forward projection         | {t_fwd:8.3} | {:14.2} | rel. L2 vs exact {fwd_err:<21.4} |",
        gvox / t_fwd
    );
    println!(
        "| adjoint                    | {t_adj:8.3} | {:14.2} |                                        |",
        gvox / t_adj
    );
    println!(
        "| {:<26} | {t_fbp_plan:8.3} |                |                                        |",
        format!("plan FBP ({})", filter.window)
    );
    println!(
        "| FBP                        | {t_fbp:8.3} | {:14.2} | RMSE in circle {rmse:<23.4} |",
        gvox / t_fbp
    );
    println!(
        "\nimages: {}/{{phantom,sinogram,fbp,fbp_error}}.png (error shown ±0.05 around mid-grey)",
        out.display()
    );
    Ok(())
}
