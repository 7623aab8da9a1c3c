//! The image grid: where voxels sit in patient coordinates.

use crate::error::{Error, Result};

/// Largest voxel a grid takes, mm (a kilometre): beyond it a value is a mistake, and sizes
/// and positions derived from it stop being numbers a message can show.
const MAX_SPACING_MM: f64 = 1e6;
/// Largest distance of a grid's first voxel from the origin, mm (a thousand kilometres).
const MAX_POSITION_MM: f64 = 1e9;

/// A regular grid of voxels, 2D (one slice) or 3D (a stack of axial slices).
///
/// All per-axis values are in **array order (z, y, x)**, matching `vol[iz, iy, ix]`.
/// The centre of voxel `(ix, iy, iz)` is `origin + (ix·dx, iy·dy, iz·dz)` in mm (DICOM LPS),
/// where `origin` is the centre of voxel `[0, 0, 0]`. By default the grid is centred on the
/// rotation axis: `origin = −((n − 1)/2)·d` on each axis.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageGrid {
    shape: [usize; 3],
    spacing: [f64; 3],
    origin: [f64; 3],
    ndim: usize,
}

fn centred_origin(shape: [usize; 3], spacing: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|a| -((shape[a] as f64 - 1.0) / 2.0) * spacing[a])
}

impl ImageGrid {
    /// A 2D grid of `[ny, nx]` pixels of `[dy, dx]` mm, centred on the rotation axis.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for an empty axis or a non-finite or non-positive spacing;
    /// [`Error::TooLarge`] for a grid whose image (float32) this machine cannot hold.
    pub fn new_2d(shape: [usize; 2], spacing: [f64; 2]) -> Result<Self> {
        let shape3 = [1, shape[0], shape[1]];
        let spacing3 = [1.0, spacing[0], spacing[1]];
        Self::build(shape3, spacing3, centred_origin(shape3, spacing3), 2)
    }

    /// A 3D grid of `[nz, ny, nx]` voxels of `[dz, dy, dx]` mm, centred on the rotation axis.
    ///
    /// # Errors
    /// As [`ImageGrid::new_2d`].
    pub fn new_3d(shape: [usize; 3], spacing: [f64; 3]) -> Result<Self> {
        Self::build(shape, spacing, centred_origin(shape, spacing), 3)
    }

    /// Returns the same grid moved so that voxel `[0, 0, 0]` is centred at `origin` (mm, z, y, x).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for a non-finite origin.
    pub fn with_origin(self, origin: [f64; 3]) -> Result<Self> {
        Self::build(self.shape, self.spacing, origin, self.ndim)
    }

    fn build(shape: [usize; 3], spacing: [f64; 3], origin: [f64; 3], ndim: usize) -> Result<Self> {
        const AXES: [&str; 3] = ["z", "y", "x"];
        for a in 0..3 {
            if shape[a] == 0 {
                return Err(Error::InvalidGeometry(format!(
                    "image grid axis {} has 0 voxels; every axis needs at least 1",
                    AXES[a]
                )));
            }
            if !(spacing[a] > 0.0 && spacing[a] <= MAX_SPACING_MM) {
                return Err(Error::InvalidGeometry(format!(
                    "image grid spacing along {} is {:e}; expected a value > 0 and at most \
                     {MAX_SPACING_MM:e} mm",
                    AXES[a], spacing[a]
                )));
            }
            if origin[a].is_nan() || origin[a].abs() > MAX_POSITION_MM {
                return Err(Error::InvalidGeometry(format!(
                    "image grid origin along {} is {:e}; expected a position within ±{MAX_POSITION_MM:e} mm",
                    AXES[a], origin[a]
                )));
            }
        }
        if shape.iter().any(|&n| n > u32::MAX as usize / 2) {
            return Err(Error::InvalidGeometry(format!(
                "image grid shape {shape:?} is too large"
            )));
        }
        crate::memory::bytes_for("an image on this grid", &shape, 4)?;
        Ok(Self {
            shape,
            spacing,
            origin,
            ndim,
        })
    }

    /// Number of voxels per axis, `[nz, ny, nx]` (`nz = 1` for a 2D grid).
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }
    /// Voxel size per axis in mm, `[dz, dy, dx]`.
    pub fn spacing(&self) -> [f64; 3] {
        self.spacing
    }
    /// Centre of voxel `[0, 0, 0]` in mm, `[z, y, x]`.
    pub fn origin(&self) -> [f64; 3] {
        self.origin
    }
    /// 2 for a single slice built with [`ImageGrid::new_2d`], 3 otherwise.
    pub fn ndim(&self) -> usize {
        self.ndim
    }
    /// The array shape a user passes and receives: `[ny, nx]` in 2D, `[nz, ny, nx]` in 3D.
    pub fn array_shape(&self) -> Vec<usize> {
        if self.ndim == 2 {
            self.shape[1..].to_vec()
        } else {
            self.shape.to_vec()
        }
    }
    /// Total number of voxels.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// Always false: a grid has at least one voxel.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Voxels in one axial slice (`ny · nx`).
    pub fn slice_len(&self) -> usize {
        self.shape[1] * self.shape[2]
    }
    /// Distance (mm) from the z axis to the farthest in-plane voxel corner: everything the grid
    /// holds lies within this radius of the rotation axis.
    pub fn in_plane_radius(&self) -> f64 {
        let [_, ny, nx] = self.shape;
        let [_, dy, dx] = self.spacing;
        let [_, oy, ox] = self.origin;
        let xs = [ox - dx / 2.0, ox + (nx as f64 - 0.5) * dx];
        let ys = [oy - dy / 2.0, oy + (ny as f64 - 0.5) * dy];
        xs.iter()
            .flat_map(|x| ys.iter().map(move |y| x.hypot(*y)))
            .fold(0.0, f64::max)
    }
    /// Radius (mm) of the largest disc about the rotation axis that lies inside the grid:
    /// the usual "reconstruction circle".
    pub fn inscribed_radius(&self) -> f64 {
        let [_, ny, nx] = self.shape;
        let [_, dy, dx] = self.spacing;
        let [_, oy, ox] = self.origin;
        let lo_x = ox - dx / 2.0;
        let hi_x = ox + (nx as f64 - 0.5) * dx;
        let lo_y = oy - dy / 2.0;
        let hi_y = oy + (ny as f64 - 0.5) * dy;
        (-lo_x).min(hi_x).min(-lo_y).min(hi_y).max(0.0)
    }
}
