//! The system models as stage sequences, each written once against [`Engine`]: the chunked
//! Joseph projector, FBP and FDK, and the resident models EM runs on (Joseph for PET, SPECT), with
//! the EM steps and the prior they share.

mod fbp;
mod fdk;
mod joseph;
mod pet3d;
mod resident;
mod spect;

pub(crate) use fbp::FbpPlan;
pub(crate) use fdk::{FdkPlan, Slab};
pub(crate) use joseph::{JosephModel, JosephPlan, check_fits, chunk_slices};
pub(crate) use pet3d::{PetModel, PetPlan, PetTables};
pub(crate) use resident::{Core, Resident, Sequence};
pub(crate) use spect::SpectModel;

use super::engine::Engine;
