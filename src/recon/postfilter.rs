//! Gaussian post-filtering of reconstructed volumes.

use crate::maths::{FWHM_PER_SIGMA, gaussian_half_kernel};
use ndarray::{ArrayD, Axis};
use rayon::prelude::*;

/// Smooths `volume` (`[z, y, x]`, or `[y, x]`) with a separable Gaussian of `fwhm` mm, each
/// axis scaled by its voxel size (`spacing` is `[dz, dy, dx]`). Near the edges the kernel is
/// renormalised over the voxels inside, so a uniform volume stays uniform (and an axis of one
/// voxel is left alone); away from the edges counts are preserved.
pub(crate) fn gaussian_filter_3d(volume: &mut ArrayD<f32>, fwhm: f64, spacing: [f64; 3]) {
    let ndim = volume.ndim();
    for axis in 0..ndim {
        let d = spacing[3 - ndim + axis];
        let half: Vec<f32> = gaussian_half_kernel(fwhm / FWHM_PER_SIGMA / d)
            .into_iter()
            .map(|w| w as f32)
            .collect();
        if half.len() == 1 {
            continue;
        }
        let n = volume.shape()[axis];
        let mut lanes: Vec<_> = volume.lanes_mut(Axis(axis)).into_iter().collect();
        lanes.par_iter_mut().for_each(|lane| {
            let src: Vec<f32> = lane.iter().copied().collect();
            for i in 0..n {
                let (mut sum, mut weight) = (half[0] * src[i], half[0]);
                for (j, w) in half.iter().enumerate().skip(1) {
                    if i >= j {
                        sum += w * src[i - j];
                        weight += w;
                    }
                    if i + j < n {
                        sum += w * src[i + j];
                        weight += w;
                    }
                }
                lane[i] = sum / weight;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    #[test]
    fn preserves_total_and_spreads_a_point_to_its_fwhm() {
        let mut v = ArrayD::<f32>::zeros(IxDyn(&[1, 1, 101]));
        v[[0, 0, 50]] = 1.0;
        gaussian_filter_3d(&mut v, 10.0, [1.0, 1.0, 1.0]);
        let total: f32 = v.iter().sum();
        assert!((total - 1.0).abs() < 1e-5);
        let peak = v[[0, 0, 50]];
        // Half maximum lies 5 mm from the centre.
        let at5 = v[[0, 0, 55]];
        assert!((at5 / peak - 0.5).abs() < 0.03, "{}", at5 / peak);
        let mut uniform = ArrayD::<f32>::from_elem(IxDyn(&[3, 20, 20]), 2.0);
        gaussian_filter_3d(&mut uniform, 8.0, [2.0, 1.0, 1.0]);
        assert!(uniform.iter().all(|v| (v - 2.0).abs() < 1e-5));
    }
}
