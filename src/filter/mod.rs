//! Ramp filters and their apodisation windows for filtered back-projection.
//!
//! The ramp is built in the spatial domain (the band-limited ramp of Kak & Slaney, eq. 3.61:
//! `h(0) = 1/(4τ²)`, `h(n) = −1/(nπτ)²` for odd n, 0 for even n), taken to the frequency
//! domain on a zero-padded grid of `P ≥ 2·n_cols` samples, multiplied by the window, and brought
//! back. This avoids the DC error of sampling `|f|` directly, as scikit-image and ASTRA also do.
//! The kernel includes the integration step τ, so filtering is a plain discrete convolution.

use crate::error::{Error, Result};
use realfft::RealFftPlanner;
use std::fmt;
use std::str::FromStr;

/// Apodisation window applied to the ramp; `ν` is the frequency as a fraction of the cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FilterWindow {
    /// Pure ramp (Ram-Lak): 1.
    #[default]
    RamLak,
    /// Shepp-Logan: `sinc(ν/2) = sin(πν/2)/(πν/2)`.
    SheppLogan,
    /// Cosine: `cos(πν/2)`.
    Cosine,
    /// Hamming: `0.54 + 0.46·cos(πν)`.
    Hamming,
    /// Hann: `0.5 + 0.5·cos(πν)`.
    Hann,
}

impl FilterWindow {
    /// All windows, with their names as [`FromStr`] accepts them.
    pub const ALL: [(FilterWindow, &'static str); 5] = [
        (FilterWindow::RamLak, "ram-lak"),
        (FilterWindow::SheppLogan, "shepp-logan"),
        (FilterWindow::Cosine, "cosine"),
        (FilterWindow::Hamming, "hamming"),
        (FilterWindow::Hann, "hann"),
    ];

    /// Window value at `nu` = frequency / cut-off frequency, for `nu` in `[0, 1]`.
    pub fn value(self, nu: f64) -> f64 {
        use std::f64::consts::PI;
        match self {
            FilterWindow::RamLak => 1.0,
            FilterWindow::SheppLogan => {
                let a = PI * nu / 2.0;
                if a == 0.0 { 1.0 } else { a.sin() / a }
            }
            FilterWindow::Cosine => (PI * nu / 2.0).cos(),
            FilterWindow::Hamming => 0.54 + 0.46 * (PI * nu).cos(),
            FilterWindow::Hann => 0.5 + 0.5 * (PI * nu).cos(),
        }
    }
}

impl fmt::Display for FilterWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Self::ALL
            .iter()
            .find(|(w, _)| w == self)
            .map(|(_, n)| *n)
            .unwrap_or("?");
        f.write_str(name)
    }
}

impl FromStr for FilterWindow {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let key = s.trim().to_ascii_lowercase().replace('_', "-");
        let key = if key == "ramlak" || key == "ramp" {
            "ram-lak".to_string()
        } else {
            key
        };
        Self::ALL
            .iter()
            .find(|(_, n)| *n == key)
            .map(|(w, _)| *w)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|(_, n)| *n).collect();
                Error::InvalidArgument(format!(
                    "unknown filter {s:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// A filter choice: window and cut-off (fraction of the Nyquist frequency, in `(0, 1]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RampFilter {
    /// The apodisation window.
    pub window: FilterWindow,
    /// Frequencies above `cutoff × Nyquist` are removed; the window is stretched to the cut-off.
    pub cutoff: f64,
}

impl Default for RampFilter {
    fn default() -> Self {
        Self {
            window: FilterWindow::RamLak,
            cutoff: 1.0,
        }
    }
}

impl RampFilter {
    /// A filter with the given window and cut-off.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `0 < cutoff ≤ 1`.
    pub fn new(window: FilterWindow, cutoff: f64) -> Result<Self> {
        if !(cutoff.is_finite() && cutoff > 0.0 && cutoff <= 1.0) {
            return Err(Error::InvalidArgument(format!(
                "filter cut-off is {cutoff}; expected a fraction of the Nyquist frequency in (0, 1]"
            )));
        }
        Ok(Self { window, cutoff })
    }
}

/// The filter of one plan: a P-periodic spatial kernel, of which the `fbp_filter` stage takes
/// the lags a row of detector columns needs.
#[derive(Clone)]
pub struct FilterKernel {
    spatial: Vec<f32>,
}

impl fmt::Debug for FilterKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterKernel")
            .field("len", &self.spatial.len())
            .finish()
    }
}

/// Zero-padded length for `n_cols` detector columns: the next power of two ≥ 2·n_cols (≥ 64).
pub fn padded_len(n_cols: usize) -> usize {
    (2 * n_cols).next_power_of_two().max(64)
}

impl FilterKernel {
    /// Builds the kernel for `n_cols` columns sampled every `tau` (mm, or radians for an arc).
    ///
    /// With `arc = true` the samples are fan angles and the kernel is multiplied by
    /// `(nτ / sin nτ)²` (Kak & Slaney eq. 3.93) for the equiangular fan-beam formula.
    pub fn new(n_cols: usize, tau: f64, filter: RampFilter, arc: bool) -> Self {
        let len = padded_len(n_cols);
        let mut planner64 = RealFftPlanner::<f64>::new();
        let r2c = planner64.plan_fft_forward(len);
        let c2r = planner64.plan_fft_inverse(len);
        let lag = |i: usize| {
            if i <= len / 2 {
                i as i64
            } else {
                i as i64 - len as i64
            }
        };
        // Band-limited spatial ramp times the integration step τ.
        let mut h: Vec<f64> = (0..len)
            .map(|i| {
                let n = lag(i);
                if n == 0 {
                    1.0 / (4.0 * tau)
                } else if n % 2 != 0 {
                    -1.0 / ((n as f64) * std::f64::consts::PI).powi(2) / tau
                } else {
                    0.0
                }
            })
            .collect();
        let mut spectrum = r2c.make_output_vec();
        r2c.process(&mut h, &mut spectrum)
            .expect("sizes fixed by the plan");
        let half = len / 2;
        for (k, c) in spectrum.iter_mut().enumerate() {
            let nu = k as f64 / half as f64 / filter.cutoff;
            let w = if nu > 1.0 {
                0.0
            } else {
                filter.window.value(nu)
            };
            *c = realfft::num_complex::Complex64::new(c.re * w, 0.0);
        }
        let mut spatial = c2r.make_output_vec();
        c2r.process(&mut spectrum, &mut spatial)
            .expect("sizes fixed by the plan");
        for v in spatial.iter_mut() {
            *v /= len as f64;
        }
        if arc {
            for (i, v) in spatial.iter_mut().enumerate() {
                let g = lag(i).unsigned_abs() as f64 * tau;
                if lag(i) != 0 && lag(i).unsigned_abs() < n_cols as u64 {
                    *v *= (g / g.sin()).powi(2);
                }
            }
        }
        Self {
            spatial: spatial.iter().map(|&v| v as f32).collect(),
        }
    }

    /// Padded length P.
    pub fn len(&self) -> usize {
        self.spatial.len()
    }
    /// Never empty.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Spatial kernel samples `h[m]`, `m ∈ [0, P)`, lag `m` (negative lags wrap to `P − |m|`).
    pub fn spatial(&self) -> &[f32] {
        &self.spatial
    }
    /// The lags `−(n_cols − 1) ..= n_cols − 1` in order (`2·n_cols − 1` values): all a
    /// direct convolution of `n_cols` samples needs, without wrapping indices.
    pub fn lags(&self, n_cols: usize) -> Vec<f32> {
        let len = self.spatial.len();
        (0..2 * n_cols - 1)
            .map(|i| self.spatial[(i + len - (n_cols - 1)) % len])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (w, name) in FilterWindow::ALL {
            assert_eq!(name.parse::<FilterWindow>().unwrap(), w);
            assert_eq!(w.to_string(), name);
        }
        assert!("gaussian".parse::<FilterWindow>().is_err());
    }

    /// Real part of the kernel's frequency response at the `P/2 + 1` non-negative frequencies.
    fn response(k: &FilterKernel) -> Vec<f32> {
        let mut h: Vec<f64> = k.spatial().iter().map(|&v| v as f64).collect();
        let r2c = RealFftPlanner::<f64>::new().plan_fft_forward(h.len());
        let mut spectrum = r2c.make_output_vec();
        r2c.process(&mut h, &mut spectrum).unwrap();
        spectrum.iter().map(|c| c.re as f32).collect()
    }

    #[test]
    fn ramp_response_is_ramp_like() {
        // Response of the band-limited ramp: ≈ |f|·(1/τ)/(P) scaled; zero-frequency value is small
        // positive (Kak & Slaney), Nyquist value ≈ 1/(2τ) · τ = 0.5.
        let k = FilterKernel::new(128, 1.0, RampFilter::default(), false);
        let r = response(&k);
        assert!(r[0] > 0.0 && r[0] < 1e-2, "DC {}", r[0]);
        assert!(
            (r[r.len() - 1] - 0.5).abs() < 1e-3,
            "Nyquist {}",
            r[r.len() - 1]
        );
        for w in r.windows(2) {
            assert!(w[1] >= w[0] - 1e-6, "ramp increases");
        }
        let hann = FilterKernel::new(
            128,
            1.0,
            RampFilter::new(FilterWindow::Hann, 0.5).unwrap(),
            false,
        );
        let rh = response(&hann);
        assert!(
            rh[rh.len() / 2 + 2].abs() < 1e-6,
            "cut off above half Nyquist"
        );
    }

    #[test]
    fn cutoff_is_validated() {
        assert!(RampFilter::new(FilterWindow::Hann, 0.0).is_err());
        assert!(RampFilter::new(FilterWindow::Hann, 1.5).is_err());
        assert!(RampFilter::new(FilterWindow::Hann, f64::NAN).is_err());
    }
}
