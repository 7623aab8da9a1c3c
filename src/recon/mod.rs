//! Reconstruction algorithms, written once over the plans' operations.

mod fbp;
mod weights;

pub use fbp::{Fbp, fbp};
