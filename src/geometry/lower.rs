//! Lowering of a geometry and a grid to what the kernels read, computed in f64 on the host:
//! per view, the source (or ray direction), detector centre and axes; from them, one Joseph
//! line per ray (for the projector pair) and one voxel-to-detector map per view (for the
//! voxel-driven stages). Kernels never see angles or detector shapes beyond a kind tag.

use super::{DetectorShape, Geometry, ImageGrid};
use crate::backend::layout::{
    KIND_FAN_ARC, KIND_FAN_FLAT, KIND_PARALLEL, Line, Lowered, Params, View,
};
use crate::error::{Error, Result};

/// Checks that `geometry` can image `grid`: one detector row per slice with matching pitch,
/// and a fan source outside the grid.
///
/// # Errors
/// [`Error::InvalidGeometry`] saying which quantity disagrees and what was expected.
pub(crate) fn check_compatible(geometry: &Geometry, grid: &ImageGrid) -> Result<()> {
    let nz = grid.shape()[0];
    if geometry.n_rows() != nz {
        return Err(Error::InvalidGeometry(format!(
            "the detector has {} rows but the grid has {nz} slices; expected one row per slice",
            geometry.n_rows()
        )));
    }
    let dz = grid.spacing()[0];
    if nz > 1 && (geometry.row_spacing() - dz).abs() > 1e-6 * dz {
        return Err(Error::InvalidGeometry(format!(
            "detector row spacing is {} mm but the grid's slice spacing is {dz} mm; expected them equal",
            geometry.row_spacing()
        )));
    }
    if let Geometry::Fan(fan) = geometry {
        let [_, dy, dx] = grid.spacing();
        let reach = grid.in_plane_radius() + dx.max(dy);
        if fan.source_to_center() <= reach {
            return Err(Error::InvalidGeometry(format!(
                "the source ({} mm from the axis) lies inside or next to the image grid (which reaches {reach:.1} mm); \
                 expected source_to_center > {reach:.1} mm",
                fan.source_to_center()
            )));
        }
    }
    Ok(())
}

/// One view as vectors in the axial plane (mm, f64): where its rays start and where they go.
#[derive(Debug, Clone, Copy)]
struct ViewVectors {
    /// Parallel: ray direction `d(θ)`. Fan: source position `S(β)`.
    a: [f64; 2],
    /// The point of the detector where `u = 0` (parallel: the rotation axis).
    center: [f64; 2],
    /// Unit detector axis `u(θ)`.
    u: [f64; 2],
    /// Unit central-ray direction `d(θ)`.
    d: [f64; 2],
}

fn view_vectors(geometry: &Geometry, theta: f64) -> ViewVectors {
    let (s, c) = theta.sin_cos();
    let (u, d) = ([c, s], [-s, c]);
    match geometry {
        Geometry::Parallel(_) => ViewVectors {
            a: d,
            center: [0.0, 0.0],
            u,
            d,
        },
        Geometry::Fan(f) => {
            let dso = f.source_to_center();
            let det = f.source_to_detector() - dso;
            ViewVectors {
                a: [-dso * d[0], -dso * d[1]],
                center: [det * d[0], det * d[1]],
                u,
                d,
            }
        }
    }
}

/// The ray `(origin, direction)` through the centre of column `k`.
fn detector_ray(geometry: &Geometry, v: &ViewVectors, k: usize) -> ([f64; 2], [f64; 2]) {
    let s = geometry.columns().position(k);
    match geometry {
        Geometry::Parallel(_) => ([v.center[0] + s * v.u[0], v.center[1] + s * v.u[1]], v.a),
        Geometry::Fan(f) => match f.detector_shape() {
            DetectorShape::Flat => (
                v.a,
                [
                    v.center[0] + s * v.u[0] - v.a[0],
                    v.center[1] + s * v.u[1] - v.a[1],
                ],
            ),
            DetectorShape::Arc => {
                let g = s / f.source_to_detector();
                (
                    v.a,
                    [
                        g.cos() * v.d[0] + g.sin() * v.u[0],
                        g.cos() * v.d[1] + g.sin() * v.u[1],
                    ],
                )
            }
        },
    }
}

/// The exact (f64) ray `(origin, direction)` through the centre of column `k` of view `view`:
/// the same rays the kernels' Joseph lines are made from (the phantoms integrate along them).
pub(crate) fn ray(geometry: &Geometry, view: usize, k: usize) -> ([f64; 2], [f64; 2]) {
    detector_ray(
        geometry,
        &view_vectors(geometry, geometry.angles()[view]),
        k,
    )
}

/// Joseph form of the ray `origin + t·dir` over the grid (see [`Line`]).
fn joseph_line(origin: [f64; 2], dir: [f64; 2], grid: &ImageGrid) -> Line {
    let [_, dy, dx] = grid.spacing();
    let [_, oy, ox] = grid.origin();
    let len = dir[0].hypot(dir[1]);
    let (f0, fstep, weight, along_x) = if dir[0].abs() >= dir[1].abs() {
        let slope = dir[1] / dir[0];
        (
            (origin[1] + (ox - origin[0]) * slope - oy) / dy,
            dx * slope / dy,
            dx * len / dir[0].abs(),
            1.0,
        )
    } else {
        let slope = dir[0] / dir[1];
        (
            (origin[0] + (oy - origin[1]) * slope - ox) / dx,
            dy * slope / dx,
            dy * len / dir[1].abs(),
            0.0,
        )
    };
    Line {
        f0: f0 as f32,
        fstep: fstep as f32,
        weight: weight as f32,
        along_x,
    }
}

/// The voxel map of one view (see [`View`]).
fn voxel_map(geometry: &Geometry, v: &ViewVectors, grid: &ImageGrid) -> View {
    let [_, dy, dx] = grid.spacing();
    let [_, oy, ox] = grid.origin();
    let coef = |w: [f64; 2], base: [f64; 2], scale: f64, shift: f64| {
        [
            (dx * w[0] * scale) as f32,
            (dy * w[1] * scale) as f32,
            (((ox - base[0]) * w[0] + (oy - base[1]) * w[1]) * scale + shift) as f32,
            0.0,
        ]
    };
    match geometry {
        Geometry::Parallel(_) => {
            let cols = geometry.columns();
            View {
                t_coef: coef(v.u, v.center, 1.0 / cols.spacing, cols.centre_index()),
                l_coef: [0.0; 4],
            }
        }
        Geometry::Fan(_) => View {
            t_coef: coef(v.u, v.a, 1.0, 0.0),
            l_coef: coef(v.d, v.a, 1.0, 0.0),
        },
    }
}

/// Lowers `geometry` over `grid` to kernel parameters, per-view voxel maps and per-ray lines.
pub(crate) fn lower(geometry: &Geometry, grid: &ImageGrid) -> Lowered {
    let [nz, ny, nx] = grid.shape();
    let [_, dy, dx] = grid.spacing();
    let cols = geometry.columns();
    let (kind, col_scale, dso) = match geometry {
        Geometry::Parallel(_) => (KIND_PARALLEL, 1.0 / cols.spacing, 0.0),
        Geometry::Fan(f) => {
            let dsd = f.source_to_detector();
            match f.detector_shape() {
                DetectorShape::Flat => (KIND_FAN_FLAT, dsd / cols.spacing, f.source_to_center()),
                DetectorShape::Arc => (KIND_FAN_ARC, dsd / cols.spacing, f.source_to_center()),
            }
        }
    };
    let params = Params {
        nx: nx as u32,
        ny: ny as u32,
        nz: nz as u32,
        n_views: geometry.n_views() as u32,
        n_cols: cols.n_cols as u32,
        kind,
        _pad0: 0,
        _pad1: 0,
        dx: dx as f32,
        dy: dy as f32,
        col_center: cols.centre_index() as f32,
        col_scale: col_scale as f32,
        src_to_center: dso as f32,
        _pad2: 0.0,
        _pad3: 0.0,
        _pad4: 0.0,
    };
    let vectors: Vec<ViewVectors> = geometry
        .angles()
        .iter()
        .map(|&a| view_vectors(geometry, a))
        .collect();
    let views = vectors
        .iter()
        .map(|v| voxel_map(geometry, v, grid))
        .collect();
    let lines = vectors
        .iter()
        .flat_map(|v| {
            (0..cols.n_cols).map(move |k| {
                let (o, d) = detector_ray(geometry, v, k);
                joseph_line(o, d, grid)
            })
        })
        .collect();
    Lowered {
        params,
        views,
        lines,
    }
}
