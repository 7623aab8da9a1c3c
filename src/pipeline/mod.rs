//! End-to-end jobs: SPECT-CT from DICOM files to written results with every correction in the
//! system model and a one-page summary; 3D PET from list-mode or sinograms with normalisation,
//! randoms and attenuation ([`reconstruct_pet`]); PET-CT reconstruction of 2D sinograms with
//! attenuation factors from the CT; a reconstructed PET series placed over its CT, in SUV, with the same
//! summary.

mod attenuation;
mod beds;
mod frame;
mod nema_iq;
mod pet3d;
mod pet_ct;
mod pet_fusion;
mod pet_quant;
mod pet_scatter;
mod register;
mod spect_ct;
mod summary;
mod windows;

pub use beds::{
    BedsVolume, JOINT_EDGE_MM, MultiBed, SpectCtBeds, SpectCtBedsFiles, spect_ct_beds, stitch,
};
pub use nema_iq::{NemaIq, NemaIqFiles, nema_image_quality};
pub use pet_ct::{PetCt, PetCtOptions, pet_ct};
pub use pet_fusion::{
    FusePetCtOptions, FusedPetCt, FusedPetCtFiles, fuse_pet_ct, fuse_pet_ct_from,
};
pub use pet_quant::{
    DeadTime, PetQuantitation, PetQuantitationOptions, PhantomCalibration, frame_dead_time,
    phantom_calibration, phantom_mean,
};
pub use pet_scatter::{ScatterEstimate, ScatterEstimationOptions, estimate_scatter};
pub use pet3d::{
    MuMap, PetData, PetFiles, PetRecon, PetReconOptions, PetStage, ScatterSummary, reconstruct_pet,
};
pub use register::{register_ct_to_emission, register_ct_to_image};
pub use spect_ct::{
    DecayCorrection, ScatterCorrection, SpectCt, SpectCtFiles, SpectCtOptions, Stage, spect_ct,
    spect_ct_from, summary_page, write_summary,
};
