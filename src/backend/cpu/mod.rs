//! The CPU twins of the WGSL stages: same names, same binding order, same arithmetic,
//! with rayon in place of the dispatch grid. They are the fallback backend and the
//! reference the GPU results are compared against.

mod adjoint_project;
mod backproject_fbp;
mod em;
mod em_state;
mod fbp_filter;
mod forward_project;
mod joseph_model;
pub(crate) mod rays;
mod spect;
mod spect_model;

pub(crate) use adjoint_project::adjoint_project;
pub(crate) use backproject_fbp::backproject_fbp;
pub(crate) use fbp_filter::fbp_filter;
pub(crate) use forward_project::forward_project;
pub(crate) use joseph_model::JosephCpu;
pub(crate) use spect_model::{SpectCpu, not_loaded};
