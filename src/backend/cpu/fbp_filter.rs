//! CPU twin of `shaders/fbp_filter.wgsl`: weights each sample, then convolves every detector
//! row with the kernel given by its lags `−(n_cols − 1) ..= n_cols − 1`.
//!
//! The shader sums the convolution directly (cheap on a GPU); here the same linear
//! convolution is evaluated through real FFTs of the zero-padded row (length
//! [`padded_len`]`(n_cols)` ≥ 2·n_cols − 1, so no output wraps), which gives the same numbers
//! to within f32 rounding (checked by the GPU↔CPU parity tests).

use crate::backend::layout::Params;
use crate::filter::padded_len;
use rayon::prelude::*;
use realfft::RealFftPlanner;
use realfft::num_complex::Complex32;

/// Overwrites `filtered[view, z, col]` with `kernel ⊛ (weights[view, col] · sino[view, z, col])`.
/// Bindings in shader order: params, kernel (the lags), weights, sino, filtered.
pub(crate) fn fbp_filter(
    p: &Params,
    kernel: &[f32],
    weights: &[f32],
    sino: &[f32],
    filtered: &mut [f32],
) {
    let n = p.n_cols as usize;
    let nz = p.nz as usize;
    let len = padded_len(n);
    let response = response(kernel, n, len);
    let mut planner = RealFftPlanner::<f32>::new();
    let (forward, inverse) = (planner.plan_fft_forward(len), planner.plan_fft_inverse(len));
    let rows = (p.n_views as usize) * nz;
    filtered[..rows * n]
        .par_chunks_mut(n)
        .zip(sino[..rows * n].par_chunks(n))
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
                for (c, h) in spectrum.iter_mut().zip(&response) {
                    *c *= h;
                }
                // A real kernel keeps the DC and Nyquist bins real; clear rounding residue.
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

/// The frequency response (`len/2 + 1` bins, computed in f64) of the kernel whose lags
/// `−(n − 1) ..= n − 1` are `lags`, placed circularly on `len` samples.
fn response(lags: &[f32], n: usize, len: usize) -> Vec<Complex32> {
    let mut circular = vec![0.0f64; len];
    for (i, &h) in lags.iter().enumerate().take(2 * n - 1) {
        let lag = i as i64 - (n as i64 - 1);
        circular[lag.rem_euclid(len as i64) as usize] = h as f64;
    }
    let mut planner = RealFftPlanner::<f64>::new();
    let r2c = planner.plan_fft_forward(len);
    let mut spectrum = r2c.make_output_vec();
    r2c.process(&mut circular, &mut spectrum)
        .expect("sizes fixed by the plan");
    spectrum
        .iter()
        .map(|c| Complex32::new(c.re as f32, c.im as f32))
        .collect()
}
