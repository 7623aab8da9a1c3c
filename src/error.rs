//! The crate's one error type.

/// Everything that can go wrong in `tomors`, by cause.
///
/// Each message says what was given and what was expected, so a user can fix the input
/// without reading the source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A geometry or grid parameter is out of its valid range (non-finite, non-positive,
    /// a source inside the grid, ...).
    #[error("invalid geometry: {0}")]
    InvalidGeometry(String),
    /// An array does not have the shape the operation expects.
    #[error("shape mismatch for {what}: expected {expected:?}, got {got:?}")]
    ShapeMismatch {
        /// Which argument.
        what: &'static str,
        /// The expected shape.
        expected: Vec<usize>,
        /// The shape given.
        got: Vec<usize>,
    },
    /// Input data holds NaN or infinite values.
    #[error(
        "{what} holds a non-finite value (NaN or ±Inf) at flat index {index}; all samples must be finite (and within float32 range)"
    )]
    NonFinite {
        /// Which argument.
        what: &'static str,
        /// Flat (C-order) index of the first offending sample.
        index: usize,
    },
    /// An argument other than geometry or an array is out of range (filter cut-off, iteration count...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A GPU was asked for but none could be used.
    #[error("no GPU adapter available: {0}")]
    NoGpu(String),
    /// The GPU failed while running (device lost, out of memory, mapping failure).
    #[error("GPU error: {0}")]
    Gpu(String),
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file concerned.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file was read but its content is not what was expected.
    #[error("malformed file {path}: {reason}")]
    Format {
        /// The file concerned.
        path: std::path::PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A DICOM file cannot be used: unreadable, truncated, malformed, inconsistent with the rest
    /// of its series, over the reading limits, or holding something tomors does not support.
    #[error("DICOM {}{}: {reason}", path.display(), tag.as_deref().map(|t| format!(", {t}")).unwrap_or_default())]
    Dicom {
        /// The file (or folder) concerned.
        path: std::path::PathBuf,
        /// The attribute concerned, e.g. `(0028,0030) Pixel Spacing`, when there is one.
        tag: Option<String>,
        /// What was wrong and what was expected.
        reason: String,
    },
    /// A size read from a file or asked for by a caller does not fit this machine's memory,
    /// or overflows (`tomors::memory`): refused before anything is allocated.
    #[error(
        "{what} would need {}, more than {}",
        bytes.map(human_bytes).unwrap_or_else(|| "a byte count that overflows 64 bits".into()),
        limit.map(|l| format!("the {} of memory this process may use", human_bytes(l))).unwrap_or_else(|| "can be allocated".into())
    )]
    TooLarge {
        /// What was asked for, with its shape.
        what: String,
        /// The bytes it needs (`None`: the count overflows).
        bytes: Option<u64>,
        /// The bytes this process may use, where known.
        limit: Option<u64>,
    },
    /// A DICOM network peer (a PACS) cannot be reached, refused the association, or answered
    /// with a failure.
    #[error("DICOM network, {peer}: {reason}")]
    Network {
        /// The peer, `AE@host:port`.
        peer: String,
        /// What went wrong.
        reason: String,
    },
}

/// Shorthand for results carrying [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Checks that every sample of `data` is finite.
///
/// # Errors
/// [`Error::NonFinite`] naming `what` and the first offending index.
pub fn check_finite(what: &'static str, data: &[f32]) -> Result<()> {
    match data.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite { what, index }),
        None => Ok(()),
    }
}

/// `bytes` as a figure a person reads: "1.5 GiB".
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
