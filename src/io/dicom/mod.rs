//! DICOM through dicom-rs: CT and PET series, NM tomographic projections and reconstructed
//! volumes, and reconstructions written back as a series over the CT.
//!
//! Every reader checks declared sizes against [`ReadLimits`] before allocating, and reports a
//! malformed, truncated or inconsistent file as [`crate::Error::Dicom`] naming the file and the
//! attribute. Compressed pixel data (RLE, JPEG baseline and lossless, JPEG-LS, JPEG 2000) are
//! decoded by dicom-pixeldata's codecs.

mod attrs;
mod errors;
mod nm;
mod pet;
mod prescan;
mod series;
mod time;
mod write;

pub use attrs::ReadLimits;
pub(crate) use attrs::parse_data_set;
pub use nm::{EnergyWindow, NmProjections, read_nm_projections, read_nm_volume};
pub use pet::{PetSeries, SuvFactors, read_pet_series};
pub(crate) use prescan::check_data_set;
pub use series::{Scan, SeriesInfo, SeriesSelect, SliceVolume, scan};
pub(crate) use write::IMPLEMENTATION_CLASS_UID;
pub use write::{PetTags, Reference, SeriesWriter, WriteModality, WrittenSeries};

use std::path::Path;

use crate::error::Result;

/// A CT series: Hounsfield units in patient coordinates.
#[derive(Debug, Clone)]
pub struct CtSeries {
    /// HU (rescale applied), `[slices, rows, cols]` sorted along the slice normal, with its
    /// patient grid, files and UIDs.
    pub volume: SliceVolume,
    /// Peak tube voltage (0018,0060), kV, when given (HU → μ depends on it).
    pub kvp: Option<f64>,
}

/// Reads one CT series from a folder (searched recursively) or a file: the largest CT series,
/// or the one `select` names. Slices are sorted along the slice normal (not by file name or
/// instance number); size, spacing and orientation must agree; missing slices, uneven
/// spacing and gantry tilt are refused with an error saying where.
///
/// # Errors
/// [`crate::Error::Dicom`] / [`crate::Error::Io`] naming the file and attribute.
pub fn read_ct_series(path: &Path, select: &SeriesSelect, limits: &ReadLimits) -> Result<CtSeries> {
    let found = scan(path, limits)?;
    let series = series::select(&found, path, "CT", select)?;
    let volume = series::read_slices(series, limits)?;
    let head = attrs::open(&volume.files[0], limits, false)?;
    let kvp =
        attrs::Attrs::new(&head, &volume.files[0]).opt_f64(dicom_dictionary_std::tags::KVP)?;
    Ok(CtSeries { volume, kvp })
}
