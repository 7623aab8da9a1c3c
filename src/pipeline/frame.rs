//! Whether an emission series and a CT share a frame of reference.

use crate::error::{Error, Result};
use crate::io::dicom::CtSeries;

/// Refuses (unless `allow`) an emission series (`modality`, its study and frame-of-reference
/// UIDs) and a CT that do not share both UIDs: their patient coordinates are then not one frame.
pub(super) fn check_same_frame(
    modality: &str,
    (study_uid, frame_uid): (&Option<String>, &Option<String>),
    ct: &CtSeries,
    allow: bool,
) -> Result<()> {
    if allow {
        return Ok(());
    }
    let v = &ct.volume;
    for (what, a, b) in [
        ("study", study_uid, &v.study_uid),
        ("frame of reference", frame_uid, &v.frame_of_reference_uid),
    ] {
        match (a, b) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                return Err(Error::InvalidArgument(format!(
                    "the {modality} and the CT have different {what} UIDs ({a} and {b}); \
                     allow_other_frame (with ct_motion or register) accepts such a pair"
                )));
            }
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "the {modality} or the CT has no {what} UID, so their placement cannot be trusted; \
                     allow_other_frame (with ct_motion or register) accepts such a pair"
                )));
            }
        }
    }
    Ok(())
}
