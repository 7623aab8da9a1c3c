//! 3D phantoms of ellipsoids and elliptic cylinders with exact integrals along any line
//! segment, plain or weighted by a time-of-flight kernel: exact 3D PET data for a
//! [`SinogramLayout`], the reference the 3D PET model is tested against.

use crate::error::{Error, Result};
use crate::geometry::pet::{SinogramBin, SinogramLayout, TofBins};
use crate::geometry::{ConeBeam, ImageGrid};
use ndarray::{Array3, ArrayD, IxDyn};
use rayon::prelude::*;

/// A solid of constant value, rotated by `angle` (radians) about the z axis through its
/// centre; values of overlapping solids add.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Solid {
    /// `((x−c)/a)² + ((y−c)/b)² + ((z−c)/c)² ≤ 1` in its own frame.
    Ellipsoid {
        /// Centre (x, y, z), mm.
        centre: [f64; 3],
        /// Semi-axes (x, y, z) in its own frame, mm.
        semi_axes: [f64; 3],
        /// Rotation about z, radians.
        angle: f64,
    },
    /// An elliptic cylinder along z: semi-axes `(a, b)` in-plane, `|z − c| ≤ half_length`.
    Cylinder {
        /// Centre (x, y, z), mm.
        centre: [f64; 3],
        /// In-plane semi-axes (x, y) in its own frame, mm.
        semi_axes: [f64; 2],
        /// Half its length along z, mm.
        half_length: f64,
        /// Rotation about z, radians.
        angle: f64,
    },
}

impl Solid {
    /// A sphere of radius `r` mm at `centre`.
    pub fn sphere(centre: [f64; 3], r: f64) -> Self {
        Solid::Ellipsoid {
            centre,
            semi_axes: [r, r, r],
            angle: 0.0,
        }
    }

    /// A circular cylinder along z of radius `r` and length `length`, mm.
    pub fn cylinder(centre: [f64; 3], r: f64, length: f64) -> Self {
        Solid::Cylinder {
            centre,
            semi_axes: [r, r],
            half_length: length / 2.0,
            angle: 0.0,
        }
    }

    fn frame(&self) -> ([f64; 3], f64) {
        match *self {
            Solid::Ellipsoid { centre, angle, .. } | Solid::Cylinder { centre, angle, .. } => {
                (centre, angle)
            }
        }
    }

    /// `p` in the solid's frame (centred, rotated by −angle about z).
    fn local(&self, p: [f64; 3], direction: bool) -> [f64; 3] {
        let (c, angle) = self.frame();
        let q = if direction {
            p
        } else {
            [p[0] - c[0], p[1] - c[1], p[2] - c[2]]
        };
        let (s, co) = angle.sin_cos();
        [co * q[0] + s * q[1], -s * q[0] + co * q[1], q[2]]
    }

    fn contains(&self, p: [f64; 3]) -> bool {
        let q = self.local(p, false);
        match *self {
            Solid::Ellipsoid { semi_axes: a, .. } => {
                (q[0] / a[0]).powi(2) + (q[1] / a[1]).powi(2) + (q[2] / a[2]).powi(2) <= 1.0
            }
            Solid::Cylinder {
                semi_axes: a,
                half_length,
                ..
            } => (q[0] / a[0]).powi(2) + (q[1] / a[1]).powi(2) <= 1.0 && q[2].abs() <= half_length,
        }
    }

    /// The parameters `t ∈ [0, 1]` of `p1 + t (p2 − p1)` inside the solid, if any.
    pub fn chord(&self, p1: [f64; 3], p2: [f64; 3]) -> Option<(f64, f64)> {
        let o = self.local(p1, false);
        let d = self.local([p2[0] - p1[0], p2[1] - p1[1], p2[2] - p1[2]], true);
        // Quadratic in t for the (in-plane or full) ellipsoid: A t² + 2 B t + C ≤ 0.
        let (axes, n): (&[f64], usize) = match self {
            Solid::Ellipsoid { semi_axes, .. } => (semi_axes, 3),
            Solid::Cylinder { semi_axes, .. } => (semi_axes, 2),
        };
        let (mut qa, mut qb, mut qc) = (0.0, 0.0, -1.0);
        for k in 0..n {
            let (ok, dk) = (o[k] / axes[k], d[k] / axes[k]);
            qa += dk * dk;
            qb += ok * dk;
            qc += ok * ok;
        }
        let (mut t0, mut t1) = if qa == 0.0 {
            if qc > 0.0 {
                return None;
            }
            (f64::NEG_INFINITY, f64::INFINITY)
        } else {
            let disc = qb * qb - qa * qc;
            if disc <= 0.0 {
                return None;
            }
            let r = disc.sqrt();
            ((-qb - r) / qa, (-qb + r) / qa)
        };
        if let Solid::Cylinder { half_length, .. } = *self {
            if d[2] == 0.0 {
                if o[2].abs() > half_length {
                    return None;
                }
            } else {
                let a = (-half_length - o[2]) / d[2];
                let b = (half_length - o[2]) / d[2];
                t0 = t0.max(a.min(b));
                t1 = t1.min(a.max(b));
            }
        }
        let (t0, t1) = (t0.max(0.0), t1.min(1.0));
        (t1 > t0).then_some((t0, t1))
    }
}

/// A phantom of [`Solid`]s with values (activity per mm³, or μ in 1/mm).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SolidPhantom {
    /// The solids and the value each adds inside itself.
    pub solids: Vec<(Solid, f64)>,
}

/// `u·erf(u) + exp(−u²)/√π`, an antiderivative of erf.
fn erf_antiderivative(u: f64) -> f64 {
    u * libm::erf(u) + (-u * u).exp() / std::f64::consts::PI.sqrt()
}

impl SolidPhantom {
    /// The value at `(x, y, z)` mm.
    pub fn value_at(&self, p: [f64; 3]) -> f64 {
        self.solids
            .iter()
            .filter(|(s, _)| s.contains(p))
            .map(|(_, v)| v)
            .sum()
    }

    /// Voxel values on `grid` (`[nz, ny, nx]`), each the mean of `supersample`³ points.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `supersample = 0`.
    pub fn rasterize(&self, grid: &ImageGrid, supersample: usize) -> Result<Array3<f32>> {
        if supersample == 0 {
            return Err(Error::InvalidArgument("supersample must be ≥ 1".into()));
        }
        let [nz, ny, nx] = grid.shape();
        let [dz, dy, dx] = grid.spacing();
        let [oz, oy, ox] = grid.origin();
        let s = supersample;
        let off = |i: usize, d: f64| ((i as f64 + 0.5) / s as f64 - 0.5) * d;
        let mut out = Array3::zeros((nz, ny, nx));
        ndarray::Zip::indexed(&mut out).par_for_each(|(iz, iy, ix), v| {
            let mut sum = 0.0;
            for i in 0..s {
                for j in 0..s {
                    for k in 0..s {
                        sum += self.value_at([
                            ox + ix as f64 * dx + off(k, dx),
                            oy + iy as f64 * dy + off(j, dy),
                            oz + iz as f64 * dz + off(i, dz),
                        ]);
                    }
                }
            }
            *v = (sum / (s * s * s) as f64) as f32;
        });
        Ok(out)
    }

    /// `∫ f` along the segment `p1 → p2` (value × mm).
    pub fn line_integral(&self, p1: [f64; 3], p2: [f64; 3]) -> f64 {
        let length = dist(p1, p2);
        self.solids
            .iter()
            .filter_map(|(s, v)| s.chord(p1, p2).map(|(t0, t1)| v * (t1 - t0) * length))
            .sum()
    }

    /// `∫ f(t) K(t) dt` along `p1 → p2`, `K` the Gaussian timing kernel of `tof` integrated
    /// over TOF bin `k` (centred `tof.centre_mm(k)` from the midpoint towards `p2`), not
    /// truncated.
    pub fn tof_integral(&self, p1: [f64; 3], p2: [f64; 3], tof: &TofBins, k: u32) -> f64 {
        let length = dist(p1, p2);
        let s = std::f64::consts::SQRT_2 * tof.sigma_mm();
        let (c, h) = (tof.centre_mm(k), tof.width_mm / 2.0);
        self.solids
            .iter()
            .filter_map(|(solid, v)| {
                let (t0, t1) = solid.chord(p1, p2)?;
                // Positions from the midpoint, mm.
                let (a, b) = ((t0 - 0.5) * length, (t1 - 0.5) * length);
                let g = |edge: f64| {
                    s * (erf_antiderivative((edge - a) / s) - erf_antiderivative((edge - b) / s))
                };
                Some(v * 0.5 * (g(c + h) - g(c - h)))
            })
            .sum()
    }

    /// Exact cone-beam data: per pixel, the integral along the segment from the source to the
    /// pixel's centre ([`ConeBeam::ray`]), flat or cylindrical detector, any trajectory.
    /// Shape `[views, rows, cols]` (image value × mm).
    pub fn cone_projections(&self, cone: &ConeBeam) -> ArrayD<f32> {
        let [views, rows, cols] = cone.data_shape();
        let mut out = ArrayD::zeros(IxDyn(&[views, rows, cols]));
        out.as_slice_mut()
            .expect("standard layout")
            .par_chunks_mut(rows * cols)
            .enumerate()
            .for_each(|(view, frame)| {
                for (i, v) in frame.iter_mut().enumerate() {
                    let (s, p) = cone.ray(view, i / cols, i % cols);
                    *v = self.line_integral(s, p) as f32;
                }
            });
        out
    }

    /// Exact data for every bin of `layout`: per bin, the sum over its crystal pairs of the
    /// (TOF-weighted, when the layout has TOF) integral between the two crystals' positions.
    /// Shape [`SinogramLayout::shape`].
    pub fn sinogram(&self, layout: &SinogramLayout) -> ArrayD<f32> {
        per_bin(layout, |pairs, k| {
            pairs
                .iter()
                .map(|&(a, b)| match layout.tof() {
                    Some(t) => self.tof_integral(a, b, &t, k),
                    None => self.line_integral(a, b),
                })
                .sum()
        })
    }

    /// Exact attenuation factors `exp(−∫μ)` of this phantom taken as a μ-map (1/mm), per line
    /// of response of `layout` (averaged over each bin's crystal pairs), in the layout's shape
    /// without TOF.
    pub fn attenuation_factors(&self, layout: &SinogramLayout) -> ArrayD<f32> {
        per_bin(&layout.clone().without_tof(), |pairs, _| {
            let sum: f64 = pairs
                .iter()
                .map(|&(a, b)| (-self.line_integral(a, b)).exp())
                .sum();
            sum / pairs.len() as f64
        })
    }
}

/// `value(end points of the bin's crystal pairs, TOF bin)` for every bin of `layout`, in its
/// shape (the pairs found once per line of response, for all its TOF bins).
fn per_bin(
    layout: &SinogramLayout,
    value: impl Fn(&[([f64; 3], [f64; 3])], u32) -> f64 + Sync,
) -> ArrayD<f32> {
    let scanner = layout.scanner();
    let point = |(ring, crystal): (u32, u32)| {
        let [x, y] = scanner.crystal_xy(crystal);
        [x, y, scanner.ring_z(ring)]
    };
    let (planes, tof_bins, tang) = (layout.planes(), layout.tof_bins(), layout.tangential());
    let mut out = ArrayD::zeros(IxDyn(&layout.shape()));
    out.as_slice_mut()
        .expect("standard layout")
        .par_chunks_mut((planes * tof_bins * tang) as usize)
        .enumerate()
        .for_each(|(view, chunk)| {
            for plane in 0..planes {
                for tangential in 0..tang {
                    let bin = SinogramBin {
                        view: view as u32,
                        plane,
                        tof: 0,
                        tangential,
                    };
                    let ends: Vec<_> = layout
                        .pairs(bin)
                        .into_iter()
                        .map(|(a, b)| (point(a), point(b)))
                        .collect();
                    for k in 0..tof_bins {
                        chunk[((plane * tof_bins + k) * tang + tangential) as usize] =
                            value(&ends, k) as f32;
                    }
                }
            }
        });
    out
}

fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_of_spheres_and_cylinders_are_exact() {
        let sphere = Solid::sphere([1.0, 2.0, 3.0], 10.0);
        let (t0, t1) = sphere.chord([-99.0, 2.0, 3.0], [101.0, 2.0, 3.0]).unwrap();
        assert!(((t1 - t0) * 200.0 - 20.0).abs() < 1e-9);
        // 6 mm off-centre: chord 2·√(100 − 36) = 16.
        let p = SolidPhantom {
            solids: vec![(sphere, 2.0)],
        };
        assert!((p.line_integral([-99.0, 8.0, 3.0], [101.0, 8.0, 3.0]) - 32.0).abs() < 1e-9);
        // A cylinder seen along z: its length; obliquely through both end faces.
        let cyl = Solid::cylinder([0.0; 3], 20.0, 30.0);
        let (t0, t1) = cyl.chord([0.0, 0.0, -50.0], [0.0, 0.0, 50.0]).unwrap();
        assert!(((t1 - t0) * 100.0 - 30.0).abs() < 1e-9);
        let (t0, t1) = cyl.chord([-100.0, 0.0, -10.0], [100.0, 0.0, 10.0]).unwrap();
        let length = (200f64.powi(2) + 20f64.powi(2)).sqrt();
        assert!(((t1 - t0) * length - 40.0 * length / 200.0).abs() < 1e-9);
    }

    /// TOF-weighted integrals over all bins (wide enough to hold the kernel) sum to the plain
    /// integral, and a bin far from the object sees nothing.
    #[test]
    fn tof_integrals_partition_the_line_integral() {
        let p = SolidPhantom {
            solids: vec![(Solid::sphere([5.0, 0.0, 0.0], 30.0), 1.0)],
        };
        let tof = TofBins::new(41, 10.0, 40.0).unwrap();
        let (a, b) = ([-150.0, 3.0, 1.0], [150.0, -2.0, 0.0]);
        let total: f64 = (0..41).map(|k| p.tof_integral(a, b, &tof, k)).sum();
        assert!((total - p.line_integral(a, b)).abs() < 1e-6 * total);
        assert!(p.tof_integral(a, b, &tof, 0) < 1e-12);
    }
}
