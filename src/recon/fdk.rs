//! FDK (Feldkamp–Davis–Kress) reconstruction of cone-beam CT, flat or cylindrical detector.
//!
//! Each pixel is weighted by the cosine of its ray's angle to the central ray (times `D_so`
//! for a cylindrical detector, as the 2D arc formula), the angular step and the ray's
//! redundancy (one half over a full circle; Wang's weights for an offset detector; Parker's
//! over a short scan of 180° plus the fan angle), then every detector row is ramp-filtered
//! (on the detector rescaled to the isocentre for a flat panel, in fan angle with the
//! `(γ/sin γ)²` kernel for a cylinder; any of the five windows and a cut-off), and
//! back-projected voxel by voxel with the distance weight (`(D_so/depth)²` flat, `1/ρ²`
//! cylindrical). Line integrals of μ (1/mm × mm) give μ in 1/mm.
//!
//! Volumes of any size run in slabs: each slab is fed only the detector rows it projects onto,
//! a chunk of views at a time, so device memory stays within a slab plus a chunk; the result
//! is the same, bit for bit, whatever the slab size. Projections up to
//! [`FdkOptions::max_resident_bytes`] are weighted a chunk at a time and kept filtered by the
//! plan (device memory on a GPU, host memory on the CPU); host memory is then the input, the
//! output and one chunk (plus the filtered copy on the CPU). Larger ones stream: the input,
//! the output and one weighted copy of the projections (filtered in place), plus one chunk.
//!
//! Vector geometries use, per view, the source's angle about z and its distances to the axis
//! and to the detector along the detector's normal; helical data are weighted as if circular
//! (FDK is then approximate, as it is for any trajectory off a circle).

use super::weights::{redundancy_weights, symmetric_padding};
use crate::array::{check_input, with_output};
use crate::backend::ActiveBackend;
use crate::backend::layout::{CONE_CYLINDRICAL, CONE_FLAT, ConeMap, ConeParams};
use crate::backend::models::{FdkPlan, Slab};
use crate::error::{Error, Result};
use crate::filter::{FilterKernel, RampFilter};
use crate::geometry::{ConeBeam, ConeDetector, ImageGrid, grid_corners};
use crate::maths::{dot3 as dot, sub3 as sub, unit3 as unit};
use crate::projector::{ConeProjector, DEFAULT_MAX_CHUNK_BYTES};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};
use rayon::prelude::*;
use std::sync::Mutex;

/// How an FDK plan is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FdkOptions {
    /// Ramp filter window and cut-off.
    pub filter: RampFilter,
    /// Largest device buffer (bytes): the slab and each chunk of projections stay within it
    /// (and within what the device can bind).
    pub max_buffer_bytes: u64,
    /// Projections up to this size (bytes, after widening an offset detector) stay in device
    /// memory, in buffers of at most `max_buffer_bytes`: sent once, filtered there, and
    /// back-projected from there into every slab. Larger ones are streamed: each chunk is
    /// filtered through the host, and each slab is sent the detector rows it needs. Both give
    /// the same bits; 0 always streams. On the CPU backend the "device" memory is the host's:
    /// the plan then keeps a filtered copy of the projections between calls.
    pub max_resident_bytes: u64,
}

/// Default [`FdkOptions::max_resident_bytes`]: 2 GiB.
const DEFAULT_MAX_RESIDENT_BYTES: u64 = 2 << 30;

impl Default for FdkOptions {
    fn default() -> Self {
        Self {
            filter: RampFilter::default(),
            max_buffer_bytes: DEFAULT_MAX_CHUNK_BYTES,
            max_resident_bytes: DEFAULT_MAX_RESIDENT_BYTES,
        }
    }
}

/// An FDK plan: weights, filter, slabs and buffers, made once.
#[derive(Debug)]
pub struct Fdk {
    /// The geometry, its detector widened to a symmetric one when offset.
    cone: ConeBeam,
    /// The caller's data shape.
    data_shape: [usize; 3],
    /// Zero columns added before and after each detector row.
    pad: [usize; 2],
    grid: ImageGrid,
    backend: ActiveBackend,
    /// Per `[view, measured col]`: angular step × redundancy.
    redundancy: Vec<f64>,
    /// Per view, the cosine pre-weight's quantities (see [`PixelWeights`]).
    pixel: Vec<PixelWeights>,
    /// Per column `(a, b)` and per row `c` of the pixel positions.
    cols: Vec<[f64; 2]>,
    rows: Vec<f64>,
    slabs: Vec<Slab>,
    plan: Mutex<FdkPlan>,
}

/// What a view's pre-weight needs: the pixel `(j, k)` ray is `a_k·t + b_k·u + c_j·v` with `t`
/// the detector centre minus the source; its cosine to the central direction is
/// `a_k·depth / |ray|` (times `scale`).
#[derive(Debug, Clone, Copy)]
struct PixelWeights {
    tt: f64,
    tu: f64,
    tv: f64,
    uu: f64,
    vv: f64,
    depth: f64,
    scale: f64,
}

impl Fdk {
    /// Plans FDK for `projector`'s geometry and grid, on its backend, with a filter.
    ///
    /// # Errors
    /// As [`Fdk::with_options`].
    pub fn new(projector: &ConeProjector, filter: RampFilter) -> Result<Self> {
        Self::with_options(
            projector,
            FdkOptions {
                filter,
                ..Default::default()
            },
        )
    }

    /// Plans FDK with every option.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] when the views cover less than 180° plus the fan angle, or
    /// a short scan has an offset detector; [`Error::InvalidArgument`] for a zero buffer cap, or
    /// one that one slice or one detector row exceeds.
    pub fn with_options(projector: &ConeProjector, options: FdkOptions) -> Result<Self> {
        if options.max_buffer_bytes == 0 {
            return Err(Error::InvalidArgument(
                "max_buffer_bytes must be > 0".into(),
            ));
        }
        let (cone, pad) = symmetric(projector.geometry());
        let grid = projector.grid().clone();
        let (cols, rows) = cone.pixel_tables()?;
        let orbit = cone.orbit_views();
        let v0 = cone.views()[0];
        let du = dot(v0.u, v0.u).sqrt();
        let dso = orbit[0].source_to_center;
        let dsd = orbit[0].source_to_detector;
        let n_cols = cone.n_cols();
        // Fan angles of the measured columns (the redundancy of a half-fan scan is theirs).
        let measured = projector.geometry();
        let coord = |k: usize| measured.col_coordinate(&v0, k as f64);
        let gammas: Vec<f64> = (0..measured.n_cols())
            .map(|k| match cone.detector() {
                ConeDetector::Flat => (coord(k) * du / dsd).atan(),
                ConeDetector::Cylindrical => coord(k) * du / dsd,
            })
            .collect();
        let angles: Vec<f64> = orbit.iter().map(|o| o.angle).collect();
        let redundancy = redundancy_weights(&angles, &gammas, "cone-beam FDK")?;
        let (tau, arc) = match cone.detector() {
            ConeDetector::Flat => (du * dso / dsd, false),
            ConeDetector::Cylindrical => (du / dsd, true),
        };
        let kernel = FilterKernel::new(n_cols, tau, options.filter, arc);
        let pixel = cone
            .views()
            .iter()
            .zip(&orbit)
            .map(|(v, o)| {
                let t = sub(v.detector, v.source);
                let central = match cone.detector() {
                    ConeDetector::Flat => v.normal(),
                    ConeDetector::Cylindrical => unit(t),
                };
                PixelWeights {
                    tt: dot(t, t),
                    tu: dot(t, v.u),
                    tv: dot(t, v.v),
                    uu: dot(v.u, v.u),
                    vv: dot(v.v, v.v),
                    depth: dot(t, central),
                    scale: match cone.detector() {
                        ConeDetector::Flat => 1.0,
                        ConeDetector::Cylindrical => o.source_to_center,
                    },
                }
            })
            .collect();
        let (maps, base) = fdk_maps(&cone, &grid);
        let engine = projector.device().engine();
        let cap = options.max_buffer_bytes.min(engine.max_binding());
        let (slab_slices, slabs) = plan_slabs(&cone, &grid, cap)?;
        let lags = kernel.lags(n_cols);
        let resident = options.max_resident_bytes;
        let plan = FdkPlan::new(engine, base, &maps, &lags, slab_slices, cap, resident)?;
        Ok(Self {
            backend: projector.backend().clone(),
            data_shape: projector.geometry().data_shape(),
            pad,
            cone,
            grid,
            redundancy,
            pixel,
            cols,
            rows,
            slabs,
            plan: Mutex::new(plan),
        })
    }

    /// Where this plan runs.
    pub fn backend(&self) -> &ActiveBackend {
        &self.backend
    }
    /// Bytes of device (or host-engine) memory the plan's buffers hold.
    pub fn device_bytes(&self) -> u64 {
        self.plan.lock().map(|p| p.bytes()).unwrap_or(0)
    }
    /// The slabs, as slice ranges of the grid.
    pub fn slabs(&self) -> Vec<std::ops::Range<usize>> {
        self.slabs.iter().map(|s| s.slices.clone()).collect()
    }

    /// Reconstructs projections `data[view, row, col]` (line integrals) into a new volume.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`], [`Error::NonFinite`], or a device failure.
    pub fn reconstruct(&self, data: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let mut out = ArrayD::zeros(IxDyn(&self.grid.array_shape()));
        self.reconstruct_with_progress(data, out.view_mut(), &mut |_, _| {})?;
        Ok(out)
    }

    /// Reconstructs `data` over `out` (overwritten), calling `progress(slices_done,
    /// slices_total)` after each slab.
    ///
    /// # Errors
    /// As [`Fdk::reconstruct`].
    pub fn reconstruct_with_progress(
        &self,
        data: ArrayViewD<'_, f32>,
        out: ArrayViewMutD<'_, f32>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        let data = check_input("projection data", data, &self.data_shape)?;
        let data = data.as_slice().expect("standard layout");
        let weigh = |views: std::ops::Range<usize>, out: &mut [f32]| self.weigh(data, views, out);
        let mut plan = self.plan.lock().map_err(|_| {
            Error::Gpu("a previous call panicked while holding the plan; build a new one".into())
        })?;
        with_output("volume output", out, &self.grid.array_shape(), |o| {
            plan.run(&weigh, &self.slabs, o, progress)
        })
    }

    /// Writes into `out` (every value) `views` of `data` times each pixel's pre-weight
    /// (cosine × redundancy × angular step), each row padded with the zero columns of a
    /// widened detector.
    fn weigh(&self, data: &[f32], views: std::ops::Range<usize>, out: &mut [f32]) {
        let [_, n_rows, n_cols] = self.cone.data_shape();
        let given = self.data_shape[2];
        let data = &data[views.start * n_rows * given..views.end * n_rows * given];
        out.par_chunks_mut(n_rows * n_cols)
            .zip(data.par_chunks(n_rows * given))
            .zip(views)
            .for_each(|((dst, src), view)| {
                let w = &self.pixel[view];
                let red = &self.redundancy[view * given..(view + 1) * given];
                // Per measured column, in f32 (the pixel's sum of squares is ~D², far from
                // f32's limits): the column's part of |ray|², its factor of the row's cross
                // term, and the numerator a·depth × redundancy × scale.
                let (mut col_part, mut cross, mut numerator) = (
                    Vec::with_capacity(given),
                    Vec::with_capacity(given),
                    Vec::with_capacity(given),
                );
                for (i, &r) in red.iter().enumerate() {
                    let [a, b] = self.cols[i + self.pad[0]];
                    col_part.push((a * a * w.tt + b * b * w.uu + 2.0 * a * b * w.tu) as f32);
                    cross.push((2.0 * a * w.tv) as f32);
                    numerator.push((a * w.depth * r * w.scale) as f32);
                }
                for (j, (d_row, s_row)) in dst
                    .chunks_exact_mut(n_cols)
                    .zip(src.chunks_exact(given))
                    .enumerate()
                {
                    let c = self.rows[j];
                    let (row_part, c) = ((c * c * w.vv) as f32, c as f32);
                    let (before, rest) = d_row.split_at_mut(self.pad[0]);
                    let (d_row, after) = rest.split_at_mut(given);
                    before.fill(0.0);
                    after.fill(0.0);
                    for ((((d, &s), &p), &x), &n) in d_row
                        .iter_mut()
                        .zip(s_row)
                        .zip(&col_part)
                        .zip(&cross)
                        .zip(&numerator)
                    {
                        *d = s * (n / (p + (row_part + x * c)).sqrt());
                    }
                }
            });
    }
}

/// `cone` with an offset detector widened by zero columns on its short side until it is
/// symmetric about the central ray ([`symmetric_padding`]), and the columns added.
fn symmetric(cone: &ConeBeam) -> (ConeBeam, [usize; 2]) {
    let [col_offset, _] = cone.offsets();
    let v = cone.views()[0];
    let (offset, pad) = symmetric_padding(col_offset, dot(v.u, v.u).sqrt());
    let n = cone.n_cols() + pad[0] + pad[1];
    (cone.with_columns(n, offset), pad)
}

/// One-shot FDK with `filter` over `projector`'s geometry, grid and backend.
///
/// # Errors
/// As [`Fdk::new`] and [`Fdk::reconstruct`].
pub fn fdk(
    data: ArrayViewD<'_, f32>,
    projector: &ConeProjector,
    filter: RampFilter,
) -> Result<ArrayD<f32>> {
    Fdk::new(projector, filter)?.reconstruct(data)
}

/// The per-view voxel maps and the parameters `cone_backproject` shares across dispatches.
pub(crate) fn fdk_maps(cone: &ConeBeam, grid: &ImageGrid) -> (Vec<ConeMap>, ConeParams) {
    let [nz, ny, nx] = grid.shape();
    let [dz, dy, dx] = grid.spacing();
    let [oz, oy, ox] = grid.origin();
    let [_, n_rows, n_cols] = cone.data_shape();
    // The column and row of the central ray (the detector's offsets in pixels).
    let v0 = cone.views()[0];
    let kc = (n_cols as f64 - 1.0) / 2.0 - cone.col_coordinate(&v0, (n_cols as f64 - 1.0) / 2.0);
    let jc = (n_rows as f64 - 1.0) / 2.0 - cone.row_coordinate(&v0, (n_rows as f64 - 1.0) / 2.0);
    // An affine form g·(x − S) of world x, as a map of voxel index (ix, iy, iz, 1).
    let lift = |g: [f64; 3], s: [f64; 3]| {
        [
            (g[0] * dx) as f32,
            (g[1] * dy) as f32,
            (g[2] * dz) as f32,
            (g[0] * (ox - s[0]) + g[1] * (oy - s[1]) + g[2] * (oz - s[2])) as f32,
        ]
    };
    let orbit = cone.orbit_views();
    let maps = cone
        .views()
        .iter()
        .zip(&orbit)
        .map(|(v, o)| {
            let t = sub(v.detector, v.source);
            match cone.detector() {
                ConeDetector::Flat => {
                    let n = v.normal();
                    let d_n = dot(t, n);
                    let (uu, vv) = (dot(v.u, v.u), dot(v.v, v.v));
                    let dso = o.source_to_center;
                    // column·L = (x−S)·u·D_n/|u|² + L·(kc − t·u/|u|²), L = (x−S)·n; w = L/D_so.
                    let form = |axis: [f64; 3], sq: f64, centre: f64| {
                        let h = centre - dot(t, axis) / sq;
                        std::array::from_fn(|k| (axis[k] * d_n / sq + h * n[k]) / dso)
                    };
                    ConeMap {
                        a: lift(form(v.u, uu, kc), v.source),
                        b: lift(form(v.v, vv, jc), v.source),
                        c: lift(std::array::from_fn(|k| n[k] / dso), v.source),
                    }
                }
                ConeDetector::Cylindrical => ConeMap {
                    a: lift(unit(v.u), v.source),
                    b: lift(unit(v.v), v.source),
                    c: lift(unit(t), v.source),
                },
            }
        })
        .collect();
    let r = dot(sub(v0.detector, v0.source), sub(v0.detector, v0.source)).sqrt();
    let (du, dv) = (dot(v0.u, v0.u).sqrt(), dot(v0.v, v0.v).sqrt());
    let base = ConeParams {
        nx: nx as u32,
        ny: ny as u32,
        nz: nz as u32,
        z0: 0,
        n_views: 0,
        first: 0,
        n_cols: n_cols as u32,
        n_rows: n_rows as u32,
        row0: 0,
        band_rows: 0,
        kind: match cone.detector() {
            ConeDetector::Flat => CONE_FLAT,
            ConeDetector::Cylindrical => CONE_CYLINDRICAL,
        },
        _pad0: 0,
        col_scale: (r / du) as f32,
        col_center: kc as f32,
        row_scale: (r / dv) as f32,
        row_center: jc as f32,
    };
    (maps, base)
}

/// Detector rows (fractional, min and max over the views) that the box `slices` of the grid
/// projects onto.
fn row_extent(cone: &ConeBeam, grid: &ImageGrid, slices: std::ops::Range<usize>) -> (f64, f64) {
    let [_, n_rows, _] = cone.data_shape();
    let [dz, ..] = grid.spacing();
    let oz = grid.origin()[0];
    let z0 = oz + (slices.start as f64 - 0.5) * dz;
    let z1 = oz + (slices.end as f64 - 0.5) * dz;
    let corners: Vec<[f64; 3]> = grid_corners(grid)
        .into_iter()
        .map(|c| [c[0], c[1], if c[2] < oz { z0 } else { z1 }])
        .collect();
    let [_, row_offset] = cone.offsets();
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for v in cone.views() {
        let t = sub(v.detector, v.source);
        let vv = dot(v.v, v.v);
        let jc = (n_rows as f64 - 1.0) / 2.0 - row_offset / vv.sqrt();
        match cone.detector() {
            ConeDetector::Flat => {
                let n = v.normal();
                let d_n = dot(t, n);
                for c in &corners {
                    let q = sub(*c, v.source);
                    let s = d_n / dot(q, n);
                    let p = [q[0] * s - t[0], q[1] * s - t[1], q[2] * s - t[2]];
                    let j = dot(p, v.v) / vv + jc;
                    lo = lo.min(j);
                    hi = hi.max(j);
                }
            }
            ConeDetector::Cylindrical => {
                let r = dot(t, t).sqrt();
                let (uh, vh, th) = (unit(v.u), unit(v.v), unit(t));
                let mut h = (f64::MAX, f64::MIN);
                let mut rho = (f64::MAX, f64::MIN);
                for c in &corners {
                    let q = sub(*c, v.source);
                    let (a, b, l) = (dot(q, uh), dot(q, vh), dot(q, th));
                    h = (h.0.min(b), h.1.max(b));
                    rho = (rho.0.min(l), rho.1.max((a * a + l * l).sqrt()));
                }
                let rho_min = rho.0.max(1e-9);
                for hh in [h.0, h.1] {
                    for rr in [rho_min, rho.1] {
                        let j = hh * r / rr / vv.sqrt() + jc;
                        lo = lo.min(j);
                        hi = hi.max(j);
                    }
                }
            }
        }
    }
    (lo, hi)
}

/// Slabs of at most as many slices as keep the slab and one view's band of rows within `cap`
/// bytes; returns (slices per slab, the slabs).
fn plan_slabs(cone: &ConeBeam, grid: &ImageGrid, cap: u64) -> Result<(usize, Vec<Slab>)> {
    let [nz, ny, nx] = grid.shape();
    let [_, n_rows, n_cols] = cone.data_shape();
    let slice_bytes = (nx * ny * 4) as u64;
    let mut per = ((cap / slice_bytes) as usize).clamp(1, nz);
    loop {
        let slabs: Vec<Slab> = (0..nz)
            .step_by(per)
            .map(|z0| {
                let slices = z0..(z0 + per).min(nz);
                let (lo, hi) = row_extent(cone, grid, slices.clone());
                let r0 = (lo.floor() - 1.0).clamp(0.0, n_rows as f64) as usize;
                let r1 = (hi.ceil() + 2.0).clamp(0.0, n_rows as f64) as usize;
                Slab {
                    slices,
                    rows: r0..r1.max(r0),
                }
            })
            .collect();
        let widest = slabs.iter().map(|s| s.rows.len()).max().unwrap_or(0);
        if (widest * n_cols * 4) as u64 <= cap {
            return Ok((per, slabs));
        }
        if per == 1 {
            return Err(Error::InvalidArgument(format!(
                "one slice projects onto {widest} detector rows of {n_cols} columns, more than a \
                 {cap}-byte buffer holds; raise the buffer cap (max_buffer_bytes, --max-buffer-mib)"
            )));
        }
        per /= 2;
    }
}
