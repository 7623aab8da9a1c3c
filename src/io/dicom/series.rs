//! Finding series in folders, and assembling single-frame slices (CT, PET) into one volume
//! sorted along the slice normal, with the checks a clinic expects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use ndarray::Array3;

use super::attrs::{Attrs, ReadLimits, open, pixel_spacing, rescaled_values};
use super::errors::dicom_error;
use crate::error::{Error, Result};
use crate::geometry::PatientGrid;
use crate::geometry::patient::{cross, dot, norm};

/// One series found by [`scan`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SeriesInfo {
    /// Series Instance UID (0020,000E).
    pub series_uid: String,
    /// Study Instance UID (0020,000D).
    pub study_uid: Option<String>,
    /// Frame of Reference UID (0020,0052).
    pub frame_of_reference_uid: Option<String>,
    /// Modality (0008,0060), e.g. `CT`, `PT`, `NM`.
    pub modality: String,
    /// Series Description (0008,103E).
    pub description: Option<String>,
    /// Image Type (0008,0008) of the first file, values joined by `\\` (NM projections:
    /// `ORIGINAL\\PRIMARY\\TOMO\\…`).
    pub image_type: Option<String>,
    /// SOP Class UID of the first file.
    pub sop_class_uid: String,
    /// The files, in the order found.
    pub files: Vec<PathBuf>,
    /// Rows × columns of the first file.
    pub rows: usize,
    /// Columns of the first file.
    pub cols: usize,
    /// Frames summed over the files (1 per single-frame file).
    pub frames: usize,
}

/// What [`scan`] found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Series, largest (most frames) first.
    pub series: Vec<SeriesInfo>,
    /// Files that are not readable DICOM, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Which series of a folder to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SeriesSelect {
    /// The one with the most frames among those of the expected modality.
    #[default]
    Largest,
    /// The series with this Series Instance UID.
    Uid(String),
}

/// Lists the DICOM files under `path` (a file, or a folder searched recursively, passing over
/// `DICOMDIR` and hidden files and folders), grouped by series. Headers only: pixel data are
/// not read.
///
/// # Errors
/// [`Error::Io`] when `path` cannot be listed; [`Error::Dicom`] when it holds no readable DICOM
/// file or more files than `limits.max_files`.
pub fn scan(path: &Path, limits: &ReadLimits) -> Result<Scan> {
    let files = list_files(path, limits)?;
    let mut by_uid: BTreeMap<String, SeriesInfo> = BTreeMap::new();
    let mut skipped = Vec::new();
    for file in files {
        let obj = match open(&file, limits, false) {
            Ok(obj) => obj,
            Err(e) => {
                skipped.push((file, e.to_string()));
                continue;
            }
        };
        let a = Attrs::new(&obj, &file);
        let info = (|| -> Result<SeriesInfo> {
            let frames = match a.opt_ints(tags::NUMBER_OF_FRAMES)? {
                Some(v) if !v.is_empty() => v[0].max(0) as usize,
                _ => 1,
            };
            Ok(SeriesInfo {
                series_uid: a.str(tags::SERIES_INSTANCE_UID)?,
                study_uid: a.opt_str(tags::STUDY_INSTANCE_UID)?,
                frame_of_reference_uid: a.opt_str(tags::FRAME_OF_REFERENCE_UID)?,
                modality: a.opt_str(tags::MODALITY)?.unwrap_or_else(|| "OT".into()),
                description: a.opt_str(tags::SERIES_DESCRIPTION)?,
                image_type: a.opt_str(tags::IMAGE_TYPE)?,
                sop_class_uid: obj
                    .meta()
                    .media_storage_sop_class_uid()
                    .trim_end_matches('\0')
                    .to_string(),
                files: vec![file.clone()],
                rows: a.opt_ints(tags::ROWS)?.map_or(0, |v| v[0].max(0) as usize),
                cols: a
                    .opt_ints(tags::COLUMNS)?
                    .map_or(0, |v| v[0].max(0) as usize),
                frames,
            })
        })();
        match info {
            Err(e) => skipped.push((file, e.to_string())),
            Ok(info) => match by_uid.get_mut(&info.series_uid) {
                Some(s) => {
                    s.files.push(file);
                    s.frames += info.frames;
                }
                None => {
                    by_uid.insert(info.series_uid.clone(), info);
                }
            },
        }
    }
    if by_uid.is_empty() {
        return Err(dicom_error(
            path,
            None,
            format!(
                "holds no readable DICOM file ({} file(s) skipped{})",
                skipped.len(),
                skipped
                    .first()
                    .map(|(p, e)| format!("; first: {}: {e}", p.display()))
                    .unwrap_or_default()
            ),
        ));
    }
    let mut series: Vec<SeriesInfo> = by_uid.into_values().collect();
    series.sort_by(|a, b| {
        b.frames
            .cmp(&a.frames)
            .then(a.series_uid.cmp(&b.series_uid))
    });
    Ok(Scan { series, skipped })
}

fn list_files(path: &Path, limits: &ReadLimits) -> Result<Vec<PathBuf>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            // The media's directory (PS3.10) indexes instances and is none; hidden files are
            // the file system's or a copier's.
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| n.starts_with('.') || n.eq_ignore_ascii_case("DICOMDIR")) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() {
                out.push(p);
                if out.len() > limits.max_files {
                    return Err(dicom_error(
                        path,
                        None,
                        format!(
                            "holds more than {} files (the reading limit)",
                            limits.max_files
                        ),
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// Picks one series of `modality` from a scan.
pub(crate) fn select<'s>(
    scan: &'s Scan,
    path: &Path,
    modality: &str,
    which: &SeriesSelect,
) -> Result<&'s SeriesInfo> {
    let found = |s: &&SeriesInfo| match which {
        SeriesSelect::Largest => s.modality == modality,
        SeriesSelect::Uid(uid) => &s.series_uid == uid,
    };
    let series = scan.series.iter().find(found).ok_or_else(|| {
        let listed: Vec<String> = scan
            .series
            .iter()
            .map(|s| format!("{} {} ({} frames)", s.modality, s.series_uid, s.frames))
            .collect();
        let wanted = match which {
            SeriesSelect::Largest => format!("a {modality} series"),
            SeriesSelect::Uid(uid) => format!("series {uid}"),
        };
        dicom_error(
            path,
            None,
            format!("holds no {wanted}; found: {}", listed.join(", ")),
        )
    })?;
    if series.modality != modality {
        return Err(dicom_error(
            path,
            Some(tags::MODALITY),
            format!(
                "series {} is {}; expected {modality}",
                series.series_uid, series.modality
            ),
        ));
    }
    Ok(series)
}

/// A volume assembled from single-frame slices, in patient coordinates.
#[derive(Debug, Clone)]
pub struct SliceVolume {
    /// Rescaled values (stored value × slope + intercept), `[slices, rows, cols]`, slices in
    /// increasing position along the slice normal.
    pub data: Array3<f32>,
    /// Where the voxels lie: `axes[0]`/`axes[1]` the row/column directions of Image
    /// Orientation (Patient), `axes[2]` the direction in which the sorted slices follow.
    pub grid: PatientGrid,
    /// The files, in slice order.
    pub files: Vec<PathBuf>,
    /// Series Instance UID.
    pub series_uid: String,
    /// Study Instance UID, when present.
    pub study_uid: Option<String>,
    /// Frame of Reference UID, when present.
    pub frame_of_reference_uid: Option<String>,
    /// Modality (0008,0060).
    pub modality: String,
    /// Units of the values: `"HU"` for CT, else Units (0054,1001) when given (`"BQML"`,
    /// `"CNTS"`, ...).
    pub units: Option<String>,
}

/// Relative tolerance on slice gaps: gaps that differ from the median by more than this are
/// uneven (missing slices, or mixed spacing).
const GAP_TOLERANCE: f64 = 0.01;

/// Reads and checks the slices of one series (sorted along the slice normal; size, spacing and
/// orientation must agree; even spacing; no gantry tilt), applying each slice's rescale.
pub(crate) fn read_slices(series: &SeriesInfo, limits: &ReadLimits) -> Result<SliceVolume> {
    struct Slice {
        file: PathBuf,
        position: f64,
        ipp: [f64; 3],
        values: Vec<f32>,
    }
    let first = &series.files[0];
    let head = open(first, limits, false)?;
    let a0 = Attrs::new(&head, first);
    let iop = plane_attr(a0, tags::IMAGE_ORIENTATION_PATIENT, 6)?;
    let row_dir = unit(first, [iop[0], iop[1], iop[2]])?;
    let col_dir = unit(first, [iop[3], iop[4], iop[5]])?;
    if dot(row_dir, col_dir).abs() > 1e-3 {
        return Err(dicom_error(
            first,
            Some(tags::IMAGE_ORIENTATION_PATIENT),
            "row and column directions are not orthogonal",
        ));
    }
    let normal = cross(row_dir, col_dir);
    let spacing = pixel_spacing(a0)?;
    if let Some(tilt) = a0.opt_f64(tags::GANTRY_DETECTOR_TILT)?
        && tilt.abs() > 1e-3
    {
        return Err(dicom_error(
            first,
            Some(tags::GANTRY_DETECTOR_TILT),
            format!(
                "is {tilt}°: tilted-gantry series are refused (tomors needs slices stacked along their normal); resample it to an untilted grid first"
            ),
        ));
    }
    let (rows, cols) = (series.rows, series.cols);

    let mut slices = Vec::with_capacity(series.files.len());
    for file in &series.files {
        let obj = open(file, limits, true)?;
        let a = Attrs::new(&obj, file);
        let same = |tag, got: Vec<f64>, want: &[f64], tol: f64| -> Result<()> {
            if got.iter().zip(want).any(|(g, w)| (g - w).abs() > tol) {
                return Err(dicom_error(
                    file,
                    Some(tag),
                    format!("is {got:?}; the series' first slice has {want:?}"),
                ));
            }
            Ok(())
        };
        same(
            tags::IMAGE_ORIENTATION_PATIENT,
            a.f64s(tags::IMAGE_ORIENTATION_PATIENT, 6)?,
            &iop,
            1e-4,
        )?;
        same(
            tags::PIXEL_SPACING,
            a.f64s(tags::PIXEL_SPACING, 2)?,
            &spacing,
            1e-4,
        )?;
        let r = a.count(tags::ROWS, 65_535)? as usize;
        let c = a.count(tags::COLUMNS, 65_535)? as usize;
        if (r, c) != (rows, cols) {
            return Err(dicom_error(
                file,
                Some(tags::ROWS),
                format!("slice is {r}×{c}; the series' first slice is {rows}×{cols}"),
            ));
        }
        if a.opt_ints(tags::NUMBER_OF_FRAMES)?
            .is_some_and(|v| v.first().is_some_and(|n| *n > 1))
        {
            return Err(dicom_error(
                file,
                Some(tags::NUMBER_OF_FRAMES),
                "is a multi-frame object inside a series of slices; expected one slice per file",
            ));
        }
        let p = plane_attr(a, tags::IMAGE_POSITION_PATIENT, 3)?;
        let ipp = [p[0], p[1], p[2]];
        let (_, values) = rescaled_values(&obj, file, limits)?;
        slices.push(Slice {
            file: file.clone(),
            position: dot(ipp, normal),
            ipp,
            values,
        });
    }
    slices.sort_by(|a, b| a.position.total_cmp(&b.position));

    let n = slices.len();
    let dz = if n > 1 {
        let mut gaps: Vec<f64> = slices
            .windows(2)
            .map(|w| w[1].position - w[0].position)
            .collect();
        for (i, g) in gaps.iter().enumerate() {
            if *g < 1e-3 {
                return Err(dicom_error(
                    &slices[i + 1].file,
                    Some(tags::IMAGE_POSITION_PATIENT),
                    format!(
                        "repeats the slice position {:.3} mm of {}; expected one slice per position (a series with several acquisitions?)",
                        slices[i].position,
                        slices[i].file.display()
                    ),
                ));
            }
        }
        gaps.sort_by(f64::total_cmp);
        let median = gaps[gaps.len() / 2];
        for w in slices.windows(2) {
            let g = w[1].position - w[0].position;
            if (g - median).abs() > GAP_TOLERANCE * median + 1e-3 {
                let missing = (g / median).round() as i64 - 1;
                let what = if missing >= 1
                    && (g - (missing + 1) as f64 * median).abs() < GAP_TOLERANCE * median + 1e-3
                {
                    format!("{missing} slice(s) missing")
                } else {
                    "uneven spacing".to_string()
                };
                return Err(dicom_error(
                    &w[1].file,
                    Some(tags::IMAGE_POSITION_PATIENT),
                    format!(
                        "{what}: {g:.3} mm from the previous slice ({}) where the series' median gap is {median:.3} mm; tomors needs evenly spaced slices",
                        w[0].file.display()
                    ),
                ));
            }
        }
        // Slices must follow each other along the normal: an offset with an in-plane
        // component is a tilted (sheared) stack.
        let d = sub(slices[n - 1].ipp, slices[0].ipp);
        let along = dot(d, normal);
        let shear = (norm(d).powi(2) - along * along).max(0.0).sqrt();
        if shear > 1e-3 * along.abs() + 1e-2 {
            let angle = (shear / along.abs()).atan().to_degrees();
            return Err(dicom_error(
                &slices[n - 1].file,
                Some(tags::IMAGE_POSITION_PATIENT),
                format!(
                    "the slices are offset in-plane by {angle:.2}° from their normal (gantry tilt): tilted stacks are refused; resample it to an untilted grid first"
                ),
            ));
        }
        (slices[n - 1].position - slices[0].position) / (n - 1) as f64
    } else {
        a0.opt_f64(tags::SPACING_BETWEEN_SLICES)?
            .or(a0.opt_f64(tags::SLICE_THICKNESS)?)
            .filter(|d| *d > 0.0)
            .unwrap_or(1.0)
    };

    let mut data = Array3::<f32>::zeros((n, rows, cols));
    for (slice, mut out) in slices.iter_mut().zip(data.outer_iter_mut()) {
        let values = std::mem::take(&mut slice.values);
        out.assign(&ndarray::ArrayView2::from_shape((rows, cols), &values).expect("checked size"));
    }
    let grid = PatientGrid::new(
        [n, rows, cols],
        [dz, spacing[0], spacing[1]],
        slices[0].ipp,
        [row_dir, col_dir, normal],
    )?;
    Ok(SliceVolume {
        data,
        grid,
        files: slices.into_iter().map(|s| s.file).collect(),
        series_uid: series.series_uid.clone(),
        study_uid: series.study_uid.clone(),
        frame_of_reference_uid: series.frame_of_reference_uid.clone(),
        modality: series.modality.clone(),
        units: if series.modality == "CT" {
            Some("HU".into())
        } else {
            a0.opt_str(tags::UNITS)?
        },
    })
}

/// Image Position or Orientation (Patient): at the top level, else (NM) in the first item of
/// the Detector Information Sequence.
pub(crate) fn plane_attr(a: Attrs<'_>, tag: dicom_core::Tag, n: usize) -> Result<Vec<f64>> {
    if a.opt_f64s(tag)?.is_some() {
        return a.f64s(tag, n);
    }
    match a.items(tags::DETECTOR_INFORMATION_SEQUENCE)?.first() {
        Some(item) => Attrs::new(item, a.path).f64s(tag, n),
        None => a.f64s(tag, n),
    }
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn unit(path: &Path, v: [f64; 3]) -> Result<[f64; 3]> {
    let n = norm(v);
    if !(0.99..=1.01).contains(&n) {
        return Err(dicom_error(
            path,
            Some(tags::IMAGE_ORIENTATION_PATIENT),
            format!("direction {v:?} is not a unit vector"),
        ));
    }
    Ok([v[0] / n, v[1] / n, v[2] / n])
}
