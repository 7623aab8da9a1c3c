//! Where a voxel grid lies in patient coordinates (DICOM LPS): the bridge between an
//! [`ImageGrid`] (centred on the rotation axis, what projectors use) and a DICOM series.

use crate::error::{Error, Result};
use crate::geometry::ImageGrid;

/// A voxel grid placed in patient coordinates.
///
/// Array order follows the rest of the crate (`vol[iz, iy, ix]`, `shape`/`spacing` as
/// `[z, y, x]`); patient vectors are DICOM's `(x, y, z)` in mm, LPS. The centre of voxel
/// `(iz, iy, ix)` is `origin + ix·dx·axes[0] + iy·dy·axes[1] + iz·dz·axes[2]`: `axes[0]` is
/// DICOM's row direction (along a row, increasing column), `axes[1]` the column direction, and
/// `axes[2]` the direction in which slices follow each other.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientGrid {
    /// `[nz, ny, nx]`.
    pub shape: [usize; 3],
    /// Voxel size `[dz, dy, dx]` in mm (dz: distance between slice centres).
    pub spacing: [f64; 3],
    /// Patient position `(x, y, z)` of the centre of voxel `[0, 0, 0]`, mm.
    pub origin: [f64; 3],
    /// Unit vectors `(x, y, z)` of increasing `ix`, `iy` and `iz`.
    pub axes: [[f64; 3]; 3],
}

impl PatientGrid {
    /// A grid with the given axes.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for an empty shape, a non-finite or non-positive spacing, a
    /// non-finite origin, or axes that are not unit length and mutually orthogonal (to 1e-3).
    pub fn new(
        shape: [usize; 3],
        spacing: [f64; 3],
        origin: [f64; 3],
        axes: [[f64; 3]; 3],
    ) -> Result<Self> {
        if shape.contains(&0) {
            return Err(Error::InvalidGeometry(format!(
                "patient grid shape {shape:?} has an empty axis; expected at least one voxel per axis"
            )));
        }
        if spacing.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return Err(Error::InvalidGeometry(format!(
                "patient grid spacing {spacing:?} mm; expected finite positive values"
            )));
        }
        if origin.iter().any(|o| !o.is_finite()) {
            return Err(Error::InvalidGeometry(format!(
                "patient grid origin {origin:?} is not finite"
            )));
        }
        for (i, a) in axes.iter().enumerate() {
            if (norm(*a) - 1.0).abs() > 1e-3 {
                return Err(Error::InvalidGeometry(format!(
                    "patient grid axis {i} {a:?} is not a unit vector"
                )));
            }
            for b in &axes[i + 1..] {
                if dot(*a, *b).abs() > 1e-3 {
                    return Err(Error::InvalidGeometry(format!(
                        "patient grid axes {axes:?} are not orthogonal"
                    )));
                }
            }
        }
        Ok(Self {
            shape,
            spacing,
            origin,
            axes,
        })
    }

    /// Axis-aligned grid (x to the patient's left, y posterior, z superior), as emission
    /// reconstructions are.
    ///
    /// # Errors
    /// As [`PatientGrid::new`].
    pub fn axis_aligned(shape: [usize; 3], spacing: [f64; 3], origin: [f64; 3]) -> Result<Self> {
        Self::new(
            shape,
            spacing,
            origin,
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        )
    }

    /// Patient position `(x, y, z)` in mm of the (possibly fractional) index `[iz, iy, ix]`.
    pub fn position(&self, index: [f64; 3]) -> [f64; 3] {
        let [iz, iy, ix] = index;
        let [dz, dy, dx] = self.spacing;
        let mut p = self.origin;
        for (k, p) in p.iter_mut().enumerate() {
            *p += ix * dx * self.axes[0][k] + iy * dy * self.axes[1][k] + iz * dz * self.axes[2][k];
        }
        p
    }

    /// Fractional index `[iz, iy, ix]` of the patient position `p` (the inverse of
    /// [`PatientGrid::position`]).
    pub fn index_of(&self, p: [f64; 3]) -> [f64; 3] {
        let r = [
            p[0] - self.origin[0],
            p[1] - self.origin[1],
            p[2] - self.origin[2],
        ];
        let [dz, dy, dx] = self.spacing;
        [
            dot(r, self.axes[2]) / dz,
            dot(r, self.axes[1]) / dy,
            dot(r, self.axes[0]) / dx,
        ]
    }

    /// Patient position of the grid's centre.
    pub fn centre(&self) -> [f64; 3] {
        let [nz, ny, nx] = self.shape;
        self.position([
            (nz as f64 - 1.0) / 2.0,
            (ny as f64 - 1.0) / 2.0,
            (nx as f64 - 1.0) / 2.0,
        ])
    }

    /// The 4×4 matrix taking homogeneous `(ix, iy, iz, 1)` to patient `(x, y, z, 1)`
    /// (DICOM's and NIfTI-in-LPS order).
    pub fn affine(&self) -> [[f64; 4]; 4] {
        let [dz, dy, dx] = self.spacing;
        let d = [dx, dy, dz];
        let mut m = [[0.0; 4]; 4];
        for (row, m) in m.iter_mut().take(3).enumerate() {
            for col in 0..3 {
                m[col] = self.axes[col][row] * d[col];
            }
            m[3] = self.origin[row];
        }
        m[3][3] = 1.0;
        m
    }

    /// The same voxels as an [`ImageGrid`] centred on its own middle (the frame projectors
    /// use); for emission grids built around the rotation axis this is the tomographic frame.
    ///
    /// # Errors
    /// As [`ImageGrid::new_3d`].
    pub fn image_grid(&self) -> Result<ImageGrid> {
        ImageGrid::new_3d(self.shape, self.spacing)
    }
}

pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(crate) fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_position_are_inverse() {
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let g = PatientGrid::new(
            [4, 5, 6],
            [2.5, 0.9, 0.8],
            [-10.0, 20.0, 30.0],
            [[s, s, 0.0], [-s, s, 0.0], [0.0, 0.0, 1.0]],
        )
        .unwrap();
        let p = g.position([1.5, 2.0, 3.25]);
        let i = g.index_of(p);
        for (a, b) in i.iter().zip([1.5, 2.0, 3.25]) {
            assert!((a - b).abs() < 1e-12);
        }
        let m = g.affine();
        for r in 0..3 {
            let v = m[r][0] * 3.25 + m[r][1] * 2.0 + m[r][2] * 1.5 + m[r][3];
            assert!((v - p[r]).abs() < 1e-12);
        }
        assert!(PatientGrid::new([1, 1, 1], [1.0; 3], [0.0; 3], [[1.0, 0.0, 0.0]; 3]).is_err());
    }
}
