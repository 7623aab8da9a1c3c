//! Lowering of a geometry and a grid to the per-view vectors the kernels read.

use super::{DetectorShape, Geometry, ImageGrid};
use crate::backend::layout::{KIND_FAN_ARC, KIND_FAN_FLAT, KIND_PARALLEL, Params, ViewVectors};
use crate::error::{Error, Result};

/// A geometry and grid as the kernels see them.
#[derive(Debug, Clone)]
pub(crate) struct Lowered {
    /// Dispatch parameters (`nz` is the full stack; chunked dispatches override it).
    pub params: Params,
    /// One entry per view.
    pub views: Vec<ViewVectors>,
    /// Per column `(cos γ_k, sin γ_k)` for arc detectors; `(1, 0)` otherwise.
    pub col_dirs: Vec<[f32; 2]>,
}

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

/// Lowers `geometry` over `grid` to kernel parameters and per-view vectors.
pub(crate) fn lower(geometry: &Geometry, grid: &ImageGrid) -> Lowered {
    let [nz, ny, nx] = grid.shape();
    let [_, dy, dx] = grid.spacing();
    let [_, oy, ox] = grid.origin();
    let cols = geometry.columns();
    let (kind, col_step, dso, dsd) = match geometry {
        Geometry::Parallel(_) => (KIND_PARALLEL, cols.spacing, 0.0, 0.0),
        Geometry::Fan(f) => {
            let dsd = f.source_to_detector();
            match f.detector_shape() {
                DetectorShape::Flat => (KIND_FAN_FLAT, cols.spacing, f.source_to_center(), dsd),
                DetectorShape::Arc => (KIND_FAN_ARC, cols.spacing / dsd, f.source_to_center(), dsd),
            }
        }
    };
    let col_center = cols.centre_index();
    let params = Params {
        nx: nx as u32,
        ny: ny as u32,
        nz: nz as u32,
        n_views: geometry.n_views() as u32,
        n_cols: cols.n_cols as u32,
        kind,
        kernel_len: 0,
        _pad: 0,
        dx: dx as f32,
        dy: dy as f32,
        ox: ox as f32,
        oy: oy as f32,
        col_center: col_center as f32,
        col_step: col_step as f32,
        src_to_center: dso as f32,
        src_to_det: dsd as f32,
    };
    let v2 = |x: f64, y: f64| [x as f32, y as f32];
    let views = geometry
        .angles()
        .iter()
        .map(|&theta| {
            let (s, c) = theta.sin_cos();
            let (ux, uy) = (c, s);
            let (ddx, ddy) = (-s, c);
            match geometry {
                Geometry::Parallel(_) => ViewVectors { a: v2(ddx, ddy), center: [0.0, 0.0], u: v2(ux, uy), d: v2(ddx, ddy) },
                Geometry::Fan(f) => {
                    let dso = f.source_to_center();
                    let det = f.source_to_detector() - dso;
                    ViewVectors { a: v2(-dso * ddx, -dso * ddy), center: v2(det * ddx, det * ddy), u: v2(ux, uy), d: v2(ddx, ddy) }
                }
            }
        })
        .collect();
    let col_dirs = (0..cols.n_cols)
        .map(|k| {
            if kind == KIND_FAN_ARC {
                let gamma = (k as f64 - col_center) * col_step;
                v2(gamma.cos(), gamma.sin())
            } else {
                [1.0, 0.0]
            }
        })
        .collect();
    Lowered { params, views, col_dirs }
}
