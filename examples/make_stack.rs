//! Writes the exact line integrals of the 3D Shepp-Logan phantom for a stack of 512² slices of
//! 1 mm (720 views over 180°, 725 bins of 1 mm) as float32 `.npy`, `[views, slices, cols]`: the
//! input of the stack-FBP memory measurement in BENCHMARKS.md. The Rust twin of
//! `python/benchmarks/make_stack.py`, for machines without the Python package.
//!
//! `cargo run --release --example make_stack -- 512 stack512.npy`

use std::f64::consts::PI;
use std::fs::File;
use std::io::BufWriter;

use ndarray_npy::WriteNpyExt;
use tomors::phantom::EllipsoidPhantom;
use tomors::{DetectorColumns, Geometry, ImageGrid, ParallelBeam};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, slices, out] = args.as_slice() else {
        return Err("usage: make_stack SLICES OUT.npy".into());
    };
    let slices: usize = slices.parse()?;
    let (n, views, cols) = (512, 720, 725);
    let grid = ImageGrid::new_3d([slices, n, n], [1.0, 1.0, 1.0])?;
    let angles = (0..views).map(|i| i as f64 * PI / views as f64).collect();
    let columns = DetectorColumns {
        n_cols: cols,
        spacing: 1.0,
        offset: 0.0,
    };
    let geometry: Geometry = ParallelBeam::with_detector(angles, columns, slices, 1.0)?.into();
    let sinogram =
        EllipsoidPhantom::shepp_logan(n as f64 / 2.0).line_integrals(&geometry, &grid)?;
    sinogram.write_npy(BufWriter::new(File::create(out)?))?;
    println!(
        "{out}: {:?} float32, {:.0} MiB",
        sinogram.shape(),
        sinogram.len() as f64 * 4.0 / (1 << 20) as f64
    );
    Ok(())
}
