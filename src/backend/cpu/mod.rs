//! The CPU twins of the WGSL stages: `shaders/<stage>.wgsl` ↔ `<stage>.rs`, same name, same
//! binding order, same arithmetic, with rayon in place of the dispatch grid (`build.rs` fails
//! the build when a stage has no twin). `shared/` mirrors `shaders/shared/`. They are the
//! fallback backend and the reference the GPU results are compared against.
//!
//! The resident models (`*_model.rs`, `em_state.rs`) run the twins in the order the GPU
//! models run the stages.

mod adjoint_project;
mod backproject_fbp;
mod em_ratio;
mod em_state;
mod em_update;
mod fbp_filter;
mod forward_project;
mod joseph_model;
mod nmi_histogram;
mod prior_gradient;
mod resample;
pub(crate) mod shared;
mod spect_attenuation;
mod spect_blur_cols;
mod spect_blur_rows_sum;
mod spect_model;
mod spect_rotate;
mod spect_rotate_adjoint;
mod spect_spread_rows;

pub(crate) use adjoint_project::adjoint_project;
pub(crate) use backproject_fbp::backproject_fbp;
pub(crate) use em_ratio::em_ratio;
pub(crate) use em_update::em_update;
pub(crate) use fbp_filter::fbp_filter;
pub(crate) use forward_project::forward_project;
pub(crate) use joseph_model::JosephCpu;
pub(crate) use nmi_histogram::nmi_histogram;
pub(crate) use prior_gradient::prior_gradient;
pub(crate) use resample::resample;
pub(crate) use spect_attenuation::spect_attenuation;
pub(crate) use spect_blur_cols::spect_blur_cols;
pub(crate) use spect_blur_rows_sum::spect_blur_rows_sum;
pub(crate) use spect_model::{SpectCpu, not_loaded};
pub(crate) use spect_rotate::spect_rotate;
pub(crate) use spect_rotate_adjoint::spect_rotate_adjoint;
pub(crate) use spect_spread_rows::spect_spread_rows;
