//! End-to-end jobs: SPECT-CT from DICOM files to written results with every correction in the
//! system model and a one-page summary; PET-CT reconstruction of sinograms with attenuation
//! factors from the CT.

mod attenuation;
mod pet_ct;
mod register;
mod spect_ct;
mod summary;

pub use pet_ct::{PetCt, PetCtOptions, pet_ct};
pub use register::register_ct_to_emission;
pub use spect_ct::{
    ScatterCorrection, SpectCt, SpectCtFiles, SpectCtOptions, Stage, spect_ct, spect_ct_from,
};
pub use summary::{summary_page, write_summary};
