//! NM Image Storage: tomographic projections (multi-frame, split by the Frame Increment
//! Pointer) and reconstructed NM volumes.
//!
//! ## How an acquisition maps to `proj[view, row, col]` and θ
//! - **Frames**: each frame's energy window, detector, rotation and view come from the vectors
//!   the Frame Increment Pointer (0028,0009) lists (Energy Window / Detector / Rotation /
//!   Angular View Vector; a vector absent means 1 for every frame). Gated vectors (time slot,
//!   R-R interval, phase) with more than one value are refused. Every window must hold the
//!   same set of views.
//! - **Views** of all detectors and rotations are merged into one list ordered by rotation,
//!   then detector, then view number. Rotations at table positions (Table Traverse) more than
//!   0.5 mm apart are beds: such a file is refused (one bed per file).
//! - **Angles**: DICOM's detector angle φ (Start Angle (0054,0200) of the detector, else of the
//!   rotation; zero at the patient's back, increasing counter-clockwise seen from the feet,
//!   i.e. from posterior towards the patient's left) is φ = start ± step·(view − 1), + for CC,
//!   − for CW. The camera of view θ in CONVENTIONS.md lies along d(θ) = (−sin θ, cos θ), which is
//!   DICOM's detector direction (sin φ, cos φ) for **θ = −φ** (radians).
//! - **Radii**: Radial Position (0018,1142) of the Detector Information item, else of the
//!   Rotation Information item: one value, or one per view.
//! - **Columns** run along u(θ) = (cos θ, sin θ). The frame's row direction (Image Orientation
//!   (Patient) of the detector, first view) is compared with u at the first view and the
//!   columns reversed when they point opposite ways (GE's frames, for instance: increasing
//!   column runs to the patient's left in an anterior view, while u points right there).
//!   Without an orientation, that GE layout is assumed. Center of Rotation Offset (0018,1145)
//!   becomes the column offset.
//! - **Rows** run along +z (CONVENTIONS.md): reversed when the frame's column direction points
//!   to the feet, as it does for GE and Siemens.
//! - **Where the reconstruction lies**: the detector's Image Position (Patient) is read as the
//!   first voxel of a cols × cols × rows reconstruction cube of the pixel spacing centred on the
//!   axis of rotation (GE's convention, followed by PyTomography). When its y is exactly 0
//!   (Siemens), x is the axis and the axis lies at y = −Table Height, as PyTomography reads
//!   those files; only the GE reading has been checked against real data here.

use std::path::Path;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use ndarray::{Array3, Axis, s};

use super::attrs::{Attrs, ReadLimits, open, pixel_spacing, rescaled_values, stored_values};
use super::errors::dicom_error;
use super::series::{self, SeriesSelect, SliceVolume, plane_attr, scan};
use super::time::{date_time_seconds, dt_seconds};
use crate::error::Result;
use crate::geometry::patient::{cross, dot};
use crate::geometry::{Collimator, ImageGrid, PatientGrid, SpectGeometry};

/// One energy window of an NM acquisition.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyWindow {
    /// Energy Window Name (0054,0018), when given.
    pub name: Option<String>,
    /// Lower limit, keV.
    pub lower_kev: f64,
    /// Upper limit, keV.
    pub upper_kev: f64,
}

impl EnergyWindow {
    /// Width in keV.
    pub fn width_kev(&self) -> f64 {
        self.upper_kev - self.lower_kev
    }
    /// Centre in keV.
    pub fn centre_kev(&self) -> f64 {
        0.5 * (self.upper_kev + self.lower_kev)
    }
}

/// Tomographic projections of one NM file, mapped to tomors's conventions (see the module
/// documentation for every step of the mapping).
#[derive(Debug, Clone)]
pub struct NmProjections {
    /// Energy windows, in the file's order.
    pub windows: Vec<EnergyWindow>,
    /// Counts per window, `[views, rows, cols]` (window `i` ↔ `windows[i]`).
    pub counts: Vec<Array3<f32>>,
    /// View angles θ, radians (CONVENTIONS.md).
    pub angles: Vec<f64>,
    /// Radius of rotation per view, mm.
    pub radii: Vec<f64>,
    /// Detector (1-based, as in the file) of each view.
    pub detectors: Vec<u32>,
    /// Acquisition time of each view, s (Actual Frame Duration).
    pub frame_durations: Vec<f64>,
    /// DICOM Start Angle, degrees, of each detector (1-based detector `d` at `d − 1`).
    pub start_angles_deg: Vec<f64>,
    /// Image Position (Patient) of each detector's first frame, mm, when the file gives it.
    pub detector_positions: Vec<Option<[f64; 3]>>,
    /// Image Orientation (Patient) of each detector (row, then column direction), when given.
    pub detector_orientations: Vec<Option<[f64; 6]>>,
    /// Angular Step, degrees (first rotation).
    pub angular_step_deg: f64,
    /// Rotation Direction of the first rotation: `"CW"` or `"CC"`.
    pub rotation_direction: String,
    /// Detector bin size `[row (along z), col (along u)]`, mm.
    pub pixel_spacing: [f64; 2],
    /// Column offset (Center of Rotation Offset), mm.
    pub col_offset: f64,
    /// Collimator/grid Name (0018,1180), e.g. `"MEGP"`.
    pub collimator: Option<String>,
    /// The reconstruction grid in patient coordinates: cols × cols × rows voxels of the column
    /// spacing (slices of the row spacing), centred on the axis of rotation, axis-aligned.
    pub grid: PatientGrid,
    /// Series Instance UID.
    pub series_uid: String,
    /// Study Instance UID.
    pub study_uid: Option<String>,
    /// Frame of Reference UID.
    pub frame_of_reference_uid: Option<String>,
    /// Manufacturer (0008,0070).
    pub manufacturer: Option<String>,
    /// Radionuclide Half Life (0018,1075), s, when the file gives it.
    pub half_life_s: Option<f64>,
    /// Time from the injection (Radiopharmaceutical Start DateTime (0018,1078)) to the start
    /// of the acquisition (Acquisition Date and Time), s, when the file gives both.
    pub injection_to_start_s: Option<f64>,
}

impl NmProjections {
    /// The index of the window whose range holds `kev`, the narrowest if several do.
    pub fn window_at(&self, kev: f64) -> Option<usize> {
        self.windows
            .iter()
            .enumerate()
            .filter(|(_, w)| w.lower_kev <= kev && kev <= w.upper_kev)
            .min_by(|a, b| a.1.width_kev().total_cmp(&b.1.width_kev()))
            .map(|(i, _)| i)
    }

    /// The acquisition as a [`SpectGeometry`] (angles, per-view radii, columns, offset), with
    /// the collimator-detector response `collimator` when given (see
    /// [`NmProjections::collimator_at`] for the one the header names).
    ///
    /// # Errors
    /// As [`SpectGeometry::with_orbit`].
    pub fn spect_geometry(&self, collimator: Option<Collimator>) -> Result<SpectGeometry> {
        let n_cols = self.counts[0].shape()[2];
        let geometry = SpectGeometry::with_orbit(
            self.angles.clone(),
            self.radii.clone(),
            n_cols,
            self.pixel_spacing[1],
        )?
        .with_col_offset(self.col_offset)?;
        Ok(match collimator {
            Some(c) => geometry.with_collimator(c),
            None => geometry,
        })
    }

    /// The response of the collimator the header names (with its manufacturer) at photon
    /// energy `kev` ([`Collimator::for_camera`]).
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] when the header names no collimator or one tomors has
    /// no model for, or for an energy outside the model's range.
    pub fn collimator_at(&self, kev: f64) -> Result<Collimator> {
        let name = self.collimator.as_deref().unwrap_or("");
        Collimator::for_camera(self.manufacturer.as_deref(), name, kev).map_err(|e| {
            let why = match e {
                crate::Error::InvalidArgument(m) | crate::Error::InvalidGeometry(m) => m,
                other => other.to_string(),
            };
            crate::Error::InvalidArgument(format!(
                "the NM header names collimator {name:?} (manufacturer {}), which tomors has no \
                 model for at {kev} keV ({why}); give the collimator's response",
                self.manufacturer.as_deref().unwrap_or("not given")
            ))
        })
    }

    /// The reconstruction grid as an [`ImageGrid`] (the frame projectors use).
    ///
    /// # Errors
    /// As [`ImageGrid::new_3d`].
    pub fn image_grid(&self) -> Result<ImageGrid> {
        self.grid.image_grid()
    }
}

/// Frame Increment Pointer vectors tomors splits frames by.
const SPLIT_BY: [Tag; 4] = [
    tags::ENERGY_WINDOW_VECTOR,
    tags::DETECTOR_VECTOR,
    tags::ROTATION_VECTOR,
    tags::ANGULAR_VIEW_VECTOR,
];

/// Reads an NM tomographic acquisition (Image Type value 3 `TOMO`).
///
/// # Errors
/// [`crate::Error::Dicom`] naming the file and the attribute for anything missing,
/// inconsistent or unsupported (gated acquisitions, non-axial detectors, windows with
/// different views); [`crate::Error::Io`] when it cannot be read.
pub fn read_nm_projections(path: &Path, limits: &ReadLimits) -> Result<NmProjections> {
    let obj = open(path, limits, true)?;
    let a = Attrs::new(&obj, path);
    let modality = a.opt_str(tags::MODALITY)?.unwrap_or_default();
    if modality != "NM" {
        return Err(dicom_error(
            path,
            Some(tags::MODALITY),
            format!("is {modality:?}; expected \"NM\" (NM Image Storage projections)"),
        ));
    }
    let image_type = a.opt_str(tags::IMAGE_TYPE)?.unwrap_or_default();
    let kind = image_type
        .split('\\')
        .nth(2)
        .unwrap_or("")
        .trim()
        .to_string();
    if kind != "TOMO" {
        return Err(dicom_error(
            path,
            Some(tags::IMAGE_TYPE),
            format!(
                "value 3 is {kind:?}; expected \"TOMO\" (projections; use read_nm_volume for RECON TOMO, gated tomo is not supported)"
            ),
        ));
    }
    let (shape, values) = stored_values(&obj, path, limits)?;
    let (rows, cols, frames) = (shape.rows, shape.cols, shape.frames);

    // Per-frame indices from the Frame Increment Pointer's vectors.
    let pointer = a.tags(tags::FRAME_INCREMENT_POINTER)?;
    for t in &pointer {
        if !SPLIT_BY.contains(t) {
            let v = a.opt_ints(*t)?.unwrap_or_default();
            let mut distinct = v.clone();
            distinct.sort_unstable();
            distinct.dedup();
            if distinct.len() > 1 {
                return Err(dicom_error(
                    path,
                    Some(*t),
                    "varies between frames: gated or dynamic acquisitions are not supported; expected frames split by energy window, detector, rotation and view only",
                ));
            }
        }
    }
    let vector = |tag: Tag| -> Result<Vec<i64>> {
        match a.opt_ints(tag)? {
            None => Ok(vec![1; frames]),
            Some(v) if v.len() == frames && v.iter().all(|i| *i >= 1) => Ok(v),
            Some(v) => Err(dicom_error(
                path,
                Some(tag),
                format!(
                    "has {} values (minimum {:?}); expected one index ≥ 1 per frame ({frames})",
                    v.len(),
                    v.iter().min()
                ),
            )),
        }
    };
    let window_of = vector(tags::ENERGY_WINDOW_VECTOR)?;
    let detector_of = vector(tags::DETECTOR_VECTOR)?;
    let rotation_of = vector(tags::ROTATION_VECTOR)?;
    let view_of = match a.opt_ints(tags::ANGULAR_VIEW_VECTOR)? {
        Some(_) => vector(tags::ANGULAR_VIEW_VECTOR)?,
        None => {
            // Without a view vector, frames of one (window, detector, rotation) are in view order.
            let mut next = std::collections::HashMap::new();
            (0..frames)
                .map(|f| {
                    let n = next
                        .entry((window_of[f], detector_of[f], rotation_of[f]))
                        .or_insert(0);
                    *n += 1;
                    *n
                })
                .collect()
        }
    };

    // Energy windows.
    let window_items = a.items(tags::ENERGY_WINDOW_INFORMATION_SEQUENCE)?;
    let n_windows = *window_of.iter().max().unwrap_or(&1) as usize;
    if window_items.len() < n_windows {
        return Err(dicom_error(
            path,
            Some(tags::ENERGY_WINDOW_INFORMATION_SEQUENCE),
            format!(
                "has {} items; the Energy Window Vector refers to {n_windows} windows",
                window_items.len()
            ),
        ));
    }
    let mut windows = Vec::with_capacity(n_windows);
    for item in &window_items[..n_windows] {
        let w = Attrs::new(item, path);
        let range = w.items(tags::ENERGY_WINDOW_RANGE_SEQUENCE)?;
        let r = range.first().ok_or_else(|| {
            dicom_error(
                path,
                Some(tags::ENERGY_WINDOW_RANGE_SEQUENCE),
                "is empty; expected the window's lower and upper limits",
            )
        })?;
        let r = Attrs::new(r, path);
        let (lower, upper) = (
            r.f64(tags::ENERGY_WINDOW_LOWER_LIMIT)?,
            r.f64(tags::ENERGY_WINDOW_UPPER_LIMIT)?,
        );
        if !(lower >= 0.0 && upper > lower) {
            return Err(dicom_error(
                path,
                Some(tags::ENERGY_WINDOW_RANGE_SEQUENCE),
                format!("window {lower}–{upper} keV; expected 0 ≤ lower < upper"),
            ));
        }
        windows.push(EnergyWindow {
            name: w.opt_str(tags::ENERGY_WINDOW_NAME)?,
            lower_kev: lower,
            upper_kev: upper,
        });
    }

    // Detectors and rotations.
    let detector_items = a.items(tags::DETECTOR_INFORMATION_SEQUENCE)?;
    let rotation_items = a.items(tags::ROTATION_INFORMATION_SEQUENCE)?;
    let item = |items, i, tag| sequence_item(items, i, tag, path);
    // Rotations at different table positions are beds: merging their views into one bed
    // would put half the patient in the wrong place.
    let traverse: Vec<f64> = rotation_items
        .iter()
        .map(|r| Attrs::new(r, path).opt_f64(tags::TABLE_TRAVERSE))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    if traverse.iter().any(|t| (t - traverse[0]).abs() > 0.5) {
        return Err(dicom_error(
            path,
            Some(tags::TABLE_TRAVERSE),
            format!(
                "the file's {} rotations lie at table positions {traverse:?} mm: it holds several \
                 beds, and tomors reads one bed per file; export each bed as a series of its own \
                 and pass them together (several NM files)",
                rotation_items.len()
            ),
        ));
    }

    // Views: the distinct (rotation, detector, view) of window 1, in that order.
    let mut keys: Vec<(i64, i64, i64)> = (0..frames)
        .filter(|&f| window_of[f] == 1)
        .map(|f| (rotation_of[f], detector_of[f], view_of[f]))
        .collect();
    keys.sort_unstable();
    if keys.windows(2).any(|k| k[0] == k[1]) {
        return Err(dicom_error(
            path,
            Some(tags::ANGULAR_VIEW_VECTOR),
            "two frames of one window share a rotation, detector and view",
        ));
    }
    let n_views = keys.len();
    let mut counts = vec![Array3::<f32>::zeros((n_views, rows, cols)); n_windows];
    let mut filled = vec![0usize; n_windows];
    let frame_len = rows * cols;
    for f in 0..frames {
        let w = window_of[f] as usize - 1;
        let key = (rotation_of[f], detector_of[f], view_of[f]);
        let v = keys.binary_search(&key).map_err(|_| {
            dicom_error(
                path,
                Some(tags::ENERGY_WINDOW_VECTOR),
                format!(
                    "frame {f} (window {}, rotation {}, detector {}, view {}) has no counterpart in window 1; every window must hold the same views",
                    w + 1,
                    key.0,
                    key.1,
                    key.2
                ),
            )
        })?;
        let frame = ndarray::ArrayView2::from_shape(
            (rows, cols),
            &values[f * frame_len..(f + 1) * frame_len],
        )
        .expect("frame slice has rows × cols values");
        counts[w].slice_mut(s![v, .., ..]).assign(&frame);
        filled[w] += 1;
    }
    if let Some(w) = filled.iter().position(|&n| n != n_views) {
        return Err(dicom_error(
            path,
            Some(tags::ENERGY_WINDOW_VECTOR),
            format!(
                "window {} has {} frames; window 1 has {n_views}; every window must hold the same views",
                w + 1,
                filled[w]
            ),
        ));
    }

    // Angles, radii, durations per view.
    let mut angles = Vec::with_capacity(n_views);
    let mut radii = Vec::with_capacity(n_views);
    let mut frame_durations = Vec::with_capacity(n_views);
    for &(rot, det, view) in &keys {
        let r = Attrs::new(
            item(rotation_items, rot, tags::ROTATION_INFORMATION_SEQUENCE)?,
            path,
        );
        let d = detector_items
            .get(det as usize - 1)
            .map(|d| Attrs::new(d, path));
        let start = match d
            .map(|d| d.opt_f64(tags::START_ANGLE))
            .transpose()?
            .flatten()
        {
            Some(s) => s,
            None => r.f64(tags::START_ANGLE)?,
        };
        let step = r.f64(tags::ANGULAR_STEP)?;
        let sign = match r.str(tags::ROTATION_DIRECTION)?.as_str() {
            "CC" | "CCW" => 1.0,
            "CW" => -1.0,
            other => {
                return Err(dicom_error(
                    path,
                    Some(tags::ROTATION_DIRECTION),
                    format!("is {other:?}; expected \"CW\" or \"CC\""),
                ));
            }
        };
        let phi = start + sign * step * (view - 1) as f64;
        angles.push(-phi.to_radians());
        let radial = match d.map(|d| d.opt_f64s(tags::RADIAL_POSITION)).transpose()?.flatten() {
            Some(v) => v,
            None => r.opt_f64s(tags::RADIAL_POSITION)?.ok_or_else(|| {
                dicom_error(
                    path,
                    Some(tags::RADIAL_POSITION),
                    "is missing from the detector and rotation items; the radius of rotation is needed for the collimator response",
                )
            })?,
        };
        let radius = match radial.len() {
            1 => radial[0],
            n if n >= view as usize => radial[view as usize - 1],
            n => {
                return Err(dicom_error(
                    path,
                    Some(tags::RADIAL_POSITION),
                    format!("has {n} values; expected 1 or one per view (view {view})"),
                ));
            }
        };
        radii.push(radius);
        frame_durations.push(r.opt_f64(tags::ACTUAL_FRAME_DURATION)?.unwrap_or(0.0) / 1000.0);
    }

    // Orientation of the frames against u(θ) and z.
    let first = detector_items.first().map(|d| Attrs::new(d, path));
    let iop = match first
        .map(|d| d.opt_f64s(tags::IMAGE_ORIENTATION_PATIENT))
        .transpose()?
        .flatten()
    {
        Some(v) => Some(v),
        None => a.opt_f64s(tags::IMAGE_ORIENTATION_PATIENT)?,
    };
    let (row_dir, col_dir) = match &iop {
        Some(v) if v.len() == 6 => ([v[0], v[1], v[2]], [v[3], v[4], v[5]]),
        Some(v) => {
            return Err(dicom_error(
                path,
                Some(tags::IMAGE_ORIENTATION_PATIENT),
                format!("has {} values; expected 6", v.len()),
            ));
        }
        // GE's layout (see the module docs).
        None => {
            let t = angles[0];
            ([-t.cos(), -t.sin(), 0.0], [0.0, 0.0, -1.0])
        }
    };
    if col_dir[2].abs() < 0.99 {
        return Err(dicom_error(
            path,
            Some(tags::IMAGE_ORIENTATION_PATIENT),
            format!(
                "frame columns run along {col_dir:?}; expected the patient's z axis (a detector parallel to the axis of rotation)"
            ),
        ));
    }
    let u0 = [angles[0].cos(), angles[0].sin(), 0.0];
    if dot(row_dir, u0) < 0.0 {
        for c in &mut counts {
            c.invert_axis(Axis(2));
        }
    }
    if col_dir[2] < 0.0 {
        for c in &mut counts {
            c.invert_axis(Axis(1));
        }
    }
    let counts: Vec<Array3<f32>> = counts
        .into_iter()
        .map(|c| c.as_standard_layout().into_owned())
        .collect();

    // Spacing and where the reconstruction lies.
    let [dz, du] = pixel_spacing(a)?;
    let ipp = match first
        .map(|d| d.opt_f64s(tags::IMAGE_POSITION_PATIENT))
        .transpose()?
        .flatten()
    {
        Some(v) => Some(v),
        None => a.opt_f64s(tags::IMAGE_POSITION_PATIENT)?,
    };
    let half = (cols as f64 - 1.0) / 2.0 * du;
    let (axis_x, axis_y, z_top) = match ipp {
        Some(p) if p.len() == 3 && p[1] == 0.0 => {
            let table = rotation_items
                .first()
                .map(|r| Attrs::new(r, path).opt_f64(tags::TABLE_HEIGHT))
                .transpose()?
                .flatten()
                .unwrap_or(0.0);
            (p[0], -table, p[2])
        }
        Some(p) if p.len() == 3 => (p[0] + half, p[1] + half, p[2]),
        Some(p) => {
            return Err(dicom_error(
                path,
                Some(tags::IMAGE_POSITION_PATIENT),
                format!("has {} values; expected 3", p.len()),
            ));
        }
        None => (0.0, 0.0, (rows as f64 - 1.0) * dz),
    };
    let z_low = if col_dir[2] < 0.0 {
        z_top - (rows as f64 - 1.0) * dz
    } else {
        z_top
    };
    let grid = PatientGrid::axis_aligned(
        [rows, cols, cols],
        [dz, du, du],
        [axis_x - half, axis_y - half, z_low],
    )?;

    let r1 = Attrs::new(
        item(rotation_items, 1, tags::ROTATION_INFORMATION_SEQUENCE)?,
        path,
    );
    let start_angles_deg = detector_items
        .iter()
        .map(|d| match Attrs::new(d, path).opt_f64(tags::START_ANGLE)? {
            Some(s) => Ok(s),
            None => r1.f64(tags::START_ANGLE),
        })
        .collect::<Result<Vec<f64>>>()?;
    let mut detector_positions = Vec::new();
    let mut detector_orientations = Vec::new();
    for d in detector_items {
        let d = Attrs::new(d, path);
        let fixed = |tag, n| -> Result<Option<Vec<f64>>> {
            match d.opt_f64s(tag)? {
                Some(v) if v.len() == n => Ok(Some(v)),
                Some(v) => Err(dicom_error(
                    path,
                    Some(tag),
                    format!("has {} values; expected {n}", v.len()),
                )),
                None => Ok(None),
            }
        };
        detector_positions
            .push(fixed(tags::IMAGE_POSITION_PATIENT, 3)?.map(|v| [v[0], v[1], v[2]]));
        detector_orientations.push(
            fixed(tags::IMAGE_ORIENTATION_PATIENT, 6)?
                .map(|v| [v[0], v[1], v[2], v[3], v[4], v[5]]),
        );
    }
    let col_offset = first
        .map(|d| d.opt_f64(tags::CENTER_OF_ROTATION_OFFSET))
        .transpose()?
        .flatten()
        .unwrap_or(0.0);
    let (half_life_s, injection_to_start_s) = decay_timing(&a, path)?;
    Ok(NmProjections {
        windows,
        counts,
        angles,
        radii,
        detectors: keys.iter().map(|k| k.1 as u32).collect(),
        frame_durations,
        start_angles_deg,
        detector_positions,
        detector_orientations,
        angular_step_deg: r1.f64(tags::ANGULAR_STEP)?,
        rotation_direction: r1.str(tags::ROTATION_DIRECTION)?,
        pixel_spacing: [dz, du],
        col_offset,
        collimator: first
            .map(|d| d.opt_str(tags::COLLIMATOR_GRID_NAME))
            .transpose()?
            .flatten(),
        grid,
        series_uid: a.str(tags::SERIES_INSTANCE_UID)?,
        study_uid: a.opt_str(tags::STUDY_INSTANCE_UID)?,
        frame_of_reference_uid: a.opt_str(tags::FRAME_OF_REFERENCE_UID)?,
        manufacturer: a.opt_str(tags::MANUFACTURER)?,
        half_life_s,
        injection_to_start_s,
    })
}

/// The half-life (s) and the time from injection to the acquisition's start (s), each when
/// the file gives it (anonymised files often keep neither).
fn decay_timing(a: &Attrs<'_>, path: &Path) -> Result<(Option<f64>, Option<f64>)> {
    let given = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let items = a.items(tags::RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE)?;
    let r = items.first().map(|r| Attrs::new(r, path));
    let (half_life, injection) = match r {
        Some(r) => (
            r.opt_f64(tags::RADIONUCLIDE_HALF_LIFE)?
                .filter(|h| h.is_finite() && *h > 0.0),
            given(r.opt_str(tags::RADIOPHARMACEUTICAL_START_DATE_TIME)?)
                .map(|dt| dt_seconds(path, &dt))
                .transpose()?,
        ),
        None => (None, None),
    };
    let start = match (
        given(a.opt_str(tags::ACQUISITION_DATE)?),
        given(a.opt_str(tags::ACQUISITION_TIME)?),
    ) {
        (Some(d), Some(t)) => Some(date_time_seconds(path, &d, &t)?),
        _ => None,
    };
    Ok((half_life, injection.zip(start).map(|(i, s)| s - i)))
}

/// Item `i` (1-based, as frame vectors count) of a sequence.
fn sequence_item<'a>(
    items: &'a [dicom_object::InMemDicomObject],
    i: i64,
    tag: Tag,
    path: &Path,
) -> Result<&'a dicom_object::InMemDicomObject> {
    usize::try_from(i - 1)
        .ok()
        .and_then(|i| items.get(i))
        .ok_or_else(|| {
            dicom_error(
                path,
                Some(tag),
                format!("has {} items; frames refer to item {i}", items.len()),
            )
        })
}

/// Reads a reconstructed NM volume (SPECT): a series of single-frame NM slices (as tomors
/// writes them), sorted and checked as CT slices are, or one multi-frame NM object whose
/// frames are the slices (Image Type `RECON TOMO`). In the multi-frame case the frames follow
/// each other along the normal (row × column direction) of Image Orientation (Patient),
/// Spacing Between Slices (else Slice Thickness) apart, starting at Image Position (Patient);
/// both are read at the top level or, failing that, from the Detector Information Sequence.
/// The largest NM series under `path` is read, or the one `select` names.
///
/// # Errors
/// [`crate::Error::Dicom`] / [`crate::Error::Io`] naming the file and attribute.
pub fn read_nm_volume(
    path: &Path,
    select: &SeriesSelect,
    limits: &ReadLimits,
) -> Result<SliceVolume> {
    let found = scan(path, limits)?;
    let info = series::select(&found, path, "NM", select)?;
    if !(info.files.len() == 1 && info.frames > 1) {
        return series::read_slices(info, limits);
    }
    let file = &info.files[0];
    let obj = open(file, limits, true)?;
    let a = Attrs::new(&obj, file);
    let kind = a.opt_str(tags::IMAGE_TYPE)?.unwrap_or_default();
    if !kind.contains("RECON") {
        return Err(dicom_error(
            file,
            Some(tags::IMAGE_TYPE),
            format!(
                "is {kind:?}; expected a reconstructed volume (RECON TOMO); projections are read by read_nm_projections"
            ),
        ));
    }
    let iop = plane_attr(a, tags::IMAGE_ORIENTATION_PATIENT, 6)?;
    let ipp = plane_attr(a, tags::IMAGE_POSITION_PATIENT, 3)?;
    let spacing = pixel_spacing(a)?;
    let dz = match a.opt_f64(tags::SPACING_BETWEEN_SLICES)? {
        Some(d) => d,
        None => a.f64(tags::SLICE_THICKNESS)?,
    };
    if dz <= 0.0 {
        return Err(dicom_error(
            file,
            Some(tags::SPACING_BETWEEN_SLICES),
            format!("slice spacing {dz} mm; expected a positive value"),
        ));
    }
    let (shape, values) = rescaled_values(&obj, file, limits)?;
    let row = [iop[0], iop[1], iop[2]];
    let col = [iop[3], iop[4], iop[5]];
    let grid = crate::geometry::PatientGrid::new(
        [shape.frames, shape.rows, shape.cols],
        [dz, spacing[0], spacing[1]],
        [ipp[0], ipp[1], ipp[2]],
        [row, col, cross(row, col)],
    )
    .map_err(|e| dicom_error(file, Some(tags::IMAGE_ORIENTATION_PATIENT), e.to_string()))?;
    let data = Array3::from_shape_vec((shape.frames, shape.rows, shape.cols), values)
        .expect("decoded size checked");
    Ok(SliceVolume {
        data,
        grid,
        files: vec![file.clone()],
        series_uid: info.series_uid.clone(),
        study_uid: info.study_uid.clone(),
        frame_of_reference_uid: info.frame_of_reference_uid.clone(),
        modality: "NM".into(),
        units: a.opt_str(tags::UNITS)?,
    })
}
