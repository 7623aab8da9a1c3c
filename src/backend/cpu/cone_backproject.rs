//! CPU twin of `shaders/cone_backproject.wgsl`: voxel-driven FDK back-projection onto a slab.
//!
//! Each voxel adds its views in the shader's order with the shader's arithmetic, its fused
//! multiply-adds included (the row at `z`, the interpolations, the sum: [`fused`]) and its
//! maps evaluated so that no device's choice to fuse or not can change them ([`Affine`]; the
//! shader's `recip` makes a device's division correctly rounded, as here), organised for a
//! CPU:
//! - views go in blocks of [`VIEW_BLOCK`]: each view's band is copied into a frame transposed
//!   to `[column][row]` (16 × 16 blocks through AVX-512 registers where the CPU has them; the
//!   slab's transposes to and from z-lines likewise) and padded with two zero rows and columns
//!   on every side, so a detector column is contiguous and the taps need no bounds checks (a
//!   zero tap adds exactly what the shader's skipped tap adds); the block's frames stay in the
//!   last-level cache while the whole slab runs through them;
//! - when every view's maps have no `z` term in `a` and `c` (every orbit: the detector's rows
//!   are parallel to z), a voxel's column, weight and row slope are the same all the way down
//!   its `(y, x)` line, exactly (`0·z` adds nothing). The slab is then held as lines along z
//!   and each line is done at once: the shader's interpolation between the two detector
//!   columns (its first step) is taken once per row the line crosses, and each voxel only
//!   finds its row and interpolates between two of those values, 16 voxels at a time with
//!   AVX-512 (8 with AVX2; one at a time elsewhere: the same bits). Lines go in tiles of a few
//!   `(y, x)`, so the detector columns a tile sees stay in cache while it runs through the
//!   block;
//! - other geometries (tilted detectors) take the shader's path voxel by voxel.
//!
//! Where the CPU has AVX2 and FMA, every path is compiled for them (so that a fused
//! multiply-add is one instruction); elsewhere `mul_add` is the platform's (one instruction on
//! ARM64, a correctly rounded library call on x86-64 CPUs without FMA).

use super::shared::rays::{atan_twin, split_index};
use crate::backend::layout::{CONE_FLAT, ConeMap, ConeParams};
use rayon::prelude::*;

/// Zero rows and columns around each padded frame.
const PAD: usize = 2;

/// Image rows and columns of a tile of `(y, x)` lines.
const TILE: usize = 16;

/// Rows of the widest (four-register) table the AVX-512 path picks taps from.
const TABLE: usize = 64;

/// Adds to `image[z, y, x]` (the slab) the back-projection of `filtered[view, band row, col]`.
/// Bindings in shader order: params, maps, filtered, image.
pub(crate) fn cone_backproject(
    p: &ConeParams,
    maps: &[ConeMap],
    filtered: &[f32],
    image: &mut [f32],
) {
    backproject_with(p, maps, filtered, image, Lanes::detect());
}

/// The vector unit the twin runs on (lines, transposes and the voxel path); each gives the same
/// bits.
#[derive(Clone, Copy, Debug)]
enum Lanes {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Lanes {
    /// The widest the CPU supports.
    fn detect() -> Self {
        *Self::supported().last().expect("scalar lanes always run")
    }

    /// Every kind the CPU supports, narrowest first: AVX2 needs FMA too, and AVX-512 needs
    /// both (its CPUs have them; the voxel path runs on AVX2).
    fn supported() -> Vec<Self> {
        #[allow(unused_mut)]
        let mut lanes = vec![Lanes::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") && has!("fma") {
                lanes.push(Lanes::Avx2);
                if has!("avx512f") {
                    lanes.push(Lanes::Avx512);
                }
            }
        }
        lanes
    }
}

/// [`cone_backproject`] with the lines run on `lanes`, which the CPU must support.
fn backproject_with(
    p: &ConeParams,
    maps: &[ConeMap],
    filtered: &[f32],
    image: &mut [f32],
    lanes: Lanes,
) {
    let (nx, ny, nz) = (p.nx as usize, p.ny as usize, p.nz as usize);
    let image = &mut image[..nx * ny * nz];
    let maps = &maps[p.first as usize..(p.first + p.n_views) as usize];
    let view_len = (p.band_rows * p.n_cols) as usize;
    let mut frames = Frames::new(p, VIEW_BLOCK.min(maps.len()));
    let blocks = maps
        .chunks(VIEW_BLOCK)
        .zip(filtered.chunks(VIEW_BLOCK * view_len));
    if maps.iter().all(|m| m.a[2] == 0.0 && m.c[2] == 0.0) {
        // The slab as lines along z, [y][x][z], for the views' whole run.
        let mut lines = vec![0.0f32; image.len()];
        transpose(image, &mut lines, nx * ny, nz, lanes);
        for (block, data) in blocks {
            frames.fill(p, &data[..block.len() * view_len], lanes);
            by_lines(p, block, &frames, &mut lines, lanes);
        }
        transpose(&lines, image, nz, nx * ny, lanes);
    } else {
        for (block, data) in blocks {
            frames.fill(p, &data[..block.len() * view_len], lanes);
            by_voxels(p, block, &frames, image, lanes);
        }
    }
}

/// `to[j][i] = from[i][j]` for `from` of `rows` × `cols`, in parallel over runs of 16 rows of
/// `to`.
fn transpose(from: &[f32], to: &mut [f32], cols: usize, rows: usize, lanes: Lanes) {
    to.par_chunks_mut(rows * BLOCK)
        .enumerate()
        .for_each(|(run, out)| {
            let j0 = run * BLOCK;
            transpose_into(&from[j0..], cols, out, rows, rows, out.len() / rows, lanes);
        });
}

/// Sides of the square blocks [`transpose_into`] moves at once.
const BLOCK: usize = 16;

/// `to[j · to_stride + i] = from[i · from_stride + j]` for `i < rows`, `j < cols`: blocks of
/// 16 × 16 through AVX-512 registers where the CPU has it, the rest value by value.
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
fn transpose_into(
    from: &[f32],
    from_stride: usize,
    to: &mut [f32],
    to_stride: usize,
    rows: usize,
    cols: usize,
    lanes: Lanes,
) {
    if rows == 0 || cols == 0 {
        return;
    }
    assert!(from.len() >= (rows - 1) * from_stride + cols);
    assert!(to.len() >= (cols - 1) * to_stride + rows);
    for i0 in (0..rows).step_by(BLOCK) {
        for j0 in (0..cols).step_by(BLOCK) {
            let (h, w) = (BLOCK.min(rows - i0), BLOCK.min(cols - j0));
            #[cfg(target_arch = "x86_64")]
            if h == BLOCK && w == BLOCK && matches!(lanes, Lanes::Avx512) {
                // SAFETY: the CPU has AVX-512 (`lanes`), and the block's 16 rows of 16 lie
                // within `from` and its 16 columns of 16 within `to` (the assertions above).
                unsafe {
                    avx512::transpose16(
                        from.as_ptr().add(i0 * from_stride + j0),
                        from_stride,
                        to.as_mut_ptr().add(j0 * to_stride + i0),
                        to_stride,
                    )
                };
                continue;
            }
            for j in j0..j0 + w {
                for i in i0..i0 + h {
                    to[j * to_stride + i] = from[i * from_stride + j];
                }
            }
        }
    }
}

/// Views transposed and back-projected together: their frames (about 1 MiB each for 512²
/// pixels) stay in the last-level cache while every tile of the slab runs through them.
const VIEW_BLOCK: usize = 16;

/// Each view's band transposed to `[column][row]`, padded by [`PAD`] zeros on every side.
struct Frames {
    data: Vec<f32>,
    /// Rows of a padded column.
    stride: usize,
    /// Values per view.
    len: usize,
}

impl Frames {
    /// Room for `views` frames of `p`'s band.
    fn new(p: &ConeParams, views: usize) -> Self {
        let stride = p.band_rows as usize + 2 * PAD;
        let len = (p.n_cols as usize + 2 * PAD) * stride;
        Self {
            data: vec![0.0f32; views * len],
            stride,
            len,
        }
    }

    /// Frames of the views of `filtered[view, band row, col]` (the padding stays zero).
    fn fill(&mut self, p: &ConeParams, filtered: &[f32], lanes: Lanes) {
        let (n_cols, band) = (p.n_cols as usize, p.band_rows as usize);
        let stride = self.stride;
        self.data
            .par_chunks_mut(self.len)
            .zip(filtered.par_chunks(band * n_cols))
            .for_each(|(dst, src)| {
                let at = PAD * stride + PAD;
                transpose_into(src, n_cols, &mut dst[at..], stride, band, n_cols, lanes);
            });
    }

    fn view(&self, v: usize) -> &[f32] {
        &self.data[v * self.len..(v + 1) * self.len]
    }
}

/// What one voxel, or a whole `z`-free line of voxels, takes from a view's maps.
#[derive(Clone, Copy)]
struct Terms {
    /// Padded column index of the left tap.
    col: usize,
    /// Fraction towards the right tap.
    frac: f32,
    /// The FDK weight.
    w: f32,
    /// Detector row at slice index 0 ...
    row_at: f32,
    /// ... and its change per slice: the row at slice `z` is `row_at + z · row_dz`, one fused
    /// multiply-add ([`row_of`]).
    row_dz: f32,
}

/// The leading 12 significant bits of `v` (sign and exponent kept): the shader's `leading`.
/// Times a voxel index below 4096 (12 bits), the product is exact.
#[inline(always)]
fn leading(v: f32) -> f32 {
    f32::from_bits(v.to_bits() & 0xffff_f000)
}

/// A map `q` at `(y, z)`, as a function of `x`: the shader's `affine`, the sum of the exact
/// products of the coefficients' leading bits plus that of the remainders, each in the
/// shader's order. A device that fuses the multiply-adds and one that does not give the same
/// exact part, so the map agrees with the shader's to the last bit but in a rare case.
struct Affine {
    /// The `x` coefficient's leading bits and remainder.
    lead: f32,
    trail: f32,
    /// The exact part and the remainders' part of the terms in `y` and `z`.
    exact: f32,
    rest: f32,
}

impl Affine {
    #[inline(always)]
    fn new(q: [f32; 4], y: f32, z: f32) -> Self {
        let h = q.map(leading);
        Affine {
            lead: h[0],
            trail: q[0] - h[0],
            exact: h[1] * y + (h[2] * z + h[3]),
            rest: (q[1] - h[1]) * y + ((q[2] - h[2]) * z + (q[3] - h[3])),
        }
    }

    #[inline(always)]
    fn at(&self, x: f32) -> f32 {
        (self.lead * x + self.exact) + (self.trail * x + self.rest)
    }
}

/// The shader's terms from `a` and `c` of the maps and `b` without its `z` term. `1 / c` is
/// correctly rounded here, which the shader's `recip` makes it on a device whose division is
/// not.
#[inline(always)]
fn voxel_terms(p: &ConeParams, a: f32, b: f32, bz: f32, c: f32) -> Terms {
    let (col, w, row_at, row_dz) = if p.kind == CONE_FLAT {
        let inv = 1.0 / c;
        (a * inv, inv * inv, b * inv, bz * inv)
    } else {
        let r2 = a * a + c * c;
        let div = r2.sqrt();
        (
            atan_twin(a / c) * p.col_scale + p.col_center,
            1.0 / r2,
            b / div * p.row_scale + p.row_center,
            bz / div * p.row_scale,
        )
    };
    let (ci, frac) = split_index(col, p.n_cols);
    Terms {
        // ci ≥ −2, so the padded index is ≥ 0.
        col: (ci + PAD as i32) as usize,
        frac,
        w,
        row_at,
        row_dz,
    }
}

/// The padded-frame row of the upper tap and the fraction towards the lower one at `row`.
#[inline(always)]
fn padded_row(p: &ConeParams, row: f32) -> (i32, f32) {
    let (ri, rf) = split_index(row, p.n_rows);
    (ri - p.row0 as i32 + PAD as i32, rf)
}

/// Padded rows `r` whose taps `r` and `r + 1` both lie in the frame.
#[inline(always)]
fn last_padded_row(p: &ConeParams) -> i32 {
    (p.band_rows + PAD as u32) as i32
}

/// `a + t (b − a)`: the shader's linear interpolation, one fused multiply-add.
#[inline(always)]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    fused(t, b - a, a)
}

/// `a · b + c` rounded once: WGSL's `fma`.
#[inline(always)]
fn fused(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}

/// The detector row of slice `z` (the shader's `fma(z, row_dz, row_at)`).
#[inline(always)]
fn row_of(t: &Terms, z: f32) -> f32 {
    fused(z, t.row_dz, t.row_at)
}

/// The shader's bilinear sample (columns first, then rows) at slice `z`; 0 when the taps lie
/// outside the band.
#[inline(always)]
fn sample(p: &ConeParams, frame: &[f32], stride: usize, t: &Terms, z: f32) -> f32 {
    let (r, rf) = padded_row(p, row_of(t, z));
    if r < 0 || r > last_padded_row(p) {
        return 0.0;
    }
    let left = &frame[t.col * stride + r as usize..];
    let right = &frame[(t.col + 1) * stride + r as usize..];
    let c0 = lerp(left[0], right[0], t.frac);
    let c1 = lerp(left[1], right[1], t.frac);
    lerp(c0, c1, rf)
}

/// Raw image pointer shared by the threads; each writes only its own tile's lines.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: threads touch disjoint voxels (distinct tiles' lines).
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

/// The general path: voxel after voxel, every map term evaluated as the shader does.
fn by_voxels(p: &ConeParams, maps: &[ConeMap], frames: &Frames, image: &mut [f32], lanes: Lanes) {
    image
        .par_chunks_mut(p.nx as usize)
        .enumerate()
        .for_each(|(row, out)| match lanes {
            Lanes::Scalar => voxel_row(p, maps, frames, row, out),
            // SAFETY: `lanes` is one the CPU supports, so it has AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            Lanes::Avx2 | Lanes::Avx512 => unsafe { avx2::voxel_row(p, maps, frames, row, out) },
        });
}

/// Image row `row` of the slab (`out`, `nx` voxels along x) through every view of the block.
#[inline(always)]
fn voxel_row(p: &ConeParams, maps: &[ConeMap], frames: &Frames, row: usize, out: &mut [f32]) {
    let ny = p.ny as usize;
    let y = (row % ny) as f32;
    let z = (p.z0 as usize + row / ny) as f32;
    for (v, m) in maps.iter().enumerate() {
        let frame = frames.view(v);
        let (ra, rb, rc) = (
            Affine::new(m.a, y, z),
            Affine::new(m.b, y, 0.0),
            Affine::new(m.c, y, z),
        );
        for (ix, acc) in out.iter_mut().enumerate() {
            let x = ix as f32;
            let (a, b, c) = (ra.at(x), rb.at(x), rc.at(x));
            let t = voxel_terms(p, a, b, m.b[2], c);
            *acc = fused(t.w, sample(p, frame, frames.stride, &t, z), *acc);
        }
    }
}

/// The `z`-free path on the slab as lines `[y][x][z]`: tiles of lines, each tile through
/// every view of the block, [`VIEWS_PER_PASS`] views of a line at a time.
fn by_lines(p: &ConeParams, maps: &[ConeMap], frames: &Frames, lines: &mut [f32], lanes: Lanes) {
    let (nx, ny, nz) = (p.nx as usize, p.ny as usize, p.nz as usize);
    let out = Shared(lines.as_mut_ptr());
    let tiles: Vec<(usize, usize)> = (0..ny)
        .step_by(TILE)
        .flat_map(|y0| (0..nx).step_by(TILE).map(move |x0| (y0, x0)))
        .collect();
    let slices: Vec<f32> = (0..nz).map(|iz| (p.z0 as usize + iz) as f32).collect();
    let run = Run {
        p,
        slices: &slices,
        stride: frames.stride,
    };
    tiles.into_par_iter().for_each(|tile| {
        let tile = Tile {
            y: tile.0..(tile.0 + TILE).min(ny),
            x: tile.1..(tile.1 + TILE).min(nx),
        };
        match lanes {
            Lanes::Scalar => tile_with(&run, maps, frames, out, tile, |lines, columns, acc| {
                for line in lines {
                    add_scalar(p, line, columns, run.slices, acc)
                }
            }),
            // SAFETY (both): `lanes` is one the CPU supports ([`Lanes::detect`]).
            #[cfg(target_arch = "x86_64")]
            Lanes::Avx2 => unsafe { avx2::tile(&run, maps, frames, out, tile) },
            #[cfg(target_arch = "x86_64")]
            Lanes::Avx512 => unsafe { avx512::tile(&run, maps, frames, out, tile) },
        }
    });
}

/// The `(y, x)` lines of a tile.
struct Tile {
    y: std::ops::Range<usize>,
    x: std::ops::Range<usize>,
}

/// A tile's lines through every view of the block, [`VIEWS_PER_PASS`] views of a line at a time,
/// each pass added by `add(lines, columns, sums)`. Inlined into each vector path's `tile`, so
/// that the per-line terms are compiled for the same CPU.
#[inline(always)]
fn tile_with(
    run: &Run<'_>,
    maps: &[ConeMap],
    frames: &Frames,
    out: Shared,
    tile: Tile,
    add: impl Fn(&[Line<'_>], &mut [f32], &mut [f32]),
) {
    let (p, slices) = (run.p, run.slices);
    let (nx, nz) = (p.nx as usize, p.nz as usize);
    // Room for a table read from any row the line crosses (see `avx512::add`), per view of a
    // pass.
    let room = frames.stride + TABLE;
    let mut columns = vec![0.0f32; room * VIEWS_PER_PASS];
    let mut pass: Vec<Line<'_>> = Vec::with_capacity(VIEWS_PER_PASS);
    // The maps of the pass's views along the current row of lines (`y`; `z` of the first slice,
    // which they do not depend on), each then taken at the line's `x`.
    let mut row_maps: Vec<[Affine; 3]> = Vec::with_capacity(VIEWS_PER_PASS);
    for (first, group) in maps.chunks(VIEWS_PER_PASS).enumerate() {
        for y in tile.y.clone() {
            let (yf, z) = (y as f32, slices[0]);
            row_maps.clear();
            row_maps.extend(group.iter().map(|m| {
                [
                    Affine::new(m.a, yf, z),
                    Affine::new(m.b, yf, 0.0),
                    Affine::new(m.c, yf, z),
                ]
            }));
            for x in tile.x.clone() {
                // SAFETY: line (y, x) belongs to this tile alone; in bounds.
                let acc = unsafe { out.slice((y * nx + x) * nz, nz) };
                let xf = x as f32;
                pass.clear();
                for (k, (m, [a, b, c])) in group.iter().zip(&row_maps).enumerate() {
                    let frame = frames.view(first * VIEWS_PER_PASS + k);
                    let t = voxel_terms(p, a.at(xf), b.at(xf), m.b[2], c.at(xf));
                    pass.extend(line_of(run, &t, frame));
                }
                add(&pass, &mut columns, acc);
            }
        }
    }
}

/// Views whose lines a pass adds to the sums of one line of voxels, in order: the sums stay in
/// registers across them.
const VIEWS_PER_PASS: usize = 4;

/// What every line of a dispatch shares: the parameters, the slices (as `z`) and the rows of a
/// padded frame column.
struct Run<'a> {
    p: &'a ConeParams,
    slices: &'a [f32],
    stride: usize,
}

/// A view's `z`-free line of voxels: its two detector columns over the padded rows the line
/// crosses, or `None` when it misses the band or both its columns are padding (the detector's
/// edge clamped the column: the shader then adds w · 0 to every voxel).
#[inline(always)]
fn line_of<'a>(run: &Run<'_>, t: &Terms, frame: &'a [f32]) -> Option<Line<'a>> {
    let (p, slices, stride) = (run.p, run.slices, run.stride);
    // Padded columns 0, 1 and n_cols + 2, n_cols + 3 are zeros.
    if t.col + 1 < PAD || t.col >= p.n_cols as usize + PAD {
        return None;
    }
    // Rows are monotonic in z (every step rounds monotonically), so the ends bound them.
    let (row_first, row_last) = (row_of(t, slices[0]), row_of(t, slices[slices.len() - 1]));
    let (first, _) = padded_row(p, row_first);
    let (last, _) = padded_row(p, row_last);
    let lo = first.min(last).max(0);
    let hi = first.max(last).min(last_padded_row(p));
    if lo > hi {
        return None;
    }
    let rows = (hi + 2 - lo) as usize;
    Some(Line {
        terms: *t,
        left: &frame[t.col * stride + lo as usize..][..rows],
        right: &frame[(t.col + 1) * stride + lo as usize..][..rows],
        lo,
        hi,
        unclamped: row_first.min(row_last) >= -2.0 && row_first.max(row_last) <= p.n_rows as f32,
        inside: first.min(last) >= 0 && first.max(last) <= last_padded_row(p),
        rising: last >= first,
        rows_per_slice: if slices.len() > 1 {
            (last - first).abs() as f32 / (slices.len() - 1) as f32
        } else {
            0.0
        },
    })
}

/// One view's line added voxel by voxel.
fn add_scalar(
    p: &ConeParams,
    line: &Line<'_>,
    columns: &mut [f32],
    slices: &[f32],
    acc: &mut [f32],
) {
    let t = &line.terms;
    let columns = interpolate_columns(line, columns);
    for (a, &z) in acc.iter_mut().zip(slices) {
        let (r, rf) = padded_row(p, row_of(t, z));
        if r < line.lo || r > line.hi {
            continue; // adds w · 0
        }
        let k = (r - line.lo) as usize;
        *a = fused(t.w, lerp(columns[k], columns[k + 1], rf), *a);
    }
}

/// A `z`-free line of voxels in one view: its [`Terms`], the two detector columns over the
/// rows it crosses, and what the vector paths need to know of those rows.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Line<'a> {
    terms: Terms,
    /// The left and right detector columns from padded row `lo` to `hi + 1`.
    left: &'a [f32],
    right: &'a [f32],
    /// Padded rows `lo ..= hi` of the upper taps (both taps within the frame).
    lo: i32,
    hi: i32,
    /// Every row lies within `[−2, n_rows]`, so the clamp of `split_index` changes nothing.
    unclamped: bool,
    /// Every voxel's taps lie within the frame.
    inside: bool,
    /// Rows grow with z.
    rising: bool,
    /// Mean rows crossed per slice.
    rows_per_slice: f32,
}

/// What the vector paths add to a tap's truncated `row + 2` to index `columns`: padded row
/// `r = (k − 2) − row0 + PAD`, at `r − lo` in `columns`.
#[cfg(target_arch = "x86_64")]
fn column_shift(p: &ConeParams, line: &Line<'_>) -> i32 {
    PAD as i32 - p.row0 as i32 - 2 - line.lo
}

/// The shader's first interpolation step (between the line's two columns), row by row, into
/// the start of `out`, which it returns.
#[inline(always)]
fn interpolate_columns<'a>(line: &Line<'_>, out: &'a mut [f32]) -> &'a mut [f32] {
    let out = &mut out[..line.left.len()];
    for ((o, &l), &r) in out.iter_mut().zip(line.left).zip(line.right) {
        *o = lerp(l, r, line.terms.frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shader's map and reciprocal arithmetic gives the twin's numbers whether a device
    /// fuses its multiply-adds or not (NVIDIA's compiler fuses `a * b + c`, lavapipe keeps
    /// them apart, even WGSL's `fma`), and whether its division is correctly rounded or off by
    /// an ulp: the maps' exact parts never differ and the whole map in a rare case by an ulp,
    /// where the plain evaluation differs in a large share of voxels.
    #[test]
    fn maps_and_reciprocal_do_not_depend_on_fusing() {
        let mut rng = crate::operator::SplitMix64(11);
        let coefficient = |scale: f64, rng: &mut crate::operator::SplitMix64| {
            (rng.next_signed() as f64 * scale * 10f64.powf(rng.next_signed() as f64)) as f32
        };
        let (n, mut new_differs, mut plain_differs) = (200_000, 0, 0);
        for _ in 0..n {
            let q = [
                coefficient(1.0, &mut rng),
                coefficient(1.0, &mut rng),
                coefficient(0.1, &mut rng),
                coefficient(300.0, &mut rng),
            ];
            let [x, y, z] = [0; 3].map(|_| (rng.next_f32() * 512.0).floor());
            // As the twin (and a device that does not fuse) evaluates it ...
            let map = Affine::new(q, y, z);
            // ... and as a device that fuses every multiply-add.
            let (h, l) = (q.map(leading), q.map(|v| v - leading(v)));
            let exact = h[0].mul_add(x, h[1].mul_add(y, h[2].mul_add(z, h[3])));
            let rest = l[0].mul_add(x, l[1].mul_add(y, l[2].mul_add(z, l[3])));
            assert_eq!(exact, map.lead * x + map.exact, "{q:?} at ({x}, {y}, {z})");
            let (twin, fused) = (map.at(x), exact + rest);
            if twin != fused {
                new_differs += 1;
                assert!((twin.to_bits() as i64 - fused.to_bits() as i64).abs() <= 1);
            }
            let plain = q[0] * x + (q[1] * y + (q[2] * z + q[3]));
            let plain_fused = q[0].mul_add(x, q[1].mul_add(y, q[2].mul_add(z, q[3])));
            plain_differs += (plain != plain_fused) as usize;
        }
        println!(
            "maps differing fused or not: {new_differs} of {n} (plain evaluation: {plain_differs})"
        );
        assert!(new_differs * 1000 <= n, "{new_differs} of {n}");
        assert!(plain_differs * 10 >= n, "{plain_differs} of {n}");

        // The shader's `recip`, from a division off by up to an ulp, with and without fusing.
        let recip = |c: f32, r: f32, fuse: bool| {
            let (ch, rh) = (leading(c), leading(r));
            let (cl, rl) = (c - ch, r - rh);
            if fuse {
                let e = (-cl).mul_add(
                    rl,
                    (-cl).mul_add(rh, (-ch).mul_add(rl, (-ch).mul_add(rh, 1.0))),
                );
                r.mul_add(e, r)
            } else {
                let e = (((1.0 - ch * rh) - ch * rl) - cl * rh) - cl * rl;
                r + r * e
            }
        };
        let mut recip_differs = 0;
        for _ in 0..n {
            let c = 10f64.powf(rng.next_f32() as f64 * 6.0 - 3.0) as f32;
            let want = 1.0 / c;
            for ulps in [-1i32, 0, 1] {
                let r = f32::from_bits((want.to_bits() as i32 + ulps) as u32);
                for fuse in [false, true] {
                    recip_differs += (recip(c, r, fuse) != want) as usize;
                }
            }
        }
        println!(
            "reciprocals not correctly rounded: {recip_differs} of {}",
            6 * n
        );
        assert!(recip_differs * 100_000 <= 6 * n, "{recip_differs}");
    }

    /// Every vector path's transpose moves each value to its place, on sizes with partial
    /// blocks and strides wider than the rows.
    #[test]
    fn transposes_agree() {
        let (rows, cols, from_stride, to_stride) = (37, 53, 58, 41);
        let from: Vec<f32> = (0..rows * from_stride).map(|v| v as f32).collect();
        for lanes in Lanes::supported() {
            let mut to = vec![-1.0f32; cols * to_stride];
            transpose_into(&from, from_stride, &mut to, to_stride, rows, cols, lanes);
            for j in 0..cols {
                for i in 0..to_stride {
                    let want = if i < rows {
                        (i * from_stride + j) as f32
                    } else {
                        -1.0
                    };
                    assert_eq!(to[j * to_stride + i], want, "{lanes:?} ({i}, {j})");
                }
            }
        }
    }

    /// Every vector path the CPU has gives the scalar path's bits, on a slab and band of
    /// orbits whose lines cross about 8 detector rows per slice (gathered), 3.3 (a 64-row
    /// table) and 1 (a 32-row table), with lines partly off the band.
    #[test]
    fn lanes_agree_bit_for_bit() {
        use crate::geometry::{ConeBeam, ConeOrbit, ImageGrid};
        let mut rng = crate::operator::SplitMix64(7);
        for (pixel, dsd) in [(0.2, 110.0), (0.5, 110.0), (1.4, 90.0)] {
            let g = ImageGrid::new_3d([37, 21, 19], [1.0, 1.1, 0.9]).unwrap();
            let o = ConeOrbit::new(
                (0..20).map(|i| i as f64 * 0.31).collect(),
                60,
                41,
                pixel,
                pixel,
                60.0,
                dsd,
            );
            let cone = ConeBeam::orbit(&o).unwrap();
            let (maps, base) = crate::recon::fdk_maps(&cone, &g);
            let p = ConeParams {
                nz: 33,
                z0: 3,
                n_views: 18,
                first: 1,
                row0: 9,
                band_rows: 40,
                ..base
            };
            let band = (p.n_views * p.band_rows * p.n_cols) as usize;
            let filtered: Vec<f32> = (0..band).map(|_| rng.next_f32() - 0.5).collect();
            let start: Vec<f32> = (0..(p.nx * p.ny * p.nz) as usize)
                .map(|_| rng.next_f32())
                .collect();
            let run = |lanes| {
                let mut image = start.clone();
                backproject_with(&p, &maps, &filtered, &mut image, lanes);
                image.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            };
            let scalar = run(Lanes::Scalar);
            assert!(scalar.iter().zip(&start).any(|(a, b)| *a != b.to_bits()));
            for lanes in Lanes::supported() {
                assert!(run(lanes) == scalar, "{lanes:?}, pixel {pixel}");
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Frames, Line, Run, Shared, Tile, column_shift, interpolate_columns};
    use crate::backend::layout::{ConeMap, ConeParams};
    use std::arch::x86_64::*;

    /// [`super::tile_with`] compiled for AVX2 and FMA, each view's line added by [`add`].
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn tile(run: &Run<'_>, maps: &[ConeMap], frames: &Frames, out: Shared, tile: Tile) {
        super::tile_with(run, maps, frames, out, tile, |lines, columns, acc| {
            for line in lines {
                add(run.p, line, columns, run.slices, acc)
            }
        })
    }

    /// [`super::voxel_row`] compiled for AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn voxel_row(
        p: &ConeParams,
        maps: &[ConeMap],
        frames: &Frames,
        row: usize,
        out: &mut [f32],
    ) {
        super::voxel_row(p, maps, frames, row, out)
    }

    /// [`super::add_scalar`] 8 voxels at a time where the CPU has AVX2 but not AVX-512: the
    /// same operations lane by lane, each voxel's two interpolated rows gathered (masked
    /// outside the band and past the last voxel).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn add(
        p: &ConeParams,
        line: &Line<'_>,
        columns: &mut [f32],
        slices: &[f32],
        acc: &mut [f32],
    ) {
        let t = &line.terms;
        // Vectorised here, within AVX2.
        let columns = interpolate_columns(line, columns);
        let (row_at, row_dz) = (_mm256_set1_ps(t.row_at), _mm256_set1_ps(t.row_dz));
        let (two, minus_two) = (_mm256_set1_ps(2.0), _mm256_set1_ps(-2.0));
        let n_rows = _mm256_set1_ps(p.n_rows as f32);
        let w = _mm256_set1_ps(t.w);
        let shift = _mm256_set1_epi32(column_shift(p, line));
        let (below, above) = (
            _mm256_set1_epi32(-1),
            _mm256_set1_epi32(line.hi - line.lo + 1),
        );
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let base = columns.as_ptr();
        let n = acc.len().min(slices.len());
        let mut z = 0;
        while z < n {
            let count = _mm256_set1_epi32((n - z).min(8) as i32);
            let live = _mm256_cmpgt_epi32(count, lanes);
            // SAFETY: masked lanes stay within z < n ≤ the lengths of slices and acc; gathers
            // read columns[k] and columns[k + 1] only for 0 ≤ k ≤ hi − lo.
            unsafe {
                let zf = _mm256_maskload_ps(slices.as_ptr().add(z), live);
                let row = _mm256_fmadd_ps(zf, row_dz, row_at);
                let g = _mm256_add_ps(_mm256_min_ps(_mm256_max_ps(row, minus_two), n_rows), two);
                let k = _mm256_cvttps_epi32(g);
                let rf = _mm256_sub_ps(g, _mm256_cvtepi32_ps(k));
                let at = _mm256_add_epi32(k, shift);
                let inside = _mm256_and_si256(
                    live,
                    _mm256_and_si256(_mm256_cmpgt_epi32(at, below), _mm256_cmpgt_epi32(above, at)),
                );
                let mask = _mm256_castsi256_ps(inside);
                let zero = _mm256_setzero_ps();
                let c0 = _mm256_mask_i32gather_ps::<4>(zero, base, at, mask);
                let c1 = _mm256_mask_i32gather_ps::<4>(zero, base.add(1), at, mask);
                let val = _mm256_fmadd_ps(rf, _mm256_sub_ps(c1, c0), c0);
                let out = acc.as_mut_ptr().add(z);
                let sum = _mm256_fmadd_ps(w, val, _mm256_maskload_ps(out, inside));
                _mm256_maskstore_ps(out, inside, sum);
            }
            z += 8;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Frames, Line, Run, Shared, TABLE, Tile, column_shift, interpolate_columns};
    use crate::backend::layout::{ConeMap, ConeParams};
    use std::arch::x86_64::*;

    /// `to[j · to_stride + i] = from[i · from_stride + j]` for a block of 16 × 16: pairs of
    /// rows interleaved value by value, then pair by pair, then the 128-bit lanes exchanged.
    ///
    /// # Safety
    /// 16 rows of 16 values from `from` and 16 of 16 from `to` are in bounds.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn transpose16(
        from: *const f32,
        from_stride: usize,
        to: *mut f32,
        to_stride: usize,
    ) {
        let mut rows = [_mm512_setzero_ps(); 16];
        for (i, r) in rows.iter_mut().enumerate() {
            // SAFETY: as the caller promises.
            *r = unsafe { _mm512_loadu_ps(from.add(i * from_stride)) };
        }
        let (pd, ps) = (_mm512_castps_pd, _mm512_castpd_ps);
        // quads[4 g + j], in each 128-bit lane l, holds column 4 l + j of rows 4 g ..= 4 g + 3.
        let mut quads = [_mm512_setzero_ps(); 16];
        for g in 0..4 {
            let [a, b, c, d] = [
                rows[4 * g],
                rows[4 * g + 1],
                rows[4 * g + 2],
                rows[4 * g + 3],
            ];
            let (ab_lo, ab_hi) = (_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
            let (cd_lo, cd_hi) = (_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
            quads[4 * g] = ps(_mm512_unpacklo_pd(pd(ab_lo), pd(cd_lo)));
            quads[4 * g + 1] = ps(_mm512_unpackhi_pd(pd(ab_lo), pd(cd_lo)));
            quads[4 * g + 2] = ps(_mm512_unpacklo_pd(pd(ab_hi), pd(cd_hi)));
            quads[4 * g + 3] = ps(_mm512_unpackhi_pd(pd(ab_hi), pd(cd_hi)));
        }
        // Column 4 l + j is lane l of quads[j], quads[4 + j], quads[8 + j], quads[12 + j].
        for j in 0..4 {
            let [q0, q1, q2, q3] = [quads[j], quads[4 + j], quads[8 + j], quads[12 + j]];
            let (lo01, hi01) = (
                _mm512_shuffle_f32x4::<0x44>(q0, q1),
                _mm512_shuffle_f32x4::<0xEE>(q0, q1),
            );
            let (lo23, hi23) = (
                _mm512_shuffle_f32x4::<0x44>(q2, q3),
                _mm512_shuffle_f32x4::<0xEE>(q2, q3),
            );
            let columns = [
                _mm512_shuffle_f32x4::<0x88>(lo01, lo23),
                _mm512_shuffle_f32x4::<0xDD>(lo01, lo23),
                _mm512_shuffle_f32x4::<0x88>(hi01, hi23),
                _mm512_shuffle_f32x4::<0xDD>(hi01, hi23),
            ];
            for (l, column) in columns.into_iter().enumerate() {
                // SAFETY: as the caller promises.
                unsafe { _mm512_storeu_ps(to.add((4 * l + j) * to_stride), column) };
            }
        }
    }

    /// [`super::tile_with`] compiled for AVX-512 (which brings FMA), each pass added by [`add`].
    #[target_feature(enable = "avx512f")]
    pub(super) fn tile(run: &Run<'_>, maps: &[ConeMap], frames: &Frames, out: Shared, tile: Tile) {
        super::tile_with(run, maps, frames, out, tile, |lines, columns, acc| {
            add(run.p, lines, columns, run.slices, acc)
        })
    }

    /// What one view's line needs in the loop over z.
    #[derive(Clone, Copy)]
    struct View {
        row_at: __m512,
        row_dz: __m512,
        w: __m512,
        shift: __m512i,
        top: __m512i,
        unclamped: bool,
        inside: bool,
        /// Picks from a 32-row table (`whole`), a 64-row one (`wide`), or gathers.
        whole: bool,
        wide: bool,
        reach: __m512i,
        /// How far below a group's first voxel its table starts.
        back: i32,
        /// The interpolated column, from padded row `lo`.
        base: *const f32,
    }

    /// The views' `lines` added to `acc` 16 voxels at a time, every view's term added in order
    /// while the sums stay in a register: the same operations lane by lane as the scalar path.
    /// Each view's 16 voxels pick their two taps from 32 consecutive interpolated rows held in
    /// two registers, or from 64 in four when the line is steep; a group whose taps do not fit
    /// is gathered, and a group off the band in a view skips it. `columns` holds `lines.len()`
    /// parts of at least `hi − lo + 2 + TABLE` values each.
    #[target_feature(enable = "avx512f")]
    pub(super) fn add(
        p: &ConeParams,
        lines: &[Line<'_>],
        columns: &mut [f32],
        slices: &[f32],
        acc: &mut [f32],
    ) {
        if lines.is_empty() {
            return;
        }
        assert!(lines.len() <= super::VIEWS_PER_PASS);
        let room = columns.len() / super::VIEWS_PER_PASS;
        // On the stack: a pass runs once per line and view group.
        let mut views = [None::<View>; super::VIEWS_PER_PASS];
        for ((line, part), slot) in lines.iter().zip(columns.chunks_mut(room)).zip(&mut views) {
            assert!(part.len() >= line.left.len() + TABLE);
            // Vectorised here, within AVX-512.
            interpolate_columns(line, part);
            let t = &line.terms;
            // A table of 32 rows in two registers, or of 64 in four, from the mean slope; a
            // group that does not fit after all is gathered.
            let fits = |rows: usize| 15.0 * line.rows_per_slice + 3.0 <= (rows - 2) as f32;
            let (whole, wide) = (fits(TABLE / 2), fits(TABLE));
            let last = if whole { TABLE / 2 - 2 } else { TABLE - 2 } as i32;
            let (shift, top) = (column_shift(p, line), line.hi - line.lo);
            *slot = Some(View {
                row_at: _mm512_set1_ps(t.row_at),
                row_dz: _mm512_set1_ps(t.row_dz),
                w: _mm512_set1_ps(t.w),
                shift: _mm512_set1_epi32(shift),
                top: _mm512_set1_epi32(top),
                unclamped: line.unclamped,
                inside: line.inside,
                whole,
                wide,
                reach: _mm512_set1_epi32(last),
                back: if line.rising { 0 } else { last },
                base: part.as_ptr(),
            });
        }
        let views = &views[..lines.len()];
        let (two, minus_two) = (_mm512_set1_ps(2.0), _mm512_set1_ps(-2.0));
        let n_rows = _mm512_set1_ps(p.n_rows as f32);
        let bottom = _mm512_setzero_si512();
        let one = _mm512_set1_epi32(1);
        let half = _mm512_set1_epi32(TABLE as i32 / 2);
        let n = acc.len().min(slices.len());
        let mut z = 0;
        while z < n {
            let lanes: __mmask16 = if n - z >= 16 {
                0xffff
            } else {
                (1u32 << (n - z)) as u16 - 1
            };
            // SAFETY: masked lanes stay within z < n ≤ the lengths of slices and acc; taps are
            // read at clamped indices 0 ..= hi − lo + 1 (gathers) or from tables starting at
            // such an index (TABLE values, within each view's part of `columns` by the
            // assertion above).
            unsafe {
                let zf = _mm512_maskz_loadu_ps(lanes, slices.as_ptr().add(z));
                let out = acc.as_mut_ptr().add(z);
                let mut sum = _mm512_maskz_loadu_ps(lanes, out);
                for v in views.iter().flatten() {
                    let row = _mm512_fmadd_ps(zf, v.row_dz, v.row_at);
                    let g = if v.unclamped {
                        _mm512_add_ps(row, two)
                    } else {
                        _mm512_add_ps(_mm512_min_ps(_mm512_max_ps(row, minus_two), n_rows), two)
                    };
                    let k = _mm512_cvttps_epi32(g);
                    let rf = _mm512_sub_ps(g, _mm512_cvtepi32_ps(k));
                    let mut at = _mm512_add_epi32(k, v.shift);
                    let mut inside = lanes;
                    if !v.inside {
                        inside &= _mm512_cmpge_epi32_mask(at, bottom)
                            & _mm512_cmple_epi32_mask(at, v.top);
                        if inside == 0 {
                            continue; // the group is off the band in this view: adds w · 0
                        }
                        at = _mm512_min_epi32(_mm512_max_epi32(at, bottom), v.top);
                    }
                    let mut picked = None;
                    if v.whole || v.wide {
                        // Lane 0's tap: the group's lowest row (rising) or highest (falling).
                        let at0 = _mm512_cvtsi512_si32(at);
                        let s0 = (at0 - v.back).max(0);
                        let i0 = _mm512_sub_epi32(at, _mm512_set1_epi32(s0));
                        // Every tap (i0 and i0 + 1) within the table?
                        if _mm512_mask_cmpgt_epu32_mask(inside, i0, v.reach) == 0 {
                            let i1 = _mm512_add_epi32(i0, one);
                            let t = v.base.add(s0 as usize);
                            let (t0, t1) = (_mm512_loadu_ps(t), _mm512_loadu_ps(t.add(16)));
                            picked = Some(if v.whole {
                                (
                                    _mm512_permutex2var_ps(t0, i0, t1),
                                    _mm512_permutex2var_ps(t0, i1, t1),
                                )
                            } else {
                                let (t2, t3) =
                                    (_mm512_loadu_ps(t.add(32)), _mm512_loadu_ps(t.add(48)));
                                // Rows 32 and on come from the second pair of registers.
                                let pick = |i| {
                                    _mm512_mask_blend_ps(
                                        _mm512_cmpge_epi32_mask(i, half),
                                        _mm512_permutex2var_ps(t0, i, t1),
                                        _mm512_permutex2var_ps(t2, i, t3),
                                    )
                                };
                                (pick(i0), pick(i1))
                            });
                        }
                    }
                    let (c0, c1) = picked.unwrap_or_else(|| {
                        let zero = _mm512_setzero_ps();
                        (
                            _mm512_mask_i32gather_ps::<4>(zero, inside, at, v.base),
                            _mm512_mask_i32gather_ps::<4>(zero, inside, at, v.base.add(1)),
                        )
                    });
                    let val = _mm512_fmadd_ps(rf, _mm512_sub_ps(c1, c0), c0);
                    sum = _mm512_mask3_fmadd_ps(v.w, val, sum, inside);
                }
                _mm512_mask_storeu_ps(out, lanes, sum);
            }
            z += 16;
        }
    }
}
