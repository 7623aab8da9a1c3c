//! Reconstruction algorithms, written once over the plans' operations.

mod bsrem;
mod em;
mod fbp;
mod fdk;
mod listmode;
mod postfilter;
mod prior;
mod quant;
mod transmission;
mod weights;

pub use bsrem::{Bsrem, NoiseMatched, NoiseTarget, penalised_log_likelihood};
pub use em::{IterationReport, Osem, log_likelihood, poisson_log_likelihood};
pub use fbp::{Fbp, fbp};
#[cfg(test)]
pub(crate) use fdk::fdk_maps;
pub use fdk::{Fdk, FdkOptions, fdk};
pub use listmode::{lm_osem, lm_osem_with};
pub use prior::{Prior, PriorKind};
pub use quant::{Voi, VoiStats, voi_stats};
pub use transmission::{OrderedSubsets, cgls, transmission_log_likelihood};
