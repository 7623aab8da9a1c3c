//! Projection stacks from TIFF files, as micro-CT and CBCT systems export them: one file per
//! view, or one multi-page file, greyscale 8, 16 or 32-bit integers or 32/64-bit floats.
//! Values come back as stored (raw intensities or line integrals: convert intensities with
//! `−ln(I / I₀)` before reconstructing).

use crate::error::{Error, Result};
use ndarray::Array3;
use std::path::{Path, PathBuf};
use tiff::decoder::{Decoder, DecodingResult, Limits};

fn format(path: &Path, reason: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        reason,
    }
}

/// What the decoder may allocate: a page, and each buffer on the way, within what this process
/// may use (a backstop: [`read_pages`] checks the stack and the page first, with the figure);
/// a tag's values within 64 MiB.
fn limits() -> Limits {
    let most = crate::memory::memory_limit().map_or(usize::MAX, |b| b as usize);
    let mut limits = Limits::unlimited();
    limits.decoding_buffer_size = most;
    limits.intermediate_buffer_size = most;
    limits.ifd_value_size = 64 << 20;
    limits
}

/// Appends every page of `path` to `frames`, checking each is `shape` (`[rows, cols]`, set by
/// the first page read).
fn read_pages(path: &Path, shape: &mut Option<[usize; 2]>, frames: &mut Vec<f32>) -> Result<usize> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut decoder = Decoder::new(std::io::BufReader::new(file))
        .map_err(|e| format(path, format!("not a TIFF file: {e}")))?
        .with_limits(limits());
    let mut pages = 0;
    loop {
        let (w, h) = decoder
            .dimensions()
            .map_err(|e| format(path, format!("page {pages}: {e}")))?;
        let (cols, rows) = (w as usize, h as usize);
        match shape {
            None => *shape = Some([rows, cols]),
            Some(s) if *s != [rows, cols] => {
                return Err(format(
                    path,
                    format!(
                        "page {pages} is {rows}×{cols}; expected {}×{} like the first",
                        s[0], s[1]
                    ),
                ));
            }
            _ => {}
        }
        // The stack with this page as float32, and the page as the decoder holds it, before
        // the decoder allocates the page.
        let views = frames.len() / rows.saturating_mul(cols).max(1) + 1;
        let bytes = crate::memory::bytes_for("the TIFF stack", &[views, rows, cols], 4)?;
        let sample_bytes = match decoder.colortype() {
            Ok(tiff::ColorType::Gray(bits)) => usize::from(bits).div_ceil(8).max(1),
            _ => 8,
        };
        let page = crate::memory::bytes_for("a TIFF page", &[rows, cols], sample_bytes)?;
        let limit = crate::memory::memory_limit();
        if limit.is_some_and(|l| bytes.saturating_add(page) > l) {
            return Err(Error::TooLarge {
                what: format!(
                    "the TIFF stack of {views} {rows}×{cols} pages as float32, and the page \
                     being decoded"
                ),
                bytes: Some(bytes.saturating_add(page)),
                limit,
            });
        }
        frames
            .try_reserve(rows * cols)
            .map_err(|_| Error::TooLarge {
                what: format!("the TIFF stack ({rows}×{cols} pages)"),
                bytes: Some(bytes),
                limit: crate::memory::memory_limit(),
            })?;
        let image = decoder
            .read_image()
            .map_err(|e| format(path, format!("page {pages}: {e}")))?;
        let before = frames.len();
        match image {
            DecodingResult::U8(v) => frames.extend(v.iter().map(|&x| x as f32)),
            DecodingResult::U16(v) => frames.extend(v.iter().map(|&x| x as f32)),
            DecodingResult::U32(v) => frames.extend(v.iter().map(|&x| x as f32)),
            DecodingResult::I8(v) => frames.extend(v.iter().map(|&x| x as f32)),
            DecodingResult::I16(v) => frames.extend(v.iter().map(|&x| x as f32)),
            DecodingResult::I32(v) => frames.extend(v.iter().map(|&x| x as f32)),
            DecodingResult::F32(v) => frames.extend_from_slice(&v),
            DecodingResult::F64(v) => frames.extend(v.iter().map(|&x| x as f32)),
            _ => {
                return Err(format(
                    path,
                    format!(
                        "page {pages}: unsupported sample type; expected greyscale integers or floats"
                    ),
                ));
            }
        }
        if frames.len() - before != rows * cols {
            return Err(format(
                path,
                format!(
                    "page {pages} holds {} samples for {rows}×{cols} pixels; expected one greyscale channel",
                    frames.len() - before
                ),
            ));
        }
        pages += 1;
        if !decoder.more_images() {
            return Ok(pages);
        }
        decoder
            .next_image()
            .map_err(|e| format(path, format!("page {pages}: {e}")))?;
    }
}

/// Reads a projection stack `[views, rows, cols]` from `paths`, in order: each a single- or
/// multi-page TIFF (so one multi-page file, or one file per view sorted by the caller).
///
/// # Errors
/// [`Error::InvalidArgument`] for no paths; [`Error::Io`] for a missing file;
/// [`Error::Format`] naming the file for a non-TIFF, a colour or unsupported sample type, or
/// pages of different sizes; [`Error::NonFinite`] for NaN or infinite samples.
pub fn read_tiff_stack(paths: &[PathBuf]) -> Result<Array3<f32>> {
    if paths.is_empty() {
        return Err(Error::InvalidArgument(
            "no TIFF files given; expected one multi-page file or one file per view".into(),
        ));
    }
    let mut shape = None;
    let mut frames = Vec::new();
    let mut views = 0;
    for p in paths {
        views += read_pages(p, &mut shape, &mut frames)?;
    }
    if let Some(index) = frames.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "TIFF projection stack",
            index,
        });
    }
    let [rows, cols] = shape.expect("at least one page read");
    Ok(Array3::from_shape_vec((views, rows, cols), frames).expect("sizes checked per page"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiff::encoder::{TiffEncoder, colortype};

    fn write(path: &Path, pages: &[Vec<u16>], w: u32, h: u32) {
        let mut enc = TiffEncoder::new(std::fs::File::create(path).unwrap()).unwrap();
        for p in pages {
            enc.write_image::<colortype::Gray16>(w, h, p).unwrap();
        }
    }

    /// A float page whose stack fits memory but not with the decoder's copy of the page: a
    /// typed error with the figure (it was the decoder's "limits exceeded", without one).
    #[test]
    fn a_page_beyond_memory_is_refused_with_the_figure() {
        let Some(limit) = crate::memory::memory_limit() else {
            return;
        };
        // Each copy three quarters of memory: the stack alone fits, with the page it does not.
        let side = ((0.75 * limit as f64 / 4.0).sqrt() as u32).max(1);
        let dir = std::env::temp_dir().join(format!("tomors-tiff-big-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A little-endian TIFF: one IFD of 9 entries, one strip of float32, 16 bytes present.
        let mut t = b"II*\0".to_vec();
        t.extend(8u32.to_le_bytes());
        t.extend(9u16.to_le_bytes());
        let data_at = 8 + 2 + 9 * 12 + 4;
        let entry = |tag: u16, kind: u16, value: u32| {
            let mut e = tag.to_le_bytes().to_vec();
            e.extend(kind.to_le_bytes());
            e.extend(1u32.to_le_bytes());
            e.extend(value.to_le_bytes());
            e
        };
        for (tag, kind, value) in [
            (256, 4, side),
            (257, 4, side),
            (258, 3, 32),
            (259, 3, 1),
            (262, 3, 1),
            (273, 4, data_at),
            (277, 3, 1),
            (279, 4, side.wrapping_mul(side).wrapping_mul(4)),
            (339, 3, 3),
        ] {
            t.extend(entry(tag, kind, value));
        }
        t.extend(0u32.to_le_bytes());
        t.extend([0u8; 16]);
        let path = dir.join("big.tif");
        std::fs::write(&path, t).unwrap();
        let e = read_tiff_stack(std::slice::from_ref(&path)).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("page being decoded"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn single_and_multi_page_files_stack_in_order() {
        let dir = std::env::temp_dir().join(format!("tomors-tiff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let page = |k: u16| (0..12).map(|i| i + 100 * k).collect::<Vec<u16>>();
        write(&dir.join("a.tif"), &[page(0), page(1)], 4, 3);
        write(&dir.join("b.tif"), &[page(2)], 4, 3);
        let stack = read_tiff_stack(&[dir.join("a.tif"), dir.join("b.tif")]).unwrap();
        assert_eq!(stack.shape(), &[3, 3, 4]);
        assert_eq!(stack[[2, 1, 3]], 207.0);
        write(&dir.join("c.tif"), &[vec![0; 10]], 5, 2);
        let e = read_tiff_stack(&[dir.join("a.tif"), dir.join("c.tif")]).unwrap_err();
        assert!(matches!(e, Error::Format { .. }), "{e}");
        std::fs::write(dir.join("d.tif"), b"not a tiff").unwrap();
        assert!(matches!(
            read_tiff_stack(&[dir.join("d.tif")]),
            Err(Error::Format { .. })
        ));
        assert!(matches!(
            read_tiff_stack(&[dir.join("none.tif")]),
            Err(Error::Io { .. })
        ));
        assert!(matches!(
            read_tiff_stack(&[]),
            Err(Error::InvalidArgument(_))
        ));
    }
}
