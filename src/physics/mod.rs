//! Physics of emission data outside the projector: scatter estimates from energy windows,
//! randoms from delayed coincidences, attenuation maps from CT numbers, dead time from the
//! singles, and the quantitation of an image (decay, calibration, SUV).
//! (Attenuation and the collimator-detector response live inside the system model:
//! [`crate::SpectProjector`], [`crate::Collimator`].)

pub mod attenuation;
pub mod dead_time;
pub mod decay;
pub mod pet_scatter;
pub mod quantitation;
pub mod randoms;
pub mod scatter;

pub use attenuation::{HuToMu, bone_ct_number, cortical_bone_mu, water_mu};
pub use dead_time::{DeadTimeInputs, FrameDeadTime, crystal_live_fraction, frame_live_fraction};
pub use decay::Radionuclide;
pub use pet_scatter::{
    SingleScatter, SingleScatterOptions, TailFit, TailFitOptions, apply_tail_fit, fit_tails,
    single_scatter,
};
pub use quantitation::{ActivityScale, PetCalibration, Sex, SuvInputs, lean_body_mass_kg};
pub use randoms::{
    RandomsEstimate, ml_singles, randoms_from_delayeds, randoms_from_fan_sums, randoms_from_singles,
};
pub use scatter::{dual_energy_window, triple_energy_window};
