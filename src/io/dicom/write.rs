//! Writing a reconstructed volume as a DICOM series a PACS accepts and a viewer lays over the
//! CT.
//!
//! One file per slice, in the modality's own storage class (PET Image Storage for PT, CT Image
//! Storage for CT, NM Image Storage for NM with one frame per file and Image Type
//! `RECON TOMO`): single-slice files are what every PACS, viewer and fusion tool reads, each
//! carrying its own Image Position (Patient), so no multi-frame geometry has to be interpreted.
//! Voxels are stored as 16-bit integers with a per-slice rescale slope chosen from the slice's
//! largest magnitude (unsigned when the slice has no negative value), so each slice keeps
//! 15–16 significant bits of its float values. New Series and SOP Instance UIDs are made
//! (`2.25.` + 128 random bits); the Study Instance UID, Frame of Reference UID and patient
//! identity are copied from the reference so the series files with its study and overlays its
//! CT.

use std::path::{Path, PathBuf};

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use ndarray::ArrayView3;

use super::attrs::{Attrs, ReadLimits, open};
use super::errors::dicom_error;
use crate::error::{Error, Result};
use crate::geometry::PatientGrid;
use crate::io::clock::dicom_date_time;
use crate::io::write_atomically;

/// Modality of a written series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteModality {
    /// NM Image Storage, `RECON TOMO` (SPECT reconstructions).
    Nm,
    /// PET Image Storage.
    Pt,
    /// CT Image Storage (e.g. a resampled CT or a μ-map in HU).
    Ct,
}

impl WriteModality {
    fn code(self) -> &'static str {
        match self {
            Self::Nm => "NM",
            Self::Pt => "PT",
            Self::Ct => "CT",
        }
    }
    fn sop_class(self) -> &'static str {
        match self {
            Self::Nm => uids::NUCLEAR_MEDICINE_IMAGE_STORAGE,
            Self::Pt => uids::POSITRON_EMISSION_TOMOGRAPHY_IMAGE_STORAGE,
            Self::Ct => uids::CT_IMAGE_STORAGE,
        }
    }
}

/// The study a written series belongs to, read from one of its files (a CT slice, the NM
/// projections).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reference {
    /// Study Instance UID (kept: the series files under the same study).
    pub study_uid: Option<String>,
    /// Frame of Reference UID (kept: viewers overlay series of one frame of reference).
    pub frame_of_reference_uid: Option<String>,
    /// Patient's Name, ID, Birth Date and Sex, copied as given.
    pub patient: Vec<(Tag, String)>,
    /// Study Date, Study Time, Study ID, Accession Number, Referring Physician's Name.
    pub study: Vec<(Tag, String)>,
}

const PATIENT_TAGS: [Tag; 4] = [
    tags::PATIENT_NAME,
    tags::PATIENT_ID,
    tags::PATIENT_BIRTH_DATE,
    tags::PATIENT_SEX,
];
const STUDY_TAGS: [Tag; 5] = [
    tags::STUDY_DATE,
    tags::STUDY_TIME,
    tags::STUDY_ID,
    tags::ACCESSION_NUMBER,
    tags::REFERRING_PHYSICIAN_NAME,
];

impl Reference {
    /// Reads the study, frame of reference and patient attributes from a DICOM file.
    ///
    /// # Errors
    /// [`Error::Dicom`] / [`Error::Io`] when the file cannot be read.
    pub fn from_file(path: &Path) -> Result<Self> {
        let obj = open(path, &ReadLimits::default(), false)?;
        let a = Attrs::new(&obj, path);
        let pick = |tags: &[Tag]| -> Result<Vec<(Tag, String)>> {
            let mut out = Vec::new();
            for &t in tags {
                if let Some(v) = a.opt_str(t)? {
                    out.push((t, v));
                }
            }
            Ok(out)
        };
        Ok(Self {
            study_uid: a.opt_str(tags::STUDY_INSTANCE_UID)?,
            frame_of_reference_uid: a.opt_str(tags::FRAME_OF_REFERENCE_UID)?,
            patient: pick(&PATIENT_TAGS)?,
            study: pick(&STUDY_TAGS)?,
        })
    }
}

/// Settings of a written series.
#[derive(Debug, Clone)]
pub struct SeriesWriter {
    /// Storage class and Modality.
    pub modality: WriteModality,
    /// Series Description (0008,103E).
    pub description: String,
    /// Series Number (0020,0011).
    pub series_number: u32,
    /// Units of the voxel values, written to Units (0054,1001) for NM and PT (e.g. `"BQML"`,
    /// `"CNTS"`, `"PROPCNTS"`) and into the description; CT values are HU by definition.
    pub units: String,
    /// The study and frame of reference the series belongs to; without one, new study and
    /// frame-of-reference UIDs are made.
    pub reference: Option<Reference>,
    /// For PT: the PET Series, Isotope and Image attributes of a quantitative series.
    pub pet: Option<PetTags>,
}

/// The attributes a PET viewer reads a PT series' quantitation from (PET Series, PET Isotope,
/// PET Image and Patient Study modules). Times are seconds since 1970-01-01 00:00 on the
/// site's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct PetTags {
    /// The acquisition's start: Series and Acquisition Date/Time, the reference of Decay
    /// Correction `START` (QIBA's SUV reference time).
    pub series_start_s: f64,
    /// Timezone Offset From UTC (0008,0201), `±HHMM`, when known.
    pub utc_offset: Option<String>,
    /// Actual Frame Duration (0018,1242), s (written in ms).
    pub frame_duration_s: f64,
    /// Frame Reference Time (0054,1300): when the activity equals the frame's mean, s after
    /// the series start (written in ms).
    pub frame_reference_s: f64,
    /// Decay Correction (0054,1102): `START` (voxels decay-corrected to the series start) or
    /// `NONE`.
    pub decay_correction: &'static str,
    /// Decay Factor (0054,1321), with `START`.
    pub decay_factor: Option<f64>,
    /// Dose Calibration Factor (0054,1322): the scanner calibration applied, Bq·s/mL per
    /// image unit.
    pub dose_calibration_factor: Option<f64>,
    /// Corrected Image (0028,0051): `DECY`, `ATTN`, `SCAT`, `RAN`, `NORM`, `DTIM` as applied.
    pub corrected: Vec<&'static str>,
    /// Randoms Correction Method (0054,1100), e.g. `DLYD`.
    pub randoms_correction: Option<String>,
    /// Attenuation Correction Method (0054,1101).
    pub attenuation_correction: Option<String>,
    /// Scatter Correction Method (0054,1105).
    pub scatter_correction: Option<String>,
    /// Reconstruction Method (0054,1103).
    pub reconstruction_method: String,
    /// The radionuclide (Radionuclide Half Life, Positron Fraction).
    pub nuclide: Option<crate::physics::Radionuclide>,
    /// Radiopharmaceutical (0018,0031).
    pub radiopharmaceutical: Option<String>,
    /// Radiopharmaceutical Start DateTime (0018,1078): the injection.
    pub injection_s: Option<f64>,
    /// Radionuclide Total Dose (0018,1074): injected activity, Bq.
    pub injected_activity_bq: Option<f64>,
    /// Patient's Weight (0010,1030), kg.
    pub patient_weight_kg: Option<f64>,
    /// Patient's Size (0010,1020), m.
    pub patient_size_m: Option<f64>,
    /// Patient's Sex (0010,0040), `M` or `F` (over the reference's).
    pub patient_sex: Option<&'static str>,
}

impl PetTags {
    /// Puts the attributes into slice `index` (0-based) of a series.
    fn put(&self, obj: &mut InMemDicomObject, index: usize, slices: usize) {
        let (date, time) = dicom_date_time(self.series_start_s);
        for (tag, vr, v) in [
            (tags::SERIES_DATE, VR::DA, &date),
            (tags::SERIES_TIME, VR::TM, &time),
            (tags::ACQUISITION_DATE, VR::DA, &date),
            (tags::ACQUISITION_TIME, VR::TM, &time),
        ] {
            obj.put(el(tag, vr, v.as_str()));
        }
        if let Some(z) = &self.utc_offset {
            obj.put(el(tags::TIMEZONE_OFFSET_FROM_UTC, VR::SH, z.as_str()));
        }
        obj.put(el(tags::SERIES_TYPE, VR::CS, "STATIC\\IMAGE"));
        obj.put(el(tags::COUNTS_SOURCE, VR::CS, "EMISSION"));
        obj.put(el(
            tags::NUMBER_OF_SLICES,
            VR::US,
            slices.min(65_535) as u16,
        ));
        obj.put(el(
            tags::IMAGE_INDEX,
            VR::US,
            (index + 1).min(65_535) as u16,
        ));
        obj.put(el(tags::DECAY_CORRECTION, VR::CS, self.decay_correction));
        obj.put(el(
            tags::CORRECTED_IMAGE,
            VR::CS,
            self.corrected.join("\\").as_str(),
        ));
        obj.put(el(tags::COLLIMATOR_TYPE, VR::CS, "NONE"));
        obj.put(el(
            tags::RECONSTRUCTION_METHOD,
            VR::LO,
            self.reconstruction_method.as_str(),
        ));
        for (tag, v) in [
            (tags::RANDOMS_CORRECTION_METHOD, &self.randoms_correction),
            (
                tags::ATTENUATION_CORRECTION_METHOD,
                &self.attenuation_correction,
            ),
            (tags::SCATTER_CORRECTION_METHOD, &self.scatter_correction),
        ] {
            if let Some(v) = v {
                let vr = if tag == tags::RANDOMS_CORRECTION_METHOD {
                    VR::CS
                } else {
                    VR::LO
                };
                obj.put(el(tag, vr, v.as_str()));
            }
        }
        obj.put(ds(
            tags::FRAME_REFERENCE_TIME,
            &[self.frame_reference_s * 1e3],
        ));
        obj.put(el(
            tags::ACTUAL_FRAME_DURATION,
            VR::IS,
            format!("{}", (self.frame_duration_s * 1e3).round()).as_str(),
        ));
        if let Some(f) = self.decay_factor {
            obj.put(ds(tags::DECAY_FACTOR, &[f]));
        }
        if let Some(f) = self.dose_calibration_factor {
            obj.put(ds(tags::DOSE_CALIBRATION_FACTOR, &[f]));
        }
        for (tag, v) in [
            (tags::PATIENT_WEIGHT, self.patient_weight_kg),
            (tags::PATIENT_SIZE, self.patient_size_m),
        ] {
            match v {
                Some(v) => obj.put(ds(tag, &[v])),
                None => obj.put(el(tag, VR::DS, PrimitiveValue::Empty)),
            };
        }
        if let Some(sex) = self.patient_sex {
            obj.put(el(tags::PATIENT_SEX, VR::CS, sex));
        }
        let mut r = InMemDicomObject::new_empty();
        if let Some(name) = &self.radiopharmaceutical {
            r.put(el(tags::RADIOPHARMACEUTICAL, VR::LO, name.as_str()));
        }
        if let Some(t) = self.injection_s {
            let (d, tm) = dicom_date_time(t);
            r.put(el(
                tags::RADIOPHARMACEUTICAL_START_TIME,
                VR::TM,
                tm.as_str(),
            ));
            r.put(el(
                tags::RADIOPHARMACEUTICAL_START_DATE_TIME,
                VR::DT,
                format!("{d}{tm}").as_str(),
            ));
        }
        if let Some(a) = self.injected_activity_bq {
            r.put(ds(tags::RADIONUCLIDE_TOTAL_DOSE, &[a]));
        }
        if let Some(n) = &self.nuclide {
            r.put(ds(tags::RADIONUCLIDE_HALF_LIFE, &[n.half_life_s()]));
            r.put(ds(
                tags::RADIONUCLIDE_POSITRON_FRACTION,
                &[n.positron_fraction()],
            ));
        }
        r.put(DataElement::new(
            tags::RADIONUCLIDE_CODE_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(Vec::<InMemDicomObject>::new()),
        ));
        obj.put(DataElement::new(
            tags::RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![r]),
        ));
        for tag in [
            tags::PATIENT_ORIENTATION_CODE_SEQUENCE,
            tags::PATIENT_GANTRY_RELATIONSHIP_CODE_SEQUENCE,
        ] {
            obj.put(DataElement::new(
                tag,
                VR::SQ,
                DataSetSequence::from(Vec::<InMemDicomObject>::new()),
            ));
        }
    }
}

impl SeriesWriter {
    /// A writer for `modality` with the given units, a default description and series
    /// number 1001, and no reference.
    pub fn new(modality: WriteModality, units: &str) -> Self {
        Self {
            modality,
            description: "tomors reconstruction".into(),
            series_number: 1001,
            units: units.into(),
            reference: None,
            pet: None,
        }
    }

    /// The same writer with a reference study.
    pub fn with_reference(mut self, reference: Reference) -> Self {
        self.reference = Some(reference);
        self
    }

    /// The files a series of `slices` slices takes in `folder`, refused when the folder is a
    /// file or any of them exists already: what [`SeriesWriter::write`] checks first, for a
    /// caller to check before the work that makes the volume.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the file in the way.
    pub fn check_target(folder: &Path, slices: usize) -> Result<Vec<PathBuf>> {
        if folder.exists() && !folder.is_dir() {
            return Err(Error::InvalidArgument(format!(
                "{} is a file; a DICOM series is written into a folder",
                folder.display()
            )));
        }
        let files: Vec<PathBuf> = (0..slices)
            .map(|i| folder.join(format!("slice_{:04}.dcm", i + 1)))
            .collect();
        crate::io::refuse_existing(files.iter().map(PathBuf::as_path))?;
        Ok(files)
    }

    /// Writes `volume` (`[slices, rows, cols]`, placed by `grid`) into `folder` as
    /// `slice_0001.dcm`, ... (the folder is created when missing). Each file is written
    /// atomically; existing files are never overwritten.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] when `volume` and `grid` disagree; [`Error::NonFinite`] for NaN
    /// or infinite voxels; [`Error::InvalidArgument`] when a target file exists already;
    /// [`Error::Io`] / [`Error::Dicom`] when writing fails.
    pub fn write(
        &self,
        volume: ArrayView3<'_, f32>,
        grid: &PatientGrid,
        folder: &Path,
    ) -> Result<WrittenSeries> {
        if volume.shape() != grid.shape {
            return Err(Error::ShapeMismatch {
                what: "volume written as DICOM",
                expected: grid.shape.to_vec(),
                got: volume.shape().to_vec(),
            });
        }
        if let Some(index) = volume.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "volume written as DICOM",
                index,
            });
        }
        let [n, rows, cols] = grid.shape;
        if rows > 65_535 || cols > 65_535 {
            return Err(Error::InvalidArgument(format!(
                "slices of {rows}×{cols} do not fit DICOM's 16-bit Rows/Columns"
            )));
        }
        let files = Self::check_target(folder, n)?;
        std::fs::create_dir_all(folder).map_err(|source| Error::Io {
            path: folder.to_path_buf(),
            source,
        })?;
        let reference = self.reference.clone().unwrap_or_default();
        let study_uid = reference.study_uid.clone().unwrap_or_else(new_uid);
        let frame_uid = reference
            .frame_of_reference_uid
            .clone()
            .unwrap_or_else(new_uid);
        let series_uid = new_uid();
        let [dz, dy, dx] = grid.spacing;
        let iop: Vec<f64> = grid.axes[0].iter().chain(&grid.axes[1]).copied().collect();
        let (date, time) = now();

        for (i, (slice, file)) in volume.outer_iter().zip(&files).enumerate() {
            let (stored, slope, signed) = quantise(slice.iter().copied());
            let sop_uid = new_uid();
            let mut obj = InMemDicomObject::new_empty();
            let mut put_str = |tag: Tag, vr: VR, v: &str| {
                obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
            };
            put_str(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
            put_str(
                tags::IMAGE_TYPE,
                VR::CS,
                if self.modality == WriteModality::Nm {
                    "DERIVED\\PRIMARY\\RECON TOMO\\EMISSION"
                } else {
                    "DERIVED\\PRIMARY\\AXIAL"
                },
            );
            put_str(tags::SOP_CLASS_UID, VR::UI, self.modality.sop_class());
            put_str(tags::SOP_INSTANCE_UID, VR::UI, &sop_uid);
            put_str(tags::STUDY_INSTANCE_UID, VR::UI, &study_uid);
            put_str(tags::SERIES_INSTANCE_UID, VR::UI, &series_uid);
            put_str(tags::FRAME_OF_REFERENCE_UID, VR::UI, &frame_uid);
            put_str(tags::MODALITY, VR::CS, self.modality.code());
            put_str(
                tags::SERIES_DESCRIPTION,
                VR::LO,
                &format!("{} [{}]", self.description, self.units),
            );
            put_str(tags::SERIES_NUMBER, VR::IS, &self.series_number.to_string());
            put_str(tags::INSTANCE_NUMBER, VR::IS, &(i + 1).to_string());
            put_str(tags::CONTENT_DATE, VR::DA, &date);
            put_str(tags::CONTENT_TIME, VR::TM, &time);
            put_str(tags::SERIES_DATE, VR::DA, &date);
            put_str(tags::SERIES_TIME, VR::TM, &time);
            put_str(tags::MANUFACTURER, VR::LO, "tomors");
            put_str(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION"));
            put_str(tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
            // Patient and study attributes: the reference's values, else empty (type 2).
            for tag in PATIENT_TAGS.into_iter().chain(STUDY_TAGS) {
                let value = reference
                    .patient
                    .iter()
                    .chain(&reference.study)
                    .find(|(t, _)| *t == tag)
                    .map_or(PrimitiveValue::Empty, |(_, v)| {
                        PrimitiveValue::from(v.as_str())
                    });
                obj.put(DataElement::new(tag, vr_of(tag), value));
            }
            let position = grid.position([i as f64, 0.0, 0.0]);
            obj.put(ds(tags::IMAGE_POSITION_PATIENT, &position));
            obj.put(ds(tags::IMAGE_ORIENTATION_PATIENT, &iop));
            obj.put(ds(tags::PIXEL_SPACING, &[dy, dx]));
            obj.put(ds(tags::SLICE_THICKNESS, &[dz]));
            obj.put(ds(tags::SPACING_BETWEEN_SLICES, &[dz]));
            obj.put(ds(
                tags::SLICE_LOCATION,
                &[crate::geometry::patient::dot(position, grid.axes[2])],
            ));
            obj.put(ds(tags::RESCALE_SLOPE, &[slope]));
            obj.put(ds(tags::RESCALE_INTERCEPT, &[0.0]));
            obj.put(el(
                tags::RESCALE_TYPE,
                VR::LO,
                rescale_type(self.modality, &self.units),
            ));
            if self.modality != WriteModality::Ct {
                obj.put(el(tags::UNITS, VR::CS, self.units.as_str()));
            }
            if self.modality == WriteModality::Nm {
                // NM Multi-frame module with one frame: the Slice Vector indexes it.
                obj.put(el(tags::NUMBER_OF_FRAMES, VR::IS, "1"));
                obj.put(el(
                    tags::FRAME_INCREMENT_POINTER,
                    VR::AT,
                    PrimitiveValue::Tags(vec![tags::SLICE_VECTOR].into()),
                ));
                obj.put(el(tags::SLICE_VECTOR, VR::US, 1_u16));
                obj.put(el(tags::NUMBER_OF_SLICES, VR::US, 1_u16));
                let mut detector = InMemDicomObject::new_empty();
                detector.put(ds(tags::IMAGE_POSITION_PATIENT, &position));
                detector.put(ds(tags::IMAGE_ORIENTATION_PATIENT, &iop));
                obj.put(DataElement::new(
                    tags::DETECTOR_INFORMATION_SEQUENCE,
                    VR::SQ,
                    DataSetSequence::from(vec![detector]),
                ));
            } else {
                obj.put(el(tags::PATIENT_POSITION, VR::CS, "HFS"));
            }
            if let Some(pet) = self
                .pet
                .as_ref()
                .filter(|_| self.modality == WriteModality::Pt)
            {
                pet.put(&mut obj, i, n);
            }
            if self.modality == WriteModality::Ct {
                obj.put(el(tags::KVP, VR::DS, PrimitiveValue::Empty));
                obj.put(el(tags::ACQUISITION_NUMBER, VR::IS, PrimitiveValue::Empty));
            }
            obj.put(el(tags::SAMPLES_PER_PIXEL, VR::US, 1_u16));
            obj.put(el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"));
            obj.put(el(tags::ROWS, VR::US, rows as u16));
            obj.put(el(tags::COLUMNS, VR::US, cols as u16));
            obj.put(el(tags::BITS_ALLOCATED, VR::US, 16_u16));
            obj.put(el(tags::BITS_STORED, VR::US, 16_u16));
            obj.put(el(tags::HIGH_BIT, VR::US, 15_u16));
            obj.put(el(tags::PIXEL_REPRESENTATION, VR::US, u16::from(signed)));
            obj.put(el(
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::U16(stored.into()),
            ));

            let meta = FileMetaTableBuilder::new()
                .media_storage_sop_class_uid(self.modality.sop_class())
                .media_storage_sop_instance_uid(sop_uid.as_str())
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
                .implementation_version_name("TOMORS");
            let file_obj = obj.with_meta(meta).map_err(|e| {
                dicom_error(
                    file,
                    None,
                    format!("cannot attach the file meta group: {e}"),
                )
            })?;
            write_atomically(file, |tmp| {
                let out = std::fs::File::create(tmp).map_err(|source| Error::Io {
                    path: tmp.to_path_buf(),
                    source,
                })?;
                let mut out = std::io::BufWriter::new(out);
                file_obj
                    .write_all(&mut out)
                    .map_err(|e| dicom_error(file, None, format!("cannot be written: {e}")))?;
                std::io::Write::flush(&mut out).map_err(|source| Error::Io {
                    path: tmp.to_path_buf(),
                    source,
                })
            })?;
        }
        Ok(WrittenSeries {
            files,
            series_uid,
            study_uid,
            frame_of_reference_uid: frame_uid,
        })
    }
}

/// What [`SeriesWriter::write`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenSeries {
    /// The files, slice order.
    pub files: Vec<PathBuf>,
    /// The new Series Instance UID.
    pub series_uid: String,
    /// Study Instance UID (the reference's, or a new one).
    pub study_uid: String,
    /// Frame of Reference UID (the reference's, or a new one).
    pub frame_of_reference_uid: String,
}

/// tomors's implementation class UID (a `2.25` UUID-derived OID, fixed).
pub(crate) const IMPLEMENTATION_CLASS_UID: &str = "2.25.157880291614522104950736214425787390071";

fn rescale_type(modality: WriteModality, units: &str) -> &str {
    match modality {
        WriteModality::Ct => "HU",
        _ => units,
    }
}

/// An element of `value`.
fn el(tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, value.into())
}

/// A DS element of several values, formatted within DS's 16 characters.
fn ds(tag: Tag, values: &[f64]) -> DataElement<InMemDicomObject> {
    let strs: Vec<String> = values.iter().map(|v| format_ds(*v)).collect();
    DataElement::new(tag, VR::DS, PrimitiveValue::Strs(strs.into()))
}

/// The shortest decimal of at most 16 characters (DS's limit) closest to `v`.
fn format_ds(v: f64) -> String {
    let plain = format!("{v}");
    if plain.len() <= 16 {
        return plain;
    }
    (0..=15)
        .rev()
        .map(|precision| format!("{v:.precision$e}"))
        .find(|s| s.len() <= 16)
        .unwrap_or_else(|| format!("{v:.0e}"))
}

/// The value representation of the patient and study attributes copied from a reference.
fn vr_of(tag: Tag) -> VR {
    match tag {
        t if t == tags::PATIENT_NAME || t == tags::REFERRING_PHYSICIAN_NAME => VR::PN,
        t if t == tags::PATIENT_BIRTH_DATE || t == tags::STUDY_DATE => VR::DA,
        t if t == tags::STUDY_TIME => VR::TM,
        t if t == tags::PATIENT_SEX => VR::CS,
        t if t == tags::STUDY_ID || t == tags::ACCESSION_NUMBER => VR::SH,
        _ => VR::LO,
    }
}

/// 16-bit stored values and the slope that maps them back: unsigned when nothing is negative.
fn quantise(values: impl Iterator<Item = f32> + Clone) -> (Vec<u16>, f64, bool) {
    let (lo, hi) = values.clone().fold((0.0_f64, 0.0_f64), |(lo, hi), v| {
        (lo.min(v as f64), hi.max(v as f64))
    });
    let signed = lo < 0.0;
    let top = if signed { 32_767.0 } else { 65_535.0 };
    let magnitude = hi.max(-lo);
    let slope = if magnitude > 0.0 {
        magnitude / top
    } else {
        1.0
    };
    // The slope is written as DS; quantise with the value a reader will see.
    let slope: f64 = format_ds(slope).parse().expect("DS text parses");
    let stored = values
        .map(|v| {
            let q = (v as f64 / slope).round().clamp(-top - 1.0, top);
            if signed { (q as i16) as u16 } else { q as u16 }
        })
        .collect();
    (stored, slope, signed)
}

/// A new UID: `2.25.` followed by 128 random bits as a decimal integer (ISO/IEC 9834-8).
fn new_uid() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bits: u128 = 0;
    for half in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        bits |= (h.finish() as u128) << (64 * half);
    }
    // UUID version 4 / variant bits, as 9834-8 asks of a UUID-derived OID.
    bits = (bits & !(0xF << 76)) | (0x4 << 76);
    bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    format!("2.25.{bits}")
}

/// Today's date `YYYYMMDD` and time `HHMMSS` (UTC).
fn now() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    crate::io::clock::dicom_date_time(secs as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_values_fit_and_round_trip_closely() {
        for v in [
            0.0,
            1.0,
            -287.5446,
            4.4196,
            1.0 / 3.0,
            123456.789012345,
            -1e-7,
            2.5e12,
        ] {
            let s = format_ds(v);
            assert!(s.len() <= 16, "{s}");
            let back: f64 = s.parse().unwrap();
            assert!(
                (back - v).abs() <= 1e-9 * v.abs().max(1e-300) + 1e-12,
                "{v} → {s}"
            );
        }
    }

    #[test]
    fn quantisation_keeps_sixteen_bits() {
        let v = [0.0_f32, 0.1, 3.7, 1000.0];
        let (q, slope, signed) = quantise(v.iter().copied());
        assert!(!signed);
        for (a, b) in v.iter().zip(&q) {
            assert!((*b as f64 * slope - *a as f64).abs() <= slope * 0.5 + 1e-9);
        }
        let v = [-5.0_f32, 2.0];
        let (q, slope, signed) = quantise(v.iter().copied());
        assert!(signed);
        assert!(((q[0] as i16) as f64 * slope + 5.0).abs() <= slope);
    }

    #[test]
    fn uids_are_distinct_and_valid() {
        let a = new_uid();
        let b = new_uid();
        assert_ne!(a, b);
        assert!(a.len() <= 64 && a.starts_with("2.25.") && !a[5..].starts_with('0'));
        assert!(a[5..].chars().all(|c| c.is_ascii_digit()));
    }
}
