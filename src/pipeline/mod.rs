//! End-to-end jobs from DICOM files to written results: SPECT-CT reconstruction with every
//! correction in the system model, and its one-page summary.

mod spect_ct;
mod summary;

pub use spect_ct::{
    ScatterCorrection, SpectCt, SpectCtFiles, SpectCtOptions, Stage, spect_ct, spect_ct_from,
};
pub use summary::{summary_page, write_summary};
