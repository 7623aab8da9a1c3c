//! CPU twin of `shaders/fbp_filter.wgsl`: weights each sample, then applies the P-periodic
//! filter to every detector row.
//!
//! The shader sums the circular convolution directly (cheap on a GPU); here the same
//! convolution of the zero-padded row is evaluated through a real FFT of length P, which
//! gives the same numbers to within f32 rounding (checked by the GPU↔CPU parity tests).

use crate::backend::layout::Params;
use crate::filter::FilterKernel;
use rayon::prelude::*;
use realfft::num_complex::Complex32;

/// Overwrites `filtered[view, z, col]` with `kernel ⊛ (weights[view, col] · sino[view, z, col])`.
/// Bindings in shader order: params, kernel, weights, sino, filtered.
pub(crate) fn fbp_filter(
    p: &Params,
    kernel: &FilterKernel,
    weights: &[f32],
    sino: &[f32],
    filtered: &mut [f32],
) {
    let n = p.n_cols as usize;
    let nz = p.nz as usize;
    let len = kernel.len();
    let response = kernel.response();
    let (forward, inverse) = kernel.fft_plans();
    filtered
        .par_chunks_mut(n)
        .zip(sino.par_chunks(n))
        .enumerate()
        .for_each_init(
            || {
                (
                    vec![0.0f32; len],
                    vec![Complex32::default(); len / 2 + 1],
                    forward.make_scratch_vec(),
                    inverse.make_scratch_vec(),
                )
            },
            |(padded, spectrum, scratch_f, scratch_i), (row, (out, input))| {
                let w = &weights[(row / nz) * n..][..n];
                for ((pad, &s), &wj) in padded.iter_mut().zip(input).zip(w) {
                    *pad = wj * s;
                }
                padded[n..].fill(0.0);
                forward
                    .process_with_scratch(padded, spectrum, scratch_f)
                    .expect("buffer sizes fixed by the plan");
                for (c, &h) in spectrum.iter_mut().zip(response) {
                    *c *= h;
                }
                // A real, even kernel keeps the DC and Nyquist bins real; clear rounding residue.
                spectrum[0].im = 0.0;
                spectrum[len / 2].im = 0.0;
                inverse
                    .process_with_scratch(spectrum, padded, scratch_i)
                    .expect("buffer sizes fixed by the plan");
                let norm = 1.0 / len as f32;
                for (o, &v) in out.iter_mut().zip(padded.iter()) {
                    *o = v * norm;
                }
            },
        );
}
