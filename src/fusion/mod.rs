//! Bringing volumes of different frames of reference together: resampling through their
//! patient-coordinate grids.

mod resample;

pub use resample::{Resampling, resample, resample_trilinear};
