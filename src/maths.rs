//! Small shared maths with no dependency on the rest of the crate: every module may use it,
//! it uses none of them. Index maps between grids, Gaussian kernels, and 3-vectors (mm, x y z).

/// The source index of a target index, as an affine map: `b + a[0]·iz + a[1]·iy + a[2]·ix`
/// (indices `[z, y, x]`, fractional).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct IndexAffine {
    /// Source index `[z, y, x]` of target index (0, 0, 0).
    pub b: [f64; 3],
    /// Source-index steps per target z, y and x step.
    pub a: [[f64; 3]; 3],
}

impl IndexAffine {
    /// `b` and the columns of `a` as the `vec4<f32>`s the shaders take (`b`, z, y, x).
    pub(crate) fn gpu_columns(&self) -> [[f32; 4]; 4] {
        [self.b, self.a[0], self.a[1], self.a[2]]
            .map(|v| [v[0] as f32, v[1] as f32, v[2] as f32, 0.0])
    }

    /// Source index of the fractional target index `t = [z, y, x]`.
    pub(crate) fn at(&self, t: [f64; 3]) -> [f64; 3] {
        [0, 1, 2]
            .map(|k| self.b[k] + self.a[0][k] * t[0] + self.a[1][k] * t[1] + self.a[2][k] * t[2])
    }
}

/// Gaussian FWHM = 2·√(2·ln 2)·σ.
pub(crate) const FWHM_PER_SIGMA: f64 = 2.354_820_045_030_949_3;

/// Gaussian kernels are cut at this many standard deviations (then renormalised to sum 1).
const KERNEL_SIGMAS: f64 = 3.0;

/// Half of a Gaussian kernel of `sigma` bins, integrated over each bin and normalised so the
/// whole kernel sums to 1: weights of offsets `0, 1, ..., k`.
pub(crate) fn gaussian_half_kernel(sigma: f64) -> Vec<f64> {
    if sigma < 1e-3 {
        return vec![1.0];
    }
    let k = (KERNEL_SIGMAS * sigma).ceil() as usize;
    let cdf = |x: f64| 0.5 * (1.0 + libm::erf(x / (sigma * std::f64::consts::SQRT_2)));
    let mut w: Vec<f64> = (0..=k)
        .map(|j| cdf(j as f64 + 0.5) - cdf(j as f64 - 0.5))
        .collect();
    let total = w[0] + 2.0 * w[1..].iter().sum::<f64>();
    w.iter_mut().for_each(|x| *x /= total);
    w
}

/// `a − b`.
pub(crate) fn sub3(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
/// `a + b`.
pub(crate) fn add3(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
/// `s·a`.
pub(crate) fn scale3(a: [f64; 3], s: f64) -> [f64; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}
/// `a · b`.
pub(crate) fn dot3(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
/// `|a|`.
pub(crate) fn norm3(a: [f64; 3]) -> f64 {
    dot3(a, a).sqrt()
}
/// `a / |a|`.
pub(crate) fn unit3(a: [f64; 3]) -> [f64; 3] {
    scale3(a, 1.0 / norm3(a))
}
/// `a × b`.
pub(crate) fn cross3(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
