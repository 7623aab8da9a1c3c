//! NEMA NU 2 image quality of a reconstructed NEMA IEC body phantom ([`NemaIecPhantom`]):
//! contrast recovery per sphere, background variability and lung residual, as the standard
//! (NU 2-2012, section 7) reads them.
//!
//! - **Sphere ROIs**: on the slice through the spheres' centres, a circle of each sphere's
//!   inner diameter centred on it.
//! - **Background ROIs**: twelve circles of 37 mm on that slice, each at least 15 mm from the
//!   body's edge, the spheres and the lung insert, spread over the background (chosen here by
//!   farthest-point sampling from the most anterior admissible centre, where the standard
//!   draws them by hand), with the smaller sizes concentric with them; the same twelve on the
//!   slices ±10 mm and ±20 mm away: 60 per size.
//! - **Means** weigh each voxel by the fraction of it inside the circle (16 sub-samples per
//!   voxel in-plane), so that the 10 mm ROI holds what it should on coarse grids.
//! - **Hot sphere** j: `Q_H = (C_H / C_B − 1) / (a_H / a_B − 1)`; **cold** sphere:
//!   `Q_C = 1 − C_C / C_B`; **background variability** `N = SD / C_B` over the 60 ROIs of the
//!   sphere's size; **lung residual** the mean over the five slices of a 30 mm ROI on the
//!   insert, over the 37 mm background mean. Fractions (× 100 for the standard's %).

use super::nema::{NemaIecPhantom, SPHERE_DIAMETERS};
use crate::error::{Error, Result};
use crate::geometry::ImageGrid;
use ndarray::ArrayView3;

/// Clearance of background ROIs from the body's edge, the spheres and the lung insert, mm.
const CLEARANCE: f64 = 15.0;
/// Offsets of the background slices from the spheres' plane, mm.
const SLICE_OFFSETS: [f64; 5] = [-20.0, -10.0, 0.0, 10.0, 20.0];
/// Diameter of the lung residual's ROI (centred on the insert), mm.
pub(crate) const LUNG_ROI: f64 = 30.0;

/// How the phantom was filled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nu2Filling {
    /// Sphere-to-background concentration ratio `a_H / a_B` of the hot spheres (4 or 8).
    pub ratio: f64,
    /// Which spheres hold water only (NU 2-2007 fills the 28 and 37 mm ones so), in the order
    /// of [`SPHERE_DIAMETERS`].
    pub cold: [bool; 6],
}

impl Default for Nu2Filling {
    /// 4:1, every sphere hot (NU 2-2012).
    fn default() -> Self {
        Self {
            ratio: 4.0,
            cold: [false; 6],
        }
    }
}

/// One sphere's NU 2 figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nu2Sphere {
    /// Inner diameter, mm.
    pub diameter_mm: f64,
    /// Centre `(x, y)` of its ROI, mm.
    pub centre_mm: [f64; 2],
    /// Filled with water only.
    pub cold: bool,
    /// Contrast recovery `Q_H` (hot) or `Q_C` (cold), a fraction.
    pub contrast: f64,
    /// Background variability `N`, a fraction.
    pub variability: f64,
    /// Mean in the sphere's ROI and over its size's 60 background ROIs (image units).
    pub sphere_mean: f64,
    /// See `sphere_mean`.
    pub background_mean: f64,
}

/// The NU 2 image-quality figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Nu2ImageQuality {
    /// Each sphere, in the order of [`SPHERE_DIAMETERS`].
    pub spheres: [Nu2Sphere; 6],
    /// Lung residual, a fraction of the background.
    pub lung_residual: f64,
    /// The twelve background ROI centres `(x, y)`, mm.
    pub background_centres: Vec<[f64; 2]>,
    /// z of the slice through the spheres, mm (the grid's slice nearest the phantom's plane).
    pub central_z: f64,
}

impl Nu2ImageQuality {
    /// The figures as a Markdown table (percentages, as the standard reports them).
    pub fn table(&self) -> String {
        let mut s = String::from(
            "| sphere (mm) | filling | contrast recovery (%) | background variability (%) |\n\
             |---:|---|---:|---:|\n",
        );
        for p in &self.spheres {
            s += &format!(
                "| {:.0} | {} | {:.1} | {:.2} |\n",
                p.diameter_mm,
                if p.cold { "cold" } else { "hot" },
                100.0 * p.contrast,
                100.0 * p.variability
            );
        }
        s += &format!("\nLung residual: {:.2} %\n", 100.0 * self.lung_residual);
        s
    }
}

/// The mean of `image` over the circle of `diameter` mm about `(x, y)` on slice `iz`, each
/// voxel weighted by the fraction of its 4 × 4 in-plane sub-samples inside.
fn roi_mean(
    image: &ArrayView3<'_, f32>,
    grid: &ImageGrid,
    iz: usize,
    [x, y]: [f64; 2],
    diameter: f64,
) -> Option<f64> {
    let [_, ny, nx] = grid.shape();
    let [_, dy, dx] = grid.spacing();
    let [_, oy, ox] = grid.origin();
    let r = diameter / 2.0;
    let range = |c: f64, o: f64, d: f64, n: usize| {
        let lo = ((c - r - o) / d).floor().max(0.0) as usize;
        let hi = (((c + r - o) / d).ceil() as usize + 1).min(n);
        lo..hi
    };
    let (mut sum, mut weight) = (0.0, 0.0);
    for iy in range(y, oy, dy, ny) {
        for ix in range(x, ox, dx, nx) {
            let mut inside = 0;
            for k in 0..16 {
                let px = ox + (ix as f64 + ((k % 4) as f64 + 0.5) / 4.0 - 0.5) * dx;
                let py = oy + (iy as f64 + ((k / 4) as f64 + 0.5) / 4.0 - 0.5) * dy;
                inside += ((px - x).hypot(py - y) <= r) as usize;
            }
            if inside > 0 {
                let w = inside as f64 / 16.0;
                sum += w * image[[iz, iy, ix]] as f64;
                weight += w;
            }
        }
    }
    (weight > 0.0).then(|| sum / weight)
}

impl NemaIecPhantom {
    /// The twelve background ROI centres (module docs), `(x, y)` mm.
    fn background_centres(&self) -> Vec<[f64; 2]> {
        let r = SPHERE_DIAMETERS[5] / 2.0;
        let centres = self.sphere_centres();
        let admissible = |x: f64, y: f64| {
            let deep = (0..16).all(|k| {
                let a = std::f64::consts::TAU * k as f64 / 16.0;
                Self::inside_body_at(x + (r + CLEARANCE) * a.cos(), y + (r + CLEARANCE) * a.sin())
            });
            let clear = centres
                .iter()
                .zip(SPHERE_DIAMETERS)
                .all(|(c, d)| (x - c[0]).hypot(y - c[1]) >= r + CLEARANCE + d / 2.0);
            deep && clear && x.hypot(y) >= r + CLEARANCE + Self::LUNG_RADIUS
        };
        let mut candidates = Vec::new();
        for iy in -80..=40 {
            for ix in -80..=80 {
                let (x, y) = (2.0 * ix as f64, 2.0 * iy as f64);
                if admissible(x, y) {
                    candidates.push([x, y]);
                }
            }
        }
        let mut chosen: Vec<[f64; 2]> = Vec::with_capacity(12);
        if let Some(first) = candidates
            .iter()
            .min_by(|a, b| a[1].total_cmp(&b[1]).then(a[0].total_cmp(&b[0])))
        {
            chosen.push(*first);
        }
        while chosen.len() < 12 && !candidates.is_empty() {
            let far = candidates
                .iter()
                .max_by(|a, b| {
                    let d = |p: &[f64; 2]| {
                        chosen
                            .iter()
                            .map(|c| (p[0] - c[0]).hypot(p[1] - c[1]))
                            .fold(f64::INFINITY, f64::min)
                    };
                    d(a).total_cmp(&d(b))
                })
                .copied()
                .expect("candidates");
            chosen.push(far);
        }
        chosen
    }

    /// NEMA NU 2 image quality of `image` (`[z, y, x]` on the 3D `grid`, any units), the
    /// phantom lying as this one describes it (centred in-plane, spheres in
    /// [`NemaIecPhantom::sphere_plane`]), filled as `filling` says.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for an image not on `grid`; [`Error::InvalidArgument`] for a
    /// ratio ≤ 1, non-finite values, slices ±20 mm from the spheres' plane outside the grid, a
    /// background of mean ≤ 0, or a ROI without a voxel.
    pub fn nu2_image_quality(
        &self,
        image: ArrayView3<'_, f32>,
        grid: &ImageGrid,
        filling: &Nu2Filling,
    ) -> Result<Nu2ImageQuality> {
        let [nz, ny, nx] = grid.shape();
        if image.shape() != [nz, ny, nx] {
            return Err(Error::ShapeMismatch {
                what: "image",
                expected: vec![nz, ny, nx],
                got: image.shape().to_vec(),
            });
        }
        if !(filling.ratio.is_finite() && filling.ratio > 1.0) {
            return Err(Error::InvalidArgument(format!(
                "sphere-to-background ratio {}; expected > 1 (4 or 8 in NU 2)",
                filling.ratio
            )));
        }
        if let Some(v) = image.iter().find(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "the image holds {v}; expected finite values"
            )));
        }
        let (oz, dz) = (grid.origin()[0], grid.spacing()[0]);
        let slice_of = |z: f64| -> Result<usize> {
            let i = ((z - oz) / dz).round();
            if i < 0.0 || i >= nz as f64 {
                return Err(Error::InvalidArgument(format!(
                    "the slice at z = {z:.1} mm (the spheres' plane {:.1} mm {:+.0} mm) lies \
                     outside the image ({:.1} to {:.1} mm)",
                    self.sphere_plane,
                    z - self.sphere_plane,
                    oz,
                    oz + (nz - 1) as f64 * dz
                )));
            }
            Ok(i as usize)
        };
        let slices = SLICE_OFFSETS
            .iter()
            .map(|o| slice_of(self.sphere_plane + o))
            .collect::<Result<Vec<_>>>()?;
        let central = slice_of(self.sphere_plane)?;
        let centres = self.background_centres();
        let roi = |iz, c, d: f64| {
            roi_mean(&image, grid, iz, c, d).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "a {d} mm ROI at ({:.1}, {:.1}) mm holds no voxel of the grid",
                    c[0], c[1]
                ))
            })
        };
        let mut spheres = [Nu2Sphere {
            diameter_mm: 0.0,
            centre_mm: [0.0; 2],
            cold: false,
            contrast: 0.0,
            variability: 0.0,
            sphere_mean: 0.0,
            background_mean: 0.0,
        }; 6];
        let sphere_centres = self.sphere_centres();
        let mut background_37 = 0.0;
        for (j, d) in SPHERE_DIAMETERS.into_iter().enumerate() {
            let mut means = Vec::with_capacity(60);
            for &iz in &slices {
                for &c in &centres {
                    means.push(roi(iz, c, d)?);
                }
            }
            let n = means.len() as f64;
            let cb = means.iter().sum::<f64>() / n;
            if cb <= 0.0 {
                return Err(Error::InvalidArgument(format!(
                    "the background's mean in {d} mm ROIs is {cb}: is the phantom where the \
                     analysis looks (centred in-plane, spheres at z = {} mm)?",
                    self.sphere_plane
                )));
            }
            let sd = (means.iter().map(|m| (m - cb) * (m - cb)).sum::<f64>() / (n - 1.0)).sqrt();
            let c = sphere_centres[j];
            let ch = roi(central, [c[0], c[1]], d)?;
            let cold = filling.cold[j];
            spheres[j] = Nu2Sphere {
                diameter_mm: d,
                centre_mm: [c[0], c[1]],
                cold,
                contrast: if cold {
                    1.0 - ch / cb
                } else {
                    (ch / cb - 1.0) / (filling.ratio - 1.0)
                },
                variability: sd / cb,
                sphere_mean: ch,
                background_mean: cb,
            };
            background_37 = cb;
        }
        let mut lung = 0.0;
        for &iz in &slices {
            lung += roi(iz, [0.0, 0.0], LUNG_ROI)?;
        }
        Ok(Nu2ImageQuality {
            spheres,
            lung_residual: lung / slices.len() as f64 / background_37,
            background_centres: centres,
            central_z: oz + central as f64 * dz,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> ImageGrid {
        ImageGrid::new_3d([25, 160, 160], [2.0, 2.0, 2.0]).unwrap()
    }

    /// The phantom's own activity map: the large spheres recover their contrast (the ROI's
    /// edge voxels are partly background: less for the small ones), the background is flat and
    /// the lung insert empty; water-filled spheres read as cold.
    #[test]
    fn the_true_activity_reads_as_the_phantom() {
        let phantom = NemaIecPhantom::pet();
        let g = grid();
        let (activity, _) = phantom.rasterize(&g, 4).unwrap();
        let q = phantom
            .nu2_image_quality(activity.view(), &g, &Nu2Filling::default())
            .unwrap();
        println!("{}", q.table());
        assert_eq!(q.background_centres.len(), 12);
        for p in &q.spheres {
            assert!(p.variability < 1e-6, "{p:?}");
            assert!((p.background_mean - 1.0).abs() < 1e-6, "{p:?}");
        }
        // 37 mm: 0.966 on 2 mm voxels, the rest the edge voxels' partial volume.
        assert!(q.spheres[5].contrast > 0.95 && q.spheres[5].contrast < 1.001);
        assert!(q.spheres.windows(2).all(|w| w[0].contrast < w[1].contrast));
        assert!(q.spheres[0].contrast > 0.7, "{:?}", q.spheres[0]);
        assert!(q.lung_residual < 1e-6);
        // The same phantom with water in every sphere.
        let cold = activity.mapv(|v| if v > 1.5 { 0.0 } else { v });
        let filling = Nu2Filling {
            cold: [true; 6],
            ..Nu2Filling::default()
        };
        let q = phantom
            .nu2_image_quality(cold.view(), &g, &filling)
            .unwrap();
        assert!(q.spheres[5].contrast > 0.95, "{:?}", q.spheres[5]);
    }

    /// Every background ROI keeps its clearance, and they are spread (the admissible region of
    /// this body is narrow in front of the spheres: no two closer than 25 mm).
    #[test]
    fn background_rois_keep_clear() {
        let phantom = NemaIecPhantom::pet();
        let c = phantom.background_centres();
        println!("{c:?}");
        for (i, a) in c.iter().enumerate() {
            for s in phantom.sphere_centres() {
                assert!((a[0] - s[0]).hypot(a[1] - s[1]) >= 18.5 + 15.0 + 5.0);
            }
            for b in &c[i + 1..] {
                assert!((a[0] - b[0]).hypot(a[1] - b[1]) >= 25.0, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn bad_input_is_refused() {
        let phantom = NemaIecPhantom::pet();
        let g = grid();
        let image = ndarray::Array3::<f32>::ones((25, 160, 160));
        let ratio = Nu2Filling {
            ratio: 1.0,
            ..Nu2Filling::default()
        };
        assert!(phantom.nu2_image_quality(image.view(), &g, &ratio).is_err());
        let short = ImageGrid::new_3d([9, 160, 160], [2.0, 2.0, 2.0]).unwrap();
        let e = phantom
            .nu2_image_quality(
                ndarray::Array3::<f32>::ones((9, 160, 160)).view(),
                &short,
                &Nu2Filling::default(),
            )
            .unwrap_err();
        assert!(e.to_string().contains("outside the image"), "{e}");
        let wrong = ndarray::Array3::<f32>::ones((25, 160, 161));
        assert!(
            phantom
                .nu2_image_quality(wrong.view(), &g, &Nu2Filling::default())
                .is_err()
        );
    }
}
