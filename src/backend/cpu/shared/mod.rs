//! CPU twins of `shaders/shared/*.wgsl`: the functions the stages share.

pub(crate) mod pet;
pub(crate) mod rays;
pub(crate) mod spect;
pub(crate) mod sss;
