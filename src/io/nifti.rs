//! NIfTI-1 output for research pipelines (through the `nifti` crate).

use std::path::Path;

use ndarray::ArrayView3;
use nifti::NiftiHeader;
use nifti::writer::WriterOptions;

use crate::error::{Error, Result};
use crate::geometry::PatientGrid;
use crate::io::write_atomically;

/// Writes `volume` (`[z, y, x]`, placed by `grid`) as NIfTI-1 float32, `.nii` or `.nii.gz`
/// (compressed when the name ends in `.gz`), atomically. The sform (code 1, scanner) holds the
/// grid's affine converted from DICOM's LPS to NIfTI's RAS (x and y negated); voxel `i, j, k`
/// of the file is `ix, iy, iz` of the volume. `description` (≤ 79 bytes kept) goes to
/// `descrip`, e.g. the units.
///
/// # Errors
/// [`Error::ShapeMismatch`] when `volume` and `grid` disagree; [`Error::InvalidArgument`] for a
/// name without `.nii`/`.nii.gz`; [`Error::Io`] when writing fails.
pub fn write_nifti(
    volume: ArrayView3<'_, f32>,
    grid: &PatientGrid,
    path: &Path,
    description: &str,
) -> Result<()> {
    if volume.shape() != grid.shape {
        return Err(Error::ShapeMismatch {
            what: "volume written as NIfTI",
            expected: grid.shape.to_vec(),
            got: volume.shape().to_vec(),
        });
    }
    let name = path.to_string_lossy();
    if !(name.ends_with(".nii") || name.ends_with(".nii.gz")) {
        return Err(Error::InvalidArgument(format!(
            "NIfTI file name {name:?} must end in .nii or .nii.gz"
        )));
    }
    let [dz, dy, dx] = grid.spacing;
    let m = grid.affine();
    let ras = |row: usize| -> [f32; 4] {
        let sign = if row < 2 { -1.0 } else { 1.0 };
        [0, 1, 2, 3].map(|c| (sign * m[row][c]) as f32)
    };
    let mut descrip = description.as_bytes().to_vec();
    descrip.truncate(79);
    let header = NiftiHeader {
        pixdim: [1.0, dx as f32, dy as f32, dz as f32, 1.0, 1.0, 1.0, 1.0],
        xyzt_units: 2, // mm
        sform_code: 1,
        qform_code: 0,
        srow_x: ras(0),
        srow_y: ras(1),
        srow_z: ras(2),
        descrip,
        ..NiftiHeader::default()
    };
    // [x, y, z] order: the writer stores its array's first axis fastest (Fortran order).
    let xyz = volume.permuted_axes([2, 1, 0]);
    write_atomically(path, |tmp| {
        WriterOptions::new(tmp)
            .reference_header(&header)
            .write_nifti(&xyz)
            .map_err(|e| Error::Io {
                path: tmp.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            })
    })
}
