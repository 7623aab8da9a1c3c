//! Resampling between patient grids on both backends: the GPU twin against the CPU, on
//! rotated grids, with averaging and with points outside the source.

mod common;

use ndarray::Array3;
use tomors::fusion::{Resampling, Rigid, resample};
use tomors::{Backend, PatientGrid};

fn smooth_source(grid: &PatientGrid) -> Array3<f32> {
    let [nz, ny, nx] = grid.shape;
    Array3::from_shape_fn((nz, ny, nx), |(z, y, x)| {
        let p = grid.position([z as f64, y as f64, x as f64]);
        (100.0 * (p[0] / 17.0).sin() * (p[1] / 23.0).cos() + 3.0 * p[2]) as f32
    })
}

fn agrees_with_the_cpu(backend: Backend) {
    let from =
        PatientGrid::axis_aligned([30, 40, 50], [2.5, 1.0, 1.0], [-25.0, -20.0, -36.0]).unwrap();
    let source = smooth_source(&from);
    // A coarser target, rotated by 10° about two axes and reaching beyond the source.
    let motion = Rigid {
        angles: [10f64.to_radians(), 0.0, 10f64.to_radians()],
        translation: [3.0, -2.0, 5.0],
        centre: from.centre(),
    };
    let to = motion.move_grid(
        &PatientGrid::axis_aligned([14, 18, 22], [5.0, 2.5, 2.5], [-28.0, -22.0, -36.0]).unwrap(),
    );
    for method in [Resampling::Trilinear, Resampling::Average] {
        let cpu = resample(source.view(), &from, &to, -1000.0, method, Backend::Cpu).unwrap();
        let other = resample(source.view(), &from, &to, -1000.0, method, backend).unwrap();
        let outside = cpu.iter().filter(|&&v| v == -1000.0).count();
        let worst = cpu
            .iter()
            .zip(&other)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!(
            "{method:?} on {backend}: {outside} of {} voxels outside; largest difference from the CPU {worst:.2e}",
            cpu.len()
        );
        assert!(outside > 0 && outside < cpu.len() / 2);
        assert!(worst < 1e-3, "{worst}");
    }
}

/// The GPU against the CPU twin (comparing the CPU with itself would prove nothing).
#[test]
#[ignore = "GPU: needs a wgpu adapter; run with --include-ignored"]
fn the_gpu_agrees_with_the_cpu() {
    agrees_with_the_cpu(Backend::Gpu);
}
