//! SPECT acquisition with a parallel-hole collimator: views, orbit and collimator-detector
//! response, and their lowering to the per-view tables the SPECT kernels read.
//!
//! The system model is rotation-based: for each view the image is moved onto a frame whose
//! axes are the detector axis `u(θ)` and the depth axis `d(θ)`, with the same spacing as the
//! image, each voxel spread over the four frame samples around it with bilinear weights that
//! sum to 1 (so every voxel keeps its counts in every view); each sample is attenuated along
//! its path to the camera, blurred by
//! the collimator-detector response for its distance from the camera face (a Gaussian in `u`
//! and in `z`), and summed along `d`. See `CONVENTIONS.md`: the camera face is on the `+d` side
//! at distance `R(θ)` from the `z` axis.

use crate::backend::layout::{SpectLowered, SpectParams, SpectView};
use crate::error::{Error, Result};
use crate::geometry::ImageGrid;

use super::Collimator;
use crate::maths::{FWHM_PER_SIGMA, gaussian_half_kernel};

/// A SPECT acquisition with a parallel-hole collimator.
///
/// Projections are `proj[view, row, col]` with one row per image slice (row spacing = slice
/// thickness) and columns of the image's in-plane pixel size, centred on the rotation axis
/// (plus `col_offset`). The grid must have square pixels; projections of another bin size must
/// be resampled first.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectGeometry {
    angles: Vec<f64>,
    radii: Vec<f64>,
    n_cols: usize,
    col_spacing: f64,
    col_offset: f64,
    collimator: Option<Collimator>,
}

impl SpectGeometry {
    /// Views at `angles` (radians, per CONVENTIONS.md) on a circular orbit of `radius` mm
    /// (rotation axis to collimator face), `n_cols` bins of `col_spacing` mm.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for no views, non-finite angles, a non-positive radius or spacing.
    pub fn new(angles: Vec<f64>, radius: f64, n_cols: usize, col_spacing: f64) -> Result<Self> {
        let radii = vec![radius; angles.len()];
        Self::with_orbit(angles, radii, n_cols, col_spacing)
    }

    /// As [`SpectGeometry::new`] with one radius of rotation per view (non-circular orbits).
    ///
    /// # Errors
    /// As [`SpectGeometry::new`], and when `radii` and `angles` differ in length.
    pub fn with_orbit(
        angles: Vec<f64>,
        radii: Vec<f64>,
        n_cols: usize,
        col_spacing: f64,
    ) -> Result<Self> {
        if angles.is_empty() {
            return Err(Error::InvalidGeometry(
                "SPECT geometry has no views; expected at least one angle".into(),
            ));
        }
        if let Some((i, a)) = angles.iter().enumerate().find(|(_, a)| !a.is_finite()) {
            return Err(Error::InvalidGeometry(format!(
                "view angle {i} is {a}; angles must be finite (radians)"
            )));
        }
        if radii.len() != angles.len() {
            return Err(Error::InvalidGeometry(format!(
                "{} radii of rotation for {} views; expected one per view",
                radii.len(),
                angles.len()
            )));
        }
        if let Some((i, r)) = radii
            .iter()
            .enumerate()
            .find(|(_, r)| !(r.is_finite() && **r > 0.0))
        {
            return Err(Error::InvalidGeometry(format!(
                "radius of rotation of view {i} is {r} mm; expected a finite value > 0"
            )));
        }
        if n_cols == 0 {
            return Err(Error::InvalidGeometry(
                "SPECT detector has 0 columns; expected at least 1".into(),
            ));
        }
        if !(col_spacing.is_finite() && col_spacing > 0.0) {
            return Err(Error::InvalidGeometry(format!(
                "column spacing is {col_spacing} mm; expected a finite value > 0"
            )));
        }
        Ok(Self {
            angles,
            radii,
            n_cols,
            col_spacing,
            col_offset: 0.0,
            collimator: None,
        })
    }

    /// Returns the geometry with the collimator-detector response modelled.
    pub fn with_collimator(mut self, collimator: Collimator) -> Self {
        self.collimator = Some(collimator);
        self
    }

    /// Returns the geometry with the detector shifted by `col_offset` mm along `u`.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for a non-finite offset.
    pub fn with_col_offset(mut self, col_offset: f64) -> Result<Self> {
        if !col_offset.is_finite() {
            return Err(Error::InvalidGeometry(format!(
                "column offset is {col_offset} mm; expected a finite value"
            )));
        }
        self.col_offset = col_offset;
        Ok(self)
    }

    /// View angles, radians.
    pub fn angles(&self) -> &[f64] {
        &self.angles
    }
    /// Radius of rotation per view, mm.
    pub fn radii(&self) -> &[f64] {
        &self.radii
    }
    /// Number of views.
    pub fn n_views(&self) -> usize {
        self.angles.len()
    }
    /// Detector columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }
    /// Column spacing, mm.
    pub fn col_spacing(&self) -> f64 {
        self.col_spacing
    }
    /// Detector offset along `u`, mm.
    pub fn col_offset(&self) -> f64 {
        self.col_offset
    }
    /// The collimator-detector response, if modelled.
    pub fn collimator(&self) -> Option<Collimator> {
        self.collimator
    }

    /// The same acquisition restricted to `views` (indices into this geometry), in that order.
    pub(crate) fn subset(&self, views: &[usize]) -> Self {
        Self {
            angles: views.iter().map(|&v| self.angles[v]).collect(),
            radii: views.iter().map(|&v| self.radii[v]).collect(),
            ..self.clone()
        }
    }

    /// Checks that `grid` suits this geometry: square pixels of the column spacing.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] saying what differs.
    pub fn check_grid(&self, grid: &ImageGrid) -> Result<()> {
        let [_, dy, dx] = grid.spacing();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.max(b);
        if !close(dx, dy) {
            return Err(Error::InvalidGeometry(format!(
                "SPECT reconstruction needs square pixels; the grid has dx = {dx} mm, dy = {dy} mm"
            )));
        }
        if !close(dx, self.col_spacing) {
            return Err(Error::InvalidGeometry(format!(
                "the grid's pixel size ({dx} mm) must equal the detector column spacing ({} mm); \
                 resample the projections or choose a grid of that pixel size",
                self.col_spacing
            )));
        }
        Ok(())
    }
}

/// Lowers `geometry` on `grid` (already checked with [`SpectGeometry::check_grid`]).
pub(crate) fn lower_spect(
    geometry: &SpectGeometry,
    grid: &ImageGrid,
    has_attenuation: bool,
) -> SpectLowered {
    let [nz, ny, nx] = grid.shape();
    let [dz, dy, dx] = grid.spacing();
    let [_, oy, ox] = grid.origin();
    let step = dx;
    // Depth samples cover the grid's diagonal, centred on the grid's centre.
    let n_depth = ((nx as f64).hypot(ny as f64)).ceil() as usize + 1;
    let centre = [
        ox + (nx as f64 - 1.0) / 2.0 * dx,
        oy + (ny as f64 - 1.0) / 2.0 * dy,
    ];
    let n_views = geometry.n_views();
    let mut views = Vec::with_capacity(n_views);
    let mut halves: Vec<(Vec<f64>, Vec<f64>)> = Vec::with_capacity(n_views * n_depth);
    for (&theta, &radius) in geometry.angles.iter().zip(&geometry.radii) {
        let (s, c) = theta.sin_cos();
        let (u, d) = ([c, s], [-s, c]);
        let s_centre = centre[0] * d[0] + centre[1] * d[1];
        let u0 =
            -((geometry.n_cols as f64 - 1.0) / 2.0) * geometry.col_spacing + geometry.col_offset;
        let s0 = s_centre - (n_depth as f64 - 1.0) / 2.0 * step;
        // World point of sample (k, id) = (u0 + k·du)·u + (s0 + id·step)·d; fractional index = (p − o)/dx.
        let f0 = [
            (u0 * u[0] + s0 * d[0] - ox) / dx,
            (u0 * u[1] + s0 * d[1] - oy) / dy,
        ];
        let su = [
            geometry.col_spacing * u[0] / dx,
            geometry.col_spacing * u[1] / dy,
        ];
        let sd = [step * d[0] / dx, step * d[1] / dy];
        // Inverse of f = f0 + k·su + id·sd.
        let det = su[0] * sd[1] - su[1] * sd[0];
        let inv_k = [sd[1] / det, -sd[0] / det];
        let inv_d = [-su[1] / det, su[0] / det];
        let k_c = -(inv_k[0] * f0[0] + inv_k[1] * f0[1]);
        let d_c = -(inv_d[0] * f0[0] + inv_d[1] * f0[1]);
        views.push(SpectView {
            origin: [f0[0] as f32, f0[1] as f32, su[0] as f32, su[1] as f32],
            depth: [sd[0] as f32, sd[1] as f32, 0.0, 0.0],
            inv_col: [inv_k[0] as f32, inv_k[1] as f32, k_c as f32, 0.0],
            inv_depth: [inv_d[0] as f32, inv_d[1] as f32, d_c as f32, 0.0],
        });
        for id in 0..n_depth {
            let distance = radius - (s0 + id as f64 * step);
            match geometry.collimator {
                Some(col) => {
                    let sigma = col.fwhm(distance) / FWHM_PER_SIGMA;
                    halves.push((
                        gaussian_half_kernel(sigma / geometry.col_spacing),
                        gaussian_half_kernel(sigma / dz),
                    ));
                }
                None => halves.push((vec![1.0], vec![1.0])),
            }
        }
    }
    let k_max = halves
        .iter()
        .map(|(a, b)| a.len().max(b.len()) - 1)
        .max()
        .unwrap_or(0);
    let stride = k_max + 1;
    let mut kernel_cols = vec![0f32; halves.len() * stride];
    let mut kernel_rows = vec![0f32; halves.len() * stride];
    let mut half_widths = Vec::with_capacity(2 * halves.len());
    for (i, (cols, rows)) in halves.iter().enumerate() {
        for (j, w) in cols.iter().enumerate() {
            kernel_cols[i * stride + j] = *w as f32;
        }
        for (j, w) in rows.iter().enumerate() {
            kernel_rows[i * stride + j] = *w as f32;
        }
        half_widths.extend([cols.len() as u32 - 1, rows.len() as u32 - 1]);
    }
    let params = SpectParams {
        nx: nx as u32,
        ny: ny as u32,
        nz: nz as u32,
        n_cols: geometry.n_cols as u32,
        n_depth: n_depth as u32,
        n_views: n_views as u32,
        kernel_stride: stride as u32,
        has_attenuation: has_attenuation as u32,
        batch_first: 0,
        batch_count: 0,
        proj_first: 0,
        accumulate: 0,
        step: step as f32,
        att_first: 0,
        _pad1: 0,
        _pad2: 0,
    };
    SpectLowered {
        params,
        views,
        kernel_cols,
        kernel_rows,
        half_widths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_kernels_sum_to_one_and_match_the_fwhm() {
        for sigma in [0.0, 0.4, 1.0, 2.7] {
            let w = gaussian_half_kernel(sigma);
            let total = w[0] + 2.0 * w[1..].iter().sum::<f64>();
            assert!((total - 1.0).abs() < 1e-12);
            if sigma > 0.5 {
                let var: f64 = w
                    .iter()
                    .enumerate()
                    .skip(1)
                    .map(|(j, x)| 2.0 * x * (j * j) as f64)
                    .sum();
                // Bin integration adds 1/12 bin² to the variance; truncation at 3σ removes a little.
                assert!(
                    (var - sigma * sigma - 1.0 / 12.0).abs() < 0.03 * sigma * sigma,
                    "σ {sigma}: var {var}"
                );
            }
        }
    }
}
