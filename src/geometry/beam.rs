//! Acquisition geometries: parallel beam and fan beam (flat or arc detector).
//!
//! Angles in radians, lengths in mm, axes as in `CONVENTIONS.md`: at view angle θ the
//! detector axis is `u(θ) = (cos θ, sin θ)` and the central ray travels along
//! `d(θ) = (−sin θ, cos θ)`. Detector rows map one-to-one onto the grid's axial slices
//! (a stack of 2D acquisitions); cone-beam geometries will lift that restriction.

use crate::error::{Error, Result};

/// The in-plane detector of one geometry: `n_cols` bins of `spacing` mm, shifted by `offset` mm.
///
/// Bin centre `k` sits at `u_k = (k − (n_cols − 1)/2)·spacing + offset` (mm at the detector).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorColumns {
    /// Number of detector columns (bins along u).
    pub n_cols: usize,
    /// Distance between bin centres in mm (arc length for an arc detector).
    pub spacing: f64,
    /// Shift of the detector along u in mm.
    pub offset: f64,
}

impl DetectorColumns {
    /// Fractional column index of the point `u = 0` (where the central ray lands).
    pub fn centre_index(&self) -> f64 {
        (self.n_cols as f64 - 1.0) / 2.0 - self.offset / self.spacing
    }
    /// Centre of bin `k` in mm.
    pub fn position(&self, k: usize) -> f64 {
        (k as f64 - (self.n_cols as f64 - 1.0) / 2.0) * self.spacing + self.offset
    }
    fn validate(&self) -> Result<()> {
        if self.n_cols == 0 {
            return Err(Error::InvalidGeometry(
                "detector has 0 columns; expected at least 1".into(),
            ));
        }
        if !(self.spacing.is_finite() && self.spacing > 0.0) {
            return Err(Error::InvalidGeometry(format!(
                "detector column spacing is {}; expected a finite value > 0 mm",
                self.spacing
            )));
        }
        if !self.offset.is_finite() {
            return Err(Error::InvalidGeometry(format!(
                "detector column offset is {}; expected a finite value in mm",
                self.offset
            )));
        }
        Ok(())
    }
}

fn validate_angles(angles: &[f64]) -> Result<()> {
    if angles.is_empty() {
        return Err(Error::InvalidGeometry(
            "the angle list is empty; expected at least one view angle (radians)".into(),
        ));
    }
    if let Some(i) = angles.iter().position(|a| !a.is_finite()) {
        return Err(Error::InvalidGeometry(format!(
            "view angle {i} is {}; expected a finite angle in radians",
            angles[i]
        )));
    }
    if angles.len() > 65_535 {
        return Err(Error::InvalidGeometry(format!(
            "{} views given; at most 65535 are supported",
            angles.len()
        )));
    }
    Ok(())
}

fn validate_rows(n_rows: usize, row_spacing: f64) -> Result<()> {
    if n_rows == 0 {
        return Err(Error::InvalidGeometry(
            "detector has 0 rows; expected at least 1".into(),
        ));
    }
    if !(row_spacing.is_finite() && row_spacing > 0.0) {
        return Err(Error::InvalidGeometry(format!(
            "detector row spacing is {row_spacing}; expected a finite value > 0 mm"
        )));
    }
    Ok(())
}

/// Parallel-beam geometry (a CT slice, a 2D PET sinogram, parallel-hole SPECT).
///
/// `sino[a, k] = ∫ f(u_k·u(θ_a) + t·d(θ_a)) dt`; data shape `[views, rows, cols]`
/// (`[views, cols]` for a single row).
#[derive(Debug, Clone, PartialEq)]
pub struct ParallelBeam {
    angles: Vec<f64>,
    columns: DetectorColumns,
    n_rows: usize,
    row_spacing: f64,
}

impl ParallelBeam {
    /// One detector row: `angles` in radians, `n_cols` bins of `col_spacing` mm, centred.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for an empty or non-finite angle list, no columns, or a
    /// non-finite or non-positive spacing.
    pub fn new(angles: Vec<f64>, n_cols: usize, col_spacing: f64) -> Result<Self> {
        Self::with_detector(
            angles,
            DetectorColumns {
                n_cols,
                spacing: col_spacing,
                offset: 0.0,
            },
            1,
            1.0,
        )
    }

    /// Full control: columns (with offset) and `n_rows` rows of `row_spacing` mm (one per slice).
    ///
    /// # Errors
    /// As [`ParallelBeam::new`], and for zero rows or a bad row spacing.
    pub fn with_detector(
        angles: Vec<f64>,
        columns: DetectorColumns,
        n_rows: usize,
        row_spacing: f64,
    ) -> Result<Self> {
        validate_angles(&angles)?;
        columns.validate()?;
        validate_rows(n_rows, row_spacing)?;
        Ok(Self {
            angles,
            columns,
            n_rows,
            row_spacing,
        })
    }
    /// View angles in radians.
    pub fn angles(&self) -> &[f64] {
        &self.angles
    }
    /// The detector's columns.
    pub fn columns(&self) -> DetectorColumns {
        self.columns
    }
    /// Number of detector rows (slices).
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }
    /// Distance between rows in mm.
    pub fn row_spacing(&self) -> f64 {
        self.row_spacing
    }
}

/// Shape of a fan-beam detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectorShape {
    /// A flat panel perpendicular to the central ray; column spacing in mm on the panel.
    Flat,
    /// An arc centred on the source (equiangular bins); column spacing is the arc length in
    /// mm between bin centres, so the angular step is `spacing / source_to_detector`.
    Arc,
}

/// Fan-beam geometry: source at `S(β) = −D_so·d(β)`, detector centre at `(D_sd − D_so)·d(β)`.
#[derive(Debug, Clone, PartialEq)]
pub struct FanBeam {
    angles: Vec<f64>,
    columns: DetectorColumns,
    n_rows: usize,
    row_spacing: f64,
    source_to_center: f64,
    source_to_detector: f64,
    shape: DetectorShape,
}

impl FanBeam {
    /// A fan-beam geometry with one detector row per slice.
    ///
    /// `source_to_center` (`D_so`) and `source_to_detector` (`D_sd`) in mm.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] as for [`ParallelBeam`], and when a distance is not finite and
    /// positive, the detector lies before the rotation centre (`D_sd ≤ D_so`), or an arc
    /// detector's fan would reach 90° or more.
    pub fn new(
        angles: Vec<f64>,
        columns: DetectorColumns,
        source_to_center: f64,
        source_to_detector: f64,
        shape: DetectorShape,
    ) -> Result<Self> {
        Self::with_rows(
            angles,
            columns,
            1,
            1.0,
            source_to_center,
            source_to_detector,
            shape,
        )
    }

    /// As [`FanBeam::new`] with `n_rows` rows of `row_spacing` mm (a stack of fan slices).
    ///
    /// # Errors
    /// As [`FanBeam::new`].
    pub fn with_rows(
        angles: Vec<f64>,
        columns: DetectorColumns,
        n_rows: usize,
        row_spacing: f64,
        source_to_center: f64,
        source_to_detector: f64,
        shape: DetectorShape,
    ) -> Result<Self> {
        validate_angles(&angles)?;
        columns.validate()?;
        validate_rows(n_rows, row_spacing)?;
        if !(source_to_center.is_finite() && source_to_center > 0.0) {
            return Err(Error::InvalidGeometry(format!(
                "source_to_center is {source_to_center}; expected a finite distance > 0 mm"
            )));
        }
        if !(source_to_detector.is_finite() && source_to_detector > source_to_center) {
            return Err(Error::InvalidGeometry(format!(
                "source_to_detector is {source_to_detector} mm; the detector must lie beyond the rotation centre, \
                 so expected a finite value > source_to_center = {source_to_center} mm"
            )));
        }
        let fan = Self {
            angles,
            columns,
            n_rows,
            row_spacing,
            source_to_center,
            source_to_detector,
            shape,
        };
        let gamma_max = fan.max_fan_angle();
        if gamma_max >= 0.99 * std::f64::consts::FRAC_PI_2 {
            return Err(Error::InvalidGeometry(format!(
                "the detector spans fan angles up to {:.1}°; expected less than 89°",
                gamma_max.to_degrees()
            )));
        }
        Ok(fan)
    }
    /// View angles β in radians.
    pub fn angles(&self) -> &[f64] {
        &self.angles
    }
    /// The detector's columns.
    pub fn columns(&self) -> DetectorColumns {
        self.columns
    }
    /// Number of detector rows (slices).
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }
    /// Distance between rows in mm.
    pub fn row_spacing(&self) -> f64 {
        self.row_spacing
    }
    /// Source-to-rotation-axis distance `D_so` in mm.
    pub fn source_to_center(&self) -> f64 {
        self.source_to_center
    }
    /// Source-to-detector distance `D_sd` in mm.
    pub fn source_to_detector(&self) -> f64 {
        self.source_to_detector
    }
    /// Flat or arc.
    pub fn detector_shape(&self) -> DetectorShape {
        self.shape
    }
    /// Fan angle γ (radians) of the ray through detector position `u` (mm).
    pub fn fan_angle(&self, u: f64) -> f64 {
        match self.shape {
            DetectorShape::Flat => (u / self.source_to_detector).atan(),
            DetectorShape::Arc => u / self.source_to_detector,
        }
    }
    /// Largest |γ| over the detector's bin edges (radians).
    pub fn max_fan_angle(&self) -> f64 {
        let c = self.columns;
        let first = c.position(0) - c.spacing / 2.0;
        let last = c.position(c.n_cols - 1) + c.spacing / 2.0;
        self.fan_angle(first).abs().max(self.fan_angle(last).abs())
    }
}

/// Any supported acquisition geometry.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// Parallel beam.
    Parallel(ParallelBeam),
    /// Fan beam.
    Fan(FanBeam),
}

impl From<ParallelBeam> for Geometry {
    fn from(g: ParallelBeam) -> Self {
        Geometry::Parallel(g)
    }
}
impl From<FanBeam> for Geometry {
    fn from(g: FanBeam) -> Self {
        Geometry::Fan(g)
    }
}

impl Geometry {
    /// View angles in radians.
    pub fn angles(&self) -> &[f64] {
        match self {
            Geometry::Parallel(g) => g.angles(),
            Geometry::Fan(g) => g.angles(),
        }
    }
    /// The detector's columns.
    pub fn columns(&self) -> DetectorColumns {
        match self {
            Geometry::Parallel(g) => g.columns(),
            Geometry::Fan(g) => g.columns(),
        }
    }
    /// Number of detector rows.
    pub fn n_rows(&self) -> usize {
        match self {
            Geometry::Parallel(g) => g.n_rows(),
            Geometry::Fan(g) => g.n_rows(),
        }
    }
    /// Row spacing in mm.
    pub fn row_spacing(&self) -> f64 {
        match self {
            Geometry::Parallel(g) => g.row_spacing(),
            Geometry::Fan(g) => g.row_spacing(),
        }
    }
    /// Number of views.
    pub fn n_views(&self) -> usize {
        self.angles().len()
    }
    /// Shape of the projection data `[views, rows, cols]`.
    pub fn data_shape(&self) -> [usize; 3] {
        [self.n_views(), self.n_rows(), self.columns().n_cols]
    }

    /// The same acquisition restricted to `views` (indices), in that order.
    pub(crate) fn subset(&self, views: &[usize]) -> Geometry {
        let pick = |angles: &[f64]| views.iter().map(|&v| angles[v]).collect();
        match self {
            Geometry::Parallel(g) => Geometry::Parallel(ParallelBeam {
                angles: pick(&g.angles),
                ..g.clone()
            }),
            Geometry::Fan(g) => Geometry::Fan(FanBeam {
                angles: pick(&g.angles),
                ..g.clone()
            }),
        }
    }
}
