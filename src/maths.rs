//! Small shared maths with no dependency on the rest of the crate: every module may use it,
//! it uses none of them.

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
