//! `tomors.io`'s compiled half: DICOM and NIfTI readers and writers. Results go out as dicts of
//! NumPy arrays and plain values, which `tomors/io.py` wraps in dataclasses.

use std::path::PathBuf;

use ndarray::Ix3;
use numpy::{PyArray, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tomors::PatientGrid;
use tomors::io::dicom::{
    self, ReadLimits, Reference, SeriesSelect, SeriesWriter, SliceVolume, WriteModality,
};

use crate::arrays::{Int, IntoPy, f32_array, to_py};
use crate::geometry::{PyImageGrid, PySpectGeometry};

/// `(shape, spacing, origin, axes)` of a patient grid, as `tomors.io.PatientGrid` holds it.
pub(crate) type GridTuple = ([usize; 3], [f64; 3], [f64; 3], [[f64; 3]; 3]);

pub(crate) fn grid_tuple(g: &PatientGrid) -> GridTuple {
    (g.shape, g.spacing, g.origin, g.axes)
}

fn select(series_uid: Option<String>) -> SeriesSelect {
    series_uid.map_or(SeriesSelect::Largest, SeriesSelect::Uid)
}

fn volume_dict<'py>(py: Python<'py>, v: SliceVolume) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("grid", grid_tuple(&v.grid))?;
    d.set_item("values", PyArray::from_owned_array(py, v.data))?;
    d.set_item("files", v.files)?;
    d.set_item("series_uid", v.series_uid)?;
    d.set_item("study_uid", v.study_uid)?;
    d.set_item("frame_of_reference_uid", v.frame_of_reference_uid)?;
    d.set_item("modality", v.modality)?;
    d.set_item("units", v.units)?;
    Ok(d)
}

#[pyfunction]
#[pyo3(signature = (path, series_uid=None))]
pub(crate) fn read_ct_series<'py>(
    py: Python<'py>,
    path: PathBuf,
    series_uid: Option<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let ct = py
        .detach(|| dicom::read_ct_series(&path, &select(series_uid), &ReadLimits::default()))
        .py_err(py)?;
    let d = volume_dict(py, ct.volume)?;
    d.set_item("kvp", ct.kvp)?;
    Ok(d)
}

#[pyfunction]
#[pyo3(signature = (path, series_uid=None))]
pub(crate) fn read_pet_series<'py>(
    py: Python<'py>,
    path: PathBuf,
    series_uid: Option<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let pet = py
        .detach(|| dicom::read_pet_series(&path, &select(series_uid), &ReadLimits::default()))
        .py_err(py)?;
    let s = &pet.suv;
    let suv = PyDict::new(py);
    suv.set_item("units", s.units.clone())?;
    suv.set_item("decay_correction", s.decay_correction.clone())?;
    suv.set_item("injected_activity_bq", s.injected_activity_bq)?;
    suv.set_item("half_life_s", s.half_life_s)?;
    suv.set_item("injection_time_s", s.injection_time_s)?;
    suv.set_item("series_time_s", s.series_time_s)?;
    suv.set_item("patient_weight_kg", s.patient_weight_kg)?;
    suv.set_item("suv_bw_scale", s.suv_bw_scale().ok())?;
    suv.set_item(
        "suv_bw_unavailable",
        s.suv_bw_scale().err().map(|e| e.to_string()),
    )?;
    let d = volume_dict(py, pet.volume)?;
    d.set_item("suv", suv)?;
    Ok(d)
}

#[pyfunction]
#[pyo3(signature = (path, series_uid=None))]
pub(crate) fn read_nm_volume<'py>(
    py: Python<'py>,
    path: PathBuf,
    series_uid: Option<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let v = py
        .detach(|| dicom::read_nm_volume(&path, &select(series_uid), &ReadLimits::default()))
        .py_err(py)?;
    volume_dict(py, v)
}

#[pyfunction]
#[pyo3(signature = (path, kev=None))]
pub(crate) fn read_nm_projections<'py>(
    py: Python<'py>,
    path: PathBuf,
    kev: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let nm = py
        .detach(|| dicom::read_nm_projections(&path, &ReadLimits::default()))
        .py_err(py)?;
    let collimator = kev.map(|k| nm.collimator_at(k)).transpose().py_err(py)?;
    let d = PyDict::new(py);
    d.set_item(
        "geometry",
        PySpectGeometry {
            inner: nm.spect_geometry(collimator).py_err(py)?,
        },
    )?;
    d.set_item(
        "image_grid",
        PyImageGrid {
            inner: nm.image_grid().py_err(py)?,
        },
    )?;
    d.set_item("grid", grid_tuple(&nm.grid))?;
    let windows: Vec<(Option<String>, f64, f64)> = nm
        .windows
        .iter()
        .map(|w| (w.name.clone(), w.lower_kev, w.upper_kev))
        .collect();
    d.set_item("windows", windows)?;
    d.set_item("angles", nm.angles)?;
    d.set_item("radii", nm.radii)?;
    d.set_item("detectors", nm.detectors)?;
    d.set_item("frame_durations", nm.frame_durations)?;
    d.set_item("start_angles_deg", nm.start_angles_deg)?;
    d.set_item("detector_positions", nm.detector_positions)?;
    d.set_item("detector_orientations", nm.detector_orientations)?;
    d.set_item("angular_step_deg", nm.angular_step_deg)?;
    d.set_item("rotation_direction", nm.rotation_direction)?;
    d.set_item("pixel_spacing", nm.pixel_spacing)?;
    d.set_item("col_offset", nm.col_offset)?;
    d.set_item("collimator", nm.collimator)?;
    d.set_item("series_uid", nm.series_uid)?;
    d.set_item("study_uid", nm.study_uid)?;
    d.set_item("frame_of_reference_uid", nm.frame_of_reference_uid)?;
    d.set_item("manufacturer", nm.manufacturer)?;
    d.set_item("path", path)?;
    let counts: Vec<Bound<'py, PyAny>> = nm
        .counts
        .into_iter()
        .map(|c| PyArray::from_owned_array(py, c).into_any())
        .collect();
    d.set_item("counts", counts)?;
    Ok(d)
}

pub(crate) fn patient_grid(py: Python<'_>, g: GridTuple) -> PyResult<PatientGrid> {
    PatientGrid::new(g.0, g.1, g.2, g.3).py_err(py)
}

/// A view of `a` with `D`'s number of axes (no copy), or an error naming `what` and the axes
/// expected (`axes`, e.g. "(slices, rows, cols)").
pub(crate) fn view_as<'a, D: ndarray::Dimension>(
    py: Python<'_>,
    a: &'a PyReadonlyArrayDyn<'_, f32>,
    what: &str,
    axes: &str,
) -> PyResult<ndarray::ArrayView<'a, f32, D>> {
    a.as_array().into_dimensionality::<D>().map_err(|_| {
        to_py(
            py,
            tomors::Error::InvalidArgument(format!(
                "{what} has {} axes; expected {axes}",
                a.as_array().ndim()
            )),
        )
    })
}

#[pyfunction]
#[pyo3(signature = (volume, grid, folder, modality, units, reference=None, description=None, series_number=Int(1001)))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_dicom_series<'py>(
    py: Python<'py>,
    volume: &Bound<'py, PyAny>,
    grid: GridTuple,
    folder: PathBuf,
    modality: &str,
    units: &str,
    reference: Option<PathBuf>,
    description: Option<String>,
    series_number: Int<u32>,
) -> PyResult<Bound<'py, PyDict>> {
    let series_number = series_number.0;
    let modality = match modality.to_ascii_uppercase().as_str() {
        "NM" => WriteModality::Nm,
        "PT" | "PET" => WriteModality::Pt,
        "CT" => WriteModality::Ct,
        other => {
            return Err(to_py(
                py,
                tomors::Error::InvalidArgument(format!(
                    "modality {other:?}; expected \"NM\", \"PT\" or \"CT\""
                )),
            ));
        }
    };
    let grid = patient_grid(py, grid)?;
    let volume = f32_array(py, volume, "volume")?;
    let data = view_as::<Ix3>(py, &volume, "volume", "3 (slices, rows, cols)")?;
    let written = py
        .detach(|| {
            let mut writer = SeriesWriter::new(modality, units);
            writer.series_number = series_number;
            if let Some(d) = description {
                writer.description = d;
            }
            if let Some(r) = reference {
                writer = writer.with_reference(Reference::from_file(&first_file(&r)?)?);
            }
            writer.write(data, &grid, &folder)
        })
        .py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("files", written.files)?;
    d.set_item("series_uid", written.series_uid)?;
    d.set_item("study_uid", written.study_uid)?;
    d.set_item("frame_of_reference_uid", written.frame_of_reference_uid)?;
    Ok(d)
}

/// A file as given, or the first DICOM file of a folder's largest series.
fn first_file(path: &std::path::Path) -> tomors::Result<PathBuf> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let scan = dicom::scan(path, &ReadLimits::default())?;
    Ok(scan.series[0].files[0].clone())
}

#[pyfunction]
#[pyo3(signature = (volume, grid, path, description=""))]
pub(crate) fn write_nifti(
    py: Python<'_>,
    volume: &Bound<'_, PyAny>,
    grid: GridTuple,
    path: PathBuf,
    description: &str,
) -> PyResult<()> {
    let grid = patient_grid(py, grid)?;
    let volume = f32_array(py, volume, "volume")?;
    let data = view_as::<Ix3>(py, &volume, "volume", "3 (z, y, x)")?;
    py.detach(|| tomors::io::nifti::write_nifti(data, &grid, &path, description))
        .py_err(py)
}

#[pyfunction]
pub(crate) fn scan_dicom<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let found = py
        .detach(|| dicom::scan(&path, &ReadLimits::default()))
        .py_err(py)?;
    let series: Vec<Bound<'py, PyDict>> = found
        .series
        .into_iter()
        .map(|s| {
            let d = PyDict::new(py);
            d.set_item("series_uid", s.series_uid)?;
            d.set_item("study_uid", s.study_uid)?;
            d.set_item("frame_of_reference_uid", s.frame_of_reference_uid)?;
            d.set_item("modality", s.modality)?;
            d.set_item("description", s.description)?;
            d.set_item("files", s.files)?;
            d.set_item("rows", s.rows)?;
            d.set_item("cols", s.cols)?;
            d.set_item("frames", s.frames)?;
            Ok(d)
        })
        .collect::<PyResult<_>>()?;
    let d = PyDict::new(py);
    d.set_item("series", series)?;
    d.set_item("skipped", found.skipped)?;
    Ok(d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_ct_series, m)?)?;
    m.add_function(wrap_pyfunction!(read_pet_series, m)?)?;
    m.add_function(wrap_pyfunction!(read_nm_volume, m)?)?;
    m.add_function(wrap_pyfunction!(read_nm_projections, m)?)?;
    m.add_function(wrap_pyfunction!(write_dicom_series, m)?)?;
    m.add_function(wrap_pyfunction!(write_nifti, m)?)?;
    m.add_function(wrap_pyfunction!(scan_dicom, m)?)?;
    m.add_function(wrap_pyfunction!(read_rtk_geometry, m)?)?;
    m.add_function(wrap_pyfunction!(write_rtk_geometry, m)?)?;
    m.add_function(wrap_pyfunction!(read_tiff_stack, m)?)?;
    Ok(())
}

/// Reads an RTK geometry file (flat panel) for projection images of `n_rows` × `n_cols`
/// pixels of `row_spacing` × `col_spacing` mm whose pixel (0, 0) sits at `origin` (u, v) mm
/// (default: centred); returns a ConeBeam.
#[pyfunction]
#[pyo3(signature = (path, n_rows, n_cols, row_spacing, col_spacing, origin=None))]
pub(crate) fn read_rtk_geometry(
    py: Python<'_>,
    path: PathBuf,
    n_rows: Int<usize>,
    n_cols: Int<usize>,
    row_spacing: f64,
    col_spacing: f64,
    origin: Option<[f64; 2]>,
) -> PyResult<crate::geometry::PyConeBeam> {
    let n_rows = n_rows.0;
    let n_cols = n_cols.0;
    let det = tomors::io::rtk::RtkDetector {
        n_rows,
        n_cols,
        row_spacing,
        col_spacing,
        origin,
    };
    let inner = tomors::io::rtk::read_rtk_geometry(&path, &det).py_err(py)?;
    Ok(crate::geometry::PyConeBeam { inner })
}

/// Writes a flat-panel ConeBeam (any trajectory: orbits, helices, tilted C-arms) as an RTK
/// geometry file (atomically): RTK's angles, distances and offsets per view, and its matrix.
#[pyfunction]
pub(crate) fn write_rtk_geometry(
    py: Python<'_>,
    path: PathBuf,
    cone: &crate::geometry::PyConeBeam,
) -> PyResult<()> {
    tomors::io::rtk::write_rtk_geometry(&path, &cone.inner).py_err(py)
}

/// Reads a projection stack `(views, rows, cols)` from TIFF files in order (each single- or
/// multi-page), values as stored.
#[pyfunction]
pub(crate) fn read_tiff_stack<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
) -> PyResult<Bound<'py, numpy::PyArrayDyn<f32>>> {
    let stack = py
        .detach(|| tomors::io::tiff::read_tiff_stack(&paths))
        .py_err(py)?;
    Ok(crate::arrays::to_numpy(py, stack.into_dyn()))
}
