//! The compiled half of `tomors.spect_ct`, `tomors.fuse_pet_ct`, `tomors.hu_to_mu` and
//! `tomors.fusion.register_rigid`.

use std::path::PathBuf;

use ndarray::Ix3;
use numpy::PyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tomors::fusion::{self, RegistrationOptions, Rigid};
use tomors::physics::{self, HuToMu};
use tomors::pipeline::{self, ScatterCorrection, SpectCtOptions, Stage};

use super::io::{GridTuple, grid_tuple, patient_grid, view_as};
use crate::arrays::{Int, IntoPy, f32_array, to_py};
use crate::geometry::PyCollimator;

/// A rigid motion as Python passes it: (angles (rad), translation (mm), centre (mm)).
pub(crate) type RigidTuple = ([f64; 3], [f64; 3], [f64; 3]);

fn rigid(t: RigidTuple) -> Rigid {
    Rigid {
        angles: t.0,
        translation: t.1,
        centre: t.2,
    }
}

fn rigid_tuple(r: &Rigid) -> RigidTuple {
    (r.angles, r.translation, r.centre)
}

fn invalid(py: Python<'_>, message: String) -> PyErr {
    to_py(py, tomors::Error::InvalidArgument(message))
}

/// The HU → μ curve: `(mu_water, lower_slope, upper_slope)` given, else from `bone_hu`, else
/// from `kvp`.
fn curve(
    py: Python<'_>,
    kev: f64,
    kvp: Option<f64>,
    bone_hu: Option<f64>,
    coefficients: Option<(f64, f64, f64)>,
) -> PyResult<Option<HuToMu>> {
    Ok(match (coefficients, bone_hu, kvp) {
        (Some((w, lo, hi)), _, _) => Some(HuToMu::bilinear(w, lo, hi).py_err(py)?),
        (None, Some(b), _) => Some(HuToMu::with_bone_ct_number(kev, b).py_err(py)?),
        (None, None, Some(k)) => Some(HuToMu::at_energy(kev, k).py_err(py)?),
        (None, None, None) => None,
    })
}

#[pyfunction]
#[pyo3(signature = (ct, kev, kvp=None, bone_hu=None, coefficients=None))]
pub(crate) fn hu_to_mu<'py>(
    py: Python<'py>,
    ct: &Bound<'py, PyAny>,
    kev: f64,
    kvp: Option<f64>,
    bone_hu: Option<f64>,
    coefficients: Option<(f64, f64, f64)>,
) -> PyResult<Bound<'py, PyAny>> {
    let Some(c) = curve(py, kev, kvp, bone_hu, coefficients)? else {
        return Err(invalid(
            py,
            "give the CT's kvp, a bone_hu, or coefficients for the HU → μ curve".into(),
        ));
    };
    let ct = f32_array(py, ct, "ct")?;
    let hu = view_as::<Ix3>(py, &ct, "ct", "3 (z, y, x)")?;
    let mu = py.detach(|| c.apply(hu)).py_err(py)?;
    Ok(PyArray::from_owned_array(py, mu).into_any())
}

#[pyfunction]
pub(crate) fn attenuation_coefficients(py: Python<'_>, kev: f64) -> PyResult<(f64, f64)> {
    Ok((
        physics::water_mu(kev).py_err(py)?,
        physics::cortical_bone_mu(kev).py_err(py)?,
    ))
}

#[pyfunction]
pub(crate) fn bone_ct_number(py: Python<'_>, kvp: f64) -> PyResult<f64> {
    physics::bone_ct_number(kvp).py_err(py)
}

#[pyfunction]
pub(crate) fn rigid_move_grid(
    py: Python<'_>,
    motion: RigidTuple,
    grid: GridTuple,
) -> PyResult<GridTuple> {
    Ok(grid_tuple(
        &rigid(motion).move_grid(&patient_grid(py, grid)?),
    ))
}

#[pyfunction]
pub(crate) fn rigid_apply(motion: RigidTuple, point: [f64; 3]) -> [f64; 3] {
    rigid(motion).apply(point)
}

#[pyfunction]
#[pyo3(signature = (fixed, fixed_grid, moving, moving_grid, bins, fixed_range, moving_range, start, max_translation, max_rotation, backend))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn register_rigid<'py>(
    py: Python<'py>,
    fixed: &Bound<'py, PyAny>,
    fixed_grid: GridTuple,
    moving: &Bound<'py, PyAny>,
    moving_grid: GridTuple,
    bins: Int<usize>,
    fixed_range: Option<(f32, f32)>,
    moving_range: Option<(f32, f32)>,
    start: Option<RigidTuple>,
    max_translation: f64,
    max_rotation: f64,
    backend: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let bins = bins.0;
    let backend: tomors::Backend = backend.parse().py_err(py)?;
    let (fg, mg) = (
        patient_grid(py, fixed_grid)?,
        patient_grid(py, moving_grid)?,
    );
    let (f, m) = (
        f32_array(py, fixed, "fixed")?,
        f32_array(py, moving, "moving")?,
    );
    let (fv, mv) = (
        view_as::<Ix3>(py, &f, "fixed", "3 (z, y, x)")?,
        view_as::<Ix3>(py, &m, "moving", "3 (z, y, x)")?,
    );
    let options = RegistrationOptions {
        bins,
        fixed_range,
        moving_range,
        start: start.map(rigid),
        max_translation,
        max_rotation,
        backend,
    };
    let r = py
        .detach(|| fusion::register_rigid(fv, &fg, mv, &mg, &options))
        .py_err(py)?;
    registration_dict(py, &r)
}

/// `registration_dict` of a registration that may not have been asked for.
fn optional_registration<'py>(
    py: Python<'py>,
    r: Option<&fusion::Registration>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    r.map(|g| registration_dict(py, g)).transpose()
}

/// A registration as the dict `tomors.fusion.Registration._from_dict` takes.
fn registration_dict<'py>(
    py: Python<'py>,
    r: &fusion::Registration,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("transform", rigid_tuple(&r.transform))?;
    d.set_item("nmi_start", r.nmi_start)?;
    d.set_item("nmi", r.nmi)?;
    d.set_item("evaluations", r.evaluations)?;
    Ok(d)
}

#[pyfunction]
#[pyo3(signature = (nm_path, ct_path, photopeak_kev, scatter, dew_k, attenuation, bone_hu, hu_to_mu, collimator, iterations, subsets, post_filter_fwhm, calibration_cps_per_mbq, decay_correction, ct_motion, register, allow_other_frame, require_full_ct, beds, backend, output_dir, progress))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn spect_ct<'py>(
    py: Python<'py>,
    nm_path: Vec<PathBuf>,
    ct_path: PathBuf,
    photopeak_kev: f64,
    scatter: &str,
    dew_k: f64,
    attenuation: bool,
    bone_hu: Option<f64>,
    hu_to_mu: Option<(f64, f64, f64)>,
    collimator: Option<PyRef<'py, PyCollimator>>,
    iterations: Int<usize>,
    subsets: Int<usize>,
    post_filter_fwhm: Option<f64>,
    calibration_cps_per_mbq: Option<f64>,
    decay_correction: &str,
    ct_motion: Option<RigidTuple>,
    register: bool,
    allow_other_frame: bool,
    require_full_ct: bool,
    beds: &str,
    backend: &str,
    output_dir: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let iterations = iterations.0;
    let subsets = subsets.0;
    let method = match beds {
        "joint" => pipeline::MultiBed::Joint,
        "stitched" => pipeline::MultiBed::Stitched,
        other => {
            return Err(invalid(
                py,
                format!("beds {other:?}; expected \"joint\" or \"stitched\""),
            ));
        }
    };
    let mut o = SpectCtOptions::new(photopeak_kev);
    o.scatter = match scatter {
        "tew" => ScatterCorrection::TripleEnergyWindow,
        "dew" => ScatterCorrection::DualEnergyWindow { k: dew_k },
        "none" => ScatterCorrection::None,
        other => {
            return Err(invalid(
                py,
                format!("scatter {other:?}; expected \"tew\", \"dew\" or \"none\""),
            ));
        }
    };
    o.attenuation = attenuation;
    o.hu_to_mu = curve(py, photopeak_kev, None, bone_hu, hu_to_mu)?;
    o.collimator = collimator.map(|c| c.inner);
    o.iterations = iterations;
    o.subsets = subsets;
    o.post_filter_fwhm = post_filter_fwhm;
    o.calibration_cps_per_mbq = calibration_cps_per_mbq;
    o.decay_correction = match decay_correction {
        "start" => pipeline::DecayCorrection::AcquisitionStart,
        "injection" => pipeline::DecayCorrection::Injection,
        "none" => pipeline::DecayCorrection::None,
        other => {
            return Err(invalid(
                py,
                format!(
                    "decay_correction {other:?}; expected \"start\", \"injection\" or \"none\""
                ),
            ));
        }
    };
    o.ct_motion = ct_motion.map(rigid);
    o.register = register;
    o.allow_other_frame = allow_other_frame;
    o.require_full_ct = require_full_ct;
    o.backend = backend.parse().py_err(py)?;

    let mut raised: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut tell = |stage: Stage| {
            let Some(cb) = &progress else { return };
            let (name, done, of) = match stage {
                Stage::Reading => ("reading", 0, 0),
                Stage::Scatter => ("scatter", 0, 0),
                Stage::Registration => ("registration", 0, 0),
                Stage::AttenuationMap => ("attenuation map", 0, 0),
                Stage::Iteration { done, of } => ("iteration", done, of),
            };
            Python::attach(|py| {
                if let Err(e) = cb.call1(py, (name, done, of))
                    && raised.is_none()
                {
                    raised = Some(e);
                }
            });
        };
        if nm_path.len() == 1 {
            let r = pipeline::spect_ct(&nm_path[0], &ct_path, &o, Some(&mut tell))?;
            let files = output_dir.as_deref().map(|dir| r.write(dir)).transpose()?;
            return Ok::<_, tomors::Error>(Outcome::One(Box::new(r), files));
        }
        let mut per_bed = |_bed: Option<usize>, stage: Stage| tell(stage);
        let r = pipeline::spect_ct_beds(&nm_path, &ct_path, &o, method, Some(&mut per_bed))?;
        let files = output_dir.as_deref().map(|dir| r.write(dir)).transpose()?;
        Ok(Outcome::Beds(Box::new(r), files))
    });
    if let Some(e) = raised {
        return Err(e);
    }
    match result.py_err(py)? {
        Outcome::One(r, files) => {
            let d = spect_ct_dict(py, *r)?;
            if let Some(f) = files {
                let files = PyDict::new(py);
                files.set_item("dicom", f.dicom)?;
                files.set_item("series_uid", f.series_uid)?;
                files.set_item("nifti", f.nifti)?;
                files.set_item("mu_map_nifti", f.mu_map_nifti)?;
                files.set_item("summary_png", f.summary_png)?;
                d.set_item("files", files)?;
            }
            Ok(d)
        }
        Outcome::Beds(whole, files) => {
            let whole = *whole;
            let st = whole.volume;
            let d = PyDict::new(py);
            d.set_item(
                "method",
                match whole.method {
                    pipeline::MultiBed::Joint => "joint",
                    pipeline::MultiBed::Stitched => "stitched",
                },
            )?;
            d.set_item("units", st.units)?;
            d.set_item("grid", grid_tuple(&st.grid))?;
            d.set_item("image", PyArray::from_owned_array(py, st.image))?;
            d.set_item("weight", PyArray::from_owned_array(py, st.weight))?;
            let beds = whole
                .beds
                .into_iter()
                .map(|b| spect_ct_dict(py, b))
                .collect::<PyResult<Vec<_>>>()?;
            d.set_item("beds", beds)?;
            if let Some(f) = files {
                let files = PyDict::new(py);
                files.set_item("dicom", f.dicom)?;
                files.set_item("series_uid", f.series_uid)?;
                files.set_item("nifti", f.nifti)?;
                files.set_item("summary_png", f.summary_png)?;
                d.set_item("files", files)?;
            }
            Ok(d)
        }
    }
}

/// One bed's result, or several in one volume, with what was written.
enum Outcome {
    One(Box<pipeline::SpectCt>, Option<pipeline::SpectCtFiles>),
    Beds(
        Box<pipeline::SpectCtBeds>,
        Option<pipeline::SpectCtBedsFiles>,
    ),
}

/// A SPECT-CT result as the dict the Python wrapper reads (without `files`).
fn spect_ct_dict<'py>(py: Python<'py>, r: pipeline::SpectCt) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("settings", r.settings())?;
    d.set_item("warnings", r.warnings.clone())?;
    d.set_item("units", r.units)?;
    d.set_item("grid", grid_tuple(&r.grid))?;
    d.set_item("photopeak_window", r.photopeak)?;
    d.set_item("decay_factor", r.decay_factor)?;
    d.set_item("scatter_windows", r.scatter_windows)?;
    d.set_item(
        "hu_to_mu",
        r.hu_to_mu
            .map(|c| (c.mu_water, c.lower_slope, c.upper_slope)),
    )?;
    d.set_item(
        "registration",
        optional_registration(py, r.registration.as_ref())?,
    )?;
    d.set_item("backend", r.backend.to_string())?;
    d.set_item("reconstruction_seconds", r.reconstruction_seconds)?;
    d.set_item("mu_map", r.mu_map.map(|m| PyArray::from_owned_array(py, m)))?;
    d.set_item("image", PyArray::from_owned_array(py, r.image))?;
    Ok(d)
}

#[pyfunction]
#[pyo3(signature = (sinograms, geometry, grid, ct_path, iterations, subsets, background, normalisation, bone_hu, hu_to_mu, require_full_ct, post_filter_fwhm, backend))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn pet_ct<'py>(
    py: Python<'py>,
    sinograms: &Bound<'py, PyAny>,
    geometry: PyRef<'py, crate::geometry::PyParallelBeam>,
    grid: GridTuple,
    ct_path: PathBuf,
    iterations: Int<usize>,
    subsets: Int<usize>,
    background: Option<&Bound<'py, PyAny>>,
    normalisation: Option<&Bound<'py, PyAny>>,
    bone_hu: Option<f64>,
    hu_to_mu: Option<(f64, f64, f64)>,
    require_full_ct: bool,
    post_filter_fwhm: Option<f64>,
    backend: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let iterations = iterations.0;
    let subsets = subsets.0;
    let grid = patient_grid(py, grid)?;
    let backend: tomors::Backend = backend.parse().py_err(py)?;
    let curve = curve(py, 511.0, None, bone_hu, hu_to_mu)?;
    let data = f32_array(py, sinograms, "sinograms")?;
    let background = background
        .map(|b| f32_array(py, b, "background"))
        .transpose()?;
    let normalisation = normalisation
        .map(|n| f32_array(py, n, "normalisation"))
        .transpose()?;
    let options = pipeline::PetCtOptions {
        iterations,
        subsets,
        background: background.as_ref().map(|b| b.as_array()),
        normalisation: normalisation.as_ref().map(|n| n.as_array()),
        hu_to_mu: curve,
        require_full_ct,
        post_filter_fwhm,
        backend,
    };
    let (view, geometry) = (data.as_array(), geometry.inner.clone());
    let r = py
        .detach(|| {
            let ct = tomors::io::dicom::read_ct_series(
                &ct_path,
                &tomors::io::dicom::SeriesSelect::Largest,
                &tomors::io::dicom::ReadLimits::default(),
            )?;
            pipeline::pet_ct(view, geometry, &grid, &ct, &options)
        })
        .py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("warnings", r.warnings)?;
    d.set_item("backend", r.backend.to_string())?;
    d.set_item("reconstruction_seconds", r.reconstruction_seconds)?;
    d.set_item(
        "hu_to_mu",
        (
            r.hu_to_mu.mu_water,
            r.hu_to_mu.lower_slope,
            r.hu_to_mu.upper_slope,
        ),
    )?;
    d.set_item("mu_map", PyArray::from_owned_array(py, r.mu_map))?;
    d.set_item("image", PyArray::from_owned_array(py, r.image))?;
    Ok(d)
}

#[pyfunction]
#[pyo3(signature = (pet_path, ct_path, suv, ct_motion, register, allow_other_frame, backend, output_dir))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn fuse_pet_ct<'py>(
    py: Python<'py>,
    pet_path: PathBuf,
    ct_path: PathBuf,
    suv: bool,
    ct_motion: Option<RigidTuple>,
    register: bool,
    allow_other_frame: bool,
    backend: &str,
    output_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let options = pipeline::FusePetCtOptions {
        suv,
        ct_motion: ct_motion.map(rigid),
        register,
        allow_other_frame,
        backend: backend.parse().py_err(py)?,
        ..pipeline::FusePetCtOptions::default()
    };
    let (r, page, files) = py
        .detach(|| {
            let r = pipeline::fuse_pet_ct(&pet_path, &ct_path, &options)?;
            let page = r.summary_page()?;
            let files = output_dir.as_deref().map(|dir| r.write(dir)).transpose()?;
            Ok::<_, tomors::Error>((r, page, files))
        })
        .py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("settings", r.settings())?;
    d.set_item("warnings", r.warnings.clone())?;
    d.set_item("units", r.units.clone())?;
    d.set_item("grid", grid_tuple(&r.grid))?;
    d.set_item(
        "registration",
        optional_registration(py, r.registration.as_ref())?,
    )?;
    if let Some(f) = files {
        let files = PyDict::new(py);
        files.set_item("nifti", f.nifti)?;
        files.set_item("summary_png", f.summary_png)?;
        d.set_item("files", files)?;
    }
    d.set_item("summary", PyArray::from_owned_array(py, page))?;
    d.set_item("image", PyArray::from_owned_array(py, r.image))?;
    Ok(d)
}
