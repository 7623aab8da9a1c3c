//! Checking and preparing user arrays at the API boundary.

use crate::error::{Error, Result, check_finite};
use ndarray::{ArrayViewD, ArrayViewMutD, CowArray, IxDyn};

/// Checks `input`'s shape and values; returns it in standard (C) layout, copying only when
/// the view is not already contiguous in that order.
pub(crate) fn check_input<'a>(
    what: &'static str,
    input: ArrayViewD<'a, f32>,
    expected: &[usize],
) -> Result<CowArray<'a, f32, IxDyn>> {
    if input.shape() != expected {
        return Err(Error::ShapeMismatch {
            what,
            expected: expected.to_vec(),
            got: input.shape().to_vec(),
        });
    }
    let input: CowArray<'a, f32, IxDyn> = if input.is_standard_layout() {
        input.into()
    } else {
        input.as_standard_layout().into_owned().into()
    };
    check_finite(what, input.as_slice().expect("standard layout"))?;
    Ok(input)
}

/// Runs `fill` on a flat C-order buffer for `out` (checked against `expected`): directly when
/// `out` is contiguous, through a temporary otherwise.
pub(crate) fn with_output(
    what: &'static str,
    mut out: ArrayViewMutD<'_, f32>,
    expected: &[usize],
    fill: impl FnOnce(&mut [f32]) -> Result<()>,
) -> Result<()> {
    if out.shape() != expected {
        return Err(Error::ShapeMismatch {
            what,
            expected: expected.to_vec(),
            got: out.shape().to_vec(),
        });
    }
    if let Some(flat) = out.as_slice_mut() {
        return fill(flat);
    }
    let mut tmp = vec![0.0f32; out.len()];
    fill(&mut tmp)?;
    out.iter_mut().zip(tmp).for_each(|(o, v)| *o = v);
    Ok(())
}

/// As [`check_input`], and no value may be negative (counts, μ-maps, factors); returns the
/// values flat in C order (a copy the caller owns).
///
/// # Errors
/// [`Error::ShapeMismatch`], [`Error::NonFinite`], or [`Error::InvalidArgument`] naming the
/// first negative value.
pub(crate) fn non_negative_input(
    what: &'static str,
    input: ArrayViewD<'_, f32>,
    expected: &[usize],
) -> Result<Vec<f32>> {
    let input = check_input(what, input, expected)?;
    let flat = input.as_slice().expect("standard layout");
    if let Some(i) = flat.iter().position(|&v| v < 0.0) {
        return Err(Error::InvalidArgument(format!(
            "{what} holds a negative value ({}) at flat index {i}; expected values ≥ 0",
            flat[i]
        )));
    }
    Ok(flat.to_vec())
}
