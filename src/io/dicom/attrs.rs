//! Reading attributes with typed errors that name the file and the tag, opening files within
//! limits, and decoding pixel data.

use std::path::Path;

use dicom_core::Tag;
use dicom_core::header::HasLength;
use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder};
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};

use super::errors::dicom_error;
use crate::error::{Error, Result};

/// Sizes checked before anything is allocated, so that a hostile or corrupt header cannot make
/// the reader ask for more memory than the caller allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest file opened, bytes (default 4 GiB).
    pub max_file_bytes: u64,
    /// Largest decoded pixel data of one object, bytes (default 4 GiB).
    pub max_pixel_bytes: u64,
    /// Most files in one series (default 100 000).
    pub max_files: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 4 << 30,
            max_pixel_bytes: 4 << 30,
            max_files: 100_000,
        }
    }
}

/// Opens a DICOM file (preamble and file meta group required), within `limits`. With
/// `pixels == false` reading stops before the pixel data (headers only: fast, for scanning).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::Dicom`] when it is not DICOM, is
/// truncated or malformed, or is larger than the limits.
pub(crate) fn open(path: &Path, limits: &ReadLimits, pixels: bool) -> Result<DefaultDicomObject> {
    let size = std::fs::metadata(path)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    if size > limits.max_file_bytes {
        return Err(dicom_error(
            path,
            None,
            format!(
                "file of {size} bytes is over the reading limit of {} bytes",
                limits.max_file_bytes
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let layout = super::prescan::check(&bytes, path)?;
    let options = OpenFileOptions::new().read_preamble(ReadPreamble::Never);
    let options = if pixels {
        options
    } else {
        options.read_until(tags::PIXEL_DATA)
    };
    let source = std::io::Cursor::new(&bytes[layout.magic..]);
    guarded(path, "DICOM file", || options.from_reader(source))
}

/// Runs dicom-rs's parser: malformed input is reported as an error naming `path` and `what`
/// it read ("DICOM file", "data set"), and the unwind guard keeps a parser bug on hostile
/// input from becoming a panic in the caller.
fn guarded<T, E: std::fmt::Display>(
    path: &Path,
    what: &str,
    parse: impl FnOnce() -> std::result::Result<T, E>,
) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(dicom_error(
            path,
            None,
            format!("not a readable {what}: {e}"),
        )),
        Err(_) => Err(dicom_error(
            path,
            None,
            format!("the DICOM parser failed on this {what} (malformed content)"),
        )),
    }
}

/// A bare data set (as a DIMSE message carries one) in transfer syntax `syntax`, its
/// structure checked before the parser sees it; `name` says what it is in errors (e.g. "a
/// C-FIND answer").
///
/// # Errors
/// [`Error::Dicom`] when the syntax is unknown or the data set is truncated or malformed.
pub(crate) fn parse_data_set(bytes: &[u8], syntax: &str, name: &str) -> Result<InMemDicomObject> {
    let path = Path::new(name);
    let ts = TransferSyntaxRegistry.get(syntax).ok_or_else(|| {
        dicom_error(
            path,
            None,
            format!("transfer syntax {syntax} is not supported"),
        )
    })?;
    super::prescan::check_data_set(bytes, syntax, path)?;
    guarded(path, "data set", || {
        InMemDicomObject::read_dataset_with_ts(bytes, ts)
    })
}

/// Typed access to one data set (a file or a sequence item) of file `path`.
#[derive(Clone, Copy)]
pub(crate) struct Attrs<'a> {
    pub obj: &'a InMemDicomObject,
    pub path: &'a Path,
}

impl<'a> Attrs<'a> {
    pub fn new(obj: &'a InMemDicomObject, path: &'a Path) -> Self {
        Self { obj, path }
    }

    fn err(&self, tag: Tag, reason: impl Into<String>) -> Error {
        dicom_error(self.path, Some(tag), reason)
    }

    fn element(&self, tag: Tag) -> Result<Option<&'a dicom_object::mem::InMemElement>> {
        match self.obj.element_opt(tag) {
            Ok(Some(e)) if !e.value().is_empty() => Ok(Some(e)),
            Ok(_) => Ok(None),
            Err(e) => Err(self.err(tag, format!("cannot be read: {e}"))),
        }
    }

    /// A trimmed string, `None` when absent or empty.
    pub fn opt_str(&self, tag: Tag) -> Result<Option<String>> {
        match self.element(tag)? {
            None => Ok(None),
            Some(e) => {
                let s = e
                    .to_str()
                    .map_err(|e| self.err(tag, format!("is not text: {e}")))?;
                let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
                Ok((!s.is_empty()).then(|| s.to_string()))
            }
        }
    }

    /// A required string.
    pub fn str(&self, tag: Tag) -> Result<String> {
        self.opt_str(tag)?
            .ok_or_else(|| self.err(tag, "is missing or empty; it is required here"))
    }

    /// All values as finite f64, `None` when absent or empty.
    pub fn opt_f64s(&self, tag: Tag) -> Result<Option<Vec<f64>>> {
        match self.element(tag)? {
            None => Ok(None),
            Some(e) => {
                let v = e
                    .to_multi_float64()
                    .map_err(|e| self.err(tag, format!("is not numeric: {e}")))?;
                if let Some(bad) = v.iter().find(|x| !x.is_finite()) {
                    return Err(self.err(tag, format!("holds a non-finite value {bad}")));
                }
                Ok(Some(v))
            }
        }
    }

    /// Exactly `n` finite values.
    pub fn f64s(&self, tag: Tag, n: usize) -> Result<Vec<f64>> {
        let v = self
            .opt_f64s(tag)?
            .ok_or_else(|| self.err(tag, "is missing or empty; it is required here"))?;
        if v.len() != n {
            return Err(self.err(tag, format!("has {} values; expected {n}", v.len())));
        }
        Ok(v)
    }

    /// One finite value, `None` when absent.
    pub fn opt_f64(&self, tag: Tag) -> Result<Option<f64>> {
        Ok(self.opt_f64s(tag)?.and_then(|v| v.first().copied()))
    }

    /// One required finite value.
    pub fn f64(&self, tag: Tag) -> Result<f64> {
        self.opt_f64(tag)?
            .ok_or_else(|| self.err(tag, "is missing or empty; it is required here"))
    }

    /// Integer values, `None` when absent.
    pub fn opt_ints(&self, tag: Tag) -> Result<Option<Vec<i64>>> {
        match self.element(tag)? {
            None => Ok(None),
            Some(e) => e
                .to_multi_int::<i64>()
                .map(Some)
                .map_err(|e| self.err(tag, format!("is not an integer list: {e}"))),
        }
    }

    /// One required non-negative integer no larger than `max`.
    pub fn count(&self, tag: Tag, max: u64) -> Result<u64> {
        let v = self
            .opt_ints(tag)?
            .and_then(|v| v.first().copied())
            .ok_or_else(|| self.err(tag, "is missing or empty; it is required here"))?;
        if v < 0 || v as u64 > max {
            return Err(self.err(tag, format!("is {v}; expected 0..={max}")));
        }
        Ok(v as u64)
    }

    /// Items of a sequence (empty when absent).
    pub fn items(&self, tag: Tag) -> Result<&'a [InMemDicomObject]> {
        match self.obj.element_opt(tag) {
            Ok(None) => Ok(&[]),
            Ok(Some(e)) => e.items().ok_or_else(|| self.err(tag, "is not a sequence")),
            Err(e) => Err(self.err(tag, format!("cannot be read: {e}"))),
        }
    }

    /// Attribute tags listed by an AT element (e.g. the Frame Increment Pointer).
    pub fn tags(&self, tag: Tag) -> Result<Vec<Tag>> {
        match self.element(tag)? {
            None => Ok(Vec::new()),
            Some(e) => match e.value().primitive() {
                Some(dicom_core::PrimitiveValue::Tags(t)) => Ok(t.to_vec()),
                _ => Err(self.err(tag, "is not a list of attribute tags (VR AT)")),
            },
        }
    }
}

/// Image pixel description of one object, checked against the limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PixelShape {
    pub rows: usize,
    pub cols: usize,
    pub frames: usize,
}

/// Reads and checks Rows, Columns, Number of Frames, Samples per Pixel and Bits Allocated.
pub(crate) fn pixel_shape(a: Attrs<'_>, limits: &ReadLimits) -> Result<PixelShape> {
    let rows = a.count(tags::ROWS, 65_535)? as usize;
    let cols = a.count(tags::COLUMNS, 65_535)? as usize;
    let frames = match a.opt_ints(tags::NUMBER_OF_FRAMES)? {
        None => 1,
        Some(_) => a.count(tags::NUMBER_OF_FRAMES, 1 << 24)? as usize,
    };
    if rows == 0 || cols == 0 || frames == 0 {
        return Err(dicom_error(
            a.path,
            Some(tags::ROWS),
            format!("image of {rows}×{cols} pixels × {frames} frames is empty"),
        ));
    }
    let samples = a.opt_ints(tags::SAMPLES_PER_PIXEL)?.map_or(1, |v| v[0]);
    if samples != 1 {
        return Err(dicom_error(
            a.path,
            Some(tags::SAMPLES_PER_PIXEL),
            format!("is {samples}; tomors reads monochrome images (1 sample per pixel)"),
        ));
    }
    let bits = a.count(tags::BITS_ALLOCATED, 64)?;
    let bytes = rows as u64 * cols as u64 * frames as u64 * bits.div_ceil(8);
    if bytes > limits.max_pixel_bytes {
        return Err(dicom_error(
            a.path,
            Some(tags::NUMBER_OF_FRAMES),
            format!(
                "{rows}×{cols} pixels × {frames} frames × {bits} bits is {bytes} bytes, over the limit of {} bytes",
                limits.max_pixel_bytes
            ),
        ));
    }
    Ok(PixelShape { rows, cols, frames })
}

/// Decodes every frame of `obj` to stored values (no rescale applied), `frames × rows × cols`
/// in file order, after checking the declared size against `limits`.
pub(crate) fn stored_values(
    obj: &DefaultDicomObject,
    path: &Path,
    limits: &ReadLimits,
) -> Result<(PixelShape, Vec<f32>)> {
    let shape = pixel_shape(Attrs::new(obj, path), limits)?;
    let decode = || -> std::result::Result<Vec<f32>, String> {
        let decoded = obj.decode_pixel_data().map_err(|e| e.to_string())?;
        let options = ConvertOptions::new().with_modality_lut(ModalityLutOption::None);
        decoded
            .to_vec_with_options::<f32>(&options)
            .map_err(|e| e.to_string())
    };
    let values = match std::panic::catch_unwind(decode) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            return Err(dicom_error(
                path,
                Some(tags::PIXEL_DATA),
                format!("cannot be decoded: {e}"),
            ));
        }
        Err(_) => {
            return Err(dicom_error(
                path,
                Some(tags::PIXEL_DATA),
                "the pixel decoder failed (malformed or truncated data)",
            ));
        }
    };
    let expected = shape.rows * shape.cols * shape.frames;
    if values.len() != expected {
        return Err(dicom_error(
            path,
            Some(tags::PIXEL_DATA),
            format!(
                "decoded to {} values; expected {} ({}×{} × {} frames)",
                values.len(),
                expected,
                shape.rows,
                shape.cols,
                shape.frames
            ),
        ));
    }
    Ok((shape, values))
}

/// Every frame's values with the Modality LUT applied: stored value × Rescale Slope
/// (0028,1053) + Rescale Intercept (0028,1052), as [`stored_values`] lays them out.
pub(crate) fn rescaled_values(
    obj: &DefaultDicomObject,
    path: &Path,
    limits: &ReadLimits,
) -> Result<(PixelShape, Vec<f32>)> {
    let a = Attrs::new(obj, path);
    let slope = a.opt_f64(tags::RESCALE_SLOPE)?.unwrap_or(1.0);
    let intercept = a.opt_f64(tags::RESCALE_INTERCEPT)?.unwrap_or(0.0);
    if slope == 0.0 {
        return Err(dicom_error(
            path,
            Some(tags::RESCALE_SLOPE),
            "is 0; expected a non-zero slope",
        ));
    }
    let (shape, mut values) = stored_values(obj, path, limits)?;
    for v in &mut values {
        *v = (f64::from(*v) * slope + intercept) as f32;
    }
    Ok((shape, values))
}

/// Pixel Spacing (0028,0030) as `[between rows, between columns]`, mm, both positive.
pub(crate) fn pixel_spacing(a: Attrs<'_>) -> Result<[f64; 2]> {
    let spacing = a.f64s(tags::PIXEL_SPACING, 2)?;
    if spacing.iter().any(|s| *s <= 0.0) {
        return Err(dicom_error(
            a.path,
            Some(tags::PIXEL_SPACING),
            format!("is {spacing:?}; expected positive values in mm"),
        ));
    }
    Ok([spacing[0], spacing[1]])
}
