//! NEMA NU 2 image quality of a reconstructed NEMA IEC body phantom series: the figures
//! ([`NemaIecPhantom::nu2_image_quality`]) as a Markdown table and a page showing the slice
//! through the spheres with every ROI drawn.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3, ArrayView3, s};

use crate::error::{Error, Result};
use crate::fusion::{Colormap, Overlay, Page, Window, fuse, write_png};
use crate::geometry::ImageGrid;
use crate::io::dicom::{ReadLimits, SeriesSelect, read_pet_series};
use crate::phantom::{LUNG_ROI, NemaIecPhantom, Nu2Filling, Nu2ImageQuality, SPHERE_DIAMETERS};

/// A NEMA NU 2 image-quality analysis.
#[derive(Debug, Clone)]
pub struct NemaIq {
    /// The figures.
    pub quality: Nu2ImageQuality,
    /// The analysed image `[z, y, x]` and its grid (the series' patient coordinates).
    pub image: Array3<f32>,
    /// See `image`.
    pub grid: ImageGrid,
}

/// Files written by [`NemaIq::write`].
#[derive(Debug, Clone)]
pub struct NemaIqFiles {
    /// The table, Markdown.
    pub table: PathBuf,
    /// The page.
    pub png: PathBuf,
}

/// Analyses the PT series at `series` (a folder or file): axial slices, the phantom centred
/// on x = y = 0 of the patient coordinates (as `tomors recon-pet` writes a scan of a centred
/// phantom) with its spheres at `phantom.sphere_plane`.
///
/// # Errors
/// Reading errors; [`Error::InvalidGeometry`] for a series whose slices are not axial;
/// the analysis' errors.
pub fn nema_image_quality(
    series: &Path,
    phantom: &NemaIecPhantom,
    filling: &Nu2Filling,
) -> Result<NemaIq> {
    let pt = read_pet_series(series, &SeriesSelect::Largest, &ReadLimits::default())?;
    let g = pt.volume.grid;
    let identity = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let axial = g
        .axes
        .iter()
        .zip(identity)
        .all(|(a, e)| a.iter().zip(e).all(|(x, y)| (x - y).abs() < 1e-3));
    if !axial {
        return Err(Error::InvalidGeometry(format!(
            "{}: slices oriented {:?}; the analysis reads axial slices (rows along x, columns \
             along y, slices along z)",
            series.display(),
            g.axes
        )));
    }
    let grid = ImageGrid::new_3d(g.shape, g.spacing)?.with_origin([
        g.origin[2],
        g.origin[1],
        g.origin[0],
    ])?;
    let quality = phantom.nu2_image_quality(pt.volume.data.view(), &grid, filling)?;
    Ok(NemaIq {
        quality,
        image: pt.volume.data,
        grid,
    })
}

impl NemaIq {
    /// The page: the slice through the spheres (3 pixels per voxel), the sphere ROIs in
    /// cyan, the background ROIs (37 mm) in green, the lung ROI in blue; and the table.
    ///
    /// # Errors
    /// Rendering errors.
    pub fn page(&self) -> Result<Array3<u8>> {
        page(self.image.view(), &self.grid, &self.quality)
    }

    /// What [`NemaIq::write`] puts into its folder.
    pub const OUTPUTS: [&str; 2] = ["nu2.md", "nu2.png"];

    /// Writes `nu2.md` and `nu2.png` into `dir` (created), each atomically; existing files
    /// are never overwritten.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `dir` is a file or an output exists already;
    /// [`Error::Io`].
    pub fn write(&self, dir: &Path) -> Result<NemaIqFiles> {
        crate::io::check_output_folder(dir, &Self::OUTPUTS)?;
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let table = dir.join("nu2.md");
        crate::io::write_atomically(&table, |tmp| {
            std::fs::write(tmp, self.quality.table()).map_err(|source| Error::Io {
                path: table.clone(),
                source,
            })
        })?;
        let png = dir.join("nu2.png");
        write_png(self.page()?.view(), &png)?;
        Ok(NemaIqFiles { table, png })
    }
}

fn page(image: ArrayView3<'_, f32>, grid: &ImageGrid, q: &Nu2ImageQuality) -> Result<Array3<u8>> {
    const UP: usize = 3;
    let [oz, oy, ox] = grid.origin();
    let [dz, dy, dx] = grid.spacing();
    let iz = ((q.central_z - oz) / dz).round() as usize;
    let slice = image.slice(s![iz, .., ..]).to_owned();
    let top = slice
        .iter()
        .fold(0.0f32, |m, &v| m.max(v))
        .max(f32::MIN_POSITIVE);
    let black = Array2::<f32>::from_elem(slice.dim(), -1000.0);
    let overlay = Overlay {
        colormap: Colormap::Hot,
        range: (0.0, top),
        threshold: 0.0,
        alpha: 1.0,
    };
    let rgb = fuse(
        black.view(),
        Window::SOFT_TISSUE,
        Some((slice.view(), overlay)),
    )?;
    let (h, w, _) = rgb.dim();
    let mut big =
        Array3::<u8>::from_shape_fn((h * UP, w * UP, 3), |(y, x, c)| rgb[[y / UP, x / UP, c]]);
    // A circle of `diameter` mm about (x, y) mm, one pixel wide (the pixels of its box).
    let mut circle = |[x, y]: [f64; 2], diameter: f64, colour: [u8; 3]| {
        let r = diameter / 2.0;
        let range = |c: f64, o: f64, d: f64, n: usize| {
            let pixel = |v: f64| ((v - o) / d + 0.5) * UP as f64;
            let lo = pixel(c - r - d).floor().max(0.0) as usize;
            let hi = (pixel(c + r + d).ceil().max(0.0) as usize).min(n * UP);
            lo..hi
        };
        for py in range(y, oy, dy, h) {
            for px in range(x, ox, dx, w) {
                let mx = ox + ((px as f64 + 0.5) / UP as f64 - 0.5) * dx;
                let my = oy + ((py as f64 + 0.5) / UP as f64 - 0.5) * dy;
                if ((mx - x).hypot(my - y) - r).abs() <= 0.5 * dx.min(dy) / UP as f64 * 1.5 {
                    for (c, v) in colour.iter().enumerate() {
                        big[[py, px, c]] = *v;
                    }
                }
            }
        }
    };
    for s in &q.spheres {
        circle(s.centre_mm, s.diameter_mm, [0, 230, 255]);
    }
    for &c in &q.background_centres {
        circle(c, SPHERE_DIAMETERS[5], [0, 220, 0]);
    }
    circle([0.0, 0.0], LUNG_ROI, [80, 120, 255]);
    let mut p = Page::new(2, 480);
    p.picture(
        &format!("z = {:.1} mm, 0-{top:.3e}", q.central_z),
        big.view(),
    );
    let mut lines: Vec<String> = q
        .spheres
        .iter()
        .map(|p| {
            format!(
                "{:>2.0} mm {}: Q {:5.1} %, N {:5.2} %",
                p.diameter_mm,
                if p.cold { "cold" } else { "hot " },
                100.0 * p.contrast,
                100.0 * p.variability
            )
        })
        .collect();
    lines.push(format!("lung residual {:.2} %", 100.0 * q.lung_residual));
    lines.push("Q contrast recovery, N background variability".into());
    p.text("NEMA NU 2 image quality", &lines);
    Ok(p.render())
}
