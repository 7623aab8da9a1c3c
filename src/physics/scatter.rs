//! Scatter estimates for SPECT from energy windows, to use as the additive background `b` of
//! the emission model (`ȳ = A x + b`).
//!
//! Both methods work bin by bin on projections of the same shape (`[view, row, col]`); their
//! estimates are noisy (they are counts), and are often smoothed before use.

use crate::array::non_negative_input;
use crate::error::{Error, Result};
use ndarray::{ArrayD, ArrayViewD};

fn check_width(what: &str, kev: f64) -> Result<()> {
    if kev.is_finite() && kev > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{what} window width is {kev} keV; expected a finite value > 0"
        )))
    }
}

/// Triple-energy-window scatter estimate (Ogawa et al. 1991): the scatter under the photopeak
/// is the trapezoid between the count densities of two narrow windows either side of it,
/// `S = (C_lower / W_lower + C_upper / W_upper) · W_peak / 2`.
///
/// `upper` may be `None` where no upper window was acquired (its counts are then taken as 0,
/// the usual choice for Tc-99m). Widths in keV. Returns the estimate, shaped like `lower`.
///
/// # Errors
/// [`Error::ShapeMismatch`] when the windows differ in shape; [`Error::NonFinite`] or
/// [`Error::InvalidArgument`] for NaN or negative counts or non-positive widths.
pub fn triple_energy_window(
    lower: ArrayViewD<'_, f32>,
    upper: Option<ArrayViewD<'_, f32>>,
    lower_width_kev: f64,
    upper_width_kev: f64,
    peak_width_kev: f64,
) -> Result<ArrayD<f32>> {
    check_width("lower", lower_width_kev)?;
    check_width("upper", upper_width_kev)?;
    check_width("photopeak", peak_width_kev)?;
    let shape = lower.shape().to_vec();
    let lo = non_negative_input("lower window", lower, &shape)?;
    let up = upper
        .map(|u| non_negative_input("upper window", u, &shape))
        .transpose()?;
    let out: Vec<f32> = lo
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let u = up.as_ref().map_or(0.0, |u| u[i] as f64);
            ((l as f64 / lower_width_kev + u / upper_width_kev) * peak_width_kev / 2.0) as f32
        })
        .collect();
    Ok(ArrayD::from_shape_vec(shape, out).expect("same shape"))
}

/// Dual-energy-window scatter estimate (Jaszczak et al. 1984): `S = k · C_scatter`, with the
/// counts of a scatter window below the photopeak and the ratio `k` (0.5 in the original
/// work for Tc-99m with a 92–125 keV scatter window; calibrate it for other set-ups).
///
/// # Errors
/// As [`triple_energy_window`], and [`Error::InvalidArgument`] for a non-positive `k`.
pub fn dual_energy_window(scatter_window: ArrayViewD<'_, f32>, k: f64) -> Result<ArrayD<f32>> {
    if !(k.is_finite() && k > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "DEW ratio k is {k}; expected a finite value > 0 (0.5 for Tc-99m)"
        )));
    }
    let shape = scatter_window.shape().to_vec();
    let counts = non_negative_input("scatter window", scatter_window, &shape)?;
    Ok(ArrayD::from_shape_vec(
        shape,
        counts.iter().map(|&c| (c as f64 * k) as f32).collect(),
    )
    .expect("same shape"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{IxDyn, arr1};

    #[test]
    fn tew_is_the_trapezoid_under_the_peak() {
        // 7 keV side windows with 14 and 7 counts (2 and 1 counts/keV), 28 keV photopeak:
        // (2 + 1) / 2 × 28 = 42.
        let lo = arr1(&[14.0f32, 0.0]).into_dyn();
        let up = arr1(&[7.0f32, 0.0]).into_dyn();
        let s = triple_energy_window(lo.view(), Some(up.view()), 7.0, 7.0, 28.0).unwrap();
        assert_eq!(s.as_slice().unwrap(), &[42.0, 0.0]);
        let s = triple_energy_window(lo.view(), None, 7.0, 7.0, 28.0).unwrap();
        assert_eq!(s[[0]], 28.0);
    }

    #[test]
    fn dew_scales_the_scatter_window() {
        let c = arr1(&[10.0f32, 4.0]).into_dyn();
        assert_eq!(
            dual_energy_window(c.view(), 0.5)
                .unwrap()
                .as_slice()
                .unwrap(),
            &[5.0, 2.0]
        );
    }

    #[test]
    fn bad_windows_are_refused() {
        let a = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
        let b = ArrayD::<f32>::zeros(IxDyn(&[3, 2]));
        assert!(matches!(
            triple_energy_window(a.view(), Some(b.view()), 7.0, 7.0, 28.0),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(triple_energy_window(a.view(), None, 0.0, 7.0, 28.0).is_err());
        let neg = arr1(&[-1.0f32]).into_dyn();
        assert!(dual_energy_window(neg.view(), 0.5).is_err());
        let nan = arr1(&[f32::NAN]).into_dyn();
        assert!(matches!(
            dual_energy_window(nan.view(), 0.5),
            Err(Error::NonFinite { .. })
        ));
        assert!(dual_energy_window(a.view(), -0.5).is_err());
    }
}
