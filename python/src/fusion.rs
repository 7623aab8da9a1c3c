//! `tomors.fusion`'s compiled half: resampling between patient grids and fused pictures.

use std::path::PathBuf;

use numpy::{PyArray, PyArray3, PyReadonlyArray3};
use pyo3::prelude::*;
use tomors::fusion::{self, Colormap, Overlay, Plane, Resampling, Window};

use ndarray::{Ix2, Ix3};

use super::io::{GridTuple, patient_grid, view_as};
use crate::arrays::{Int, IntoPy, f32_array, to_py};

#[pyfunction]
#[pyo3(signature = (volume, source, target, method="trilinear", outside=0.0, backend="auto"))]
pub(crate) fn resample<'py>(
    py: Python<'py>,
    volume: &Bound<'py, PyAny>,
    source: GridTuple,
    target: GridTuple,
    method: &str,
    outside: f32,
    backend: &str,
) -> PyResult<Bound<'py, PyArray3<f32>>> {
    let backend: tomors::Backend = backend.parse().py_err(py)?;
    let method = match method {
        "trilinear" => Resampling::Trilinear,
        "average" => Resampling::Average,
        other => {
            return Err(to_py(
                py,
                tomors::Error::InvalidArgument(format!(
                    "resampling {other:?}; expected \"trilinear\" or \"average\""
                )),
            ));
        }
    };
    let (from, to) = (patient_grid(py, source)?, patient_grid(py, target)?);
    let volume = f32_array(py, volume, "volume")?;
    let data = view_as::<Ix3>(py, &volume, "volume", "3 (z, y, x)")?;
    let out = py
        .detach(|| fusion::resample(data, &from, &to, outside, method, backend))
        .py_err(py)?;
    Ok(PyArray::from_owned_array(py, out))
}

fn plane_of(py: Python<'_>, name: &str) -> PyResult<Plane> {
    match name {
        "axial" => Ok(Plane::Axial),
        "coronal" => Ok(Plane::Coronal),
        "sagittal" => Ok(Plane::Sagittal),
        other => Err(to_py(
            py,
            tomors::Error::InvalidArgument(format!(
                "plane {other:?}; expected \"axial\", \"coronal\" or \"sagittal\""
            )),
        )),
    }
}

#[pyfunction]
#[pyo3(signature = (volume, spacing, plane, at, mip=false))]
pub(crate) fn plane_image<'py>(
    py: Python<'py>,
    volume: &Bound<'py, PyAny>,
    spacing: [f64; 3],
    plane: &str,
    at: [Int<usize>; 3],
    mip: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let at = at.map(|v| v.0);
    let plane = plane_of(py, plane)?;
    let volume = f32_array(py, volume, "volume")?;
    let data = view_as::<Ix3>(py, &volume, "volume", "3 (z, y, x)")?;
    let out = fusion::plane_image(data, spacing, plane, at, mip).py_err(py)?;
    Ok(PyArray::from_owned_array(py, out).into_any())
}

#[pyfunction]
#[pyo3(signature = (anatomy, window=None, emission=None, colormap="hot", value_range=None, threshold=0.1, alpha=0.6))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn fuse<'py>(
    py: Python<'py>,
    anatomy: &Bound<'py, PyAny>,
    window: Option<&Bound<'py, PyAny>>,
    emission: Option<&Bound<'py, PyAny>>,
    colormap: &str,
    value_range: Option<(f32, f32)>,
    threshold: f32,
    alpha: f32,
) -> PyResult<Bound<'py, PyArray3<u8>>> {
    // A preset name, or (centre, width); soft tissue by default.
    let window = match window {
        None => Window::SOFT_TISSUE,
        Some(w) => match w.extract::<(f32, f32)>() {
            Ok((centre, width)) => Window { centre, width },
            Err(_) => Window::preset(&w.extract::<String>()?).py_err(py)?,
        },
    };
    let colormap = Colormap::from_name(colormap).py_err(py)?;
    let a = f32_array(py, anatomy, "anatomy")?;
    let a2 = view_as::<Ix2>(py, &a, "anatomy", "2 (rows, cols)")?;
    let e = emission.map(|e| f32_array(py, e, "emission")).transpose()?;
    let e2 = match &e {
        None => None,
        Some(e) => Some(view_as::<Ix2>(py, e, "emission", "2 (rows, cols)")?),
    };
    let overlay = e2.as_ref().map(|e| {
        let range = value_range.unwrap_or((0.0, e.iter().copied().fold(0.0_f32, f32::max)));
        (
            e.view(),
            Overlay {
                colormap,
                range,
                threshold,
                alpha,
            },
        )
    });
    let out = fusion::fuse(a2, window, overlay).py_err(py)?;
    Ok(PyArray::from_owned_array(py, out))
}

#[pyfunction]
pub(crate) fn write_png(
    py: Python<'_>,
    rgb: PyReadonlyArray3<'_, u8>,
    path: PathBuf,
) -> PyResult<()> {
    fusion::write_png(rgb.as_array(), &path).py_err(py)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(resample, m)?)?;
    m.add_function(wrap_pyfunction!(plane_image, m)?)?;
    m.add_function(wrap_pyfunction!(fuse, m)?)?;
    m.add_function(wrap_pyfunction!(write_png, m)?)?;
    Ok(())
}
