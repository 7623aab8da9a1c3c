//! What every subcommand shares: error kinds and exit codes, progress spinners, `.npy` and PNG
//! files written atomically, and the checks that keep outputs off inputs.

use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{ArrayD, ArrayViewD};
use std::io::Write;
use std::path::Path;
use std::time::Instant;
use tomors::ImageGrid;

/// What went wrong, by kind; each kind is its own exit status.
///
/// | status | kind |
/// |---:|---|
/// | 0 | success |
/// | 1 | an internal failure (a bug: please report it) |
/// | 2 | command-line usage (unknown flag or value; printed by the parser) |
/// | 3 | invalid input: a geometry, shape, value or setting out of range, or a size this machine cannot hold |
/// | 4 | a file: missing, unreadable, malformed (DICOM, .npy) or not writable |
/// | 5 | `--backend gpu` without a usable GPU adapter |
/// | 6 | the GPU failed while running (device lost, out of memory) |
/// | 7 | a PACS cannot be reached, refused the association, or answered with a failure |
/// | 8 | `tomors batch` ran to the end, but one study or more failed (each in the log) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Internal = 1,
    Input = 3,
    File = 4,
    NoGpu = 5,
    Gpu = 6,
    Network = 7,
    StudiesFailed = 8,
}

/// An error of a subcommand: its kind (the exit status) and the message printed.
#[derive(Debug)]
pub struct CliError {
    pub kind: Kind,
    pub message: String,
}

impl CliError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    /// An input the command cannot use (a shape, a missing setting).
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(Kind::Input, message)
    }
    /// A file the command cannot read or write.
    pub fn file(message: impl Into<String>) -> Self {
        Self::new(Kind::File, message)
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<tomors::Error> for CliError {
    fn from(e: tomors::Error) -> Self {
        use tomors::Error as E;
        let kind = match &e {
            E::InvalidGeometry(_)
            | E::ShapeMismatch { .. }
            | E::NonFinite { .. }
            | E::InvalidArgument(_)
            | E::TooLarge { .. } => Kind::Input,
            E::Io { .. } | E::Format { .. } | E::Dicom { .. } => Kind::File,
            E::NoGpu(_) => Kind::NoGpu,
            E::Gpu(_) => Kind::Gpu,
            E::Network { .. } => Kind::Network,
            _ => Kind::Internal,
        };
        Self::new(kind, e.to_string())
    }
}

impl std::error::Error for CliError {}

impl From<png::EncodingError> for CliError {
    fn from(e: png::EncodingError) -> Self {
        Self::file(e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::file(e.to_string())
    }
}

impl From<ndarray_npy::WriteNpyError> for CliError {
    fn from(e: ndarray_npy::WriteNpyError) -> Self {
        Self::file(e.to_string())
    }
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        Self::input(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> Self {
        Self::input(message)
    }
}

pub type CliResult<T> = Result<T, CliError>;

/// For `.map_err(err)`: any error the commands meet, with its kind.
pub fn err(e: impl Into<CliError>) -> CliError {
    e.into()
}

pub fn spinner(msg: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("valid template"),
    );
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(100));
    pb
}

pub fn timed<T>(msg: &str, f: impl FnOnce() -> CliResult<T>) -> CliResult<(T, f64)> {
    let pb = spinner(msg);
    let t = Instant::now();
    let r = f();
    let secs = t.elapsed().as_secs_f64();
    pb.finish_and_clear();
    r.map(|v| (v, secs))
}

/// Writes `path` atomically ([`tomors::io::write_atomically`]) through a buffered writer.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> CliResult<()>,
) -> CliResult<()> {
    tomors::io::write_atomically(path, |tmp| {
        let io = |source| tomors::Error::Io {
            path: tmp.to_path_buf(),
            source,
        };
        let mut w = std::io::BufWriter::new(std::fs::File::create(tmp).map_err(io)?);
        write(&mut w).map_err(|e| io(std::io::Error::other(e)))?;
        w.flush().map_err(io)
    })
    .map_err(CliError::from)
}

/// An 8-bit greyscale PNG of a 2D array, `lo..hi` mapped to black..white.
pub fn write_png(path: &Path, a: ArrayViewD<'_, f32>, lo: f32, hi: f32) -> CliResult<()> {
    let (h, w) = (a.shape()[0], a.shape()[1]);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let pixels: Vec<u8> = a
        .iter()
        .map(|&v| (((v - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    write_atomic(path, |w_| {
        let mut enc = png::Encoder::new(w_, w as u32, h as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(&pixels).map_err(err)
    })
}

pub fn read_npy_f32(path: &Path) -> CliResult<ArrayD<f32>> {
    tomors::io::npy::read_npy(path).map_err(err)
}

/// Refuses, before any work, an output path (given as `flag`, e.g. `--out`) that is a folder,
/// lies in a folder that does not exist, or is one of the inputs.
pub fn check_output(flag: &str, out: &Path, inputs: &[&Path]) -> CliResult<()> {
    if out.is_dir() {
        return Err(CliError::input(format!(
            "{flag} {} is a folder; expected a file to write",
            out.display()
        )));
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(CliError::input(format!(
            "{flag} {}: the folder {} does not exist",
            out.display(),
            parent.display()
        )));
    }
    let out = std::fs::canonicalize(out).ok();
    for input in inputs {
        let input = std::fs::canonicalize(input)
            .map_err(|e| CliError::file(format!("{}: {e}", input.display())))?;
        if out.as_ref() == Some(&input) {
            return Err(format!(
                "{flag} {} is an input file; refusing to overwrite it",
                input.display()
            )
            .into());
        }
    }
    Ok(())
}

pub fn max(a: &ArrayD<f32>) -> f32 {
    a.iter().cloned().fold(f32::MIN, f32::max)
}

pub fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum();
    let den: f64 = b.iter().map(|&y| (y as f64).powi(2)).sum();
    (num / den).sqrt()
}

pub fn rmse_in_circle(rec: &ArrayD<f32>, truth: &ArrayD<f32>, grid: &ImageGrid) -> f64 {
    let [_, dy, dx] = grid.spacing();
    let [_, oy, ox] = grid.origin();
    let r = grid.inscribed_radius();
    let (mut sum, mut n) = (0.0, 0usize);
    for ((i, &a), &b) in rec.indexed_iter().zip(truth.iter()) {
        let (x, y) = (ox + i[1] as f64 * dx, oy + i[0] as f64 * dy);
        if x.hypot(y) <= r {
            sum += (a as f64 - b as f64).powi(2);
            n += 1;
        }
    }
    (sum / n as f64).sqrt()
}
