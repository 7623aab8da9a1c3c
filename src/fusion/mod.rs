//! Bringing volumes of different frames of reference together: resampling through their
//! patient-coordinate grids, rigid registration by mutual information, and fused pictures (CT in grey, emission in colour) written as PNG.

mod body;
mod page;
mod register;
mod render;
mod resample;
mod rigid;

pub use body::body_mask;
pub use page::Page;
pub use register::{Registration, RegistrationOptions, register_rigid};
pub(crate) use render::log_profile_chart;
pub use render::{Colormap, Overlay, Plane, Window, fuse, plane_image};
pub use resample::{Resampling, resample};
pub use rigid::Rigid;

use std::path::Path;

use ndarray::ArrayView3;

use crate::error::{Error, Result};

/// Writes an RGB picture `[rows, cols, 3]` (as [`fuse`] returns) as an 8-bit PNG, atomically.
///
/// # Errors
/// [`Error::ShapeMismatch`] when the last axis is not 3; [`Error::Io`] when writing fails.
pub fn write_png(rgb: ArrayView3<'_, u8>, path: &Path) -> Result<()> {
    let (h, w, c) = rgb.dim();
    if c != 3 {
        return Err(Error::ShapeMismatch {
            what: "RGB picture",
            expected: vec![h, w, 3],
            got: rgb.shape().to_vec(),
        });
    }
    let bytes: Vec<u8> = rgb.iter().copied().collect();
    crate::io::write_atomically(path, |tmp| {
        let io = |e: std::io::Error| Error::Io {
            path: tmp.to_path_buf(),
            source: e,
        };
        let file = std::fs::File::create(tmp).map_err(io)?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let to_io = |e: png::EncodingError| io(std::io::Error::other(e.to_string()));
        let mut writer = encoder.write_header().map_err(to_io)?;
        writer.write_image_data(&bytes).map_err(to_io)?;
        writer.finish().map_err(to_io)
    })
}
