//! Physics of emission data outside the projector: scatter estimates from energy windows.
//! (Attenuation and the collimator-detector response live inside the system model:
//! [`crate::SpectProjector`], [`crate::Collimator`].)

pub mod scatter;

pub use scatter::{dual_energy_window, triple_energy_window};
