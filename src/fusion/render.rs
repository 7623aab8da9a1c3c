//! Fused pictures people can look at: CT in grey through a window, emission in a colour map
//! blended over it, on axial, coronal and sagittal slices or maximum-intensity projections.
//!
//! Display orientation follows radiology: axial slices are seen from the feet (patient's right
//! on the left of the picture, anterior at the top), coronal from the front (right on the left,
//! head at the top), sagittal from the patient's left (anterior on the left, head at the top).
//! Pictures are `[rows, cols, 3]` RGB bytes with square pixels (the slice is resampled to the
//! finer of its two spacings).

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis, s};

use crate::error::{Error, Result};

/// A grey-level window: `centre` ± `width`/2 maps to black..white.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Centre (level), image units (HU for CT).
    pub centre: f32,
    /// Width, image units.
    pub width: f32,
}

impl Window {
    /// Soft tissue: level 40 HU, width 400 HU.
    pub const SOFT_TISSUE: Window = Window {
        centre: 40.0,
        width: 400.0,
    };
    /// Lung: level −600 HU, width 1500 HU.
    pub const LUNG: Window = Window {
        centre: -600.0,
        width: 1500.0,
    };
    /// Bone: level 400 HU, width 1800 HU.
    pub const BONE: Window = Window {
        centre: 400.0,
        width: 1800.0,
    };
    /// Brain: level 40 HU, width 80 HU.
    pub const BRAIN: Window = Window {
        centre: 40.0,
        width: 80.0,
    };

    /// A preset by name: `"soft-tissue"`, `"lung"`, `"bone"`, `"brain"`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] listing the names for an unknown one.
    pub fn preset(name: &str) -> Result<Self> {
        Ok(
            match name.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "soft-tissue" | "soft" => Self::SOFT_TISSUE,
                "lung" => Self::LUNG,
                "bone" => Self::BONE,
                "brain" => Self::BRAIN,
                other => {
                    return Err(Error::InvalidArgument(format!(
                        "unknown window {other:?}; expected \"soft-tissue\", \"lung\", \"bone\" or \"brain\""
                    )));
                }
            },
        )
    }

    /// `value` as a fraction 0..=1 of the window.
    pub fn fraction(&self, value: f32) -> f32 {
        ((value - (self.centre - 0.5 * self.width)) / self.width.max(f32::MIN_POSITIVE))
            .clamp(0.0, 1.0)
    }
}

/// Colour maps for emission images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colormap {
    /// Black to white.
    Grey,
    /// Black, red, yellow, white (the classic nuclear-medicine "hot iron").
    Hot,
    /// Perceptually uniform black–purple–orange–yellow (matplotlib's inferno, as Matt
    /// Zucker's public-domain polynomial fit).
    Inferno,
    /// Perceptually uniform blue–green–yellow (matplotlib's viridis, same fit).
    Viridis,
}

impl Colormap {
    /// A map by name: `"grey"`/`"gray"`, `"hot"`, `"inferno"`, `"viridis"`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] listing the names for an unknown one.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "grey" | "gray" => Self::Grey,
            "hot" => Self::Hot,
            "inferno" => Self::Inferno,
            "viridis" => Self::Viridis,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown colour map {other:?}; expected \"grey\", \"hot\", \"inferno\" or \"viridis\""
                )));
            }
        })
    }

    /// The colour of `t` in 0..=1, as RGB in 0..=1.
    pub fn rgb(self, t: f32) -> [f32; 3] {
        let t = t.clamp(0.0, 1.0);
        match self {
            Self::Grey => [t; 3],
            Self::Hot => [
                (3.0 * t).min(1.0),
                (3.0 * t - 1.0).clamp(0.0, 1.0),
                (3.0 * t - 2.0).clamp(0.0, 1.0),
            ],
            Self::Inferno => polynomial(
                t,
                [
                    [0.000_218_94, 0.001_651_00, -0.019_480_9],
                    [0.106_513_42, 0.563_956_44, 3.932_712_6],
                    [11.602_493, -3.972_854, -15.942_394],
                    [-41.703_995, 17.436_4, 44.354_145],
                    [77.162_93, -33.402_36, -81.807_31],
                    [-71.319_43, 32.626_064, 73.209_52],
                    [25.131_126, -12.242_669, -23.070_326],
                ],
            ),
            Self::Viridis => polynomial(
                t,
                [
                    [0.277_727_33, 0.005_407_34, 0.334_099_8],
                    [0.105_093_04, 1.404_613_5, 1.384_590_1],
                    [-0.330_861_83, 0.214_847_56, 0.095_095_17],
                    [-4.634_230_6, -5.799_100_4, -19.332_441],
                    [6.228_27, 14.179_934, 56.690_55],
                    [4.776_385, -13.745_146, -65.353_035],
                    [-5.435_455_3, 4.645_852_6, 26.312_435],
                ],
            ),
        }
    }
}

fn polynomial(t: f32, c: [[f32; 3]; 7]) -> [f32; 3] {
    let mut out = [0.0; 3];
    for (k, o) in out.iter_mut().enumerate() {
        *o = c
            .iter()
            .rev()
            .fold(0.0, |acc, row| acc * t + row[k])
            .clamp(0.0, 1.0);
    }
    out
}

/// How the emission image is laid over the CT.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overlay {
    /// Colour map.
    pub colormap: Colormap,
    /// Values mapped to the bottom and top of the colour map (e.g. 0 and the image maximum).
    pub range: (f32, f32),
    /// Fraction of the range below which the emission is transparent (shows the CT alone).
    pub threshold: f32,
    /// Opacity of the emission where it shows, 0..=1.
    pub alpha: f32,
}

/// Orthogonal planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    /// Constant z: seen from the feet.
    Axial,
    /// Constant y: seen from the front.
    Coronal,
    /// Constant x: seen from the patient's left.
    Sagittal,
}

/// The slice of `volume` (`[z, y, x]`, voxel size `spacing` = `[dz, dy, dx]` mm, axis-aligned
/// to the patient) through voxel `at` (`[iz, iy, ix]`), in display orientation with square
/// pixels; with `mip`, the maximum along the plane's normal instead of one slice.
///
/// # Errors
/// [`Error::InvalidArgument`] when `at` lies outside the volume.
pub fn plane_image(
    volume: ArrayView3<'_, f32>,
    spacing: [f64; 3],
    plane: Plane,
    at: [usize; 3],
    mip: bool,
) -> Result<Array2<f32>> {
    let shape = volume.shape();
    if at.iter().zip(shape).any(|(i, n)| i >= n) {
        return Err(Error::InvalidArgument(format!(
            "slice position {at:?} lies outside the volume {shape:?}"
        )));
    }
    let take = |axis: usize, index: usize| -> Array2<f32> {
        if mip {
            volume.fold_axis(Axis(axis), f32::NEG_INFINITY, |m, v| m.max(*v))
        } else {
            volume.index_axis(Axis(axis), index).to_owned()
        }
    };
    let [dz, dy, dx] = spacing;
    // Rows and columns as displayed, with their spacings.
    let (image, row_spacing, col_spacing) = match plane {
        // [y, x]: anterior (small y) at the top, patient's right (small x) on the left.
        Plane::Axial => (take(0, at[0]), dy, dx),
        // [z, x] with z flipped: head at the top.
        Plane::Coronal => (take(1, at[1]).slice(s![..;-1, ..]).to_owned(), dz, dx),
        // [z, y] with z flipped: head at the top, anterior on the left.
        Plane::Sagittal => (take(2, at[2]).slice(s![..;-1, ..]).to_owned(), dz, dy),
    };
    Ok(square_pixels(image.view(), row_spacing, col_spacing))
}

/// `image` resampled (linear interpolation) so both pixel sides equal the finer spacing.
fn square_pixels(image: ArrayView2<'_, f32>, row_spacing: f64, col_spacing: f64) -> Array2<f32> {
    let (h, w) = image.dim();
    let pixel = row_spacing.min(col_spacing);
    let rows = ((h as f64 * row_spacing / pixel).round() as usize).max(1);
    let cols = ((w as f64 * col_spacing / pixel).round() as usize).max(1);
    let sample = |pos: f64, n: usize| -> (usize, usize, f64) {
        let p = pos.clamp(0.0, (n - 1) as f64);
        let i = (p.floor() as usize).min(n.saturating_sub(2));
        let i1 = (i + 1).min(n - 1);
        (i, i1, p - i as f64)
    };
    Array2::from_shape_fn((rows, cols), |(r, c)| {
        // Centre of output pixel in input pixel units.
        let y = (r as f64 + 0.5) * h as f64 / rows as f64 - 0.5;
        let x = (c as f64 + 0.5) * w as f64 / cols as f64 - 0.5;
        let (y0, y1, ty) = sample(y, h);
        let (x0, x1, tx) = sample(x, w);
        let top = image[[y0, x0]] as f64 * (1.0 - tx) + image[[y0, x1]] as f64 * tx;
        let bottom = image[[y1, x0]] as f64 * (1.0 - tx) + image[[y1, x1]] as f64 * tx;
        (top * (1.0 - ty) + bottom * ty) as f32
    })
}

/// The CT slice `anatomy` in grey through `window`, with `emission` (same shape) blended
/// over it where it rises above the overlay's threshold: RGB bytes `[rows, cols, 3]`.
///
/// # Errors
/// [`Error::ShapeMismatch`] when the two images differ in shape.
pub fn fuse(
    anatomy: ArrayView2<'_, f32>,
    window: Window,
    emission: Option<(ArrayView2<'_, f32>, Overlay)>,
) -> Result<Array3<u8>> {
    let (h, w) = anatomy.dim();
    if let Some((e, _)) = &emission
        && e.dim() != (h, w)
    {
        return Err(Error::ShapeMismatch {
            what: "emission image to fuse",
            expected: vec![h, w],
            got: e.shape().to_vec(),
        });
    }
    let mut out = Array3::<u8>::zeros((h, w, 3));
    for ((r, c), v) in anatomy.indexed_iter() {
        let g = window.fraction(*v);
        let mut rgb = [g; 3];
        if let Some((e, o)) = &emission {
            let (lo, hi) = o.range;
            let t = (e[[r, c]] - lo) / (hi - lo).max(f32::MIN_POSITIVE);
            if t >= o.threshold {
                let colour = o.colormap.rgb(t);
                let a = o.alpha.clamp(0.0, 1.0);
                for k in 0..3 {
                    rgb[k] = (1.0 - a) * rgb[k] + a * colour[k];
                }
            }
        }
        for k in 0..3 {
            out[[r, c, k]] = (rgb[k] * 255.0).round() as u8;
        }
    }
    Ok(out)
}

/// A line chart of `series` (values, RGB colour) over their index, `size` pixels square, on
/// black: y on a log scale over three decades below the largest value (values below are drawn
/// on the bottom edge), x from the first to the last index. For profiles such as a scatter
/// tail fit, where the tails lie decades below the peak.
pub(crate) fn log_profile_chart(series: &[(&[f64], [u8; 3])], size: usize) -> Array3<u8> {
    let mut rgb = Array3::<u8>::zeros((size, size, 3));
    let top = series
        .iter()
        .flat_map(|(v, _)| v.iter())
        .fold(0.0f64, |m, &v| m.max(v));
    if top <= 0.0 {
        return rgb;
    }
    let (lo, hi) = ((top / 1e3).log10(), top.log10());
    let last = (size - 1) as f64;
    let y_of = |v: f64| {
        let t = ((v.max(top / 1e3).log10() - lo) / (hi - lo)).clamp(0.0, 1.0);
        last * (1.0 - t)
    };
    // Decade lines.
    for d in 0..=3 {
        let y = (last * d as f64 / 3.0).round() as usize;
        for x in 0..size {
            rgb.slice_mut(s![y, x, ..]).fill(60);
        }
    }
    for (values, colour) in series {
        if values.len() < 2 {
            continue;
        }
        let x_of = |i: usize| last * i as f64 / (values.len() - 1) as f64;
        for i in 1..values.len() {
            let (x0, y0, x1, y1) = (x_of(i - 1), y_of(values[i - 1]), x_of(i), y_of(values[i]));
            let steps = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0) as usize;
            for k in 0..=steps {
                let t = k as f64 / steps as f64;
                let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
                for (c, v) in colour.iter().enumerate() {
                    rgb[[y.round() as usize, x.round() as usize, c]] = *v;
                }
            }
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_maps_run_dark_to_bright() {
        let luminance = |c: [f32; 3]| 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
        for map in [
            Colormap::Grey,
            Colormap::Hot,
            Colormap::Inferno,
            Colormap::Viridis,
        ] {
            let l: Vec<f32> = (0..=10)
                .map(|i| luminance(map.rgb(i as f32 / 10.0)))
                .collect();
            assert!(l.windows(2).all(|w| w[1] >= w[0] - 1e-3), "{map:?}: {l:?}");
            assert!(l[0] < 0.1 && l[10] > 0.75, "{map:?}: {l:?}");
        }
        assert_eq!(Colormap::Hot.rgb(1.0), [1.0, 1.0, 1.0]);
        // matplotlib's end colours.
        let close = |a: [f32; 3], b: [f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 0.03);
        assert!(close(Colormap::Inferno.rgb(0.0), [0.001, 0.000, 0.014]));
        assert!(close(Colormap::Inferno.rgb(1.0), [0.988, 0.998, 0.645]));
        assert!(close(Colormap::Viridis.rgb(0.0), [0.267, 0.005, 0.329]));
        assert!(close(Colormap::Viridis.rgb(1.0), [0.993, 0.906, 0.144]));
        assert!(Colormap::from_name("jet").is_err() && Window::preset("liver").is_err());
    }

    #[test]
    fn orientation_spacing_and_blending() {
        // A marker at the most anterior, superior voxel on the patient's left.
        let mut v = Array3::<f32>::zeros((4, 6, 8));
        v[[3, 0, 7]] = 1.0;
        let axial = plane_image(v.view(), [1.0; 3], Plane::Axial, [3, 0, 0], false).unwrap();
        assert_eq!(axial[[0, 7]], 1.0); // top (anterior), right (patient's left)
        let coronal = plane_image(v.view(), [1.0; 3], Plane::Coronal, [0, 0, 0], false).unwrap();
        assert_eq!(coronal[[0, 7]], 1.0); // top (head), right (patient's left)
        let sagittal = plane_image(v.view(), [1.0; 3], Plane::Sagittal, [0, 0, 7], false).unwrap();
        assert_eq!(sagittal[[0, 0]], 1.0); // top (head), left (anterior)
        let mip = plane_image(v.view(), [1.0; 3], Plane::Coronal, [0, 5, 0], true).unwrap();
        assert_eq!(mip[[0, 7]], 1.0);
        // 2.5 mm slices of 1 mm pixels display 2.5 times taller.
        let tall =
            plane_image(v.view(), [2.5, 1.0, 1.0], Plane::Coronal, [0, 0, 0], false).unwrap();
        assert_eq!(tall.dim(), (10, 8));
        assert!(plane_image(v.view(), [1.0; 3], Plane::Axial, [4, 0, 0], false).is_err());

        // Below the threshold the CT shows alone; above it the colour is blended by alpha.
        let ct = Array2::from_elem((1, 2), 40.0_f32); // mid-grey in the soft-tissue window
        let pet = Array2::from_shape_vec((1, 2), vec![0.05_f32, 1.0]).unwrap();
        let overlay = Overlay {
            colormap: Colormap::Hot,
            range: (0.0, 1.0),
            threshold: 0.1,
            alpha: 0.5,
        };
        let rgb = fuse(ct.view(), Window::SOFT_TISSUE, Some((pet.view(), overlay))).unwrap();
        assert_eq!(rgb.slice(s![0, 0, ..]).to_vec(), [128, 128, 128]);
        assert_eq!(rgb.slice(s![0, 1, ..]).to_vec(), [191, 191, 191]); // ½ grey + ½ white
        let bad = Array2::<f32>::zeros((2, 2));
        assert!(fuse(ct.view(), Window::SOFT_TISSUE, Some((bad.view(), overlay))).is_err());
    }
}
