//! CPU twins of the element-wise EM stages (`shaders/em_ratio.wgsl`, `shaders/em_update.wgsl`).

use crate::backend::layout::EmParams;
use rayon::prelude::*;

/// Twin of `em_ratio.wgsl`: `expected ← measured / (expected + background)`, 0 where the
/// denominator is not positive.
pub(crate) fn em_ratio(p: &EmParams, measured: &[f32], background: &[f32], expected: &mut [f32]) {
    let (off, len) = (p.offset as usize, p.len as usize);
    let measured = &measured[off..off + len];
    expected[..len].par_iter_mut().enumerate().for_each(|(i, e)| {
        let mut denominator = *e;
        if p.has_background != 0 {
            denominator += background[off + i];
        }
        *e = if denominator > 0.0 { measured[i] / denominator } else { 0.0 };
    });
}

/// Twin of `em_update.wgsl`: `image ← image · (back / sensitivity)`, unchanged where the
/// sensitivity is 0.
pub(crate) fn em_update(p: &EmParams, sensitivity: &[f32], back: &[f32], image: &mut [f32]) {
    let (off, len) = (p.offset as usize, p.len as usize);
    let sensitivity = &sensitivity[off..off + len];
    image[..len].par_iter_mut().zip(&back[..len]).zip(sensitivity).for_each(|((x, b), s)| {
        if *s > 0.0 {
            *x *= *b / *s;
        }
    });
}
