//! The one-page summary of an emission volume over its CT (a SPECT-CT reconstruction, a PET
//! series): the emission MIP, the three planes fused over the CT through the hottest voxel, the
//! μ-map when there is one, and the settings.

use ndarray::{Array3, ArrayView3};

use crate::backend::Backend;
use crate::error::Result;
use crate::fusion::{
    Colormap, Overlay, Page, Plane, Resampling, Window, fuse, plane_image, resample,
};
use crate::geometry::PatientGrid;
use crate::recon::{Voi, voi_stats};

/// Tile side, pixels.
const TILE: usize = 320;

/// What a summary page shows.
pub(crate) struct Summary<'a> {
    /// The emission volume `[z, y, x]` on `grid`, in `units`.
    pub image: ArrayView3<'a, f32>,
    pub grid: &'a PatientGrid,
    pub units: &'a str,
    /// The CT (HU) on its grid.
    pub ct: ArrayView3<'a, f32>,
    pub ct_grid: &'a PatientGrid,
    /// The μ-map (1/mm, on `grid`) and the top of its grey scale.
    pub mu_map: Option<(ArrayView3<'a, f32>, f32)>,
    /// Settings and warnings, one per line.
    pub lines: Vec<String>,
}

impl Summary<'_> {
    /// The page as RGB bytes `[rows, cols, 3]`.
    ///
    /// # Errors
    /// Only resampling errors, which volumes on valid grids do not produce.
    pub fn page(&self) -> Result<Array3<u8>> {
        let image = self.image;
        let max = image
            .iter()
            .copied()
            .fold(0.0f32, f32::max)
            .max(f32::MIN_POSITIVE);
        let hot = hottest(image);
        let mut page = Page::new(4, TILE);

        let mip = plane_image(image, self.grid.spacing, Plane::Coronal, hot, true)?;
        let full = Overlay {
            colormap: Colormap::Hot,
            range: (0.0, max),
            threshold: 0.0,
            alpha: 1.0,
        };
        page.picture(
            &format!("MIP max {} {}", three_digits(max), self.units),
            fuse(mip.view(), Window::SOFT_TISSUE, Some((mip.view(), full)))?.view(),
        );

        // Fused planes through the hottest voxel, on the CT's own voxels.
        let at = ct_index(self.ct_grid, self.grid.position(hot.map(|i| i as f64)));
        let overlay = Overlay {
            colormap: Colormap::Inferno,
            range: (0.0, 0.6 * max),
            threshold: 0.05,
            alpha: 0.6,
        };
        for plane in [Plane::Axial, Plane::Coronal, Plane::Sagittal] {
            let (anatomy, uptake) =
                plane_on_ct(self.ct, self.ct_grid, image, self.grid, plane, at)?;
            let name = match plane {
                Plane::Axial => "axial",
                Plane::Coronal => "coronal",
                Plane::Sagittal => "sagittal",
            };
            page.picture(
                name,
                fuse(
                    anatomy.view(),
                    Window::SOFT_TISSUE,
                    Some((uptake.view(), overlay)),
                )?
                .view(),
            );
        }

        if let Some((mu, top)) = self.mu_map {
            let plane = plane_image(mu, self.grid.spacing, Plane::Coronal, hot, false)?;
            let window = Window {
                centre: top / 2.0,
                width: top,
            };
            page.picture(
                &format!("mu 0-{:.3}/cm", top * 10.0),
                fuse(plane.view(), window, None)?.view(),
            );
        }
        let mut lines = self.lines.clone();
        lines.extend(voi_lines(image, self.grid.spacing, self.units));
        page.text("settings", &lines);
        Ok(page.render())
    }
}

/// Volume-of-interest lines for the page: the whole field of view, and the voxels at 40 % of
/// the maximum or more (wherever they lie). Totals: MBq for an image in Bq/mL, counts/s for
/// one in counts/s per voxel.
fn voi_lines(image: ArrayView3<'_, f32>, spacing: [f64; 3], units: &str) -> Vec<String> {
    let describe = |name: &str, voi: Voi<'_>| -> Option<String> {
        let s = voi_stats(image, spacing, voi).ok()?;
        let total = match units {
            "BQML" => format!("{} MBq", three_digits((s.total / 1e6) as f32)),
            "CPS" => format!("{} cps", three_digits((s.mean * s.voxels as f64) as f32)),
            _ => format!("{} x mL", three_digits(s.total as f32)),
        };
        Some(format!(
            "{name}: {} mL, mean {}, max {} {units}, total {total}",
            three_digits(s.volume_ml as f32),
            three_digits(s.mean as f32),
            three_digits(s.max as f32),
        ))
    };
    let all = Array3::from_elem(image.raw_dim(), true);
    let everything = Voi::Mask(all.view());
    let hot = Voi::FractionOfMax {
        fraction: 0.4,
        within: None,
    };
    [
        describe("field of view", everything),
        describe(">= 40% of max", hot),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// `v` with about three significant digits and no more (a caption has room for ~20 characters).
fn three_digits(v: f32) -> String {
    if v.abs() < 1e-6 {
        return "0".into();
    }
    let decimals = (2 - v.abs().max(1e-30).log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

/// Index `[iz, iy, ix]` of the voxel with the largest value (the first, in C order).
fn hottest(v: ArrayView3<'_, f32>) -> [usize; 3] {
    let (mut best, mut at) = (f32::NEG_INFINITY, [0; 3]);
    for ((z, y, x), &value) in v.indexed_iter() {
        if value > best {
            (best, at) = (value, [z, y, x]);
        }
    }
    at
}

/// The CT voxel nearest to patient position `p`, clamped into the CT.
fn ct_index(grid: &PatientGrid, p: [f64; 3]) -> [usize; 3] {
    let i = grid.index_of(p);
    [0, 1, 2].map(|k| (i[k].round().max(0.0) as usize).min(grid.shape[k] - 1))
}

/// A CT plane through voxel `at` and the emission volume sampled on the same pixels.
fn plane_on_ct(
    ct: ArrayView3<'_, f32>,
    ct_grid: &PatientGrid,
    emission: ArrayView3<'_, f32>,
    emission_grid: &PatientGrid,
    plane: Plane,
    at: [usize; 3],
) -> Result<(ndarray::Array2<f32>, ndarray::Array2<f32>)> {
    // The plane's axis in array order.
    let axis = match plane {
        Plane::Axial => 0,
        Plane::Coronal => 1,
        Plane::Sagittal => 2,
    };
    let mut shape = ct_grid.shape;
    shape[axis] = 1;
    let mut start = [0.0; 3];
    start[axis] = at[axis] as f64;
    let slab = PatientGrid::new(
        shape,
        ct_grid.spacing,
        ct_grid.position(start),
        ct_grid.axes,
    )?;
    let uptake = resample(
        emission,
        emission_grid,
        &slab,
        0.0,
        Resampling::Trilinear,
        Backend::Cpu,
    )?;
    let mut in_slab = at;
    in_slab[axis] = 0;
    Ok((
        plane_image(ct, ct_grid.spacing, plane, at, false)?,
        plane_image(uptake.view(), ct_grid.spacing, plane, in_slab, false)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_show_three_significant_digits() {
        assert_eq!(three_digits(3000.0), "3000");
        assert_eq!(three_digits(123.456), "123");
        assert_eq!(three_digits(8.1234), "8.12");
        assert_eq!(three_digits(0.0123456), "0.0123");
        assert_eq!(three_digits(0.0), "0");
    }

    #[test]
    fn the_page_reports_the_field_and_the_hot_voxels() {
        // 2 mm voxels (0.008 mL): 999 voxels of 1000 Bq/mL, one of 10 000.
        let mut image = Array3::from_elem((10, 10, 10), 1000.0f32);
        image[[5, 5, 5]] = 10_000.0;
        let lines = voi_lines(image.view(), [2.0; 3], "BQML");
        // Total: (999 × 1000 + 10 000) Bq/mL × 0.008 mL = 8072 Bq.
        assert_eq!(
            lines,
            vec![
                "field of view: 8.00 mL, mean 1009, max 10000 BQML, total 0.00807 MBq",
                ">= 40% of max: 0.00800 mL, mean 10000, max 10000 BQML, total 0.000080 MBq",
            ]
        );
        let cps = voi_lines(image.view(), [2.0; 3], "CPS");
        assert!(cps[0].ends_with("total 1009000 cps"), "{cps:?}");
    }
}
