//! A NEMA IEC body-like phantom for emission tomography: body outline, lung insert and six
//! hot spheres, with its attenuation map.
//!
//! Geometry (mm, in-plane x lateral, y posterior, per CONVENTIONS.md): the body is the union
//! of an anterior half-disc of radius 147 mm (y ≤ 0) and a posterior slab 140 mm wide and
//! 77 mm deep with quarter-disc corners of radius 77 mm, 180 mm long along z; a lung insert
//! (cylinder of 25 mm radius, no activity, lung density) runs along the axis; spheres of 10,
//! 13, 17, 22, 28 and 37 mm diameter sit on a ring of 57.2 mm radius around it, 60° apart, in
//! the plane z = `sphere_plane`.

use crate::error::{Error, Result};
use crate::geometry::ImageGrid;
use crate::recon::{Voi, VoiStats, voi_stats};
use ndarray::{Array3, ArrayView3};

/// Sphere diameters, mm.
pub const SPHERE_DIAMETERS: [f64; 6] = [10.0, 13.0, 17.0, 22.0, 28.0, 37.0];
const RING_RADIUS: f64 = 57.2;
const BODY_RADIUS: f64 = 147.0;
const SLAB_HALF_WIDTH: f64 = 70.0;
const SLAB_DEPTH: f64 = 77.0;
const BODY_LENGTH: f64 = 180.0;

/// The phantom's activities and attenuation coefficients.
#[derive(Debug, Clone, PartialEq)]
pub struct NemaIecPhantom {
    /// Background activity concentration (per mm³, any unit).
    pub background: f64,
    /// Sphere-to-background activity ratio.
    pub contrast: f64,
    /// μ of the water-filled body, 1/mm (0.0154 at 140 keV; 0.0096 at 511 keV).
    pub mu_water: f64,
    /// μ of the lung insert, 1/mm.
    pub mu_lung: f64,
    /// z (mm) of the spheres' centres.
    pub sphere_plane: f64,
}

impl Default for NemaIecPhantom {
    /// Background 1, contrast 4:1, μ at 140 keV (Tc-99m), spheres in the plane z = 0.
    fn default() -> Self {
        Self {
            background: 1.0,
            contrast: 4.0,
            mu_water: 0.0154,
            mu_lung: 0.0154 * 0.3,
            sphere_plane: 0.0,
        }
    }
}

impl NemaIecPhantom {
    /// The phantom for PET: background 1, contrast 4:1, μ at 511 keV (water 0.0096 /mm, lung
    /// insert 0.3 × water), spheres in the plane z = 0.
    pub fn pet() -> Self {
        Self {
            mu_water: 0.0096,
            mu_lung: 0.0096 * 0.3,
            ..Self::default()
        }
    }

    /// Centre (x, y, z) in mm of each sphere, in the order of [`SPHERE_DIAMETERS`].
    pub fn sphere_centres(&self) -> [[f64; 3]; 6] {
        std::array::from_fn(|i| {
            let a = std::f64::consts::PI / 3.0 * i as f64;
            [
                RING_RADIUS * a.cos(),
                RING_RADIUS * a.sin(),
                self.sphere_plane,
            ]
        })
    }

    /// Radius of the lung insert, mm.
    pub(crate) const LUNG_RADIUS: f64 = 25.0;

    fn inside_body(x: f64, y: f64, z: f64) -> bool {
        z.abs() <= BODY_LENGTH / 2.0 && Self::inside_body_at(x, y)
    }

    /// Whether `(x, y)` lies inside the body's outline (any slice of its length).
    pub(crate) fn inside_body_at(x: f64, y: f64) -> bool {
        if y <= 0.0 {
            return x.hypot(y) <= BODY_RADIUS;
        }
        y <= SLAB_DEPTH
            && (x.abs() <= SLAB_HALF_WIDTH || (x.abs() - SLAB_HALF_WIDTH).hypot(y) <= SLAB_DEPTH)
    }

    /// (activity, μ) at a point.
    fn at(&self, x: f64, y: f64, z: f64) -> (f64, f64) {
        if !Self::inside_body(x, y, z - self.sphere_plane) {
            return (0.0, 0.0);
        }
        if x.hypot(y) <= Self::LUNG_RADIUS {
            return (0.0, self.mu_lung);
        }
        for (c, d) in self.sphere_centres().iter().zip(SPHERE_DIAMETERS) {
            if (x - c[0]).hypot(y - c[1]).hypot(z - c[2]) <= d / 2.0 {
                return (self.background * self.contrast, self.mu_water);
            }
        }
        (self.background, self.mu_water)
    }

    /// Activity and attenuation maps on `grid` (each voxel the mean of `supersample`³ points).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `supersample = 0`.
    pub fn rasterize(
        &self,
        grid: &ImageGrid,
        supersample: usize,
    ) -> Result<(Array3<f32>, Array3<f32>)> {
        if supersample == 0 {
            return Err(Error::InvalidArgument("supersample must be ≥ 1".into()));
        }
        let [nz, ny, nx] = grid.shape();
        let [dz, dy, dx] = grid.spacing();
        let [oz, oy, ox] = grid.origin();
        let s = supersample;
        let offset = |i: usize, d: f64| ((i as f64 + 0.5) / s as f64 - 0.5) * d;
        let mut activity = Array3::zeros((nz, ny, nx));
        let mut mu = Array3::zeros((nz, ny, nx));
        ndarray::Zip::indexed(&mut activity)
            .and(&mut mu)
            .par_for_each(|(iz, iy, ix), a, m| {
                let (mut sa, mut sm) = (0.0, 0.0);
                for i in 0..s {
                    for j in 0..s {
                        for k in 0..s {
                            let z = if grid.ndim() == 2 {
                                self.sphere_plane
                            } else {
                                oz + iz as f64 * dz + offset(i, dz)
                            };
                            let (va, vm) = self.at(
                                ox + ix as f64 * dx + offset(k, dx),
                                oy + iy as f64 * dy + offset(j, dy),
                                z,
                            );
                            sa += va;
                            sm += vm;
                        }
                    }
                }
                let n = (s * s * s) as f64;
                *a = (sa / n) as f32;
                *m = (sm / n) as f32;
            });
        Ok((activity, mu))
    }

    /// The regions a recovery measurement reads, on the 3D `grid`: each sphere (the voxels
    /// whose centres lie inside it) and the background: voxels within 20 mm of the spheres'
    /// plane, inside the body by at least 15 mm, at least 15 mm from every sphere's surface
    /// and from the lung insert (a simplified NEMA NU 2 background, read voxel by voxel).
    pub fn regions(&self, grid: &ImageGrid) -> NemaRegions {
        let [nz, ny, nx] = grid.shape();
        let [dz, dy, dx] = grid.spacing();
        let [oz, oy, ox] = grid.origin();
        let centres = self.sphere_centres();
        let position = |iz: usize, iy: usize, ix: usize| {
            (
                ox + ix as f64 * dx,
                oy + iy as f64 * dy,
                oz + iz as f64 * dz,
            )
        };
        let spheres = std::array::from_fn(|i| {
            let (c, r) = (centres[i], SPHERE_DIAMETERS[i] / 2.0);
            Array3::from_shape_fn((nz, ny, nx), |(iz, iy, ix)| {
                let (x, y, z) = position(iz, iy, ix);
                (x - c[0]).hypot(y - c[1]).hypot(z - c[2]) <= r
            })
        });
        const MARGIN: f64 = 15.0;
        let background = Array3::from_shape_fn((nz, ny, nx), |(iz, iy, ix)| {
            let (x, y, z) = position(iz, iy, ix);
            let z = z - self.sphere_plane;
            let deep = [(MARGIN, 0.0), (-MARGIN, 0.0), (0.0, MARGIN), (0.0, -MARGIN)]
                .iter()
                .all(|(ex, ey)| Self::inside_body(x + ex, y + ey, z));
            let clear = centres.iter().zip(SPHERE_DIAMETERS).all(|(c, d)| {
                (x - c[0])
                    .hypot(y - c[1])
                    .hypot(z + self.sphere_plane - c[2])
                    > d / 2.0 + MARGIN
            });
            z.abs() <= 20.0 && deep && clear && x.hypot(y) > Self::LUNG_RADIUS + MARGIN
        });
        NemaRegions {
            spheres,
            background,
        }
    }

    /// Recovery of each sphere in `image` (`[z, y, x]` on the 3D `grid`, in the phantom's
    /// activity units) and the background's statistics, over [`NemaIecPhantom::regions`].
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for an image not on `grid`; [`Error::InvalidArgument`] for a
    /// grid too coarse to hold a voxel in some region, or non-finite values in one.
    pub fn recovery(&self, image: ArrayView3<'_, f32>, grid: &ImageGrid) -> Result<NemaRecovery> {
        let regions = self.regions(grid);
        let spacing = grid.spacing();
        let hot = self.background * self.contrast;
        let mut spheres = [SphereRecovery::default(); 6];
        for (i, mask) in regions.spheres.iter().enumerate() {
            let s = voi_stats(image, spacing, Voi::Mask(mask.view())).map_err(|e| {
                Error::InvalidArgument(format!("sphere of {} mm: {e}", SPHERE_DIAMETERS[i]))
            })?;
            spheres[i] = SphereRecovery {
                diameter_mm: SPHERE_DIAMETERS[i],
                mean: s.mean / hot,
                max: s.max / hot,
            };
        }
        let background = voi_stats(image, spacing, Voi::Mask(regions.background.view()))
            .map_err(|e| Error::InvalidArgument(format!("background: {e}")))?;
        Ok(NemaRecovery {
            spheres,
            background,
            background_recovery: background.mean / self.background,
        })
    }
}

/// The regions of [`NemaIecPhantom::regions`].
#[derive(Debug, Clone)]
pub struct NemaRegions {
    /// Each sphere's voxels, in the order of [`SPHERE_DIAMETERS`].
    pub spheres: [Array3<bool>; 6],
    /// The background's voxels.
    pub background: Array3<bool>,
}

/// A sphere's recovery: the image over the sphere against its true activity.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SphereRecovery {
    /// The sphere's diameter, mm.
    pub diameter_mm: f64,
    /// Mean over the sphere's voxels / true activity (RC_mean).
    pub mean: f64,
    /// Largest voxel in the sphere / true activity (RC_max).
    pub max: f64,
}

/// What [`NemaIecPhantom::recovery`] measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NemaRecovery {
    /// Each sphere, in the order of [`SPHERE_DIAMETERS`].
    pub spheres: [SphereRecovery; 6],
    /// The background region's statistics (its noise: `std / mean`).
    pub background: VoiStats,
    /// Background mean / true background activity.
    pub background_recovery: f64,
}

impl NemaRecovery {
    /// The background's coefficient of variation, `std / mean` (voxel noise).
    pub fn background_noise(&self) -> f64 {
        self.background.std / self.background.mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spheres_hold_the_contrast_and_the_lung_is_cold() {
        let p = NemaIecPhantom::default();
        let c = p.sphere_centres()[5];
        assert_eq!(p.at(c[0], c[1], c[2]), (4.0, 0.0154));
        assert_eq!(p.at(0.0, 0.0, 0.0).0, 0.0);
        assert_eq!(p.at(0.0, -100.0, 0.0), (1.0, 0.0154));
        assert_eq!(p.at(0.0, 100.0, 0.0), (0.0, 0.0));
        assert_eq!(p.at(0.0, -100.0, 95.0), (0.0, 0.0));
        let grid = ImageGrid::new_3d([8, 80, 80], [4.0, 4.0, 4.0]).unwrap();
        let (a, m) = p.rasterize(&grid, 2).unwrap();
        // The body's cross-section (half-disc + slab with rounded corners) ≈ 48 000 mm².
        let area = a
            .index_axis(ndarray::Axis(0), 4)
            .iter()
            .filter(|v| **v > 0.0)
            .count() as f64
            * 16.0;
        assert!(area > 40_000.0 && area < 56_000.0, "{area}");
        assert!(m.iter().all(|v| *v >= 0.0 && *v <= 0.0155));
    }

    #[test]
    fn the_truth_recovers_fully() {
        let p = NemaIecPhantom::default();
        let grid = ImageGrid::new_3d([16, 80, 80], [4.0, 4.0, 4.0]).unwrap();
        // Sampled at voxel centres (no partial volume): every region is exact.
        let (truth, _) = p.rasterize(&grid, 1).unwrap();
        let r = p.recovery(truth.view(), &grid).unwrap();
        for s in r.spheres {
            assert_eq!((s.mean, s.max), (1.0, 1.0), "{s:?}");
        }
        assert_eq!(r.background_recovery, 1.0);
        assert_eq!(r.background_noise(), 0.0);
        // The background region: a good share of the body's slices near the spheres, none of
        // them hot.
        let regions = p.regions(&grid);
        assert!(regions.background.iter().filter(|&&b| b).count() > 1000);
        for (i, s) in regions.spheres.iter().enumerate() {
            let n = s.iter().filter(|&&v| v).count() as f64;
            let want = std::f64::consts::PI / 6.0 * SPHERE_DIAMETERS[i].powi(3) / 64.0;
            assert!(
                (n - want).abs() < 0.5 * want + 2.0,
                "sphere {i}: {n} voxels, {want:.1}"
            );
        }
        // A grid that misses the spheres is refused.
        let off = ImageGrid::new_3d([2, 8, 8], [4.0, 4.0, 4.0]).unwrap();
        assert!(p.recovery(Array3::zeros((2, 8, 8)).view(), &off).is_err());
    }
}
