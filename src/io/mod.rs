//! Files in and out: DICOM (CT and PET series, NM projections, writing series a PACS accepts),
//! NIfTI for research pipelines, NumPy `.npy` arrays in (header checked before the data),
//! Interfile and PETLINK for PET, RTK's geometry files and TIFF projection stacks for
//! cone-beam CT. Every file written goes to a temporary name beside its
//! destination first and is renamed into place, so a reader never sees half a file.

pub mod acquisition;
mod clock;
pub mod dicom;
pub mod interfile;
pub mod nifti;
pub mod npy;
pub mod petlink;
pub mod rtk;
pub mod siemens_norm;
pub mod tiff;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Refuses to write over results: an error naming the first of `paths` that exists.
///
/// # Errors
/// [`Error::InvalidArgument`] naming that path.
pub(crate) fn refuse_existing<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<()> {
    match paths.into_iter().find(|p| p.exists()) {
        Some(p) => Err(Error::InvalidArgument(format!(
            "{} exists already; tomors never overwrites files: choose an empty folder",
            p.display()
        ))),
        None => Ok(()),
    }
}

/// Refuses, before any work, an output folder that cannot take the files `names`: a path
/// that is a file or lies below one, or a folder that holds one of `names` already (tomors
/// never overwrites results). A folder that does not exist yet is fine: writing creates it.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the path.
pub fn check_output_folder(folder: &Path, names: &[&str]) -> Result<()> {
    let mut at = Some(folder);
    while let Some(p) = at.filter(|p| !p.as_os_str().is_empty()) {
        if p.exists() {
            if !p.is_dir() {
                return Err(Error::InvalidArgument(format!(
                    "{} is a file; expected a folder to write the results into",
                    p.display()
                )));
            }
            break;
        }
        at = p.parent();
    }
    let paths: Vec<PathBuf> = names.iter().map(|n| folder.join(n)).collect();
    refuse_existing(paths.iter().map(PathBuf::as_path))
}

/// Where [`fill_folder_atomically`] builds `dest`: `.<name>.partial` beside it.
pub fn partial_folder(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    dest.with_file_name(format!(".{name}.partial"))
}

/// Makes the folder `dest` atomically: `fill` writes into [`partial_folder`]`(dest)` (emptied
/// first when an interrupted run left it), which is renamed to `dest` only when `fill`
/// succeeded. On an error, or a panic in `fill`, the partial folder is removed: `dest`
/// appears whole or not at all.
///
/// # Errors
/// What `fill` returns; [`Error::Io`] when the partial folder cannot be made or renamed.
pub fn fill_folder_atomically<T>(dest: &Path, fill: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    /// Removes the partial folder unless disarmed (also while unwinding from a panic).
    struct Cleanup(Option<PathBuf>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            if let Some(p) = self.0.take() {
                let _ = std::fs::remove_dir_all(p);
            }
        }
    }
    let partial = partial_folder(dest);
    let io = |source| Error::Io {
        path: partial.clone(),
        source,
    };
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io)?;
    }
    std::fs::create_dir_all(&partial).map_err(io)?;
    let mut cleanup = Cleanup(Some(partial.clone()));
    let value = fill(&partial)?;
    std::fs::rename(&partial, dest).map_err(io)?;
    cleanup.0 = None;
    Ok(value)
}

/// Writes a file atomically: `write` fills a temporary file beside `path` (same folder, same
/// extensions), which is synced and renamed over `path` only when `write` succeeded; on
/// failure the temporary file is removed and `path` is untouched.
///
/// # Errors
/// What `write` returns; [`Error::Io`] when syncing or renaming fails;
/// [`Error::InvalidArgument`] when `path` has no file name.
pub fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("{} is not a file name", path.display())))?
        .to_string_lossy()
        .into_owned();
    // Same folder (so the rename is atomic), same extensions (writers that pick a format by
    // extension see the right one), a name no other writer uses.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let suffix = name.find('.').map_or("", |i| &name[i..]);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp: PathBuf = path.with_file_name(format!(".tomors-{}-{n}{suffix}", std::process::id()));
    let result = write(&tmp).and_then(|()| {
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
