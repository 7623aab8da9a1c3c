//! Cone-beam CT geometry: a circular or helical orbit with a flat or cylindrical detector, or
//! any trajectory given as per-view vectors (ASTRA's `cone_vec` form: source, detector centre,
//! column and row steps).
//!
//! Every form is stored as per-view vectors ([`ConeView`]) in patient coordinates (mm, x y z,
//! `CONVENTIONS.md`); the kernels read nothing else. Data are `proj[view, row, col]`: row `j`
//! and column `k` of a view sit at
//!
//! - flat: `detector + (u_k / |u|)·u + (v_j / |v|)·v`,
//! - cylindrical (centred on the source's axis along `v`, radius `R = |detector − source|`):
//!   `source + cos γ_k·(detector − source) + R sin γ_k·u/|u| + (v_j / |v|)·v`, `γ_k = u_k / R`,
//!
//! with `u_k = (k − (n_cols − 1)/2)·|u| + col_offset` and `v_j = (j − (n_rows − 1)/2)·|v| +
//! row_offset` (mm at the detector).

use super::ImageGrid;
use crate::error::{Error, Result};
use crate::maths::{
    add3 as add, cross3 as cross, dot3 as dot, norm3 as norm, scale3 as scale, sub3 as sub, unit3,
};
use std::f64::consts::PI;

/// Shape of a cone-beam detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConeDetector {
    /// A flat panel (C-arms, CBCT, micro-CT): spacings in mm on the panel.
    #[default]
    Flat,
    /// A cylinder about the axis through the source along the rows (diagnostic CT): the
    /// column spacing is the arc length in mm between column centres.
    Cylindrical,
}

impl std::str::FromStr for ConeDetector {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "flat" => Ok(ConeDetector::Flat),
            "cylindrical" | "curved" | "arc" => Ok(ConeDetector::Cylindrical),
            _ => Err(Error::InvalidArgument(format!(
                "unknown cone-beam detector {s:?}; expected \"flat\" or \"cylindrical\""
            ))),
        }
    }
}

/// One view as vectors (mm, x y z).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConeView {
    /// The source position.
    pub source: [f64; 3],
    /// The detector's centre (flat), or the point at fan angle 0 level with the rows' centre
    /// (cylindrical); offsets are not included.
    pub detector: [f64; 3],
    /// From one column to the next: the column spacing in mm along the detector's u axis.
    pub u: [f64; 3],
    /// From one row to the next: the row spacing in mm along the detector's v axis.
    pub v: [f64; 3],
}

impl ConeView {
    /// The detector plane's unit normal, pointing from the source towards the detector.
    pub(crate) fn normal(&self) -> [f64; 3] {
        let n = unit3(cross(self.u, self.v));
        if dot(sub(self.detector, self.source), n) < 0.0 {
            scale(n, -1.0)
        } else {
            n
        }
    }
}

/// A circular (or, with a pitch, helical) orbit: the usual way to describe CBCT and CT.
///
/// At view angle β the source sits at `−D_so·d(β) + (pitch·β/2π)·z`, with `d(β) = (−sin β,
/// cos β, 0)`, the detector's centre at `(D_sd − D_so)·d(β)` at the source's height, its
/// columns along `u(β) = (cos β, sin β, 0)` and its rows along +z (`CONVENTIONS.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConeOrbit {
    /// View angles β, radians.
    pub angles: Vec<f64>,
    /// Detector rows (along z).
    pub n_rows: usize,
    /// Detector columns.
    pub n_cols: usize,
    /// Row spacing at the detector, mm.
    pub row_spacing: f64,
    /// Column spacing at the detector, mm (arc length for a cylindrical detector).
    pub col_spacing: f64,
    /// Source to rotation axis `D_so`, mm.
    pub source_to_center: f64,
    /// Source to detector `D_sd`, mm.
    pub source_to_detector: f64,
    /// Flat or cylindrical.
    pub detector: ConeDetector,
    /// Shift of the detector along u, mm at the detector (offset-detector "half-fan" scans).
    pub col_offset: f64,
    /// Shift of the detector along v, mm at the detector.
    pub row_offset: f64,
    /// Table feed per turn, mm (0: circular).
    pub pitch: f64,
}

impl ConeOrbit {
    /// A circular orbit with a centred flat detector.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        angles: Vec<f64>,
        n_rows: usize,
        n_cols: usize,
        row_spacing: f64,
        col_spacing: f64,
        source_to_center: f64,
        source_to_detector: f64,
    ) -> Self {
        Self {
            angles,
            n_rows,
            n_cols,
            row_spacing,
            col_spacing,
            source_to_center,
            source_to_detector,
            detector: ConeDetector::Flat,
            col_offset: 0.0,
            row_offset: 0.0,
            pitch: 0.0,
        }
    }
}

/// What FDK needs of an orbit, per view: its angle on the circle, the source's distance to
/// the rotation axis and to the detector (measured along the detector's normal for vector
/// geometries), and the detector's offsets.
#[derive(Debug, Clone, PartialEq)]
pub struct ConeOrbitView {
    /// Angle β of the source about z, radians (`source = −D_so·d(β)` in the plane).
    pub angle: f64,
    /// Source to the axis, mm.
    pub source_to_center: f64,
    /// Source to the detector, mm.
    pub source_to_detector: f64,
}

/// Cone-beam geometry: per-view vectors, detector size and shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ConeBeam {
    views: Vec<ConeView>,
    n_rows: usize,
    n_cols: usize,
    detector: ConeDetector,
    col_offset: f64,
    row_offset: f64,
}

fn positive(name: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidGeometry(format!(
            "{name} is {v}; expected a finite value > 0 mm"
        )))
    }
}

impl ConeBeam {
    /// A circular or helical orbit.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for an empty or non-finite angle list, no rows or columns, a
    /// spacing or distance that is not finite and positive, a detector before the rotation
    /// axis (`D_sd ≤ D_so`), a cylindrical fan of 90° or more, or non-finite offsets or pitch.
    pub fn orbit(o: &ConeOrbit) -> Result<Self> {
        if o.angles.is_empty() {
            return Err(Error::InvalidGeometry(
                "the angle list is empty; expected at least one view angle (radians)".into(),
            ));
        }
        if let Some(i) = o.angles.iter().position(|a| !a.is_finite()) {
            return Err(Error::InvalidGeometry(format!(
                "view angle {i} is {}; expected a finite angle in radians",
                o.angles[i]
            )));
        }
        positive("row_spacing", o.row_spacing)?;
        positive("col_spacing", o.col_spacing)?;
        positive("source_to_center", o.source_to_center)?;
        if !(o.source_to_detector.is_finite() && o.source_to_detector > o.source_to_center) {
            return Err(Error::InvalidGeometry(format!(
                "source_to_detector is {} mm; the detector must lie beyond the rotation axis, so expected a \
                 finite value > source_to_center = {} mm",
                o.source_to_detector, o.source_to_center
            )));
        }
        for (name, v) in [
            ("col_offset", o.col_offset),
            ("row_offset", o.row_offset),
            ("pitch", o.pitch),
        ] {
            if !v.is_finite() {
                return Err(Error::InvalidGeometry(format!(
                    "{name} is {v}; expected a finite value in mm"
                )));
            }
        }
        let (dso, dsd) = (o.source_to_center, o.source_to_detector);
        let views = o
            .angles
            .iter()
            .map(|&b| {
                let (s, c) = b.sin_cos();
                let d = [-s, c, 0.0];
                let z = o.pitch * b / (2.0 * PI);
                let source = [dso * s, -dso * c, z];
                ConeView {
                    source,
                    detector: add(source, scale(d, dsd)),
                    u: [c * o.col_spacing, s * o.col_spacing, 0.0],
                    v: [0.0, 0.0, o.row_spacing],
                }
            })
            .collect();
        let cone = Self {
            views,
            n_rows: o.n_rows,
            n_cols: o.n_cols,
            detector: o.detector,
            col_offset: o.col_offset,
            row_offset: o.row_offset,
        };
        cone.validate()?;
        Ok(cone)
    }

    /// Any trajectory from per-view vectors (ASTRA's `cone_vec`: source, detector centre,
    /// column step u, row step v; all in mm, patient coordinates), centred detector.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for no views, no rows or columns, non-finite vectors,
    /// zero-length or non-orthogonal detector axes, or a source on the detector.
    pub fn from_vectors(
        views: Vec<ConeView>,
        n_rows: usize,
        n_cols: usize,
        detector: ConeDetector,
    ) -> Result<Self> {
        let cone = Self {
            views,
            n_rows,
            n_cols,
            detector,
            col_offset: 0.0,
            row_offset: 0.0,
        };
        cone.validate()?;
        Ok(cone)
    }

    /// The same geometry with the detector shifted by `col_offset` along u and `row_offset`
    /// along v (mm at the detector, replacing any shift).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for non-finite shifts, or a cylindrical fan of 90° or more.
    pub fn with_offsets(self, col_offset: f64, row_offset: f64) -> Result<Self> {
        if !(col_offset.is_finite() && row_offset.is_finite()) {
            return Err(Error::InvalidGeometry(format!(
                "detector offsets ({col_offset}, {row_offset}); expected finite values in mm"
            )));
        }
        let cone = Self {
            col_offset,
            row_offset,
            ..self
        };
        cone.validate()?;
        Ok(cone)
    }

    fn validate(&self) -> Result<()> {
        if self.views.is_empty() {
            return Err(Error::InvalidGeometry(
                "no views given; expected at least one".into(),
            ));
        }
        if self.views.len() > 65_535 {
            return Err(Error::InvalidGeometry(format!(
                "{} views given; at most 65535 are supported",
                self.views.len()
            )));
        }
        if self.n_rows == 0 || self.n_cols == 0 {
            return Err(Error::InvalidGeometry(format!(
                "the detector has {} rows and {} columns; expected at least 1 of each",
                self.n_rows, self.n_cols
            )));
        }
        if self.n_rows * self.n_cols > u32::MAX as usize / 4 {
            return Err(Error::InvalidGeometry(format!(
                "a {}×{} detector is too large",
                self.n_rows, self.n_cols
            )));
        }
        for (i, v) in self.views.iter().enumerate() {
            let all = [v.source, v.detector, v.u, v.v];
            if all.iter().flatten().any(|x| !x.is_finite()) {
                return Err(Error::InvalidGeometry(format!(
                    "view {i} has a non-finite vector; expected finite positions and steps in mm"
                )));
            }
            let (nu, nv) = (norm(v.u), norm(v.v));
            if nu == 0.0 || nv == 0.0 {
                return Err(Error::InvalidGeometry(format!(
                    "view {i}: the detector's {} step has zero length; expected the column and row \
                     spacings as vectors of non-zero length (mm)",
                    if nu == 0.0 { "column (u)" } else { "row (v)" }
                )));
            }
            let cos = dot(v.u, v.v) / (nu * nv);
            if cos.abs() > 1e-6 {
                return Err(Error::InvalidGeometry(format!(
                    "view {i}: the detector's axes u and v meet at {:.4}°; expected orthogonal axes",
                    cos.clamp(-1.0, 1.0).acos().to_degrees()
                )));
            }
            let to_det = sub(v.detector, v.source);
            let n = cross(v.u, v.v);
            let depth = dot(to_det, n) / norm(n);
            if depth.abs() < 1e-6 * norm(to_det).max(1.0) || norm(to_det) == 0.0 {
                return Err(Error::InvalidGeometry(format!(
                    "view {i}: the source lies on the detector's plane; expected it at a distance"
                )));
            }
            if self.detector == ConeDetector::Cylindrical {
                let r = norm(to_det);
                if (dot(to_det, v.u) / (r * nu)).abs() > 1e-6
                    || (dot(to_det, v.v) / (r * nv)).abs() > 1e-6
                {
                    return Err(Error::InvalidGeometry(format!(
                        "view {i}: a cylindrical detector's centre must lie straight ahead of the source \
                         (detector − source orthogonal to u and v)"
                    )));
                }
                let half = self.max_fan_angle(r, nu);
                if half >= 0.99 * PI / 2.0 {
                    return Err(Error::InvalidGeometry(format!(
                        "the cylindrical detector spans fan angles up to {:.1}°; expected less than 89°",
                        half.to_degrees()
                    )));
                }
            }
        }
        Ok(())
    }

    fn max_fan_angle(&self, radius: f64, du: f64) -> f64 {
        let half = self.n_cols as f64 / 2.0 * du;
        ((self.col_offset.abs() + half) / radius).abs()
    }

    /// The per-view vectors.
    pub fn views(&self) -> &[ConeView] {
        &self.views
    }
    /// Number of views.
    pub fn n_views(&self) -> usize {
        self.views.len()
    }
    /// Detector rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }
    /// Detector columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }
    /// Flat or cylindrical.
    pub fn detector(&self) -> ConeDetector {
        self.detector
    }
    /// Detector shift along u and v, mm at the detector.
    pub fn offsets(&self) -> [f64; 2] {
        [self.col_offset, self.row_offset]
    }
    /// Shape of the projection data `[views, rows, cols]`.
    pub fn data_shape(&self) -> [usize; 3] {
        [self.views.len(), self.n_rows, self.n_cols]
    }

    /// `u_k` (mm at the detector, offset included) of column `k`, in units of the column step.
    pub(crate) fn col_coordinate(&self, view: &ConeView, k: f64) -> f64 {
        k - (self.n_cols as f64 - 1.0) / 2.0 + self.col_offset / norm(view.u)
    }
    /// `v_j` of row `j`, in units of the row step.
    pub(crate) fn row_coordinate(&self, view: &ConeView, j: f64) -> f64 {
        j - (self.n_rows as f64 - 1.0) / 2.0 + self.row_offset / norm(view.v)
    }

    /// Per column `k`, `(a_k, b_k)` and per row `j`, `c_j` such that the centre of pixel
    /// `(j, k)` of a view is `source + a_k·(detector − source) + b_k·u + c_j·v`. The same
    /// for every view when all views share the detector's size (true of every constructor
    /// but [`ConeBeam::from_vectors`] with varying steps, which this checks).
    pub(crate) fn pixel_tables(&self) -> Result<(Vec<[f64; 2]>, Vec<f64>)> {
        let v0 = self.views[0];
        let (du, dv) = (norm(v0.u), norm(v0.v));
        let r = norm(sub(v0.detector, v0.source));
        let uniform = self.views.iter().all(|v| {
            let same = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
            same(norm(v.u), du)
                && same(norm(v.v), dv)
                && (self.detector == ConeDetector::Flat || same(norm(sub(v.detector, v.source)), r))
        });
        if !uniform {
            return Err(Error::InvalidGeometry(
                "the views' detector steps (or a cylindrical detector's radius) differ; expected the same \
                 pixel size in every view"
                    .into(),
            ));
        }
        let cols = (0..self.n_cols)
            .map(|k| {
                let uk = self.col_coordinate(&v0, k as f64);
                match self.detector {
                    ConeDetector::Flat => [1.0, uk],
                    ConeDetector::Cylindrical => {
                        let g = uk * du / r;
                        [g.cos(), r * g.sin() / du]
                    }
                }
            })
            .collect();
        let rows = (0..self.n_rows)
            .map(|j| self.row_coordinate(&v0, j as f64))
            .collect();
        Ok((cols, rows))
    }

    /// The exact ray of pixel `(row, col)` of `view`: the source and the pixel's centre (mm).
    pub fn ray(&self, view: usize, row: usize, col: usize) -> ([f64; 3], [f64; 3]) {
        let v = self.views[view];
        let uk = self.col_coordinate(&v, col as f64);
        let vj = self.row_coordinate(&v, row as f64);
        let to_det = sub(v.detector, v.source);
        let p = match self.detector {
            ConeDetector::Flat => add(v.detector, add(scale(v.u, uk), scale(v.v, vj))),
            ConeDetector::Cylindrical => {
                let (du, r) = (norm(v.u), norm(to_det));
                let g = uk * du / r;
                add(
                    v.source,
                    add(
                        add(scale(to_det, g.cos()), scale(v.u, r * g.sin() / du)),
                        scale(v.v, vj),
                    ),
                )
            }
        };
        (v.source, p)
    }

    /// Per view, the orbit quantities FDK weights with (exact for [`ConeBeam::orbit`]; for
    /// vectors, the source's angle about z and its distances to the axis and to the detector
    /// measured along the detector's normal).
    pub fn orbit_views(&self) -> Vec<ConeOrbitView> {
        self.views
            .iter()
            .map(|v| {
                let n = v.normal();
                let to_axis = [-v.source[0], -v.source[1], 0.0];
                ConeOrbitView {
                    angle: v.source[0].atan2(-v.source[1]),
                    source_to_center: dot(to_axis, n),
                    source_to_detector: match self.detector {
                        ConeDetector::Flat => dot(sub(v.detector, v.source), n),
                        ConeDetector::Cylindrical => norm(sub(v.detector, v.source)),
                    },
                }
            })
            .collect()
    }

    /// The same views with the detector widened to `n_cols` columns at shift `col_offset` mm
    /// (FDK pads an offset detector to a symmetric one).
    pub(crate) fn with_columns(&self, n_cols: usize, col_offset: f64) -> ConeBeam {
        ConeBeam {
            n_cols,
            col_offset,
            ..self.clone()
        }
    }

    /// The same acquisition restricted to `views` (indices), in that order.
    pub(crate) fn subset(&self, views: &[usize]) -> ConeBeam {
        ConeBeam {
            views: views.iter().map(|&i| self.views[i]).collect(),
            ..self.clone()
        }
    }

    /// Checks that every view sees `grid` from outside: the source outside the grid's box and
    /// the whole box between the source and the detector.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] naming the first view that fails.
    pub(crate) fn check_grid(&self, grid: &ImageGrid) -> Result<()> {
        let corners = grid_corners(grid);
        for (i, v) in self.views.iter().enumerate() {
            let to_det = sub(v.detector, v.source);
            let n = v.normal();
            let det_depth = match self.detector {
                ConeDetector::Flat => dot(to_det, n),
                ConeDetector::Cylindrical => norm(to_det) * self.min_cos(v),
            };
            let (lo, hi) = corners.iter().fold((f64::MAX, f64::MIN), |(lo, hi), c| {
                let d = match self.detector {
                    ConeDetector::Flat => dot(sub(*c, v.source), n),
                    ConeDetector::Cylindrical => {
                        // Distance from the source's axis (along v): what reaches the cylinder.
                        let q = sub(*c, v.source);
                        let vn = scale(v.v, 1.0 / norm(v.v));
                        norm(sub(q, scale(vn, dot(q, vn))))
                    }
                };
                (lo.min(d), hi.max(d))
            });
            if lo <= 0.0 || hi >= det_depth {
                return Err(Error::InvalidGeometry(format!(
                    "view {i}: the image grid is not wholly between the source and the detector (grid depths \
                     {lo:.1}…{hi:.1} mm from the source, detector at {det_depth:.1} mm); expected the source \
                     outside the grid and the detector beyond it"
                )));
            }
        }
        Ok(())
    }

    /// Smallest cos γ over the columns (cylindrical), 1 for flat.
    fn min_cos(&self, v: &ConeView) -> f64 {
        let r = norm(sub(v.detector, v.source));
        (self.max_fan_angle(r, norm(v.u))).cos()
    }
}

/// The eight corners of the grid's box (voxel faces, not centres), mm (x, y, z).
pub(crate) fn grid_corners(grid: &ImageGrid) -> Vec<[f64; 3]> {
    let [nz, ny, nx] = grid.shape();
    let [dz, dy, dx] = grid.spacing();
    let [oz, oy, ox] = grid.origin();
    let span = |o: f64, d: f64, n: usize| [o - d / 2.0, o + (n as f64 - 0.5) * d];
    let (xs, ys, zs) = (span(ox, dx, nx), span(oy, dy, ny), span(oz, dz, nz));
    let mut out = Vec::with_capacity(8);
    for z in zs {
        for y in ys {
            for x in xs {
                out.push([x, y, z]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orbit(detector: ConeDetector) -> ConeOrbit {
        ConeOrbit {
            detector,
            col_offset: 3.0,
            row_offset: -2.0,
            ..ConeOrbit::new(vec![0.0, 1.0, 2.5], 4, 6, 1.5, 2.0, 300.0, 500.0)
        }
    }

    #[test]
    fn orbit_follows_the_conventions() {
        let c = ConeBeam::orbit(&orbit(ConeDetector::Flat)).unwrap();
        let v = c.views()[1];
        let (s, co) = 1f64.sin_cos();
        assert!(
            (v.source[0] - 300.0 * s).abs() < 1e-12 && (v.source[1] + 300.0 * co).abs() < 1e-12
        );
        // The central pixel position (row/col coordinate 0) lies at (D_sd − D_so)·d(β) + offsets.
        let (src, p) = c.ray(0, 0, 0);
        assert_eq!(src, c.views()[0].source);
        let expect_u = (0.0 - 2.5) * 2.0 + 3.0;
        let expect_v = (0.0 - 1.5) * 1.5 - 2.0;
        assert!((p[0] - expect_u).abs() < 1e-12, "{p:?}");
        assert!((p[1] - 200.0).abs() < 1e-12 && (p[2] - expect_v).abs() < 1e-12);
        let o = c.orbit_views();
        assert!((o[1].angle - 1.0).abs() < 1e-12);
        assert!((o[2].source_to_center - 300.0).abs() < 1e-9);
        assert!((o[2].source_to_detector - 500.0).abs() < 1e-9);
    }

    #[test]
    fn cylindrical_pixels_lie_on_the_cylinder() {
        let c = ConeBeam::orbit(&orbit(ConeDetector::Cylindrical)).unwrap();
        for k in 0..6 {
            let (s, p) = c.ray(2, 1, k);
            let d = sub(p, s);
            assert!(((d[0] * d[0] + d[1] * d[1]).sqrt() - 500.0).abs() < 1e-9);
        }
        let (cols, rows) = c.pixel_tables().unwrap();
        let v = c.views()[2];
        let (s, p) = c.ray(2, 3, 4);
        let q = add(
            s,
            add(
                add(
                    scale(sub(v.detector, v.source), cols[4][0]),
                    scale(v.u, cols[4][1]),
                ),
                scale(v.v, rows[3]),
            ),
        );
        assert!(norm(sub(p, q)) < 1e-9);
    }

    #[test]
    fn bad_geometries_are_typed_errors() {
        let ok = orbit(ConeDetector::Flat);
        let bad = [
            ConeOrbit {
                angles: vec![],
                ..ok.clone()
            },
            ConeOrbit {
                angles: vec![f64::NAN],
                ..ok.clone()
            },
            ConeOrbit {
                n_rows: 0,
                ..ok.clone()
            },
            ConeOrbit {
                col_spacing: 0.0,
                ..ok.clone()
            },
            ConeOrbit {
                source_to_detector: 200.0,
                ..ok.clone()
            },
            ConeOrbit {
                pitch: f64::INFINITY,
                ..ok.clone()
            },
        ];
        for o in bad {
            assert!(
                matches!(ConeBeam::orbit(&o), Err(Error::InvalidGeometry(_))),
                "{o:?}"
            );
        }
        let view = ConeView {
            source: [0.0, -300.0, 0.0],
            detector: [0.0, 200.0, 0.0],
            u: [1.0, 0.0, 0.0],
            v: [0.0, 0.0, 1.0],
        };
        let vec_err = |v: ConeView| {
            matches!(
                ConeBeam::from_vectors(vec![v], 4, 4, ConeDetector::Flat),
                Err(Error::InvalidGeometry(_))
            )
        };
        assert!(!vec_err(view));
        assert!(vec_err(ConeView {
            u: [0.0; 3],
            ..view
        }));
        assert!(vec_err(ConeView {
            v: [0.5, 0.0, 1.0],
            ..view
        }));
        assert!(vec_err(ConeView {
            detector: view.source,
            ..view
        }));
        assert!(vec_err(ConeView {
            source: [0.0, 200.0, 3.0],
            ..view
        }));
        assert!(vec_err(ConeView {
            source: [f64::NAN, 0.0, 0.0],
            ..view
        }));
        let grid = ImageGrid::new_3d([8, 8, 8], [1.0; 3]).unwrap();
        let c = ConeBeam::from_vectors(vec![view], 4, 4, ConeDetector::Flat).unwrap();
        assert!(c.check_grid(&grid).is_ok());
        let inside = ConeView {
            source: [0.0, -2.0, 0.0],
            ..view
        };
        let c = ConeBeam::from_vectors(vec![inside], 4, 4, ConeDetector::Flat).unwrap();
        assert!(matches!(
            c.check_grid(&grid),
            Err(Error::InvalidGeometry(_))
        ));
    }
}
