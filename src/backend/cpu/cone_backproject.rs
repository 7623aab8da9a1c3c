//! CPU twin of `shaders/cone_backproject.wgsl`: voxel-driven FDK back-projection onto a slab.
//!
//! Each voxel adds its views in the shader's order with the shader's arithmetic, organised for
//! a CPU:
//! - the band of each view is copied once into a frame padded with two zero rows and columns
//!   on every side, so the taps need no bounds checks (a zero tap adds exactly what the
//!   shader's skipped tap adds: nothing);
//! - work is split into tiles of a few slices × a few image rows, each run through every
//!   view, so a view's detector band and the tile's sums stay in cache; for each view, the
//!   terms of the maps that do not depend on `z` are computed once per `(y, x)` of the tile. When a view's maps have
//!   no `z` term in `a` and `c` (every orbit: the detector's rows are parallel to z), the
//!   column, the weight and the row's divisor are the same for every `z`, exactly (`0·z` adds
//!   nothing), so only the row is computed per voxel;
//! - inner loops run along `x`, so accumulators and detector rows are read contiguously.

use super::shared::rays::{atan_twin, split_index};
use crate::backend::layout::{CONE_FLAT, ConeMap, ConeParams};
use rayon::prelude::*;

/// Zero rows and columns around each padded band.
const PAD: usize = 2;

/// What one `(y, x)` column of voxels shares across `z` for one view.
#[derive(Clone, Copy, Default)]
struct Column {
    /// Padded column index of the left tap.
    col: i32,
    /// Fraction towards the right tap.
    frac: f32,
    /// The FDK weight.
    w: f32,
    /// Flat: 1/c; cylindrical: sqrt(a² + c²).
    div: f32,
}

/// [`Column`]s of a tile, field by field (so eight load as vectors).
struct Columns {
    col: Vec<i32>,
    frac: Vec<f32>,
    w: Vec<f32>,
    div: Vec<f32>,
}

/// A run of [`Columns`].
struct ColumnsRef<'a> {
    col: &'a [i32],
    frac: &'a [f32],
    w: &'a [f32],
    div: &'a [f32],
}

impl Columns {
    fn new(n: usize) -> Self {
        Self {
            col: vec![0; n],
            frac: vec![0.0; n],
            w: vec![0.0; n],
            div: vec![0.0; n],
        }
    }
    fn set(&mut self, i: usize, c: Column) {
        (self.col[i], self.frac[i], self.w[i], self.div[i]) = (c.col, c.frac, c.w, c.div);
    }
    fn range(&self, start: usize, len: usize) -> ColumnsRef<'_> {
        let r = start..start + len;
        ColumnsRef {
            col: &self.col[r.clone()],
            frac: &self.frac[r.clone()],
            w: &self.w[r.clone()],
            div: &self.div[r],
        }
    }
}

impl ColumnsRef<'_> {
    fn get(&self, i: usize) -> Column {
        Column {
            col: self.col[i],
            frac: self.frac[i],
            w: self.w[i],
            div: self.div[i],
        }
    }
}

/// Raw image pointer shared by the threads; each writes only its own tile's rows.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: threads write disjoint rows (distinct tiles) and read only their own.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// The `len` values from `at`.
    ///
    /// # Safety
    /// In bounds, and no other live reference to them.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, at: usize, len: usize) -> &mut [f32] {
        // SAFETY: as the caller promises.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(at), len) }
    }
}

/// Adds to `image[z, y, x]` (the slab) the back-projection of `filtered[view, band row, col]`.
/// Bindings in shader order: params, maps, filtered, image.
pub(crate) fn cone_backproject(
    p: &ConeParams,
    maps: &[ConeMap],
    filtered: &[f32],
    image: &mut [f32],
) {
    let (nx, ny, nz) = (p.nx as usize, p.ny as usize, p.nz as usize);
    let image = &mut image[..nx * ny * nz];
    let maps = &maps[p.first as usize..(p.first + p.n_views) as usize];
    let (n_cols, band) = (p.n_cols as usize, p.band_rows as usize);
    let stride = n_cols + 2 * PAD;
    let frame_len = (band + 2 * PAD) * stride;
    let mut padded = vec![0.0f32; maps.len() * frame_len];
    padded
        .par_chunks_mut(frame_len)
        .zip(filtered.par_chunks(band * n_cols))
        .for_each(|(dst, src)| {
            for (r, row) in src.chunks_exact(n_cols).enumerate() {
                dst[(r + PAD) * stride + PAD..][..n_cols].copy_from_slice(row);
            }
        });
    let out = Shared(image.as_mut_ptr());
    let tiles: Vec<(usize, usize)> = (0..nz)
        .step_by(TILE_Z)
        .flat_map(|z0| (0..ny).step_by(TILE_Y).map(move |y0| (z0, y0)))
        .collect();
    tiles.into_par_iter().for_each(|(z0, y0)| {
        let (tz, ty) = (TILE_Z.min(nz - z0), TILE_Y.min(ny - y0));
        // acc[(z − z0)·ty + (y − y0)][x]
        let mut acc = vec![0.0f32; tz * ty * nx];
        let rows = || (0..tz).flat_map(move |dz| (0..ty).map(move |dy| (dz, dy)));
        for (i, (dz, dy)) in rows().enumerate() {
            let at = ((z0 + dz) * ny + y0 + dy) * nx;
            // SAFETY: row (z, y) belongs to this tile alone; in bounds by construction.
            let src = unsafe { out.slice(at, nx) };
            acc[i * nx..(i + 1) * nx].copy_from_slice(src);
        }
        let mut columns = Columns::new(ty * nx);
        for (v, m) in maps.iter().enumerate() {
            let frame = &padded[v * frame_len..(v + 1) * frame_len];
            let z_free = m.a[2] == 0.0 && m.c[2] == 0.0;
            if z_free {
                // Column, weight and divisor shared down the slab (z terms are exactly 0).
                for dy in 0..ty {
                    let y = (y0 + dy) as f32;
                    let (ra, rc) = (m.a[1] * y + m.a[3], m.c[1] * y + m.c[3]);
                    for ix in 0..nx {
                        let x = ix as f32;
                        columns.set(
                            dy * nx + ix,
                            column_terms(p, m.a[0] * x + ra, m.c[0] * x + rc),
                        );
                    }
                }
            }
            for (i, (dz, dy)) in rows().enumerate() {
                let (y, z) = ((y0 + dy) as f32, (p.z0 as usize + z0 + dz) as f32);
                let rest = |q: [f32; 4]| q[1] * y + (q[2] * z + q[3]);
                let rb = rest(m.b);
                let row_acc = &mut acc[i * nx..(i + 1) * nx];
                if z_free {
                    let cols = columns.range(dy * nx, nx);
                    let done = simd_row(p, frame, stride, &cols, m.b[0], rb, row_acc);
                    for (ix, a) in row_acc.iter_mut().enumerate().skip(done) {
                        let c = cols.get(ix);
                        let b = m.b[0] * ix as f32 + rb;
                        *a += c.w * sample(p, frame, stride, &c, row_of(p, b, c.div));
                    }
                } else {
                    let (ra, rc) = (rest(m.a), rest(m.c));
                    for (ix, a_out) in row_acc.iter_mut().enumerate() {
                        let x = ix as f32;
                        let c = column_terms(p, m.a[0] * x + ra, m.c[0] * x + rc);
                        let b = m.b[0] * x + rb;
                        *a_out += c.w * sample(p, frame, stride, &c, row_of(p, b, c.div));
                    }
                }
            }
        }
        for (i, (dz, dy)) in rows().enumerate() {
            let at = ((z0 + dz) * ny + y0 + dy) * nx;
            // SAFETY: as above.
            let dst = unsafe { out.slice(at, nx) };
            dst.copy_from_slice(&acc[i * nx..(i + 1) * nx]);
        }
    });
}

/// Slices and image rows per tile: a view's detector band for `TILE_Z` slices and the tile's
/// accumulators stay in cache while the tile runs through the views.
const TILE_Z: usize = 16;
const TILE_Y: usize = 8;

/// The shader's column, weight and row divisor from the maps' `a` and `c`.
#[inline(always)]
fn column_terms(p: &ConeParams, a: f32, c: f32) -> Column {
    let (col, w, div) = if p.kind == CONE_FLAT {
        let inv = 1.0 / c;
        (a * inv, inv * inv, inv)
    } else {
        let r2 = a * a + c * c;
        (
            atan_twin(a / c) * p.col_scale + p.col_center,
            1.0 / r2,
            r2.sqrt(),
        )
    };
    let (ci, frac) = split_index(col, p.n_cols);
    Column {
        col: ci + PAD as i32,
        frac,
        w,
        div,
    }
}

/// The shader's fractional detector row from the map's `b` and the column's divisor.
#[inline(always)]
fn row_of(p: &ConeParams, b: f32, div: f32) -> f32 {
    if p.kind == CONE_FLAT {
        b * div
    } else {
        b / div * p.row_scale + p.row_center
    }
}

/// The bilinear sample at `row` and the column's taps, in the shader's order; 0 when both
/// rows lie outside the band (as the shader's skipped taps).
#[inline(always)]
fn sample(p: &ConeParams, frame: &[f32], stride: usize, c: &Column, row: f32) -> f32 {
    let (ri, rf) = split_index(row, p.n_rows);
    let r = ri - p.row0 as i32 + PAD as i32;
    // Rows r and r + 1 of the padded band (band + 2·PAD rows) exist.
    if r < 0 || r > (p.band_rows + PAD as u32) as i32 {
        return 0.0;
    }
    let at = r as usize * stride + c.col as usize;
    let (f00, f01) = (frame[at], frame[at + 1]);
    let (f10, f11) = (frame[at + stride], frame[at + stride + 1]);
    let (wr0, wq0) = (1.0 - rf, 1.0 - c.frac);
    let mut val = 0.0f32;
    val += wr0 * wq0 * f00;
    val += wr0 * c.frac * f01;
    val += rf * wq0 * f10;
    val += rf * c.frac * f11;
    val
}

/// The `z`-free inner loop over 8 voxels at a time where the CPU has AVX2 (the same operations
/// lane by lane: no fused multiply-adds, masked gathers for the rows outside the band); returns
/// how many leading voxels of the row it did.
fn simd_row(
    p: &ConeParams,
    frame: &[f32],
    stride: usize,
    cols: &ColumnsRef<'_>,
    mb0: f32,
    rb: f32,
    acc: &mut [f32],
) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { avx2::row(p, frame, stride, cols, mb0, rb, acc) };
    }
    let _ = (p, frame, stride, cols, mb0, rb, acc);
    0
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{CONE_FLAT, ColumnsRef, ConeParams, PAD};
    use std::arch::x86_64::*;

    /// Eight voxels at a time of one `z`-free row (see `sample` and `row_of`).
    #[target_feature(enable = "avx2")]
    pub(super) fn row(
        p: &ConeParams,
        frame: &[f32],
        stride: usize,
        cols: &ColumnsRef<'_>,
        mb0: f32,
        rb: f32,
        acc: &mut [f32],
    ) -> usize {
        let n = acc.len().min(cols.col.len()) / 8 * 8;
        let flat = p.kind == CONE_FLAT;
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let (one, two, minus_two) = (
            _mm256_set1_ps(1.0),
            _mm256_set1_ps(2.0),
            _mm256_set1_ps(-2.0),
        );
        let n_rows = _mm256_set1_ps(p.n_rows as f32);
        let shift = _mm256_set1_epi32(PAD as i32 - p.row0 as i32 - 2);
        let last = _mm256_set1_epi32((p.band_rows + PAD as u32) as i32 + 1);
        let stride_v = _mm256_set1_epi32(stride as i32);
        let below = _mm256_set1_epi32(-1);
        let (b0, rbv) = (_mm256_set1_ps(mb0), _mm256_set1_ps(rb));
        let (scale, centre) = (_mm256_set1_ps(p.row_scale), _mm256_set1_ps(p.row_center));
        let base = frame.as_ptr();
        let mut ix = 0;
        while ix < n {
            // SAFETY: ix + 8 ≤ n ≤ the lengths of acc and of every column field.
            unsafe {
                let col = _mm256_loadu_si256(cols.col.as_ptr().add(ix) as *const __m256i);
                let frac = _mm256_loadu_ps(cols.frac.as_ptr().add(ix));
                let w = _mm256_loadu_ps(cols.w.as_ptr().add(ix));
                let div = _mm256_loadu_ps(cols.div.as_ptr().add(ix));
                let x = _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_set1_epi32(ix as i32), lanes));
                let b = _mm256_add_ps(_mm256_mul_ps(b0, x), rbv);
                let row = if flat {
                    _mm256_mul_ps(b, div)
                } else {
                    _mm256_add_ps(_mm256_mul_ps(_mm256_div_ps(b, div), scale), centre)
                };
                let g = _mm256_add_ps(_mm256_min_ps(_mm256_max_ps(row, minus_two), n_rows), two);
                let k = _mm256_cvttps_epi32(g);
                let rf = _mm256_sub_ps(g, _mm256_cvtepi32_ps(k));
                // r = (k − 2) − row0 + PAD; rows r and r + 1 exist when 0 ≤ r ≤ band + PAD.
                let r = _mm256_add_epi32(k, shift);
                let inside =
                    _mm256_and_si256(_mm256_cmpgt_epi32(r, below), _mm256_cmpgt_epi32(last, r));
                let mask = _mm256_castsi256_ps(inside);
                let at = _mm256_add_epi32(_mm256_mullo_epi32(r, stride_v), col);
                let zero = _mm256_setzero_ps();
                let gather = |offset: i32| {
                    _mm256_mask_i32gather_ps::<4>(
                        zero,
                        base,
                        _mm256_add_epi32(at, _mm256_set1_epi32(offset)),
                        mask,
                    )
                };
                let (f00, f01) = (gather(0), gather(1));
                let (f10, f11) = (gather(stride as i32), gather(stride as i32 + 1));
                let wr0 = _mm256_sub_ps(one, rf);
                let wq0 = _mm256_sub_ps(one, frac);
                let mut val = _mm256_add_ps(zero, _mm256_mul_ps(_mm256_mul_ps(wr0, wq0), f00));
                val = _mm256_add_ps(val, _mm256_mul_ps(_mm256_mul_ps(wr0, frac), f01));
                val = _mm256_add_ps(val, _mm256_mul_ps(_mm256_mul_ps(rf, wq0), f10));
                val = _mm256_add_ps(val, _mm256_mul_ps(_mm256_mul_ps(rf, frac), f11));
                let out = acc.as_mut_ptr().add(ix);
                let sum = _mm256_add_ps(_mm256_loadu_ps(out), _mm256_mul_ps(w, val));
                _mm256_storeu_ps(out, sum);
            }
            ix += 8;
        }
        n
    }
}
