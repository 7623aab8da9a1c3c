//! The compiled half of `tomors.recon_pet`: 3D PET from the scanner's files to a quantitative
//! image, as `tomors recon-pet` runs it.

use std::path::PathBuf;

use numpy::PyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tomors::io::acquisition::parse_date_time;
use tomors::io::dicom::{ReadLimits, SeriesSelect, read_ct_series};
use tomors::physics::{PetCalibration, Radionuclide, Sex};
use tomors::pipeline::{
    DeadTime, MuMap, PetData, PetQuantitationOptions, PetReconOptions, PetStage,
    ScatterEstimationOptions, phantom_calibration, reconstruct_pet,
};

use super::io::grid_tuple;
use crate::arrays::{Int, IntoPy, to_py};

fn invalid(py: Python<'_>, message: String) -> PyErr {
    to_py(py, tomors::Error::InvalidArgument(message))
}

/// Arguments as `tomors.recon_pet` passes them (keywords there, positions here).
#[pyfunction]
#[pyo3(signature = (listmode, sinogram, norm, mu, ct, background, span, mash, window, iterations, subsets, voxel, post_filter_fwhm, list_mode, sensitivity, randoms, randoms_estimate, rdp_beta, rdp_gamma, bsrem_iterations, calibration, phantom_bq_ml, phantom_assay_time, isotope, weight_kg, height_m, sex, injected_bq, injection_time, live_fraction, scatter, scatter_iterations, max_resident_bytes, backend, output_dir, progress))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn recon_pet<'py>(
    py: Python<'py>,
    listmode: Option<PathBuf>,
    sinogram: Option<PathBuf>,
    norm: Option<PathBuf>,
    mu: Option<PathBuf>,
    ct: Option<PathBuf>,
    background: Vec<PathBuf>,
    span: Int<u32>,
    mash: Int<u32>,
    window: Option<(f64, f64)>,
    iterations: Int<usize>,
    subsets: Int<usize>,
    voxel: f64,
    post_filter_fwhm: Option<f64>,
    list_mode: bool,
    sensitivity: Option<PathBuf>,
    randoms: bool,
    randoms_estimate: &str,
    rdp_beta: Option<f64>,
    rdp_gamma: f64,
    bsrem_iterations: Int<usize>,
    calibration: Option<f64>,
    phantom_bq_ml: Option<f64>,
    phantom_assay_time: Option<String>,
    isotope: Option<(String, f64, f64)>,
    weight_kg: Option<f64>,
    height_m: Option<f64>,
    sex: Option<String>,
    injected_bq: Option<f64>,
    injection_time: Option<String>,
    live_fraction: Option<f64>,
    scatter: &str,
    scatter_iterations: Int<usize>,
    max_resident_bytes: Option<Int<u64>>,
    backend: &str,
    output_dir: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let data = match (listmode, sinogram) {
        (Some(l), None) => PetData::ListMode(l),
        (None, Some(s)) => PetData::Sinogram(s),
        _ => return Err(invalid(py, "give one of listmode and sinogram".into())),
    };
    if mu.is_some() && ct.is_some() {
        return Err(invalid(py, "give one of mu and ct, not both".into()));
    }
    if calibration.is_some() && phantom_bq_ml.is_some() {
        return Err(invalid(
            py,
            "phantom_bq_ml measures a calibration: give it or calibration, not both".into(),
        ));
    }
    if phantom_bq_ml.is_some() != phantom_assay_time.is_some() {
        return Err(invalid(
            py,
            "phantom_bq_ml and phantom_assay_time go together".into(),
        ));
    }
    let sex = match sex.as_deref() {
        None => None,
        Some("M" | "m" | "male") => Some(Sex::Male),
        Some("F" | "f" | "female") => Some(Sex::Female),
        Some(other) => {
            return Err(invalid(
                py,
                format!("sex {other:?}; expected \"M\" or \"F\""),
            ));
        }
    };
    let nuclide = isotope
        .map(|(name, half_life, fraction)| Radionuclide::new(&name, half_life, fraction))
        .transpose()
        .py_err(py)?;
    let quantitation = PetQuantitationOptions {
        calibration: calibration
            .map(PetCalibration::new)
            .transpose()
            .py_err(py)?,
        nuclide: nuclide.clone(),
        weight_kg,
        height_m,
        sex,
        injected_activity_bq: injected_bq,
        injection_s: injection_time
            .as_deref()
            .map(parse_date_time)
            .transpose()
            .py_err(py)?,
        live_fraction,
    };
    let assay = phantom_assay_time
        .as_deref()
        .map(parse_date_time)
        .transpose()
        .py_err(py)?;
    let scatter = match scatter {
        "none" => None,
        "sss" => Some(ScatterEstimationOptions {
            iterations: scatter_iterations.0,
            ..ScatterEstimationOptions::new(subsets.0)
        }),
        other => {
            return Err(invalid(
                py,
                format!("scatter {other:?}; expected \"sss\" or \"none\""),
            ));
        }
    };
    let options = PetReconOptions {
        span: span.0,
        view_mashing: mash.0,
        window,
        iterations: iterations.0,
        subsets: subsets.0,
        spacing: Some([4.0625 / 2.0, voxel, voxel]),
        randoms,
        randoms_estimate: randoms_estimate.parse().py_err(py)?,
        background_files: background,
        post_filter_fwhm,
        list_mode,
        sensitivity,
        max_resident_bytes: max_resident_bytes.map(|b| b.0),
        prior: rdp_beta
            .map(|b| tomors::recon::Prior::relative_difference(b, rdp_gamma))
            .transpose()
            .py_err(py)?,
        bsrem_iterations: bsrem_iterations.0,
        scatter,
        quantitation,
        backend: backend.parse().py_err(py)?,
        ..PetReconOptions::default()
    };
    let mut raised: Option<PyErr> = None;
    let outcome = py.detach(|| {
        let mu = match (mu, ct) {
            (Some(m), _) => Some(MuMap::Interfile(m)),
            (None, Some(ct)) => Some(MuMap::Ct(Box::new(read_ct_series(
                &ct,
                &SeriesSelect::Largest,
                &ReadLimits::default(),
            )?))),
            (None, None) => None,
        };
        let mut tell = |stage: PetStage| {
            let Some(cb) = &progress else { return };
            let (name, done, of) = match stage {
                PetStage::Data => ("reading", 0, 0),
                PetStage::Normalisation => ("normalisation", 0, 0),
                PetStage::Attenuation => ("attenuation", 0, 0),
                PetStage::Randoms => ("randoms", 0, 0),
                PetStage::Scatter { done, of } => ("scatter", done, of),
                PetStage::Iteration { done, of } => ("iteration", done, of),
            };
            Python::attach(|py| {
                if let Err(e) = cb.call1(py, (name, done, of))
                    && raised.is_none()
                {
                    raised = Some(e);
                }
            });
        };
        let r = reconstruct_pet(
            &data,
            norm.as_deref(),
            mu.as_ref(),
            &options,
            Some(&mut tell),
        )?;
        let phantom = match (phantom_bq_ml, assay) {
            (Some(c), Some(assay)) => Some(phantom_calibration(
                &r.acquisition,
                r.image.view(),
                window,
                c,
                assay,
                nuclide.as_ref(),
                r.dead_time.live_fraction(),
            )?),
            _ => None,
        };
        let files = output_dir.as_deref().map(|d| r.write(d)).transpose()?;
        Ok::<_, tomors::Error>((r, phantom, files))
    });
    if let Some(e) = raised {
        return Err(e);
    }
    let (r, phantom, files) = outcome.py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("units", r.units())?;
    d.set_item("settings", r.settings.clone())?;
    d.set_item("warnings", r.warnings.clone())?;
    d.set_item("corrected", r.corrected.clone())?;
    d.set_item("reconstruction_method", r.reconstruction_method.clone())?;
    d.set_item("grid", grid_tuple(&r.grid))?;
    d.set_item("randoms_fraction", r.randoms_fraction)?;
    d.set_item("scatter_fraction", r.scatter.as_ref().map(|s| s.fraction))?;
    let dt = PyDict::new(py);
    dt.set_item("live_fraction", r.dead_time.live_fraction())?;
    let (source, why, rate) = match &r.dead_time {
        DeadTime::Given(_) => ("given", None, None),
        DeadTime::Singles(f) => ("singles", None, Some(f.mean_rate_cps)),
        DeadTime::NotCorrected(w) => ("none", Some(w.clone()), None),
    };
    dt.set_item("source", source)?;
    dt.set_item("reason", why)?;
    dt.set_item("mean_bucket_rate_cps", rate)?;
    d.set_item("dead_time", dt)?;
    if let Some(q) = &r.quantitation {
        let qd = PyDict::new(py);
        qd.set_item("nuclide", q.nuclide.name())?;
        qd.set_item("half_life_s", q.nuclide.half_life_s())?;
        qd.set_item("positron_fraction", q.nuclide.positron_fraction())?;
        qd.set_item("frame_start_s", q.frame_start_s)?;
        qd.set_item("duration_s", q.duration_s)?;
        qd.set_item("decay_factor", q.scale.decay_factor)?;
        qd.set_item("bq_ml_per_unit", q.scale.bq_ml_per_unit)?;
        qd.set_item("calibration", q.calibration.factor())?;
        qd.set_item("live_fraction", q.live_fraction)?;
        qd.set_item("suv_bw_per_bq_ml", q.suv_bw_per_bq_ml)?;
        qd.set_item("sul_per_bq_ml", q.sul_per_bq_ml)?;
        d.set_item("quantitation", qd)?;
    } else {
        d.set_item("quantitation", py.None())?;
    }
    if let Some(p) = phantom {
        let pd = PyDict::new(py);
        pd.set_item("calibration", p.calibration.factor())?;
        pd.set_item("nuclide", p.nuclide.name())?;
        pd.set_item("mean", p.mean)?;
        pd.set_item("voxels", p.voxels)?;
        d.set_item("phantom", pd)?;
    } else {
        d.set_item("phantom", py.None())?;
    }
    if let Some(f) = files {
        let fd = PyDict::new(py);
        fd.set_item("dicom", f.dicom)?;
        fd.set_item("nifti", f.nifti)?;
        fd.set_item("sensitivity", f.sensitivity)?;
        fd.set_item("summary_png", f.summary_png)?;
        d.set_item("files", fd)?;
    } else {
        d.set_item("files", py.None())?;
    }
    d.set_item("mu_map", r.mu_map.map(|m| PyArray::from_owned_array(py, m)))?;
    d.set_item(
        "sensitivity",
        r.sensitivity.map(|s| PyArray::from_owned_array(py, s)),
    )?;
    d.set_item("image", PyArray::from_owned_array(py, r.image))?;
    Ok(d)
}
