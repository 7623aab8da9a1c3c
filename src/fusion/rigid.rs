//! Rigid motions of patient space (6 degrees of freedom), as registration finds them.

use crate::geometry::PatientGrid;

/// A rigid motion of patient coordinates (LPS, mm):
/// `p' = R · (p − centre) + centre + translation`, with `R = R_z(γ) · R_y(β) · R_x(α)` for
/// `angles = [α, β, γ]` (radians, right-handed about the patient x, y and z axes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rigid {
    /// Rotations about the x, y and z axes through `centre`, radians.
    pub angles: [f64; 3],
    /// Translation applied after the rotation, mm.
    pub translation: [f64; 3],
    /// Centre of rotation, mm.
    pub centre: [f64; 3],
}

impl Rigid {
    /// No motion, rotating (when changed) about `centre`.
    pub fn identity(centre: [f64; 3]) -> Self {
        Self {
            angles: [0.0; 3],
            translation: [0.0; 3],
            centre,
        }
    }

    /// The rotation matrix `R` (rows).
    pub fn matrix(&self) -> [[f64; 3]; 3] {
        let [a, b, g] = self.angles;
        let (sa, ca) = a.sin_cos();
        let (sb, cb) = b.sin_cos();
        let (sg, cg) = g.sin_cos();
        [
            [cg * cb, cg * sb * sa - sg * ca, cg * sb * ca + sg * sa],
            [sg * cb, sg * sb * sa + cg * ca, sg * sb * ca - cg * sa],
            [-sb, cb * sa, cb * ca],
        ]
    }

    /// The moved position of `p`.
    pub fn apply(&self, p: [f64; 3]) -> [f64; 3] {
        let r = self.matrix();
        let d = [0, 1, 2].map(|k| p[k] - self.centre[k]);
        [0, 1, 2].map(|i| {
            (0..3).map(|k| r[i][k] * d[k]).sum::<f64>() + self.centre[i] + self.translation[i]
        })
    }

    /// The grid moved as a whole: every voxel centre `q` of the result is `apply(p)` of the
    /// matching voxel centre `p` of `grid` (same shape and spacing, moved origin and axes).
    pub fn move_grid(&self, grid: &PatientGrid) -> PatientGrid {
        let r = self.matrix();
        let rotate = |a: [f64; 3]| [0, 1, 2].map(|i| (0..3).map(|k| r[i][k] * a[k]).sum::<f64>());
        PatientGrid {
            shape: grid.shape,
            spacing: grid.spacing,
            origin: self.apply(grid.origin),
            axes: grid.axes.map(rotate),
        }
    }

    /// Angle (radians) of the rotation `R` of this motion.
    pub fn rotation_angle(&self) -> f64 {
        let r = self.matrix();
        ((r[0][0] + r[1][1] + r[2][2] - 1.0) / 2.0)
            .clamp(-1.0, 1.0)
            .acos()
    }

    /// How far this motion and `other` disagree: the largest distance (mm) between where the
    /// two put any corner of `grid`, and the angle (radians) of the rotation taking one's `R`
    /// to the other's.
    pub fn difference(&self, other: &Rigid, grid: &PatientGrid) -> (f64, f64) {
        let [nz, ny, nx] = grid.shape.map(|n| n as f64 - 1.0);
        let mut worst: f64 = 0.0;
        for corner in 0..8 {
            let index = [
                if corner & 4 != 0 { nz } else { 0.0 },
                if corner & 2 != 0 { ny } else { 0.0 },
                if corner & 1 != 0 { nx } else { 0.0 },
            ];
            let p = grid.position(index);
            let (a, b) = (self.apply(p), other.apply(p));
            worst = worst.max((0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f64>().sqrt());
        }
        let (ra, rb) = (self.matrix(), other.matrix());
        // trace(Ra · Rbᵀ)
        let trace: f64 = (0..3)
            .map(|i| (0..3).map(|k| ra[i][k] * rb[i][k]).sum::<f64>())
            .sum();
        (worst, ((trace - 1.0) / 2.0).clamp(-1.0, 1.0).acos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_is_orthonormal_and_right_handed() {
        let t = Rigid {
            angles: [0.1, -0.2, 0.3],
            translation: [1.0, 2.0, 3.0],
            centre: [10.0, 0.0, -5.0],
        };
        let r = t.matrix();
        for i in 0..3 {
            for j in 0..3 {
                let d: f64 = (0..3).map(|k| r[i][k] * r[j][k]).sum();
                assert!((d - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
        // 90° about z takes +x to +y.
        let z = Rigid {
            angles: [0.0, 0.0, std::f64::consts::FRAC_PI_2],
            ..Rigid::identity([0.0; 3])
        };
        let p = z.apply([1.0, 0.0, 0.0]);
        assert!(p[0].abs() < 1e-12 && (p[1] - 1.0).abs() < 1e-12);
        assert!((z.rotation_angle() - std::f64::consts::FRAC_PI_2).abs() < 1e-12);
        // The centre only moves by the translation.
        let c = t.apply(t.centre);
        assert!((0..3).all(|k| (c[k] - t.centre[k] - t.translation[k]).abs() < 1e-12));
    }

    #[test]
    fn moved_grid_places_every_voxel_where_apply_does() {
        let g = PatientGrid::axis_aligned([4, 5, 6], [2.0, 1.5, 1.0], [-3.0, 4.0, 7.0]).unwrap();
        let t = Rigid {
            angles: [0.05, 0.1, -0.2],
            translation: [3.0, -1.0, 2.0],
            centre: g.centre(),
        };
        let moved = t.move_grid(&g);
        for index in [[0.0, 0.0, 0.0], [3.0, 4.0, 5.0], [1.5, 2.0, 0.5]] {
            let (a, b) = (moved.position(index), t.apply(g.position(index)));
            assert!((0..3).all(|k| (a[k] - b[k]).abs() < 1e-9));
        }
        let (mm, rad) = t.difference(&t, &g);
        assert!(mm < 1e-12 && rad < 1e-6);
        let (mm, rad) = t.difference(&Rigid::identity(g.centre()), &g);
        assert!(mm > 3.0 && (rad - t.rotation_angle()).abs() < 1e-9);
    }
}
