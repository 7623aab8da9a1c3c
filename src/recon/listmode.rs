//! List-mode OSEM: the EM update summed over events instead of bins.

use super::em::{IterationReport, Osem};
use crate::error::{Error, Result};
use crate::projector::ListModeProjector;
use ndarray::{ArrayD, IxDyn};

/// List-mode OSEM (MLEM with one subset) of `model`'s events: `osem`'s iterations, prior and
/// post-filter, its subsets made of interleaved events; the data are the events themselves
/// (one count each) and the background each event's bin's ([`ListModeProjector::with_background`]).
/// Each subset's sensitivity is the full sensitivity image over the number of subsets.
///
/// With one subset and the events of a histogram, the result equals sinogram MLEM of that
/// histogram (tested).
///
/// # Errors
/// [`Error::InvalidArgument`] for no events or a bad schedule; backend failures.
pub fn lm_osem(model: &ListModeProjector, osem: &Osem<'_>) -> Result<ArrayD<f32>> {
    lm_osem_with(model, osem, None)
}

/// As [`lm_osem`], calling `callback` after every iteration ([`Osem::run_with`]).
///
/// # Errors
/// As [`lm_osem`].
pub fn lm_osem_with(
    model: &ListModeProjector,
    osem: &Osem<'_>,
    callback: Option<&mut dyn FnMut(&IterationReport<'_>) -> bool>,
) -> Result<ArrayD<f32>> {
    if model.events().is_empty() {
        return Err(Error::InvalidArgument("list-mode OSEM of no events".into()));
    }
    let shape = model.data_shape();
    let ones = ArrayD::from_elem(IxDyn(&shape), 1.0f32);
    let background = model
        .background()
        .map(|b| ArrayD::from_shape_vec(IxDyn(&shape), b.to_vec()).expect("one per event"));
    let run = Osem {
        iterations: osem.iterations,
        subsets: osem.subsets,
        background: background.as_ref().map(|b| b.view()),
        x0: osem.x0.clone(),
        post_filter_fwhm: osem.post_filter_fwhm,
        prior: osem.prior,
        max_resident_bytes: osem.max_resident_bytes,
    };
    run.run_with(model, ones.view(), callback)
}
