//! CPU twin of `shaders/adjoint_project.wgsl`: the exact adjoint of the Joseph projector.
//!
//! The shader gathers, one invocation per voxel, over the columns whose rays can touch it (a
//! GPU has no float atomics). Here the same operator is applied as the transpose of
//! `forward_project`, tap for tap, without races and in a fixed order: a line that steps
//! along y puts its two taps of step `iy` into image row `iy`, so rows are independent and
//! each is a rayon task over the lines that step along y; lines that step along x are handled
//! the same way per image column, into a transposed buffer that is added at the end. Each
//! voxel then sums the same terms as the shader (to f32 rounding: the order differs) and
//! exactly the terms `forward_project` multiplies it by, so the pair is exactly adjoint. The
//! per-voxel gather [`gather`] is kept as the test oracle.

use super::shared::rays::{split_index, steps};
use crate::backend::layout::{Line, Params, View};
use rayon::prelude::*;

/// Image rows (or columns) per rayon task: a line's data are reused across the block.
const BLOCK: usize = 16;

/// One line of one slice, ready to scatter: its crossing, the data times its step length, and
/// the steps it covers.
#[derive(Clone, Copy)]
struct Tap {
    f0: f32,
    fstep: f32,
    value: f32,
    lo: u32,
    hi: u32,
}

/// Overwrites `image[z, y, x]` with the adjoint of `sino[view, z, col]`.
/// Bindings in shader order: params, views, lines, sino, image.
pub(crate) fn adjoint_project(
    p: &Params,
    _views: &[View],
    lines: &[Line],
    sino: &[f32],
    image: &mut [f32],
) {
    let (nx, ny, nz) = (p.nx as usize, p.ny as usize, p.nz as usize);
    let (n_views, n_cols) = (p.n_views as usize, p.n_cols as usize);
    let lines = &lines[..n_views * n_cols];
    let mut transposed = vec![0.0f32; nx * ny];
    for (z, slice) in image[..nx * ny * nz].chunks_mut(nx * ny).enumerate() {
        // The lines of this slice with non-zero data, in (view, column) order, by direction.
        let (mut along_y, mut along_x) = (Vec::new(), Vec::new());
        for view in 0..n_views {
            let data = &sino[(view * nz + z) * n_cols..][..n_cols];
            for (line, &d) in lines[view * n_cols..][..n_cols].iter().zip(data) {
                if d == 0.0 {
                    continue;
                }
                let x = line.along_x > 0.5;
                let (n_step, n_other) = if x { (p.nx, p.ny) } else { (p.ny, p.nx) };
                let Some(range) = steps(line, n_step, n_other) else {
                    continue;
                };
                let tap = Tap {
                    f0: line.f0,
                    fstep: line.fstep,
                    value: d * line.weight,
                    lo: *range.start(),
                    hi: *range.end(),
                };
                if x { &mut along_x } else { &mut along_y }.push(tap);
            }
        }
        scatter(slice, nx, &along_y);
        scatter(&mut transposed, ny, &along_x);
        add_transposed(slice, &transposed, nx, ny);
    }
}

/// `out[i, ·] ← Σ taps of step i` for every line, `out` having rows of `n_other` values.
fn scatter(out: &mut [f32], n_other: usize, taps: &[Tap]) {
    let last = n_other as i32 - 1;
    out.par_chunks_mut(BLOCK * n_other)
        .enumerate()
        .for_each(|(block, rows)| {
            rows.fill(0.0);
            let first = (block * BLOCK) as u32;
            let end = first + (rows.len() / n_other) as u32;
            for t in taps {
                let (lo, hi) = (t.lo.max(first), t.hi.min(end - 1));
                if lo > hi {
                    continue;
                }
                for i in lo..=hi {
                    let (i0, frac) = split_index(t.f0 + i as f32 * t.fstep, n_other as u32);
                    let row = &mut rows[(i - first) as usize * n_other..][..n_other];
                    if i0 >= 0 && i0 <= last {
                        row[i0 as usize] += (1.0 - frac) * t.value;
                    }
                    if i0 + 1 >= 0 && i0 < last {
                        row[(i0 + 1) as usize] += frac * t.value;
                    }
                }
            }
        });
}

/// `slice[y, x] += transposed[x, y]`, in tiles that stay in cache.
fn add_transposed(slice: &mut [f32], transposed: &[f32], nx: usize, ny: usize) {
    const TILE: usize = 32;
    slice
        .par_chunks_mut(TILE * nx)
        .enumerate()
        .for_each(|(band, rows)| {
            let y0 = band * TILE;
            for x0 in (0..nx).step_by(TILE) {
                for (dy, row) in rows.chunks_mut(nx).enumerate() {
                    let y = y0 + dy;
                    for x in x0..(x0 + TILE).min(nx) {
                        row[x] += transposed[x * ny + y];
                    }
                }
            }
        });
}

/// The shader's per-voxel gather, step for step: the oracle the scatter is tested against.
#[cfg(test)]
pub(crate) fn gather(p: &Params, views: &[View], lines: &[Line], sino: &[f32], image: &mut [f32]) {
    use super::shared::rays::{column_of, column_reach, pixel_l, pixel_t};
    const REACH_MARGIN: f32 = 0.01;
    let n = p.n_cols as usize;
    let rho = p.dx.max(p.dy);
    let last_col = p.n_cols as f32 - 1.0;
    for z in 0..p.nz {
        for iy in 0..p.ny {
            for ix in 0..p.nx {
                let mut acc = 0.0f32;
                for (view, v) in views[..p.n_views as usize].iter().enumerate() {
                    let t = pixel_t(v, ix, iy);
                    let l = pixel_l(v, ix, iy);
                    let c = column_of(p, t, l);
                    let reach = column_reach(p, v, t, l, rho) + REACH_MARGIN;
                    if c + reach < 0.0 || c - reach > last_col {
                        continue;
                    }
                    let lo = (c - reach).max(0.0) as u32;
                    let hi = ((c + reach) as u32).min(p.n_cols - 1);
                    let row = (view * p.nz as usize + z as usize) * n;
                    let mut part = 0.0f32;
                    for k in lo..=hi {
                        let line = lines[view * n + k as usize];
                        let (i, other, n_other) = if line.along_x > 0.5 {
                            (ix, iy as i32, p.ny)
                        } else {
                            (iy, ix as i32, p.nx)
                        };
                        let (i0, frac) = split_index(line.f0 + i as f32 * line.fstep, n_other);
                        let w = if other == i0 {
                            1.0 - frac
                        } else if other == i0 + 1 {
                            frac
                        } else {
                            0.0
                        };
                        part += w * line.weight * sino[row + k as usize];
                    }
                    acc += part;
                }
                image[((z * p.ny + iy) * p.nx + ix) as usize] = acc;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{
        DetectorColumns, DetectorShape, FanBeam, Geometry, ImageGrid, ParallelBeam, lower,
    };

    fn check(geometry: Geometry, grid: ImageGrid) {
        let l = lower(&geometry, &grid);
        let p = l.params;
        let n_data = (p.n_views * p.nz * p.n_cols) as usize;
        let mut rng = crate::operator::SplitMix64(3);
        let sino: Vec<f32> = (0..n_data).map(|_| rng.next_signed()).collect();
        let n_image = (p.nx * p.ny * p.nz) as usize;
        let (mut fast, mut slow) = (vec![0.0; n_image], vec![0.0; n_image]);
        adjoint_project(&p, &l.views, &l.lines, &sino, &mut fast);
        gather(&p, &l.views, &l.lines, &sino, &mut slow);
        let scale = slow.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = fast
            .iter()
            .zip(&slow)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst <= 1e-5 * scale,
            "scatter differs from the gather by {worst} (scale {scale})"
        );
    }

    #[test]
    fn the_scatter_gives_the_gather_on_parallel_and_fan_geometries() {
        let angles: Vec<f64> = (0..37).map(|i| i as f64 * 0.0871).collect();
        let grid = ImageGrid::new_3d([2, 23, 31], [1.5, 0.9, 1.1]).unwrap();
        let parallel = ParallelBeam::with_detector(
            angles.clone(),
            DetectorColumns {
                n_cols: 41,
                spacing: 0.8,
                offset: 1.3,
            },
            2,
            1.5,
        )
        .unwrap();
        check(parallel.into(), grid.clone());
        for shape in [DetectorShape::Flat, DetectorShape::Arc] {
            let fan = FanBeam::with_rows(
                angles.iter().map(|a| a * 2.0).collect(),
                DetectorColumns {
                    n_cols: 45,
                    spacing: 1.3,
                    offset: -0.7,
                },
                2,
                1.5,
                150.0,
                260.0,
                shape,
            )
            .unwrap();
            check(fan.into(), grid.clone());
        }
    }
}
