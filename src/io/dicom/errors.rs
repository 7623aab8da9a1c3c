//! Typed DICOM errors that name the file and the tag.

use std::path::Path;

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;

use crate::error::Error;

/// `(gggg,eeee) Name` for error messages.
pub(crate) fn tag_name(tag: Tag) -> String {
    match StandardDataDictionary.by_tag(tag) {
        Some(entry) => format!("({:04X},{:04X}) {}", tag.0, tag.1, entry.alias()),
        None => format!("({:04X},{:04X})", tag.0, tag.1),
    }
}

/// A [`Error::Dicom`] for `path`, optionally about `tag`.
pub(crate) fn dicom_error(path: &Path, tag: Option<Tag>, reason: impl Into<String>) -> Error {
    Error::Dicom {
        path: path.to_path_buf(),
        tag: tag.map(tag_name),
        reason: reason.into(),
    }
}
