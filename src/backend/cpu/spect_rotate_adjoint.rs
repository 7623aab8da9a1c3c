//! CPU twin of `shaders/spect_rotate_adjoint.wgsl`: same bindings, same per-sample arithmetic, with
//! rayon over (view of the batch, slice) planes in place of the dispatch grid.
//!
//! One difference, by design: it scatters each rotated-frame sample into its four bilinear
//! taps (each rayon task owns one slice, so there are no races) where the shader gathers the
//! same weighted terms per voxel. The terms are identical; only the order of summation
//! differs, and scattering is four times less work on a CPU.

use super::shared::spect::{
    columns_inside, columns_interior, plane_len, sample_position, spread, spread_interior,
};
use crate::backend::layout::{SpectParams, SpectView};
use rayon::prelude::*;

/// Twin of `spect_rotate_adjoint.wgsl` (by scattering, see the module docs): adds or writes
/// `Σ_b Σ_samples w · step · att · rot` into `image[z, y, x]`.
pub(crate) fn spect_rotate_adjoint(
    p: &SpectParams,
    views: &[SpectView],
    att: &[f32],
    rot: &[f32],
    image: &mut [f32],
) {
    let (nz, nc, nd) = (p.nz as usize, p.n_cols as usize, p.n_depth as usize);
    let slice_len = (p.nx * p.ny) as usize;
    let len = plane_len(p);
    let att_first = p.att_first as usize * nz * len;
    image[..nz * slice_len]
        .par_chunks_mut(slice_len)
        .enumerate()
        .for_each(|(z, slice)| {
            if p.accumulate == 0 {
                slice.fill(0.0);
            }
            for b in 0..p.batch_count as usize {
                let v = &views[p.batch_first as usize + b];
                let base = (b * nz + z) * len;
                for id in 0..nd {
                    let interior = columns_interior(v, id, nc, p.nx, p.ny);
                    for k in columns_inside(v, id, nc, p.nx, p.ny) {
                        let o = base + id * nc + k;
                        let value = rot[o];
                        if value == 0.0 {
                            continue;
                        }
                        let factor = if p.has_attenuation != 0 {
                            p.step * att[att_first + o]
                        } else {
                            p.step
                        };
                        let term = value * factor;
                        let (fx, fy) = sample_position(v, k, id);
                        if interior.contains(&k) {
                            spread_interior(slice, fx, fy, p.nx, term);
                        } else {
                            spread(slice, fx, fy, p.nx, p.ny, term);
                        }
                    }
                }
            }
        });
}
