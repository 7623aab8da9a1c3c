//! The standard benchmark cases, shared by the criterion benches and `tomors bench`.

use crate::error::Result;
use crate::geometry::{Geometry, ImageGrid, ParallelBeam};
use crate::phantom::EllipsoidPhantom;
use ndarray::ArrayD;

/// One benchmark case: a parallel-beam acquisition over 180° of an image of 1 mm pixels.
#[derive(Debug, Clone)]
pub struct BenchCase {
    /// Short name, e.g. `"512²"` or `"512²×128"`.
    pub name: String,
    /// The grid.
    pub grid: ImageGrid,
    /// The geometry (one detector row per slice, bins of 1 mm covering the grid's diagonal).
    pub geometry: Geometry,
}

impl BenchCase {
    /// `n²` pixels (× `slices` when more than one), `views` views over 180°.
    ///
    /// # Errors
    /// Only for absurd sizes (zero).
    pub fn new(n: usize, slices: usize, views: usize) -> Result<Self> {
        let n_cols = ((n as f64) * std::f64::consts::SQRT_2).ceil() as usize | 1;
        let angles = (0..views)
            .map(|i| i as f64 * std::f64::consts::PI / views as f64)
            .collect();
        let cols = crate::geometry::DetectorColumns {
            n_cols,
            spacing: 1.0,
            offset: 0.0,
        };
        let geometry = ParallelBeam::with_detector(angles, cols, slices, 1.0)?.into();
        let (grid, name) = if slices == 1 {
            (ImageGrid::new_2d([n, n], [1.0, 1.0])?, format!("{n}²"))
        } else {
            (
                ImageGrid::new_3d([slices, n, n], [1.0, 1.0, 1.0])?,
                format!("{n}²×{slices}"),
            )
        };
        Ok(Self {
            name,
            grid,
            geometry,
        })
    }

    /// The standard set: 256² (360 views), 512² (720 views), 1024² (1440 views) and a
    /// 512×512×128 stack (720 views).
    ///
    /// # Errors
    /// Never in practice (fixed, valid sizes).
    pub fn standard() -> Result<Vec<Self>> {
        Ok(vec![
            Self::new(256, 1, 360)?,
            Self::new(512, 1, 720)?,
            Self::new(1024, 1, 1440)?,
            Self::new(512, 128, 720)?,
        ])
    }

    /// Voxel updates of one projection or back-projection: voxels × views.
    pub fn voxel_updates(&self) -> f64 {
        self.grid.len() as f64 * self.geometry.n_views() as f64
    }

    /// The modified Shepp-Logan phantom on the grid (`image`) and its exact line integrals
    /// (`data`), in the array shapes the projector uses.
    ///
    /// # Errors
    /// Never in practice.
    pub fn inputs(&self) -> Result<(ArrayD<f32>, ArrayD<f32>)> {
        let [_, ny, nx] = self.grid.shape();
        let phantom = EllipsoidPhantom::shepp_logan(ny.min(nx) as f64 / 2.0);
        let image = phantom.rasterize(&self.grid, 1)?.into_dyn();
        let data = phantom.line_integrals(&self.geometry, &self.grid)?;
        if self.grid.ndim() == 2 {
            Ok((
                image.index_axis_move(ndarray::Axis(0), 0),
                data.index_axis_move(ndarray::Axis(1), 0),
            ))
        } else {
            Ok((image, data))
        }
    }
}

/// The SPECT benchmark: a NEMA IEC body-like phantom on a 128³ grid of 4 mm voxels, 120 views
/// over 360° on a 250 mm circular orbit, 128 bins of 4 mm, LEHR collimator response and the
/// phantom's μ-map (140 keV).
#[derive(Debug, Clone)]
pub struct SpectBenchCase {
    /// The grid.
    pub grid: ImageGrid,
    /// The acquisition (with the collimator).
    pub geometry: crate::geometry::SpectGeometry,
    /// Activity, `[z, y, x]`.
    pub activity: ndarray::Array3<f32>,
    /// μ-map, 1/mm, `[z, y, x]`.
    pub mu: ndarray::Array3<f32>,
}

impl SpectBenchCase {
    /// The standard case of `n`³ voxels of `512 / n` mm with `views` views (128 and 120 in the
    /// issue).
    ///
    /// # Errors
    /// Never in practice (valid sizes).
    pub fn new(n: usize, views: usize) -> Result<Self> {
        let d = 512.0 / n as f64;
        let grid = ImageGrid::new_3d([n, n, n], [d, d, d])?;
        let angles = (0..views)
            .map(|i| i as f64 * 2.0 * std::f64::consts::PI / views as f64)
            .collect();
        let geometry = crate::geometry::SpectGeometry::new(angles, 250.0, n, d)?
            .with_collimator(crate::geometry::Collimator::preset("lehr")?);
        let (activity, mu) = crate::phantom::NemaIecPhantom::default().rasterize(&grid, 2)?;
        Ok(Self {
            grid,
            geometry,
            activity,
            mu,
        })
    }
}

/// The PET 2D benchmark: one plane of the NEMA IEC body-like phantom (through its spheres) on
/// an `n`² grid of `512 / n` mm, `views` views over 180°, bins of the pixel size covering the
/// grid's diagonal, attenuation by the phantom's μ-map at 511 keV.
#[derive(Debug, Clone)]
pub struct PetBenchCase {
    /// The grid (2D).
    pub grid: ImageGrid,
    /// The acquisition.
    pub geometry: ParallelBeam,
    /// Activity, `[y, x]`.
    pub activity: ArrayD<f32>,
    /// μ-map, 1/mm, `[y, x]`.
    pub mu: ArrayD<f32>,
}

impl PetBenchCase {
    /// The standard case is `n = 256`, `views = 256`.
    ///
    /// # Errors
    /// Never in practice (valid sizes).
    pub fn new(n: usize, views: usize) -> Result<Self> {
        let d = 512.0 / n as f64;
        let grid = ImageGrid::new_2d([n, n], [d, d])?;
        let n_cols = ((n as f64) * std::f64::consts::SQRT_2).ceil() as usize | 1;
        let angles = (0..views)
            .map(|i| i as f64 * std::f64::consts::PI / views as f64)
            .collect();
        let geometry = ParallelBeam::new(angles, n_cols, d)?;
        let phantom = crate::phantom::NemaIecPhantom {
            mu_water: 0.0096,
            mu_lung: 0.0096 * 0.3,
            ..Default::default()
        };
        let (activity, mu) = phantom.rasterize(&grid, 2)?;
        let plane = |a: ndarray::Array3<f32>| a.index_axis_move(ndarray::Axis(0), 0).into_dyn();
        Ok(Self {
            grid,
            geometry,
            activity: plane(activity),
            mu: plane(mu),
        })
    }
}

/// A 3D PET benchmark: the NEMA IEC body phantom at 511 keV (spheres in the central plane) in
/// a scanner's layout.
#[derive(Debug, Clone)]
pub struct Pet3dBenchCase {
    /// Short name, e.g. `"mMR span 11"`.
    pub name: String,
    /// The sinogram layout.
    pub layout: crate::geometry::pet::SinogramLayout,
    /// The grid.
    pub grid: ImageGrid,
    /// Activity, `[z, y, x]`.
    pub activity: ArrayD<f32>,
    /// μ-map, 1/mm, `[z, y, x]`.
    pub mu: ArrayD<f32>,
}

impl Pet3dBenchCase {
    /// The mMR at `span` (344 bins, 252 views, max ring difference 60) over 127 slices of
    /// 2.03 mm and 128² voxels of 4.17 mm.
    ///
    /// # Errors
    /// For an even span.
    pub fn mmr(span: u32) -> Result<Self> {
        let layout = crate::geometry::pet::SinogramLayout::mmr(span)?;
        let grid = ImageGrid::new_3d([127, 128, 128], [2.03125, 4.17, 4.17])?;
        Self::with(format!("mMR span {span}"), layout, grid)
    }

    /// The mMR at span `span` as if it had time of flight: 13 TOF bins of 312.5 ps at 527 ps
    /// FWHM (the sampling of a Siemens Biograph mCT; 609 mm of line covered), the images of
    /// [`Pet3dBenchCase::mmr`] (the scatter simulation's TOF case: the mMR has no TOF).
    ///
    /// # Errors
    /// Never in practice (valid sizes).
    pub fn mmr_tof(span: u32) -> Result<Self> {
        use crate::geometry::pet::{PetScanner, SinogramLayout, TofBins};
        let scanner = PetScanner::mmr().with_tof(TofBins::from_ps(13, 312.5, 527.0)?);
        let layout = SinogramLayout::new(scanner, 344, span, 60, 1)?;
        let grid = ImageGrid::new_3d([127, 128, 128], [2.03125, 4.17, 4.17])?;
        Self::with(
            format!("mMR span {span} with TOF (13 × 312.5 ps)"),
            layout,
            grid,
        )
    }

    /// The generic TOF scanner (13 TOF bins, 400 ps) at span 11, ring differences up to 23,
    /// views mashed by 4, 300 tangential bins, over 95 slices of 2 mm and 144² voxels of 4 mm.
    ///
    /// # Errors
    /// Never in practice (valid sizes).
    pub fn generic_tof() -> Result<Self> {
        let layout = crate::geometry::pet::SinogramLayout::new(
            crate::geometry::pet::PetScanner::generic_tof(),
            300,
            11,
            23,
            4,
        )?;
        let grid = ImageGrid::new_3d([95, 144, 144], [2.0, 4.0, 4.0])?;
        Self::with("generic TOF span 11, mashed 4".into(), layout, grid)
    }

    /// The projector comparison against parallelproj (issue 30): 8 rings of the mMR's ring
    /// geometry (504 positions, radius, depth, spacing and gaps), span 1 (64 planes), 344 bins,
    /// 252 views, over 15 slices of 2.03 mm and 344² voxels of 2.086 mm; with `tof`, 29 TOF
    /// bins of 160 ps at 400 ps FWHM (a generic setting: the mMR has no TOF).
    ///
    /// # Errors
    /// Never in practice (valid sizes).
    pub fn mmr_8_rings(tof: bool) -> Result<Self> {
        use crate::geometry::pet::{PetScanner, SinogramLayout, TofBins};
        let mut scanner =
            PetScanner::new("mMR 8 rings", 8, 504, 328.0, 7.0, 4.0625)?.with_blocks(8, 1, 0)?;
        if tof {
            scanner = scanner.with_tof(TofBins::from_ps(29, 160.0, 400.0)?);
        }
        let layout = SinogramLayout::new(scanner, 344, 1, 7, 1)?;
        let grid = ImageGrid::new_3d([15, 344, 344], [2.03125, 2.086, 2.086])?;
        let name = if tof {
            "mMR 8 rings, TOF"
        } else {
            "mMR 8 rings"
        };
        Self::with(name.into(), layout, grid)
    }

    fn with(
        name: String,
        layout: crate::geometry::pet::SinogramLayout,
        grid: ImageGrid,
    ) -> Result<Self> {
        let (activity, mu) = crate::phantom::NemaIecPhantom::pet().rasterize(&grid, 1)?;
        Ok(Self {
            name,
            layout,
            grid,
            activity: activity.into_dyn(),
            mu: mu.into_dyn(),
        })
    }
}

/// The cone-beam benchmark: the 3D Shepp-Logan (half-height 0.4 n mm) on an `n`³ grid of 1 mm
/// voxels, `views` views over 360° of a flat 512 × 512 detector of 0.8 mm pixels, source 600 mm
/// from the axis and 1000 mm from the detector (the FDK cases: 256³ from 360 views,
/// 512³ from 512 views, with 1.0 mm pixels then).
#[derive(Debug, Clone)]
pub struct ConeBenchCase {
    /// Short name, e.g. `"CBCT 256³ (360 × 512²)"`.
    pub name: String,
    /// The grid.
    pub grid: ImageGrid,
    /// The geometry.
    pub cone: crate::geometry::ConeBeam,
}

impl ConeBenchCase {
    /// `n`³ voxels from `views` views of 512² pixels (0.8 mm for n ≤ 256, else 1.2 mm, so the
    /// detector sees the whole grid).
    ///
    /// # Errors
    /// Never in practice (valid sizes).
    pub fn new(n: usize, views: usize) -> Result<Self> {
        let pixel = if n <= 256 { 0.8 } else { 1.2 };
        let angles = (0..views)
            .map(|i| i as f64 * 2.0 * std::f64::consts::PI / views as f64)
            .collect();
        let (dso, dsd) = if n <= 256 {
            (600.0, 1000.0)
        } else {
            (800.0, 1200.0)
        };
        let orbit = crate::geometry::ConeOrbit::new(angles, 512, 512, pixel, pixel, dso, dsd);
        Ok(Self {
            name: format!("CBCT {n}³ ({views} × 512²)"),
            grid: ImageGrid::new_3d([n, n, n], [1.0; 3])?,
            cone: crate::geometry::ConeBeam::orbit(&orbit)?,
        })
    }

    /// Voxel updates of one projection or back-projection: voxels × views.
    pub fn voxel_updates(&self) -> f64 {
        self.grid.len() as f64 * self.cone.n_views() as f64
    }

    /// The phantom on the grid and its exact projections.
    ///
    /// # Errors
    /// Never in practice.
    pub fn inputs(&self) -> Result<(ArrayD<f32>, ArrayD<f32>)> {
        let solids = EllipsoidPhantom::shepp_logan(0.4 * self.grid.shape()[0] as f64).solids();
        Ok((
            solids.rasterize(&self.grid, 1)?.into_dyn(),
            solids.cone_projections(&self.cone),
        ))
    }
}
