//! Volume-of-interest statistics for quantitative images (activity concentration in Bq/mL, or
//! counts): what a dosimetry workflow reads off a reconstruction.

use crate::error::{Error, Result};
use ndarray::{ArrayView3, Zip};

/// Statistics of an image's values over a volume of interest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiStats {
    /// Voxels in the volume.
    pub voxels: usize,
    /// Its volume, mL (voxels × the voxel's volume).
    pub volume_ml: f64,
    /// Mean value over its voxels (the image's units).
    pub mean: f64,
    /// Sample standard deviation over its voxels (0 for one voxel).
    pub std: f64,
    /// Largest value in it.
    pub max: f64,
    /// Smallest value in it.
    pub min: f64,
    /// Sum of value × voxel volume in mL: total activity (Bq) for an image in Bq/mL.
    pub total: f64,
}

/// How a volume of interest is chosen.
#[derive(Debug, Clone, Copy)]
pub enum Voi<'a> {
    /// The voxels where the mask (shaped like the image) is true.
    Mask(ArrayView3<'a, bool>),
    /// The voxels at or above a value (the image's units), within `within` when given.
    AtLeast {
        /// The threshold, in the image's units.
        level: f64,
        /// A mask (shaped like the image) to look in.
        within: Option<ArrayView3<'a, bool>>,
    },
    /// The voxels at or above a fraction (0–1] of the maximum, the maximum taken within
    /// `within` when given (e.g. 0.4 for a 40 % isocontour around a lesion in a box).
    FractionOfMax {
        /// The fraction of the maximum, in (0, 1].
        fraction: f64,
        /// A mask (shaped like the image) to look in.
        within: Option<ArrayView3<'a, bool>>,
    },
}

/// [`VoiStats`] of `image[z, y, x]` (voxel `spacing` `[dz, dy, dx]`, mm) over `voi`.
///
/// # Errors
/// [`Error::ShapeMismatch`] for a mask of another shape; [`Error::InvalidArgument`] for a
/// non-finite or non-positive spacing, a level or fraction that is not finite (a fraction
/// outside (0, 1]), a non-finite value inside the volume, or an empty volume.
pub fn voi_stats(image: ArrayView3<'_, f32>, spacing: [f64; 3], voi: Voi<'_>) -> Result<VoiStats> {
    if spacing.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(Error::InvalidArgument(format!(
            "voxel spacing {spacing:?} mm; expected finite values > 0"
        )));
    }
    let check = |mask: &ArrayView3<'_, bool>| -> Result<()> {
        if mask.shape() != image.shape() {
            return Err(Error::ShapeMismatch {
                what: "volume-of-interest mask",
                expected: image.shape().to_vec(),
                got: mask.shape().to_vec(),
            });
        }
        Ok(())
    };
    let within =
        |w: &Option<ArrayView3<'_, bool>>, z, y, x| w.as_ref().is_none_or(|m| m[[z, y, x]]);
    let inside: Box<dyn Fn(usize, usize, usize, f32) -> bool> = match voi {
        Voi::Mask(mask) => {
            check(&mask)?;
            Box::new(move |z, y, x, _| mask[[z, y, x]])
        }
        Voi::AtLeast { level, within: w } => {
            if let Some(m) = &w {
                check(m)?;
            }
            if !level.is_finite() {
                return Err(Error::InvalidArgument(format!(
                    "threshold {level}; expected a finite value"
                )));
            }
            Box::new(move |z, y, x, v| within(&w, z, y, x) && v as f64 >= level)
        }
        Voi::FractionOfMax {
            fraction,
            within: w,
        } => {
            if let Some(m) = &w {
                check(m)?;
            }
            if !(fraction.is_finite() && fraction > 0.0 && fraction <= 1.0) {
                return Err(Error::InvalidArgument(format!(
                    "fraction of the maximum {fraction}; expected a value in (0, 1]"
                )));
            }
            let mut max = f64::NEG_INFINITY;
            for ((z, y, x), &v) in image.indexed_iter() {
                if within(&w, z, y, x) && v.is_finite() {
                    max = max.max(v as f64);
                }
            }
            let level = fraction * max;
            Box::new(move |z, y, x, v| within(&w, z, y, x) && v as f64 >= level)
        }
    };
    let voxel_ml = spacing.iter().product::<f64>() / 1000.0;
    let (mut n, mut sum, mut sum_sq) = (0usize, 0.0f64, 0.0f64);
    let (mut max, mut min) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut bad = None;
    Zip::indexed(image).for_each(|(z, y, x), &v| {
        if !inside(z, y, x, v) {
            return;
        }
        if !v.is_finite() {
            bad.get_or_insert([z, y, x]);
            return;
        }
        let v = v as f64;
        n += 1;
        sum += v;
        sum_sq += v * v;
        max = max.max(v);
        min = min.min(v);
    });
    if let Some(at) = bad {
        return Err(Error::InvalidArgument(format!(
            "the image is not finite at voxel {at:?} inside the volume of interest"
        )));
    }
    if n == 0 {
        return Err(Error::InvalidArgument(
            "the volume of interest holds no voxel".into(),
        ));
    }
    let mean = sum / n as f64;
    let var = if n > 1 {
        ((sum_sq - n as f64 * mean * mean) / (n - 1) as f64).max(0.0)
    } else {
        0.0
    };
    Ok(VoiStats {
        voxels: n,
        volume_ml: n as f64 * voxel_ml,
        mean,
        std: var.sqrt(),
        max,
        min,
        total: sum * voxel_ml,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn statistics_of_masks_and_thresholds() {
        // A 2 × 3 × 4 image of 2 × 2 × 2.5 mm voxels (10 µL each) holding 0..24.
        let image = Array3::from_shape_fn((2, 3, 4), |(z, y, x)| (z * 12 + y * 4 + x) as f32);
        let spacing = [2.0, 2.0, 2.5];
        let all = Array3::from_elem((2, 3, 4), true);
        let s = voi_stats(image.view(), spacing, Voi::Mask(all.view())).unwrap();
        assert_eq!(s.voxels, 24);
        assert!((s.volume_ml - 0.24).abs() < 1e-12);
        assert!((s.mean - 11.5).abs() < 1e-12 && s.max == 23.0 && s.min == 0.0);
        assert!((s.total - 276.0 * 0.01).abs() < 1e-12);
        assert!((s.std - (50.0f64).sqrt()).abs() < 1e-12); // var of 0..23 (n − 1) = 50
        let top = voi_stats(
            image.view(),
            spacing,
            Voi::AtLeast {
                level: 20.0,
                within: None,
            },
        )
        .unwrap();
        assert_eq!((top.voxels, top.min, top.max), (4, 20.0, 23.0));
        // 50 % of the maximum within the first slice (max 11): values ≥ 5.5.
        let mut first = Array3::from_elem((2, 3, 4), false);
        first.index_axis_mut(ndarray::Axis(0), 0).fill(true);
        let half = voi_stats(
            image.view(),
            spacing,
            Voi::FractionOfMax {
                fraction: 0.5,
                within: Some(first.view()),
            },
        )
        .unwrap();
        assert_eq!((half.voxels, half.min, half.max), (6, 6.0, 11.0));
    }

    #[test]
    fn bad_volumes_are_refused() {
        let image = Array3::<f32>::zeros((2, 2, 2));
        let wrong = Array3::from_elem((2, 2, 3), true);
        assert!(matches!(
            voi_stats(image.view(), [1.0; 3], Voi::Mask(wrong.view())),
            Err(Error::ShapeMismatch { .. })
        ));
        let none = Array3::from_elem((2, 2, 2), false);
        assert!(voi_stats(image.view(), [1.0; 3], Voi::Mask(none.view())).is_err());
        assert!(
            voi_stats(
                image.view(),
                [0.0, 1.0, 1.0],
                Voi::AtLeast {
                    level: 0.0,
                    within: None
                }
            )
            .is_err()
        );
        assert!(
            voi_stats(
                image.view(),
                [1.0; 3],
                Voi::FractionOfMax {
                    fraction: 1.5,
                    within: None
                }
            )
            .is_err()
        );
        let mut nan = image.clone();
        nan[[1, 1, 1]] = f32::NAN;
        let all = Array3::from_elem((2, 2, 2), true);
        assert!(voi_stats(nan.view(), [1.0; 3], Voi::Mask(all.view())).is_err());
    }
}
