//! Physics of emission data outside the projector: scatter estimates from energy windows,
//! randoms from delayed coincidences, and attenuation maps from CT numbers.
//! (Attenuation and the collimator-detector response live inside the system model:
//! [`crate::SpectProjector`], [`crate::Collimator`].)

pub mod attenuation;
pub mod randoms;
pub mod scatter;

pub use attenuation::{HuToMu, bone_ct_number, cortical_bone_mu, water_mu};
pub use randoms::{
    RandomsEstimate, ml_singles, randoms_from_delayeds, randoms_from_fan_sums, randoms_from_singles,
};
pub use scatter::{dual_energy_window, triple_energy_window};
