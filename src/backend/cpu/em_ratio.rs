//! CPU twin of `shaders/em_ratio.wgsl`: same bindings, same arithmetic, element-wise, rayon over projection samples in place
//! of the dispatch grid.

use crate::backend::layout::EmParams;
use rayon::prelude::*;

/// `EM_MAX_RATIO` of `em_ratio.wgsl`: the largest ratio measured / expected a bin passes on.
pub(crate) const EM_MAX_RATIO: f32 = 1e4;

/// Twin of `em_ratio.wgsl`: `expected ← m · min(y / (m · expected + background),
/// EM_MAX_RATIO)` for `y = measured > 0`, 0 for `y = 0` (`m` the factors, 1 without them).
pub(crate) fn em_ratio(
    p: &EmParams,
    measured: &[f32],
    background: &[f32],
    factors: &[f32],
    expected: &mut [f32],
) {
    let (off, len) = (p.offset as usize, p.len as usize);
    let measured = &measured[off..off + len];
    expected[..len]
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, e)| {
            let mut f = 1.0;
            let mut denominator = *e;
            if p.has_factors != 0 {
                f = factors[off + i];
                denominator *= f;
            }
            if p.has_background != 0 {
                denominator += background[off + i];
            }
            let y = measured[i];
            let q = if y <= 0.0 {
                0.0
            } else if denominator * EM_MAX_RATIO <= y {
                EM_MAX_RATIO
            } else {
                y / denominator
            };
            *e = q * f;
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cap: expected counts 0, negative or 10⁴ times too small give the ratio 10⁴ (times
    /// the factor); no count gives 0 whatever the expectation.
    #[test]
    fn ratios_are_capped_and_finite() {
        let measured = [0.0, 2.0, 2.0, 3.0, 5.0, 1.0, 0.0];
        let factors = [1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0];
        let mut expected = [0.0, 0.0, -1.0, 1e-30, 2.0, 2e-4, -3.0];
        let p = EmParams::new(expected.len(), 0, false, true, 0.0);
        em_ratio(&p, &measured, &[0.0], &factors, &mut expected);
        assert_eq!(
            expected,
            [
                0.0,
                EM_MAX_RATIO,
                0.5 * EM_MAX_RATIO,
                EM_MAX_RATIO,
                2.5,
                5000.0,
                0.0
            ]
        );
    }
}
