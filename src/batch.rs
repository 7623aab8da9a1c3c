//! Batches of studies: every study under a folder tree reconstructed by the pipeline it needs,
//! with the settings of one TOML file, each study's results written atomically into a folder
//! of its own, and a JSON-lines log of what happened.
//!
//! - **Finding studies** ([`find_studies`]): the DICOM files under the input folder, grouped by
//!   study and series ([`crate::io::dicom::scan`]; headers only). A study with NM projections
//!   (Image Type `…\TOMO`, one series per bed) and a CT is SPECT-CT
//!   ([`crate::pipeline::spect_ct`], several beds: [`crate::pipeline::spect_ct_beds`]); one with
//!   a PET series and a CT is PET over CT ([`crate::pipeline::fuse_pet_ct`]). Others are logged
//!   as unsupported, with the reason.
//! - **Atomic results**: a study is reconstructed into `OUTPUT/.<study UID>.partial/`, which is
//!   renamed to `OUTPUT/<study UID>/` only when every file (and `study.json`, its record) is
//!   written. A study whose folder exists is finished and is skipped; a `.partial` folder left
//!   by an interrupted run is removed and the study redone from scratch.
//! - **The log** `OUTPUT/batch.jsonl`: one JSON object per study a run worked on ([`Record`]),
//!   appended and synced as each study ends. A failing study (an error, or a panic inside
//!   the pipeline) is logged and the batch goes on.
//! - **Unreadable files** (not DICOM, or damaged in their headers) belong to no study: each run
//!   lists them with the reason in `OUTPUT/unreadable.json`.
//! - **Inputs** are only read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::io::dicom::{ReadLimits, SeriesInfo, SeriesSelect, scan};
use crate::pipeline::{
    DecayCorrection, FusePetCtOptions, MultiBed, ScatterCorrection, SpectCtOptions, fuse_pet_ct,
    spect_ct, spect_ct_beds,
};

/// A batch's settings, read from TOML ([`Settings::parse`]); every table and key is optional,
/// unknown keys are refused.
///
/// ```toml
/// backend = "auto"          # auto, gpu or cpu
/// workers = 1               # studies at once (tomors batch; a Dask cluster has its own)
///
/// [spect]                   # SPECT-CT studies
/// photopeak_kev = 208.0     # needed for SPECT-CT studies
/// scatter = "tew"           # tew, dew or none
/// iterations = 4
/// subsets = 8
/// post_filter_fwhm = 6.0    # mm
/// beds = "joint"            # joint or stitched
///
/// [pet]                     # PET-over-CT studies
/// suv = true
///
/// [pacs]                    # optional: a PACS (tomors pacs; see crate::pacs::PacsSettings)
/// host = "127.0.0.1"
/// port = 4242
/// ae_title = "ORTHANC"
/// store_results = true      # send each study's DICOM results back before it is done
/// ```
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where to compute: `"auto"` (the GPU when there is one), `"gpu"` or `"cpu"`.
    #[serde(default = "auto")]
    pub backend: String,
    /// Studies reconstructed at once by [`run_batch`], each in a thread of its own; they
    /// share the CPU cores (and the GPU) and each holds its own memory. Default 1.
    #[serde(default = "one")]
    pub workers: usize,
    /// SPECT-CT settings.
    #[serde(default)]
    pub spect: SpectSettings,
    /// PET-over-CT settings.
    #[serde(default)]
    pub pet: PetSettings,
    /// A PACS to pull studies from (`tomors pacs pull`) and send results to.
    #[serde(default)]
    pub pacs: Option<crate::pacs::PacsSettings>,
}

fn auto() -> String {
    "auto".into()
}

fn one() -> usize {
    1
}

/// The `[spect]` table: the settings of [`SpectCtOptions`] a batch can choose.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpectSettings {
    /// Photopeak, keV (no default: SPECT-CT studies fail without it).
    pub photopeak_kev: Option<f64>,
    /// `"tew"`, `"dew"` or `"none"`.
    pub scatter: String,
    /// DEW's ratio k.
    pub dew_k: f64,
    /// Attenuation correction from the CT.
    pub attenuation: bool,
    /// Collimator type instead of the header's (`"megp"`, …).
    pub collimator: Option<String>,
    /// OSEM iterations.
    pub iterations: usize,
    /// OSEM subsets.
    pub subsets: usize,
    /// Gaussian post-filter FWHM, mm.
    pub post_filter_fwhm: Option<f64>,
    /// Counts per second per MBq: images in Bq/mL.
    pub calibration_cps_per_mbq: Option<f64>,
    /// `"start"`, `"injection"` or `"none"`.
    pub decay_correction: String,
    /// Several beds: `"joint"` or `"stitched"`.
    pub beds: String,
    /// Refuse a CT shorter than the body in the emission field of view.
    pub require_full_ct: bool,
}

impl Default for SpectSettings {
    fn default() -> Self {
        let o = SpectCtOptions::new(0.0);
        Self {
            photopeak_kev: None,
            scatter: "tew".into(),
            dew_k: 0.5,
            attenuation: o.attenuation,
            collimator: None,
            iterations: o.iterations,
            subsets: o.subsets,
            post_filter_fwhm: None,
            calibration_cps_per_mbq: None,
            decay_correction: "start".into(),
            beds: "joint".into(),
            require_full_ct: o.require_full_ct,
        }
    }
}

/// The `[pet]` table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PetSettings {
    /// Convert to SUVbw when the header allows.
    pub suv: bool,
    /// Register the CT to the PET.
    pub register: bool,
}

impl Default for PetSettings {
    fn default() -> Self {
        let o = FusePetCtOptions::default();
        Self {
            suv: o.suv,
            register: o.register,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self::parse("").expect("the defaults are valid")
    }
}

impl Settings {
    /// Settings from TOML text.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for TOML that does not parse, unknown keys, values of the
    /// wrong type (the message gives the line and what was expected), or values out of range.
    pub fn parse(text: &str) -> Result<Self> {
        let s: Settings =
            toml::from_str(text).map_err(|e| Error::InvalidArgument(format!("settings: {e}")))?;
        s.spect_options(0.0)?;
        s.backend()?;
        if s.workers == 0 {
            return Err(bad("workers", "0", "at least 1"));
        }
        if let Some(p) = &s.pacs {
            crate::pacs::Pacs::new(p.clone())?;
        }
        Ok(s)
    }

    /// Settings from a TOML file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; as [`Settings::parse`].
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|e| match e {
            // The file's name before the message, the kind's prefix once.
            Error::InvalidArgument(m) => Error::InvalidArgument(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    fn backend(&self) -> Result<Backend> {
        self.backend
            .parse()
            .map_err(|_| bad("backend", &self.backend, "\"auto\", \"gpu\" or \"cpu\""))
    }

    /// The SPECT-CT options, for a photopeak of `kev` (the settings' own when given).
    fn spect_options(&self, kev: f64) -> Result<SpectCtOptions> {
        let s = &self.spect;
        let mut o = SpectCtOptions::new(s.photopeak_kev.unwrap_or(kev));
        o.scatter = match s.scatter.as_str() {
            "tew" => ScatterCorrection::TripleEnergyWindow,
            "dew" => ScatterCorrection::DualEnergyWindow { k: s.dew_k },
            "none" => ScatterCorrection::None,
            other => return Err(bad("spect.scatter", other, "\"tew\", \"dew\" or \"none\"")),
        };
        o.decay_correction = match s.decay_correction.as_str() {
            "start" => DecayCorrection::AcquisitionStart,
            "injection" => DecayCorrection::Injection,
            "none" => DecayCorrection::None,
            other => {
                return Err(bad(
                    "spect.decay_correction",
                    other,
                    "\"start\", \"injection\" or \"none\"",
                ));
            }
        };
        self.beds()?;
        if s.iterations == 0 || s.subsets == 0 {
            return Err(Error::InvalidArgument(format!(
                "settings: spect.iterations {} and spect.subsets {}; expected at least 1 each",
                s.iterations, s.subsets
            )));
        }
        if let Some(k) = s.photopeak_kev
            && !(k.is_finite() && k > 0.0)
        {
            return Err(bad(
                "spect.photopeak_kev",
                &k.to_string(),
                "a positive energy",
            ));
        }
        o.attenuation = s.attenuation;
        o.iterations = s.iterations;
        o.subsets = s.subsets;
        o.post_filter_fwhm = s.post_filter_fwhm;
        o.calibration_cps_per_mbq = s.calibration_cps_per_mbq;
        o.require_full_ct = s.require_full_ct;
        o.backend = self.backend()?;
        Ok(o)
    }

    fn beds(&self) -> Result<MultiBed> {
        match self.spect.beds.as_str() {
            "joint" => Ok(MultiBed::Joint),
            "stitched" => Ok(MultiBed::Stitched),
            other => Err(bad("spect.beds", other, "\"joint\" or \"stitched\"")),
        }
    }
}

fn bad(key: &str, value: &str, expected: &str) -> Error {
    Error::InvalidArgument(format!("settings: {key} is {value:?}; expected {expected}"))
}

/// The pipeline a study needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pipeline {
    /// NM projections (one series per bed) and a CT.
    SpectCt,
    /// A PET series and a CT.
    PetCt,
}

/// A study found under the input folder. It travels as JSON (serde) to the process that
/// reconstructs it (a Dask worker, for `tomors.batch` in Python).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Study {
    /// Study Instance UID.
    pub uid: String,
    /// What it needs, or why nothing can be done with it.
    pub pipeline: std::result::Result<Pipeline, String>,
    /// The NM projection files, one per bed.
    pub nm: Vec<PathBuf>,
    /// The PET series.
    pub pet: Option<SeriesInfo>,
    /// The CT series (the largest of the study).
    pub ct: Option<SeriesInfo>,
}

impl Study {
    /// An upper estimate of the host memory one reconstruction of this study needs, in bytes,
    /// for schedulers that place studies on workers with a memory limit: 7 × the CT's voxels as
    /// f32 per bed (each bed resamples the CT) plus the NM files' size, for SPECT-CT; 7 × the
    /// PET's and CT's voxels as f32 for PET over CT. Calibrated on the real Lu-177 study, whose
    /// measured peaks it exceeds by 1.2× (one bed, 197 CT slices: 1.15 GiB) and 1.8× (two
    /// beds jointly, 303 slices: 2.25 GiB, the CT shared by the beds).
    pub fn memory_estimate_bytes(&self) -> u64 {
        let f32_bytes = |s: &Option<SeriesInfo>| {
            s.as_ref()
                .map_or(0, |s| (s.rows * s.cols * s.frames.max(1) * 4) as u64)
        };
        match self.pipeline {
            Ok(Pipeline::SpectCt) => {
                let nm: u64 = self
                    .nm
                    .iter()
                    .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
                    .sum();
                7 * f32_bytes(&self.ct) * self.nm.len() as u64 + nm
            }
            Ok(Pipeline::PetCt) => 7 * (f32_bytes(&self.ct) + f32_bytes(&self.pet)),
            Err(_) => 0,
        }
    }
}

/// What [`find_studies`] found.
#[derive(Debug, Clone)]
pub struct Found {
    /// The studies, in the order of their UIDs.
    pub studies: Vec<Study>,
    /// Files that are not readable DICOM, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// The studies under `input` (a folder searched recursively).
///
/// # Errors
/// As [`scan`]: no readable DICOM file at all, or more files than `limits` allow.
pub fn find_studies(input: &Path, limits: &ReadLimits) -> Result<Found> {
    let found = scan(input, limits)?;
    let mut by_study: std::collections::BTreeMap<String, Vec<SeriesInfo>> = Default::default();
    for s in found.series {
        // A series without a study UID is a study of its own (it cannot be paired).
        let key = s
            .study_uid
            .clone()
            .unwrap_or_else(|| format!("no-study-uid-{}", s.series_uid));
        by_study.entry(key).or_default().push(s);
    }
    let studies = by_study
        .into_iter()
        .map(|(uid, series)| {
            let tomo = |s: &&SeriesInfo| {
                s.modality == "NM"
                    && s.image_type
                        .as_deref()
                        .and_then(|t| t.split('\\').nth(2))
                        .is_some_and(|k| k.trim() == "TOMO")
            };
            // Series come largest first.
            let nm: Vec<PathBuf> = series
                .iter()
                .filter(tomo)
                .flat_map(|s| s.files.iter().cloned())
                .collect();
            let pet = series.iter().find(|s| s.modality == "PT").cloned();
            let ct = series.iter().find(|s| s.modality == "CT").cloned();
            let pipeline = match (nm.is_empty(), &pet, &ct) {
                (false, _, Some(_)) => Ok(Pipeline::SpectCt),
                (true, Some(_), Some(_)) => Ok(Pipeline::PetCt),
                (false, _, None) | (true, Some(_), None) => {
                    Err("no CT series in the study".to_string())
                }
                (true, None, _) => Err(format!(
                    "neither NM projections nor a PET series (series: {})",
                    series
                        .iter()
                        .map(|s| s.modality.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            };
            Study {
                uid,
                pipeline,
                nm,
                pet,
                ct,
            }
        })
        .collect();
    Ok(Found {
        studies,
        unreadable: found.skipped,
    })
}

/// How a study ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Reconstructed; its folder holds every output.
    Done,
    /// An error (or a panic) in its pipeline; nothing of it is left in the output.
    Failed,
    /// No pipeline fits the study (the record says why).
    Unsupported,
}

impl Status {
    /// `"done"`, `"failed"` or `"unsupported"`, as in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Done => "done",
            Status::Failed => "failed",
            Status::Unsupported => "unsupported",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of the batch log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Study Instance UID.
    pub study: String,
    /// The pipeline run (`None` for an unsupported study).
    pub pipeline: Option<Pipeline>,
    /// How it ended.
    pub status: Status,
    /// Seconds spent on the study.
    pub seconds: f64,
    /// What the user should know about the result.
    pub warnings: Vec<String>,
    /// The files written, relative to the study's folder.
    pub outputs: Vec<PathBuf>,
    /// Why the study failed or is unsupported.
    pub error: Option<String>,
    /// DICOM files sent to the PACS (`[pacs] store_results`); `None` when not asked or when
    /// sending failed (a warning says why; the files stay in the study's folder, and
    /// `tomors pacs store` sends them later).
    #[serde(default)]
    pub sent_to_pacs: Option<usize>,
}

/// What [`run_batch`] did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The records of the studies worked on (also in the log).
    pub records: Vec<Record>,
    /// Studies finished by an earlier run, skipped.
    pub already_done: Vec<String>,
    /// Files under the input that are not readable DICOM.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// What [`run_batch`] tells its progress callback.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// The studies were found.
    Found {
        /// Studies in all.
        studies: usize,
    },
    /// A study starts (`index` from 0).
    Start {
        /// Its position.
        index: usize,
        /// Its UID.
        study: &'a str,
    },
    /// A study ended (or was skipped, already done).
    End {
        /// Its position.
        index: usize,
        /// Its UID.
        study: &'a str,
        /// `"done"`, `"failed"`, `"unsupported"` or `"already done"`.
        status: &'a str,
    },
}

/// A batch ready to run ([`plan_batch`]): the output folder exists, the studies are found.
#[derive(Debug, Clone, Default)]
pub struct Planned {
    /// Studies to reconstruct (no folder of theirs in the output yet), in the order of their
    /// UIDs.
    pub pending: Vec<Study>,
    /// Studies finished by an earlier run.
    pub already_done: Vec<String>,
    /// Files under the input that are not readable DICOM, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Checks the folders, creates `output` and finds the studies under `input`: the first step
/// of [`run_batch`], and of any runner that spreads [`run_study`] over processes or machines
/// (each study's results go to its own folder, so studies may run at once in any order; the
/// log is written by one process, with [`log_record`]).
///
/// # Errors
/// [`Error::InvalidArgument`] for an output folder inside the input folder (its results would
/// be read as input) or equal to it; [`Error::Io`] when the output folder cannot be made;
/// what [`find_studies`] reports.
pub fn plan_batch(input: &Path, output: &Path) -> Result<Planned> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let (inside, outside) = (input.canonicalize().map_err(io(input))?, resolved(output)?);
    if outside.starts_with(&inside) {
        return Err(Error::InvalidArgument(format!(
            "the output folder {} lies inside the input folder {}; its results would be read as \
             studies: choose a folder outside it",
            output.display(),
            input.display()
        )));
    }
    std::fs::create_dir_all(output).map_err(io(output))?;
    let found = find_studies(input, &ReadLimits::default())?;
    log_unreadable(output, &found.unreadable)?;
    let (done, pending): (Vec<Study>, Vec<Study>) = found
        .studies
        .into_iter()
        .partition(|s| output.join(&s.uid).is_dir());
    Ok(Planned {
        pending,
        already_done: done.into_iter().map(|s| s.uid).collect(),
        unreadable: found.unreadable,
    })
}

/// Reconstructs every study under `input` into `output`, [`Settings::workers`] at once (see
/// the module docs). The records come in the order of the studies' UIDs; the log in the order
/// the studies end.
///
/// # Errors
/// As [`plan_batch`]; [`Error::Io`] when the log cannot be written (the studies under way
/// finish first). A study's own failure is not an error: it is logged.
pub fn run_batch(
    settings: &Settings,
    input: &Path,
    output: &Path,
    mut progress: Option<&mut (dyn FnMut(Event<'_>) + Send)>,
) -> Result<Report> {
    let mut tell = |e: Event<'_>| {
        if let Some(p) = progress.as_deref_mut() {
            p(e)
        }
    };
    let planned = plan_batch(input, output)?;
    tell(Event::Found {
        studies: planned.pending.len() + planned.already_done.len(),
    });
    for (index, study) in planned.already_done.iter().enumerate() {
        tell(Event::End {
            index,
            study,
            status: "already done",
        });
    }
    let skipped = planned.already_done.len();
    let pending = &planned.pending;
    // Studies are handed out in order; the log and the progress are written by one worker at
    // a time.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let shared = std::sync::Mutex::new((tell, Vec::new(), None::<Error>));
    let worker = || {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(study) = pending.get(i) else { break };
            let lock = || shared.lock().unwrap_or_else(|p| p.into_inner());
            (lock().0)(Event::Start {
                index: skipped + i,
                study: &study.uid,
            });
            let record = run_study(settings, study, output);
            let mut guard = lock();
            let (tell, records, failed) = &mut *guard;
            if let Err(e) = log_record(output, &record) {
                failed.get_or_insert(e);
                next.store(pending.len(), std::sync::atomic::Ordering::Relaxed);
            }
            tell(Event::End {
                index: skipped + i,
                study: &study.uid,
                status: record.status.as_str(),
            });
            records.push((i, record));
        }
    };
    let workers = settings.workers.clamp(1, pending.len().max(1));
    if workers == 1 {
        worker();
    } else {
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(worker);
            }
        });
    }
    let (_, mut records, failed) = shared.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = failed {
        return Err(e);
    }
    records.sort_by_key(|(i, _)| *i);
    Ok(Report {
        records: records.into_iter().map(|(_, r)| r).collect(),
        already_done: planned.already_done,
        unreadable: planned.unreadable,
    })
}

/// Reconstructs one study into `output/<uid>/`, through `output/.<uid>.partial/` (removed
/// first if an interrupted run left it), and returns its record; a failure (an error, or a
/// panic in the pipeline) is in the record, with nothing of the study left in `output`.
pub fn run_study(settings: &Settings, study: &Study, output: &Path) -> Record {
    let t = Instant::now();
    let mut record = Record::of(study);
    let pipeline = match &study.pipeline {
        Ok(p) => *p,
        Err(why) => {
            record.status = Status::Unsupported;
            record.error = Some(why.clone());
            return record;
        }
    };
    let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::io::fill_folder_atomically(&output.join(&study.uid), |partial| {
            let (warnings, outputs) = reconstruct(settings, study, pipeline, partial)?;
            record.seconds = t.elapsed().as_secs_f64();
            record.warnings = warnings;
            record.outputs = outputs;
            if let Some(p) = settings.pacs.as_ref().filter(|p| p.store_results) {
                send_results(p, partial, &mut record);
            }
            let json = serde_json::to_string_pretty(&(&record, settings))
                .map_err(|e| Error::InvalidArgument(format!("study record: {e}")))?;
            crate::io::write_atomically(&partial.join("study.json"), |p| {
                std::fs::write(p, json).map_err(|source| Error::Io {
                    path: p.to_path_buf(),
                    source,
                })
            })
        })
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown".into());
        Err(Error::InvalidArgument(format!(
            "the pipeline panicked ({what}); please report it"
        )))
    });
    if let Err(e) = finished {
        record.seconds = t.elapsed().as_secs_f64();
        record.status = Status::Failed;
        record.error = Some(e.to_string());
        record.outputs.clear();
    }
    record
}

/// The record of a study that ended elsewhere without one of its own (its process was killed
/// more often than the runner retries, say): failed with `why`, and the `.partial` folder it
/// may have left removed.
pub fn failed_elsewhere(study: &Study, output: &Path, why: String) -> Record {
    let _ = std::fs::remove_dir_all(crate::io::partial_folder(&output.join(&study.uid)));
    Record {
        status: Status::Failed,
        error: Some(why),
        ..Record::of(study)
    }
}

impl Record {
    /// A study's record before it runs: done, nothing written yet.
    fn of(study: &Study) -> Self {
        Record {
            study: study.uid.clone(),
            pipeline: study.pipeline.clone().ok(),
            status: Status::Done,
            seconds: 0.0,
            warnings: Vec::new(),
            outputs: Vec::new(),
            error: None,
            sent_to_pacs: None,
        }
    }
}

/// Sends the study's DICOM outputs (in `folder`) to the PACS; a failure becomes a warning.
fn send_results(settings: &crate::pacs::PacsSettings, folder: &Path, record: &mut Record) {
    let files: Vec<PathBuf> = record
        .outputs
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "dcm"))
        .map(|f| folder.join(f))
        .collect();
    let sent = crate::pacs::Pacs::new(settings.clone()).and_then(|p| p.store(&files));
    match sent {
        Ok(n) => record.sent_to_pacs = Some(n),
        Err(e) => record.warnings.push(format!(
            "results not sent to the PACS ({e}); they are in the study's folder: \
             `tomors pacs store` sends them"
        )),
    }
}

/// Runs the study's pipeline, writing into `folder`; its warnings and the files written
/// (relative to `folder`).
fn reconstruct(
    settings: &Settings,
    study: &Study,
    pipeline: Pipeline,
    folder: &Path,
) -> Result<(Vec<String>, Vec<PathBuf>)> {
    let ct = study.ct.as_ref().expect("a pipeline needs a CT");
    let ct_dir = common_folder(&ct.files);
    let relative = |paths: Vec<PathBuf>| -> Vec<PathBuf> {
        paths
            .into_iter()
            .map(|p| p.strip_prefix(folder).map(Path::to_path_buf).unwrap_or(p))
            .collect()
    };
    match pipeline {
        Pipeline::SpectCt => {
            let kev = settings.spect.photopeak_kev.ok_or_else(|| {
                Error::InvalidArgument(
                    "a SPECT-CT study, and the settings give no spect.photopeak_kev".into(),
                )
            })?;
            let mut o = settings.spect_options(kev)?;
            o.ct_series = SeriesSelect::Uid(ct.series_uid.clone());
            if let Some(name) = &settings.spect.collimator {
                o.collimator = Some(crate::geometry::Collimator::for_camera(None, name, kev)?);
            }
            if study.nm.len() == 1 {
                let r = spect_ct(&study.nm[0], &ct_dir, &o, None)?;
                let f = r.write(folder)?;
                let mut files = f.dicom;
                files.extend([f.nifti, f.summary_png]);
                files.extend(f.mu_map_nifti);
                Ok((r.warnings, relative(files)))
            } else {
                let r = spect_ct_beds(&study.nm, &ct_dir, &o, settings.beds()?, None)?;
                let f = r.write(folder)?;
                let mut files = f.dicom;
                files.extend([f.nifti, f.summary_png]);
                let warnings = r.beds.iter().flat_map(|b| b.warnings.clone()).collect();
                Ok((warnings, relative(files)))
            }
        }
        Pipeline::PetCt => {
            let pet = study
                .pet
                .as_ref()
                .expect("a PET-over-CT study has a PET series");
            let o = FusePetCtOptions {
                suv: settings.pet.suv,
                register: settings.pet.register,
                pet_series: SeriesSelect::Uid(pet.series_uid.clone()),
                ct_series: SeriesSelect::Uid(ct.series_uid.clone()),
                backend: settings.backend()?,
                ..FusePetCtOptions::default()
            };
            let r = fuse_pet_ct(&common_folder(&pet.files), &ct_dir, &o)?;
            let f = r.write(folder)?;
            Ok((r.warnings, relative(vec![f.nifti, f.summary_png])))
        }
    }
}

/// `path` made absolute with links resolved, for a path that may not exist yet: its deepest
/// existing ancestor canonicalised, the rest appended.
fn resolved(path: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut out = existing.canonicalize().map_err(|source| Error::Io {
        path: existing.to_path_buf(),
        source,
    })?;
    out.extend(rest.iter().rev());
    Ok(out)
}

/// The deepest folder holding every one of `files`.
fn common_folder(files: &[PathBuf]) -> PathBuf {
    let mut common = files[0].parent().unwrap_or(Path::new(".")).to_path_buf();
    for f in &files[1..] {
        while !f.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    common
}

/// Writes `output/unreadable.json` (atomically, replacing an earlier run's): the files under
/// the input that are not readable DICOM, as `[{"file": …, "reason": …}]`, empty when all are.
fn log_unreadable(output: &Path, unreadable: &[(PathBuf, String)]) -> Result<()> {
    let list: Vec<_> = unreadable
        .iter()
        .map(|(file, reason)| serde_json::json!({ "file": file, "reason": reason }))
        .collect();
    let json = serde_json::to_string_pretty(&list)
        .map_err(|e| Error::InvalidArgument(format!("unreadable files: {e}")))?;
    crate::io::write_atomically(&output.join("unreadable.json"), |p| {
        std::fs::write(p, json).map_err(|source| Error::Io {
            path: p.to_path_buf(),
            source,
        })
    })
}

/// Appends `record` to the batch's log, `output/batch.jsonl`, as one JSON line, synced.
///
/// # Errors
/// [`Error::Io`] when the log cannot be written.
pub fn log_record(output: &Path, record: &Record) -> Result<()> {
    let log = &output.join("batch.jsonl");
    let io = |source| Error::Io {
        path: log.to_path_buf(),
        source,
    };
    let mut line = serde_json::to_string(record)
        .map_err(|e| Error::InvalidArgument(format!("batch log: {e}")))?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io)?;
    f.write_all(line.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_refuse_unknown_keys_and_wrong_types() {
        let s = Settings::parse(
            "backend = \"cpu\"\n[spect]\nphotopeak_kev = 208.0\niterations = 2\nbeds = \"stitched\"\n",
        )
        .unwrap();
        assert_eq!(s.spect.iterations, 2);
        assert_eq!(s.spect.subsets, 8);
        assert_eq!(s.beds().unwrap(), MultiBed::Stitched);
        assert!(Settings::parse("").is_ok());
        let fails = |text: &str, expect: &str| {
            let e = Settings::parse(text).unwrap_err().to_string();
            assert!(e.contains(expect), "expected {expect:?} in: {e}");
        };
        fails("[spect]\nphotopeak = 208\n", "unknown field `photopeak`");
        fails("[spect]\niterations = \"four\"\n", "invalid type");
        fails("[spect]\niterations = \"four\"\n", "line 2");
        fails("[spekt]\n", "unknown field `spekt`");
        fails("backend = \"tpu\"\n", "backend is \"tpu\"");
        fails("[spect]\nscatter = \"magic\"\n", "spect.scatter");
        fails("[spect]\nbeds = \"sideways\"\n", "spect.beds");
        fails("[spect]\niterations = 0\n", "at least 1");
        fails("[spect]\nphotopeak_kev = -5.0\n", "positive energy");
        fails("[pet]\nsuv = 1\n", "invalid type");
        fails("this is not toml", "settings");
        let pacs = "[pacs]\nhost = \"127.0.0.1\"\nport = 104\nae_title = \"PACS\"\n";
        let s = Settings::parse(pacs).unwrap();
        assert_eq!(s.pacs.as_ref().unwrap().calling_ae_title, "TOMORS");
        assert!(!s.pacs.unwrap().store_results);
        fails(&format!("{pacs}aet = \"X\"\n"), "unknown field `aet`");
        fails(
            "[pacs]\nhost = \"h\"\nport = 104\n",
            "missing field `ae_title`",
        );
        fails(&pacs.replace("104", "\"104\""), "invalid type");
        fails(
            &pacs.replace("\"PACS\"", "\"FAR_TOO_LONG_AE_TITLE\""),
            "pacs.ae_title",
        );
    }

    #[test]
    fn the_common_folder_of_files() {
        let f = |s: &str| PathBuf::from(s);
        assert_eq!(
            common_folder(&[f("/a/b/c/1.dcm"), f("/a/b/c/2.dcm")]),
            f("/a/b/c")
        );
        assert_eq!(
            common_folder(&[f("/a/b/c/1.dcm"), f("/a/b/d/2.dcm")]),
            f("/a/b")
        );
        assert_eq!(common_folder(&[f("/a/1.dcm")]), f("/a"));
    }
}
