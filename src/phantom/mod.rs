//! Analytic phantoms with exact line integrals: the reference every projector and
//! reconstruction is tested against, and a public module so users can test with it too.
//!
//! Coordinates in mm as in `CONVENTIONS.md` (x to the patient's left, y posterior). The
//! Shepp-Logan phantoms are the *modified* (Toft) contrasts, maximum 1.0, with the head's
//! "mouth" end towards +y so that a displayed slice looks as in textbooks.

use crate::error::{Error, Result};
use crate::geometry::{Geometry, ImageGrid, ray};
use ndarray::{Array2, Array3, ArrayD, Axis, IxDyn};
use rayon::prelude::*;

mod nema;
mod nu2;
mod solids;
pub use nema::{NemaIecPhantom, NemaRecovery, NemaRegions, SPHERE_DIAMETERS, SphereRecovery};
pub(crate) use nu2::LUNG_ROI;
pub use nu2::{Nu2Filling, Nu2ImageQuality, Nu2Sphere};
pub use solids::{Solid, SolidPhantom};

/// A filled ellipse of constant value, added to whatever lies beneath it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ellipse {
    /// Value added inside (image units, e.g. μ in 1/mm).
    pub value: f64,
    /// Centre `(x, y)` in mm.
    pub center: [f64; 2],
    /// Semi-axes `(a, b)` in mm, along the ellipse's own x and y before rotation.
    pub axes: [f64; 2],
    /// Counter-clockwise rotation from +x towards +y, radians.
    pub angle: f64,
}

impl Ellipse {
    fn contains(&self, x: f64, y: f64) -> bool {
        let (s, c) = self.angle.sin_cos();
        let (dx, dy) = (x - self.center[0], y - self.center[1]);
        let (ex, ey) = (
            (c * dx + s * dy) / self.axes[0],
            (-s * dx + c * dy) / self.axes[1],
        );
        ex * ex + ey * ey <= 1.0
    }

    /// Length (mm) of the chord the line `origin + t·dir` cuts through the ellipse.
    pub fn chord(&self, origin: [f64; 2], dir: [f64; 2]) -> f64 {
        let (s, c) = self.angle.sin_cos();
        let (qx, qy) = (origin[0] - self.center[0], origin[1] - self.center[1]);
        let q = [
            (c * qx + s * qy) / self.axes[0],
            (-s * qx + c * qy) / self.axes[1],
        ];
        let r = [
            (c * dir[0] + s * dir[1]) / self.axes[0],
            (-s * dir[0] + c * dir[1]) / self.axes[1],
        ];
        let rr = r[0] * r[0] + r[1] * r[1];
        let qr = q[0] * r[0] + q[1] * r[1];
        let disc = qr * qr - rr * (q[0] * q[0] + q[1] * q[1] - 1.0);
        if disc <= 0.0 {
            0.0
        } else {
            2.0 * disc.sqrt() / rr * dir[0].hypot(dir[1])
        }
    }
}

/// A 2D phantom made of ellipses.
#[derive(Debug, Clone, PartialEq)]
pub struct EllipsePhantom {
    /// The ellipses, summed.
    pub ellipses: Vec<Ellipse>,
}

/// Modified Shepp-Logan ellipsoids: value, semi-axes (a, b, c), centre (x, y, z), rotation (deg),
/// in units of the head's half-height, with y pointing up (the textbook frame).
const SHEPP_LOGAN_3D: [(f64, [f64; 3], [f64; 3], f64); 10] = [
    (1.0, [0.69, 0.92, 0.81], [0.0, 0.0, 0.0], 0.0),
    (-0.8, [0.6624, 0.874, 0.78], [0.0, -0.0184, 0.0], 0.0),
    (-0.2, [0.11, 0.31, 0.22], [0.22, 0.0, 0.0], -18.0),
    (-0.2, [0.16, 0.41, 0.28], [-0.22, 0.0, 0.0], 18.0),
    (0.1, [0.21, 0.25, 0.41], [0.0, 0.35, -0.15], 0.0),
    (0.1, [0.046, 0.046, 0.05], [0.0, 0.1, 0.25], 0.0),
    (0.1, [0.046, 0.046, 0.05], [0.0, -0.1, 0.25], 0.0),
    (0.1, [0.046, 0.023, 0.05], [-0.08, -0.605, 0.0], 0.0),
    (0.1, [0.023, 0.023, 0.02], [0.0, -0.606, 0.0], 0.0),
    (0.1, [0.023, 0.046, 0.02], [0.06, -0.605, 0.0], 0.0),
];

impl EllipsePhantom {
    /// The modified Shepp-Logan head (2D), scaled so its half-height is `radius` mm
    /// (the outer ellipse reaches 0.92·radius).
    pub fn shepp_logan(radius: f64) -> Self {
        EllipsoidPhantom::shepp_logan(radius).slice(0.0)
    }

    /// Value at `(x, y)` mm.
    pub fn value_at(&self, x: f64, y: f64) -> f64 {
        self.ellipses
            .iter()
            .filter(|e| e.contains(x, y))
            .map(|e| e.value)
            .sum()
    }

    /// Exact line integral (value × mm) along `origin + t·dir`.
    pub fn line_integral(&self, origin: [f64; 2], dir: [f64; 2]) -> f64 {
        self.ellipses
            .iter()
            .map(|e| e.value * e.chord(origin, dir))
            .sum()
    }

    /// Pixel values on a 2D `grid`, each the mean of `supersample²` point samples
    /// (1 = value at the pixel centre).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a 3D grid or `supersample = 0`.
    pub fn rasterize(&self, grid: &ImageGrid, supersample: usize) -> Result<Array2<f32>> {
        if grid.shape()[0] != 1 {
            return Err(Error::InvalidArgument(
                "a 2D phantom rasterises onto a single-slice grid".into(),
            ));
        }
        rasterize_slice(self, grid, supersample)
    }

    /// Exact line integrals through every detector bin centre of `geometry` (one row):
    /// shape `[views, cols]`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the geometry has more than one row.
    pub fn line_integrals(&self, geometry: &Geometry) -> Result<Array2<f32>> {
        if geometry.n_rows() != 1 {
            return Err(Error::InvalidArgument(
                "a 2D phantom's line integrals need a one-row geometry".into(),
            ));
        }
        let [v, _, c] = geometry.data_shape();
        Ok(Array2::from_shape_fn((v, c), |(a, k)| {
            let (o, d) = ray(geometry, a, k);
            self.line_integral(o, d) as f32
        }))
    }
}

fn rasterize_slice(
    phantom: &EllipsePhantom,
    grid: &ImageGrid,
    supersample: usize,
) -> Result<Array2<f32>> {
    if supersample == 0 {
        return Err(Error::InvalidArgument(
            "supersample must be at least 1".into(),
        ));
    }
    let [_, ny, nx] = grid.shape();
    let [_, dy, dx] = grid.spacing();
    let [_, oy, ox] = grid.origin();
    let n = supersample as f64;
    Ok(Array2::from_shape_fn((ny, nx), |(iy, ix)| {
        let mut sum = 0.0;
        for sy in 0..supersample {
            for sx in 0..supersample {
                let x = ox + ix as f64 * dx + ((sx as f64 + 0.5) / n - 0.5) * dx;
                let y = oy + iy as f64 * dy + ((sy as f64 + 0.5) / n - 0.5) * dy;
                sum += phantom.value_at(x, y);
            }
        }
        (sum / (n * n)) as f32
    }))
}

/// A 3D phantom of ellipsoids whose axes include z (rotations about z only): every axial
/// slice is an [`EllipsePhantom`], so slice-wise line integrals stay exact.
#[derive(Debug, Clone, PartialEq)]
pub struct EllipsoidPhantom {
    /// `(ellipse in the z = centre plane, z centre mm, z semi-axis mm)`.
    pub ellipsoids: Vec<(Ellipse, f64, f64)>,
}

impl EllipsoidPhantom {
    /// The modified 3D Shepp-Logan head, half-height `radius` mm.
    pub fn shepp_logan(radius: f64) -> Self {
        let ellipsoids = SHEPP_LOGAN_3D
            .iter()
            .map(|&(value, axes, c, deg)| {
                // Flip y so that +y (posterior, displayed downwards) gets the textbook's bottom.
                let e = Ellipse {
                    value,
                    center: [c[0] * radius, -c[1] * radius],
                    axes: [axes[0] * radius, axes[1] * radius],
                    angle: -deg.to_radians(),
                };
                (e, c[2] * radius, axes[2] * radius)
            })
            .collect();
        Self { ellipsoids }
    }

    /// The same ellipsoids as [`Solid`]s, for exact integrals along any segment (cone beam).
    pub fn solids(&self) -> SolidPhantom {
        SolidPhantom {
            solids: self
                .ellipsoids
                .iter()
                .map(|&(e, zc, c)| {
                    let solid = Solid::Ellipsoid {
                        centre: [e.center[0], e.center[1], zc],
                        semi_axes: [e.axes[0], e.axes[1], c],
                        angle: e.angle,
                    };
                    (solid, e.value)
                })
                .collect(),
        }
    }

    /// The axial cross-section at height `z` mm.
    pub fn slice(&self, z: f64) -> EllipsePhantom {
        let ellipses = self
            .ellipsoids
            .iter()
            .filter_map(|&(e, zc, c)| {
                let t = (z - zc) / c;
                (t.abs() < 1.0).then(|| {
                    let s = (1.0 - t * t).sqrt();
                    Ellipse {
                        axes: [e.axes[0] * s, e.axes[1] * s],
                        ..e
                    }
                })
            })
            .collect();
        EllipsePhantom { ellipses }
    }

    /// Voxel values on `grid` (`[nz, ny, nx]`), each slice sampled at its centre height.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `supersample = 0`.
    pub fn rasterize(&self, grid: &ImageGrid, supersample: usize) -> Result<Array3<f32>> {
        let [nz, ny, nx] = grid.shape();
        let mut out = Array3::zeros((nz, ny, nx));
        for iz in 0..nz {
            let z = grid.origin()[0] + iz as f64 * grid.spacing()[0];
            out.index_axis_mut(ndarray::Axis(0), iz)
                .assign(&rasterize_slice(&self.slice(z), grid, supersample)?);
        }
        Ok(out)
    }

    /// Exact line integrals for a stack geometry over `grid` (row j ↔ slice j): shape
    /// `[views, rows, cols]`.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] when rows and slices disagree.
    pub fn line_integrals(&self, geometry: &Geometry, grid: &ImageGrid) -> Result<ArrayD<f32>> {
        crate::geometry::check_compatible(geometry, grid)?;
        let [v, r, c] = geometry.data_shape();
        let slices: Vec<EllipsePhantom> = (0..r)
            .map(|iz| self.slice(grid.origin()[0] + iz as f64 * grid.spacing()[0]))
            .collect();
        let mut out = ArrayD::zeros(IxDyn(&[v, r, c]));
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(a, mut view)| {
                for k in 0..c {
                    let (o, d) = ray(geometry, a, k);
                    for (iz, slice) in slices.iter().enumerate() {
                        view[[iz, k]] = slice.line_integral(o, d) as f32;
                    }
                }
            });
        Ok(out)
    }
}
