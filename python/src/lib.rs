//! Python bindings for `tomors`: thin wrappers over the Rust API.
//!
//! Arrays come in as NumPy arrays (any real dtype and layout: float32 C-contiguous arrays are
//! borrowed without a copy, anything else is converted once to float32 C order) and go out as
//! new float32 arrays that own their Rust buffers (no copy). Long work runs with the
//! interpreter released. Each `tomors::Error` kind raises its own exception class from
//! `tomors.errors`.

use ndarray::{ArrayD, ArrayViewD};
use numpy::{PyArray, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;
use tomors::LinearOperator;
use tomors::phantom::EllipsoidPhantom;

mod fusion;
mod io;
mod spect_ct;

/// Maps a Rust error to its Python exception class in `tomors.errors`.
fn to_py(py: Python<'_>, e: tomors::Error) -> PyErr {
    use tomors::Error as E;
    let class = match &e {
        E::InvalidGeometry(_) => "InvalidGeometryError",
        E::ShapeMismatch { .. } => "ShapeMismatchError",
        E::NonFinite { .. } => "NonFiniteError",
        E::InvalidArgument(_) => "InvalidArgumentError",
        E::NoGpu(_) => "NoGpuError",
        E::Gpu(_) => "GpuError",
        E::Io { .. } | E::Format { .. } => "TomorsIOError",
        E::Dicom { .. } => "DicomError",
        _ => "TomorsError",
    };
    match py.import("tomors.errors").and_then(|m| m.getattr(class)) {
        Ok(cls) => PyErr::from_type(
            cls.cast_into().expect("exception classes are types"),
            e.to_string(),
        ),
        Err(import_error) => import_error,
    }
}

trait IntoPy<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}
impl<T> IntoPy<T> for tomors::Result<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}

/// Borrows `obj` as a float32 C-contiguous array, converting (one copy) when it is not one.
/// Complex, object, string and other non-real dtypes raise `TypeError`.
fn f32_array<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<PyReadonlyArrayDyn<'py, f32>> {
    if let Ok(a) = obj.cast::<PyArrayDyn<f32>>() {
        if a.is_c_contiguous() {
            return Ok(a.readonly());
        }
    }
    let np = py.import("numpy")?;
    let arr = np.call_method1("asarray", (obj,))?;
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    if !matches!(kind.as_str(), "f" | "i" | "u" | "b") {
        let dtype: String = arr.getattr("dtype")?.str()?.extract()?;
        return Err(PyTypeError::new_err(format!(
            "{name} has dtype {dtype}; expected real numbers (float32, or any float/int dtype, converted)"
        )));
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", np.getattr("float32")?)?;
    // Values beyond float32's range become ±inf here and are reported by the finiteness check
    // as NonFiniteError, not as a NumPy overflow warning.
    let quiet = PyDict::new(py);
    quiet.set_item("over", "ignore")?;
    let errstate = np.call_method("errstate", (), Some(&quiet))?;
    errstate.call_method0("__enter__")?;
    let converted = np.call_method("ascontiguousarray", (arr,), Some(&kwargs));
    errstate.call_method1("__exit__", (py.None(), py.None(), py.None()))?;
    Ok(converted?.cast_into::<PyArrayDyn<f32>>()?.readonly())
}

/// Borrows `input` as float32 (see [`f32_array`]), runs `work` on it with the interpreter
/// released, and returns its result as a new NumPy array.
fn array_to_array<'py>(
    py: Python<'py>,
    input: &Bound<'py, PyAny>,
    name: &str,
    work: impl FnOnce(ArrayViewD<'_, f32>) -> tomors::Result<ArrayD<f32>> + Send,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let a = f32_array(py, input, name)?;
    let view = a.as_array();
    let out = py.detach(|| work(view)).py_err(py)?;
    Ok(to_numpy(py, out))
}

fn to_numpy<'py>(py: Python<'py>, a: ArrayD<f32>) -> Bound<'py, PyArrayDyn<f32>> {
    PyArray::from_owned_array(py, a)
}

/// What `__reduce__` returns for pickling: the class and its constructor arguments.
type Reduce<'py, A> = (Bound<'py, pyo3::types::PyType>, A);

/// Per-axis values from a scalar or a sequence of `n`.
fn per_axis(obj: &Bound<'_, PyAny>, n: usize, what: &str) -> PyResult<Vec<f64>> {
    if let Ok(v) = obj.extract::<f64>() {
        return Ok(vec![v; n]);
    }
    let v: Vec<f64> = obj.extract()?;
    if v.len() != n {
        return Err(PyErr::new::<pyo3::exceptions::PyValueError, _>(format!(
            "{what} has {} values; expected 1 or {n}",
            v.len()
        )));
    }
    Ok(v)
}

/// A regular voxel grid centred on the rotation axis: `shape` is `(ny, nx)` or `(nz, ny, nx)`,
/// `spacing` in mm (a scalar or one value per axis, same order), `origin` the centre of voxel 0
/// in mm (same order; default: centred).
#[pyclass(name = "ImageGrid", module = "tomors", frozen)]
#[derive(Clone)]
struct PyImageGrid {
    inner: tomors::ImageGrid,
}

#[pymethods]
impl PyImageGrid {
    #[new]
    #[pyo3(signature = (shape, spacing=None, origin=None))]
    fn new(
        py: Python<'_>,
        shape: Vec<usize>,
        spacing: Option<&Bound<'_, PyAny>>,
        origin: Option<Vec<f64>>,
    ) -> PyResult<Self> {
        let n = shape.len();
        let spacing = match spacing {
            Some(s) => per_axis(s, n, "spacing")?,
            None => vec![1.0; n],
        };
        let grid = match n {
            2 => tomors::ImageGrid::new_2d([shape[0], shape[1]], [spacing[0], spacing[1]]),
            3 => tomors::ImageGrid::new_3d(
                [shape[0], shape[1], shape[2]],
                [spacing[0], spacing[1], spacing[2]],
            ),
            _ => {
                return Err(to_py(
                    py,
                    tomors::Error::InvalidGeometry(format!(
                        "grid shape has {n} axes; expected (ny, nx) or (nz, ny, nx)"
                    )),
                ));
            }
        }
        .py_err(py)?;
        let grid = match origin {
            None => grid,
            Some(o) if o.len() == n => {
                let z = if n == 2 { grid.origin()[0] } else { o[0] };
                grid.with_origin([z, o[n - 2], o[n - 1]]).py_err(py)?
            }
            Some(o) => {
                return Err(to_py(
                    py,
                    tomors::Error::InvalidGeometry(format!(
                        "origin has {} values; expected {n}",
                        o.len()
                    )),
                ));
            }
        };
        Ok(Self { inner: grid })
    }
    /// `(ny, nx)` or `(nz, ny, nx)`.
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.inner.array_shape()
    }
    /// Voxel size in mm, same axis order as `shape`.
    #[getter]
    fn spacing(&self) -> Vec<f64> {
        let s = self.inner.spacing();
        if self.inner.ndim() == 2 {
            s[1..].to_vec()
        } else {
            s.to_vec()
        }
    }
    /// Centre of voxel 0 in mm, same axis order as `shape`.
    #[getter]
    fn origin(&self) -> Vec<f64> {
        let o = self.inner.origin();
        if self.inner.ndim() == 2 {
            o[1..].to_vec()
        } else {
            o.to_vec()
        }
    }
    fn __repr__(&self) -> String {
        format!(
            "ImageGrid(shape={:?}, spacing={:?}, origin={:?})",
            self.shape(),
            self.spacing(),
            self.origin()
        )
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> Reduce<'py, (Vec<usize>, Vec<f64>, Vec<f64>)> {
        let g = slf.get();
        (slf.get_type(), (g.shape(), g.spacing(), g.origin()))
    }
}

fn angles_vec(py: Python<'_>, angles: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    let arr = py.import("numpy")?.call_method1("asarray", (angles,))?;
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    let ndim: usize = arr.getattr("ndim")?.extract()?;
    if !matches!(kind.as_str(), "f" | "i" | "u") || ndim != 1 {
        return Err(PyTypeError::new_err(
            "angles must be a 1-D sequence of real numbers (radians)",
        ));
    }
    arr.call_method1("astype", ("float64",))?
        .call_method0("tolist")?
        .extract()
}

/// Parallel-beam geometry: view `angles` in radians; `n_cols` detector bins of `col_spacing`
/// mm shifted by `col_offset` mm; `n_rows` rows (one per slice) of `row_spacing` mm.
#[pyclass(name = "ParallelBeam", module = "tomors", frozen)]
#[derive(Clone)]
struct PyParallelBeam {
    inner: tomors::ParallelBeam,
}

#[pymethods]
impl PyParallelBeam {
    #[new]
    #[pyo3(signature = (angles, n_cols, col_spacing=1.0, col_offset=0.0, n_rows=1, row_spacing=1.0))]
    fn new(
        py: Python<'_>,
        angles: &Bound<'_, PyAny>,
        n_cols: usize,
        col_spacing: f64,
        col_offset: f64,
        n_rows: usize,
        row_spacing: f64,
    ) -> PyResult<Self> {
        let cols = tomors::DetectorColumns {
            n_cols,
            spacing: col_spacing,
            offset: col_offset,
        };
        let inner =
            tomors::ParallelBeam::with_detector(angles_vec(py, angles)?, cols, n_rows, row_spacing)
                .py_err(py)?;
        Ok(Self { inner })
    }
    /// View angles in radians.
    #[getter]
    fn angles(&self) -> Vec<f64> {
        self.inner.angles().to_vec()
    }
    #[getter]
    fn n_cols(&self) -> usize {
        self.inner.columns().n_cols
    }
    #[getter]
    fn n_rows(&self) -> usize {
        self.inner.n_rows()
    }
    fn __repr__(&self) -> String {
        let c = self.inner.columns();
        format!(
            "ParallelBeam({} views, {} cols of {} mm, offset {} mm, {} rows)",
            self.inner.angles().len(),
            c.n_cols,
            c.spacing,
            c.offset,
            self.inner.n_rows()
        )
    }
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> Reduce<'py, (Vec<f64>, usize, f64, f64, usize, f64)> {
        let g = &slf.get().inner;
        let c = g.columns();
        (
            slf.get_type(),
            (
                g.angles().to_vec(),
                c.n_cols,
                c.spacing,
                c.offset,
                g.n_rows(),
                g.row_spacing(),
            ),
        )
    }
}

/// FanBeam's constructor arguments, in order.
type FanArgs = (
    Vec<f64>,
    usize,
    f64,
    f64,
    f64,
    &'static str,
    f64,
    usize,
    f64,
);

/// Fan-beam geometry: source `source_to_center` mm from the axis, detector
/// `source_to_detector` mm from the source, `detector="flat"` or `"arc"` (equiangular; the
/// column spacing is then the arc length in mm).
#[pyclass(name = "FanBeam", module = "tomors", frozen)]
#[derive(Clone)]
struct PyFanBeam {
    inner: tomors::FanBeam,
}

#[pymethods]
impl PyFanBeam {
    #[new]
    #[pyo3(signature = (angles, n_cols, col_spacing, source_to_center, source_to_detector, detector="flat", col_offset=0.0, n_rows=1, row_spacing=1.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        angles: &Bound<'_, PyAny>,
        n_cols: usize,
        col_spacing: f64,
        source_to_center: f64,
        source_to_detector: f64,
        detector: &str,
        col_offset: f64,
        n_rows: usize,
        row_spacing: f64,
    ) -> PyResult<Self> {
        let shape = match detector.to_ascii_lowercase().as_str() {
            "flat" => tomors::DetectorShape::Flat,
            "arc" => tomors::DetectorShape::Arc,
            other => {
                return Err(to_py(
                    py,
                    tomors::Error::InvalidArgument(format!(
                        "detector={other:?}; expected \"flat\" or \"arc\""
                    )),
                ));
            }
        };
        let cols = tomors::DetectorColumns {
            n_cols,
            spacing: col_spacing,
            offset: col_offset,
        };
        let inner = tomors::FanBeam::with_rows(
            angles_vec(py, angles)?,
            cols,
            n_rows,
            row_spacing,
            source_to_center,
            source_to_detector,
            shape,
        )
        .py_err(py)?;
        Ok(Self { inner })
    }
    /// View angles in radians.
    #[getter]
    fn angles(&self) -> Vec<f64> {
        self.inner.angles().to_vec()
    }
    #[getter]
    fn n_cols(&self) -> usize {
        self.inner.columns().n_cols
    }
    #[getter]
    fn n_rows(&self) -> usize {
        self.inner.n_rows()
    }
    /// Largest |fan angle| over the detector, radians.
    #[getter]
    fn max_fan_angle(&self) -> f64 {
        self.inner.max_fan_angle()
    }
    fn __repr__(&self) -> String {
        let c = self.inner.columns();
        format!(
            "FanBeam({} views, {} cols of {} mm, {:?}, source_to_center={} mm, source_to_detector={} mm)",
            self.inner.angles().len(),
            c.n_cols,
            c.spacing,
            self.inner.detector_shape(),
            self.inner.source_to_center(),
            self.inner.source_to_detector()
        )
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> Reduce<'py, FanArgs> {
        let g = &slf.get().inner;
        let c = g.columns();
        let shape = if g.detector_shape() == tomors::DetectorShape::Arc {
            "arc"
        } else {
            "flat"
        };
        (
            slf.get_type(),
            (
                g.angles().to_vec(),
                c.n_cols,
                c.spacing,
                g.source_to_center(),
                g.source_to_detector(),
                shape,
                c.offset,
                g.n_rows(),
                g.row_spacing(),
            ),
        )
    }
}

fn geometry_of(obj: &Bound<'_, PyAny>) -> PyResult<tomors::Geometry> {
    if let Ok(p) = obj.cast::<PyParallelBeam>() {
        return Ok(p.get().inner.clone().into());
    }
    if let Ok(f) = obj.cast::<PyFanBeam>() {
        return Ok(f.get().inner.clone().into());
    }
    Err(PyTypeError::new_err(
        "geometry must be a tomors.ParallelBeam or tomors.FanBeam",
    ))
}

/// Projector's constructor arguments, in order.
type ProjectorArgs<'py> = (Bound<'py, PyAny>, PyImageGrid, String, u64);

/// A matched projector pair `A` (Joseph forward projection) and `Aᵀ` (its exact adjoint) for
/// `geometry` over `grid`, planned once on `backend` ("auto", "gpu" or "cpu").
#[pyclass(name = "Projector", module = "tomors", frozen)]
struct PyProjector {
    inner: Arc<tomors::Projector>,
}

#[pymethods]
impl PyProjector {
    #[new]
    #[pyo3(signature = (geometry, grid, backend="auto", max_chunk_bytes=None))]
    fn new(
        py: Python<'_>,
        geometry: &Bound<'_, PyAny>,
        grid: &PyImageGrid,
        backend: &str,
        max_chunk_bytes: Option<u64>,
    ) -> PyResult<Self> {
        let geometry = geometry_of(geometry)?;
        let backend: tomors::Backend = backend.parse().py_err(py)?;
        let mut options = tomors::PlanOptions {
            backend,
            ..Default::default()
        };
        if let Some(b) = max_chunk_bytes {
            options.max_chunk_bytes = b;
        }
        let grid_inner = grid.inner.clone();
        let inner = py
            .detach(move || tomors::Projector::with_options(geometry, grid_inner, options))
            .py_err(py)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Pickles as its constructor arguments: the plan is rebuilt where it is unpickled, with
    /// the backend that was asked for (not necessarily the one used here).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduce<'py, ProjectorArgs<'py>>> {
        let py = slf.py();
        let p = &slf.get().inner;
        let geometry = match p.geometry() {
            tomors::Geometry::Parallel(g) => {
                Bound::new(py, PyParallelBeam { inner: g.clone() })?.into_any()
            }
            tomors::Geometry::Fan(g) => Bound::new(py, PyFanBeam { inner: g.clone() })?.into_any(),
        };
        let options = p.options();
        Ok((
            slf.get_type(),
            (
                geometry,
                PyImageGrid {
                    inner: p.grid().clone(),
                },
                options.backend.to_string(),
                options.max_chunk_bytes,
            ),
        ))
    }

    /// Line integrals (image value × mm) of `image` (shape `image_shape`); returns a new
    /// float32 array of shape `data_shape`.
    fn forward<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        array_to_array(py, image, "image", |v| self.inner.forward(v))
    }

    /// The exact adjoint (transpose) of `forward` applied to `data` (shape `data_shape`);
    /// returns a new float32 array of shape `image_shape`.
    fn adjoint<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        array_to_array(py, data, "data", |v| self.inner.adjoint(v))
    }

    /// Dot-product error |<Ax,y> - <x,A^T y>| / (|Ax| |y|) for signed random x, y in [-1, 1).
    #[pyo3(signature = (seed=0))]
    fn adjointness_test(&self, py: Python<'_>, seed: u64) -> PyResult<f64> {
        let p = &self.inner;
        py.detach(|| p.adjointness_test(seed)).py_err(py)
    }

    /// Operator norm ||A||_2 by power iteration.
    #[pyo3(signature = (iterations=20))]
    fn norm(&self, py: Python<'_>, iterations: usize) -> PyResult<f64> {
        let p = &self.inner;
        py.detach(|| p.norm(iterations)).py_err(py)
    }

    /// "cpu" or "gpu".
    #[getter]
    fn backend(&self) -> &'static str {
        self.inner.backend().kind()
    }
    /// The device this projector runs on, e.g. "gpu (NVIDIA H100 (Vulkan))" or "cpu (8 threads)".
    #[getter]
    fn device(&self) -> String {
        self.inner.backend().to_string()
    }
    #[getter]
    fn image_shape(&self) -> Vec<usize> {
        self.inner.image_shape()
    }
    #[getter]
    fn data_shape(&self) -> Vec<usize> {
        self.inner.data_shape()
    }
    #[getter]
    fn grid(&self) -> PyImageGrid {
        PyImageGrid {
            inner: self.inner.grid().clone(),
        }
    }
    fn __repr__(&self) -> String {
        format!(
            "Projector(image_shape={:?}, data_shape={:?}, backend={:?})",
            self.image_shape(),
            self.data_shape(),
            self.inner.backend().to_string()
        )
    }
}

fn ramp_filter(py: Python<'_>, filter: &str, cutoff: f64) -> PyResult<tomors::RampFilter> {
    let window: tomors::FilterWindow = filter.parse().py_err(py)?;
    tomors::RampFilter::new(window, cutoff).py_err(py)
}

/// A filtered back-projection plan for a projector's geometry, grid and backend: reuse it to
/// reconstruct many sinograms with the same geometry.
#[pyclass(name = "FBP", module = "tomors", frozen)]
struct PyFbp {
    inner: Arc<tomors::Fbp>,
}

#[pymethods]
impl PyFbp {
    #[new]
    #[pyo3(signature = (projector, filter="ram-lak", cutoff=1.0))]
    fn new(py: Python<'_>, projector: &PyProjector, filter: &str, cutoff: f64) -> PyResult<Self> {
        let f = ramp_filter(py, filter, cutoff)?;
        let p = projector.inner.clone();
        let inner = py.detach(move || tomors::Fbp::new(&p, f)).py_err(py)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }
    /// Reconstructs `data` (the projector's `data_shape`); a new float32 image.
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        array_to_array(py, data, "data", |v| self.inner.reconstruct(v))
    }
}

/// Filtered back-projection of `data` with `projector`'s geometry; returns the image.
#[pyfunction]
#[pyo3(signature = (data, projector, filter="ram-lak", cutoff=1.0))]
fn fbp<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    projector: &PyProjector,
    filter: &str,
    cutoff: f64,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let plan = PyFbp::new(py, projector, filter, cutoff)?;
    plan.__call__(py, data)
}

fn phantom_radius(grid: &tomors::ImageGrid, radius: Option<f64>) -> f64 {
    radius.unwrap_or_else(|| grid.inscribed_radius())
}

/// The modified Shepp-Logan phantom (maximum 1.0) on `grid`; `radius` is the head's
/// half-height in mm (default: the grid's inscribed radius). Each voxel is the mean of
/// `supersample`² point samples.
#[pyfunction]
#[pyo3(signature = (grid, radius=None, supersample=1))]
fn shepp_logan<'py>(
    py: Python<'py>,
    grid: &PyImageGrid,
    radius: Option<f64>,
    supersample: usize,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let g = &grid.inner;
    let r = phantom_radius(g, radius);
    let out = py
        .detach(|| {
            let a = EllipsoidPhantom::shepp_logan(r).rasterize(g, supersample)?;
            Ok::<_, tomors::Error>(if g.ndim() == 2 {
                a.index_axis_move(ndarray::Axis(0), 0).into_dyn()
            } else {
                a.into_dyn()
            })
        })
        .py_err(py)?;
    Ok(to_numpy(py, out))
}

/// Exact line integrals of the Shepp-Logan phantom of `shepp_logan(grid, radius)` through
/// every detector bin centre of `geometry`: shape `(views, cols)` for a 2D grid,
/// `(views, rows, cols)` for 3D.
#[pyfunction]
#[pyo3(signature = (geometry, grid, radius=None))]
fn shepp_logan_sinogram<'py>(
    py: Python<'py>,
    geometry: &Bound<'py, PyAny>,
    grid: &PyImageGrid,
    radius: Option<f64>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let geometry = geometry_of(geometry)?;
    let g = &grid.inner;
    let r = phantom_radius(g, radius);
    let out = py
        .detach(|| {
            let a = EllipsoidPhantom::shepp_logan(r).line_integrals(&geometry, g)?;
            Ok::<_, tomors::Error>(if g.ndim() == 2 {
                a.index_axis_move(ndarray::Axis(1), 0)
            } else {
                a
            })
        })
        .py_err(py)?;
    Ok(to_numpy(py, out))
}

/// Two new float32 arrays.
type ArrayPair<'py> = (Bound<'py, PyArrayDyn<f32>>, Bound<'py, PyArrayDyn<f32>>);
/// `SpectGeometry` constructor arguments: angles, n_cols, col_spacing, radii, collimator, col_offset.
type SpectGeometryArgs = (Vec<f64>, usize, f64, Vec<f64>, Option<PyCollimator>, f64);
/// `SpectProjector` constructor arguments: geometry, grid, μ-map, backend.
type SpectProjectorArgs<'py> = (
    Bound<'py, PyAny>,
    PyImageGrid,
    Option<Bound<'py, PyArrayDyn<f32>>>,
    String,
);

/// The collimator-detector response of a parallel-hole gamma camera: a Gaussian of FWHM
/// sqrt((fwhm_at_face + fwhm_slope * b)**2 + intrinsic_fwhm**2) mm at distance b mm from the
/// collimator face. Build one with `Collimator.preset("lehr" | "legp" | "megp" | "hegp")`,
/// `Collimator.from_holes(diameter, length, intrinsic_fwhm)` or the constructor.
#[pyclass(name = "Collimator", module = "tomors", frozen)]
#[derive(Clone)]
struct PyCollimator {
    inner: tomors::Collimator,
}

#[pymethods]
impl PyCollimator {
    #[new]
    #[pyo3(signature = (fwhm_at_face, fwhm_slope, intrinsic_fwhm=0.0))]
    fn new(
        py: Python<'_>,
        fwhm_at_face: f64,
        fwhm_slope: f64,
        intrinsic_fwhm: f64,
    ) -> PyResult<Self> {
        Ok(Self {
            inner: tomors::Collimator::linear(fwhm_at_face, fwhm_slope, intrinsic_fwhm)
                .py_err(py)?,
        })
    }
    /// A named preset: "lehr", "legp", "megp" or "hegp".
    #[staticmethod]
    fn preset(py: Python<'_>, name: &str) -> PyResult<Self> {
        Ok(Self {
            inner: tomors::Collimator::preset(name).py_err(py)?,
        })
    }
    /// From hole diameter and effective length (mm) and the intrinsic FWHM (mm).
    #[staticmethod]
    #[pyo3(signature = (hole_diameter, hole_length, intrinsic_fwhm=3.8))]
    fn from_holes(
        py: Python<'_>,
        hole_diameter: f64,
        hole_length: f64,
        intrinsic_fwhm: f64,
    ) -> PyResult<Self> {
        Ok(Self {
            inner: tomors::Collimator::from_holes(hole_diameter, hole_length, intrinsic_fwhm)
                .py_err(py)?,
        })
    }
    /// System FWHM (mm) at `distance` mm from the collimator face.
    fn fwhm(&self, distance: f64) -> f64 {
        self.inner.fwhm(distance)
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> Reduce<'py, (f64, f64, f64)> {
        let c = slf.get().inner;
        (
            slf.get_type(),
            (c.fwhm_at_face, c.fwhm_slope, c.intrinsic_fwhm),
        )
    }
    fn __repr__(&self) -> String {
        let c = self.inner;
        format!(
            "Collimator(fwhm_at_face={}, fwhm_slope={}, intrinsic_fwhm={})",
            c.fwhm_at_face, c.fwhm_slope, c.intrinsic_fwhm
        )
    }
}

/// A SPECT acquisition with a parallel-hole collimator: views at `angles` (radians), a radius
/// of rotation (mm; a scalar, or one per view for non-circular orbits) from the axis to the
/// collimator face, `n_cols` bins of `col_spacing` mm (equal to the grid's pixel size), one
/// detector row per image slice, and optionally the collimator-detector response.
#[pyclass(name = "SpectGeometry", module = "tomors", frozen)]
struct PySpectGeometry {
    inner: tomors::SpectGeometry,
}

#[pymethods]
impl PySpectGeometry {
    #[new]
    #[pyo3(signature = (angles, n_cols, col_spacing, radius, collimator=None, col_offset=0.0))]
    fn new(
        py: Python<'_>,
        angles: Vec<f64>,
        n_cols: usize,
        col_spacing: f64,
        radius: &Bound<'_, PyAny>,
        collimator: Option<PyRef<'_, PyCollimator>>,
        col_offset: f64,
    ) -> PyResult<Self> {
        let radii = per_axis(radius, angles.len(), "radius")?;
        let mut g = tomors::SpectGeometry::with_orbit(angles, radii, n_cols, col_spacing)
            .py_err(py)?
            .with_col_offset(col_offset)
            .py_err(py)?;
        if let Some(c) = collimator {
            g = g.with_collimator(c.inner);
        }
        Ok(Self { inner: g })
    }
    #[getter]
    fn angles(&self) -> Vec<f64> {
        self.inner.angles().to_vec()
    }
    #[getter]
    fn radii(&self) -> Vec<f64> {
        self.inner.radii().to_vec()
    }
    #[getter]
    fn n_cols(&self) -> usize {
        self.inner.n_cols()
    }
    #[getter]
    fn collimator(&self) -> Option<PyCollimator> {
        self.inner.collimator().map(|inner| PyCollimator { inner })
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduce<'py, SpectGeometryArgs>> {
        let g = &slf.get().inner;
        Ok((
            slf.get_type(),
            (
                g.angles().to_vec(),
                g.n_cols(),
                g.col_spacing(),
                g.radii().to_vec(),
                g.collimator().map(|inner| PyCollimator { inner }),
                g.col_offset(),
            ),
        ))
    }
}

/// The SPECT system model: attenuation by the μ-map `attenuation` (1/mm, shape of the grid)
/// and the geometry's collimator response inside a matched forward/adjoint pair. Images are
/// `vol[z, y, x]` (activity), projections `proj[view, row, col]` (counts; activity × mm).
#[pyclass(name = "SpectProjector", module = "tomors", frozen)]
struct PySpectProjector {
    inner: Arc<tomors::SpectProjector>,
    backend_request: String,
}

#[pymethods]
impl PySpectProjector {
    #[new]
    #[pyo3(signature = (geometry, grid, attenuation=None, backend="auto"))]
    fn new(
        py: Python<'_>,
        geometry: &PySpectGeometry,
        grid: &PyImageGrid,
        attenuation: Option<&Bound<'_, PyAny>>,
        backend: &str,
    ) -> PyResult<Self> {
        let b: tomors::Backend = backend.parse().py_err(py)?;
        let mu = attenuation
            .map(|a| f32_array(py, a, "attenuation"))
            .transpose()?;
        let mu_view = match &mu {
            Some(m) => {
                let v = m.as_array();
                if v.ndim() != 3 {
                    return Err(to_py(
                        py,
                        tomors::Error::ShapeMismatch {
                            what: "attenuation map",
                            expected: grid.inner.shape().to_vec(),
                            got: v.shape().to_vec(),
                        },
                    ));
                }
                Some(v.into_dimensionality::<ndarray::Ix3>().expect("3D"))
            }
            None => None,
        };
        let (g, gr) = (geometry.inner.clone(), grid.inner.clone());
        let inner = py
            .detach(move || tomors::SpectProjector::new(g, gr, mu_view, b))
            .py_err(py)?;
        Ok(Self {
            inner: Arc::new(inner),
            backend_request: backend.to_string(),
        })
    }
    /// Pickles as its constructor arguments (the μ-map included); the plan is rebuilt on arrival.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduce<'py, SpectProjectorArgs<'py>>> {
        let py = slf.py();
        let p = &slf.get().inner;
        let geometry = Bound::new(
            py,
            PySpectGeometry {
                inner: p.geometry().clone(),
            },
        )?
        .into_any();
        let mu = p
            .attenuation()
            .map(|m| to_numpy(py, m.to_owned().into_dyn()));
        Ok((
            slf.get_type(),
            (
                geometry,
                PyImageGrid {
                    inner: p.grid().clone(),
                },
                mu,
                slf.get().backend_request.clone(),
            ),
        ))
    }
    /// Expected counts A x of `image` (grid shape): a new float32 array `(views, rows, cols)`.
    fn forward<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        array_to_array(py, image, "image", |v| self.inner.forward(v))
    }
    /// The exact transpose of `forward` applied to `data`: a new float32 image.
    fn adjoint<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        array_to_array(py, data, "data", |v| self.inner.adjoint(v))
    }
    /// Dot-product error |<Ax,y> - <x,A^T y>| / (|Ax| |y|) for signed random x, y in [-1, 1).
    #[pyo3(signature = (seed=0))]
    fn adjointness_test(&self, py: Python<'_>, seed: u64) -> PyResult<f64> {
        let p = &self.inner;
        py.detach(|| p.adjointness_test(seed)).py_err(py)
    }
    #[getter]
    fn backend(&self) -> &'static str {
        self.inner.backend().kind()
    }
    #[getter]
    fn device(&self) -> String {
        self.inner.backend().to_string()
    }
    #[getter]
    fn image_shape(&self) -> Vec<usize> {
        self.inner.grid().shape().to_vec()
    }
    #[getter]
    fn data_shape(&self) -> Vec<usize> {
        self.inner.data_shape()
    }
    fn __repr__(&self) -> String {
        format!(
            "SpectProjector(image_shape={:?}, data_shape={:?}, backend={:?})",
            self.image_shape(),
            self.data_shape(),
            self.device()
        )
    }
}

/// A prior for one-step-late MAP-EM: `Prior.quadratic(beta)` or
/// `Prior.relative_difference(beta, gamma=2.0)` (26-neighbourhood, inverse-distance weights).
#[pyclass(name = "Prior", module = "tomors", frozen)]
#[derive(Clone)]
struct PyPrior {
    inner: tomors::Prior,
}

#[pymethods]
impl PyPrior {
    #[staticmethod]
    fn quadratic(py: Python<'_>, beta: f64) -> PyResult<Self> {
        Ok(Self {
            inner: tomors::Prior::quadratic(beta).py_err(py)?,
        })
    }
    #[staticmethod]
    #[pyo3(signature = (beta, gamma=2.0))]
    fn relative_difference(py: Python<'_>, beta: f64, gamma: f64) -> PyResult<Self> {
        Ok(Self {
            inner: tomors::Prior::relative_difference(beta, gamma).py_err(py)?,
        })
    }
    fn __repr__(&self) -> String {
        match self.inner.kind {
            tomors::PriorKind::Quadratic => format!("Prior.quadratic(beta={})", self.inner.beta),
            tomors::PriorKind::RelativeDifference { gamma } => format!(
                "Prior.relative_difference(beta={}, gamma={gamma})",
                self.inner.beta
            ),
        }
    }
}

/// The PET system model for 2D sinograms (stacks of planes): line integrals of a parallel
/// `geometry` (views over [0, pi)) times attenuation factors exp(-A mu) from `attenuation`
/// (1/mm, the grid's shape) and `normalisation` factors (the data's shape). Randoms and
/// scatter go to `osem(..., background=...)`.
#[pyclass(name = "PetProjector", module = "tomors", frozen)]
struct PyPetProjector {
    inner: Arc<tomors::PetProjector>,
}

#[pymethods]
impl PyPetProjector {
    #[new]
    #[pyo3(signature = (geometry, grid, attenuation=None, normalisation=None, backend="auto"))]
    fn new(
        py: Python<'_>,
        geometry: &PyParallelBeam,
        grid: &PyImageGrid,
        attenuation: Option<&Bound<'_, PyAny>>,
        normalisation: Option<&Bound<'_, PyAny>>,
        backend: &str,
    ) -> PyResult<Self> {
        let b: tomors::Backend = backend.parse().py_err(py)?;
        let mu = attenuation
            .map(|a| f32_array(py, a, "attenuation"))
            .transpose()?;
        let norm = normalisation
            .map(|n| f32_array(py, n, "normalisation"))
            .transpose()?;
        let (g, gr) = (geometry.inner.clone(), grid.inner.clone());
        let (mv, nv) = (
            mu.as_ref().map(|m| m.as_array()),
            norm.as_ref().map(|n| n.as_array()),
        );
        let inner = py
            .detach(move || tomors::PetProjector::new(g, gr, mv, nv, b))
            .py_err(py)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }
    /// Expected trues m * (A x): a new float32 sinogram.
    fn forward<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        array_to_array(py, image, "image", |v| self.inner.forward(v))
    }
    /// The transpose A^T (m * y): a new float32 image.
    fn adjoint<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        array_to_array(py, data, "data", |v| self.inner.adjoint(v))
    }
    /// The multiplicative factors m (attenuation x normalisation), or None.
    #[getter]
    fn factors<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArrayDyn<f32>>> {
        self.inner.factors().map(|f| to_numpy(py, f))
    }
    /// Dot-product error |<Ax,y> - <x,A^T y>| / (|Ax| |y|) for signed random x, y in [-1, 1).
    #[pyo3(signature = (seed=0))]
    fn adjointness_test(&self, py: Python<'_>, seed: u64) -> PyResult<f64> {
        let p = &self.inner;
        py.detach(|| p.adjointness_test(seed)).py_err(py)
    }
    #[getter]
    fn backend(&self) -> &'static str {
        self.inner.backend().kind()
    }
}

/// The system models `osem` and `mlem` accept.
#[derive(FromPyObject)]
enum EmissionModel<'py> {
    Spect(PyRef<'py, PySpectProjector>),
    Pet(PyRef<'py, PyPetProjector>),
}

/// OSEM (MLEM when `subsets == 1`) of `data` (counts, finite, >= 0) through a SpectProjector
/// or a PetProjector.
/// `background` is the additive term (scatter, randoms) shaped like the data; `x0` the start
/// image (default 1 wherever the camera sees); `callback(iteration, image)` is called after
/// each iteration with a copy of the image and stops the reconstruction by returning False
/// (an exception it raises stops it and is re-raised); `post_filter_fwhm` (mm) smooths the
/// result with a 3D Gaussian; `prior` (a `Prior`) makes it one-step-late MAP-EM. Returns a new
/// float32 image.
#[pyfunction]
#[pyo3(signature = (data, projector, iterations, subsets, background=None, x0=None, callback=None, post_filter_fwhm=None, prior=None))]
#[allow(clippy::too_many_arguments)]
fn osem<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    projector: EmissionModel<'py>,
    iterations: usize,
    subsets: usize,
    background: Option<&Bound<'py, PyAny>>,
    x0: Option<&Bound<'py, PyAny>>,
    callback: Option<Py<PyAny>>,
    post_filter_fwhm: Option<f64>,
    prior: Option<PyRef<'py, PyPrior>>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let y = f32_array(py, data, "data")?;
    let b = background
        .map(|b| f32_array(py, b, "background"))
        .transpose()?;
    let x = x0.map(|x| f32_array(py, x, "x0")).transpose()?;
    let settings = tomors::Osem {
        iterations,
        subsets,
        background: b.as_ref().map(|b| b.as_array()),
        x0: x.as_ref().map(|x| x.as_array()),
        post_filter_fwhm,
        prior: prior.map(|p| p.inner),
    };
    let view = y.as_array();
    let mut raised: Option<PyErr> = None;
    let model: &(dyn SystemModelDyn + Sync) = match &projector {
        EmissionModel::Spect(p) => p.inner.as_ref(),
        EmissionModel::Pet(p) => p.inner.as_ref(),
    };
    let out = py.detach(|| match &callback {
        None => model.run(&settings, view, None),
        Some(cb) => {
            let mut call = |r: &tomors::recon::IterationReport<'_>| -> bool {
                Python::attach(|py| {
                    let image = to_numpy(py, r.image.to_owned());
                    match cb.call1(py, (r.iteration, image)) {
                        Ok(v) => !v.bind(py).is(pyo3::types::PyBool::new(py, false)),
                        Err(e) => {
                            raised = Some(e);
                            false
                        }
                    }
                })
            };
            model.run(&settings, view, Some(&mut call))
        }
    });
    if let Some(e) = raised {
        return Err(e);
    }
    Ok(to_numpy(py, out.py_err(py)?))
}

/// MLEM: `osem` with one subset.
#[pyfunction]
#[pyo3(signature = (data, projector, iterations, background=None, x0=None, callback=None, post_filter_fwhm=None, prior=None))]
#[allow(clippy::too_many_arguments)]
fn mlem<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    projector: EmissionModel<'py>,
    iterations: usize,
    background: Option<&Bound<'py, PyAny>>,
    x0: Option<&Bound<'py, PyAny>>,
    callback: Option<Py<PyAny>>,
    post_filter_fwhm: Option<f64>,
    prior: Option<PyRef<'py, PyPrior>>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    osem(
        py,
        data,
        projector,
        iterations,
        1,
        background,
        x0,
        callback,
        post_filter_fwhm,
        prior,
    )
}

/// Triple-energy-window scatter estimate (C_lower/W_lower + C_upper/W_upper) * W_peak / 2 from
/// the side windows' counts (upper may be None) and the window widths in keV.
#[pyfunction]
#[pyo3(signature = (lower, upper, lower_width_kev, upper_width_kev, peak_width_kev))]
fn triple_energy_window<'py>(
    py: Python<'py>,
    lower: &Bound<'py, PyAny>,
    upper: Option<&Bound<'py, PyAny>>,
    lower_width_kev: f64,
    upper_width_kev: f64,
    peak_width_kev: f64,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let lo = f32_array(py, lower, "lower window")?;
    let up = upper
        .map(|u| f32_array(py, u, "upper window"))
        .transpose()?;
    let out = tomors::physics::triple_energy_window(
        lo.as_array(),
        up.as_ref().map(|u| u.as_array()),
        lower_width_kev,
        upper_width_kev,
        peak_width_kev,
    )
    .py_err(py)?;
    Ok(to_numpy(py, out))
}

/// Dual-energy-window scatter estimate k * C_scatter (k = 0.5 for Tc-99m with a 92-125 keV window).
#[pyfunction]
#[pyo3(signature = (scatter_window, k=0.5))]
fn dual_energy_window<'py>(
    py: Python<'py>,
    scatter_window: &Bound<'py, PyAny>,
    k: f64,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let c = f32_array(py, scatter_window, "scatter window")?;
    Ok(to_numpy(
        py,
        tomors::physics::dual_energy_window(c.as_array(), k).py_err(py)?,
    ))
}

/// Poisson log-likelihood sum(y log(A x + b) - (A x + b)) of `image` for `data`.
#[pyfunction]
#[pyo3(signature = (data, projector, image, background=None))]
fn log_likelihood<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    projector: EmissionModel<'py>,
    image: &Bound<'py, PyAny>,
    background: Option<&Bound<'py, PyAny>>,
) -> PyResult<f64> {
    let y = f32_array(py, data, "data")?;
    let x = f32_array(py, image, "image")?;
    let b = background
        .map(|b| f32_array(py, b, "background"))
        .transpose()?;
    let (yv, xv, bv) = (y.as_array(), x.as_array(), b.as_ref().map(|b| b.as_array()));
    let model: &(dyn SystemModelDyn + Sync) = match &projector {
        EmissionModel::Spect(p) => p.inner.as_ref(),
        EmissionModel::Pet(p) => p.inner.as_ref(),
    };
    py.detach(|| model.log_likelihood(yv, xv, bv)).py_err(py)
}

/// Object-safe access to the generic EM entry points for every system model.
trait SystemModelDyn {
    fn run(
        &self,
        settings: &tomors::Osem<'_>,
        data: ArrayViewD<'_, f32>,
        callback: Option<&mut dyn FnMut(&tomors::recon::IterationReport<'_>) -> bool>,
    ) -> tomors::Result<ArrayD<f32>>;
    fn log_likelihood(
        &self,
        data: ArrayViewD<'_, f32>,
        image: ArrayViewD<'_, f32>,
        background: Option<ArrayViewD<'_, f32>>,
    ) -> tomors::Result<f64>;
}

impl<M: tomors::SystemModel> SystemModelDyn for M {
    fn run(
        &self,
        settings: &tomors::Osem<'_>,
        data: ArrayViewD<'_, f32>,
        callback: Option<&mut dyn FnMut(&tomors::recon::IterationReport<'_>) -> bool>,
    ) -> tomors::Result<ArrayD<f32>> {
        settings.run_with(self, data, callback)
    }
    fn log_likelihood(
        &self,
        data: ArrayViewD<'_, f32>,
        image: ArrayViewD<'_, f32>,
        background: Option<ArrayViewD<'_, f32>>,
    ) -> tomors::Result<f64> {
        tomors::recon::log_likelihood(self, data, image, background)
    }
}

/// OS-SPS for CT: pre-log `counts` ~ Poisson(blank * exp(-A mu) + background) through a
/// Projector; returns mu (1/mm), non-negative. One subset is SPS (monotone).
#[pyfunction]
#[pyo3(signature = (counts, blank, projector, iterations, subsets, background=None, x0=None))]
#[allow(clippy::too_many_arguments)]
fn os_sps<'py>(
    py: Python<'py>,
    counts: &Bound<'py, PyAny>,
    blank: &Bound<'py, PyAny>,
    projector: &PyProjector,
    iterations: usize,
    subsets: usize,
    background: Option<&Bound<'py, PyAny>>,
    x0: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let y = f32_array(py, counts, "counts")?;
    let b = f32_array(py, blank, "blank")?;
    let r = background
        .map(|r| f32_array(py, r, "background"))
        .transpose()?;
    let x = x0.map(|x| f32_array(py, x, "x0")).transpose()?;
    let settings = tomors::recon::OrderedSubsets {
        iterations,
        subsets,
        x0: x.as_ref().map(|x| x.as_array()),
    };
    let p = &projector.inner;
    let (yv, bv, rv) = (y.as_array(), b.as_array(), r.as_ref().map(|r| r.as_array()));
    Ok(to_numpy(
        py,
        py.detach(|| settings.os_sps(p, yv, bv, rv)).py_err(py)?,
    ))
}

/// OS-SART for CT on post-log line integrals `sinogram` through a Projector, relaxation in
/// (0, 2), optional non-negativity.
#[pyfunction]
#[pyo3(signature = (sinogram, projector, iterations, subsets, relaxation=1.0, non_negative=true, x0=None))]
#[allow(clippy::too_many_arguments)]
fn os_sart<'py>(
    py: Python<'py>,
    sinogram: &Bound<'py, PyAny>,
    projector: &PyProjector,
    iterations: usize,
    subsets: usize,
    relaxation: f64,
    non_negative: bool,
    x0: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let p_in = f32_array(py, sinogram, "sinogram")?;
    let x = x0.map(|x| f32_array(py, x, "x0")).transpose()?;
    let settings = tomors::recon::OrderedSubsets {
        iterations,
        subsets,
        x0: x.as_ref().map(|x| x.as_array()),
    };
    let p = &projector.inner;
    let view = p_in.as_array();
    Ok(to_numpy(
        py,
        py.detach(|| settings.os_sart(p, view, relaxation, non_negative))
            .py_err(py)?,
    ))
}

/// The NEMA IEC body-like phantom on `grid` (3D, or 2D for the plane through the spheres):
/// `(activity, mu)` arrays, spheres at
/// `contrast`:1 over a background of `background`, μ of water `mu_water` (1/mm; lung 0.3×).
#[pyfunction]
#[pyo3(signature = (grid, contrast=4.0, background=1.0, mu_water=0.0154, supersample=2))]
fn nema_iec<'py>(
    py: Python<'py>,
    grid: &PyImageGrid,
    contrast: f64,
    background: f64,
    mu_water: f64,
    supersample: usize,
) -> PyResult<ArrayPair<'py>> {
    let p = tomors::phantom::NemaIecPhantom {
        contrast,
        background,
        mu_water,
        mu_lung: 0.3 * mu_water,
        ..Default::default()
    };
    let g = &grid.inner;
    let (a, m) = py.detach(|| p.rasterize(g, supersample)).py_err(py)?;
    // A 2D grid gives the plane through the spheres, shaped like its images `(ny, nx)`.
    let shaped = |v: ndarray::Array3<f32>| {
        if g.ndim() == 2 {
            v.index_axis_move(ndarray::Axis(0), 0).into_dyn()
        } else {
            v.into_dyn()
        }
    };
    Ok((to_numpy(py, shaped(a)), to_numpy(py, shaped(m))))
}

/// Names of the wgpu adapters found on this machine, with their device types.
#[pyfunction]
fn adapters() -> Vec<(String, String, String)> {
    tomors::backend::gpu::GpuContext::adapters()
        .into_iter()
        .map(|a| (a.name, a.backend, a.device_type))
        .collect()
}

#[pymodule]
fn _tomors(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyImageGrid>()?;
    m.add_class::<PyParallelBeam>()?;
    m.add_class::<PyFanBeam>()?;
    m.add_class::<PyProjector>()?;
    m.add_class::<PyFbp>()?;
    m.add_class::<PyCollimator>()?;
    m.add_class::<PySpectGeometry>()?;
    m.add_class::<PySpectProjector>()?;
    m.add_class::<PyPrior>()?;
    m.add_class::<PyPetProjector>()?;
    m.add_function(wrap_pyfunction!(os_sps, m)?)?;
    m.add_function(wrap_pyfunction!(os_sart, m)?)?;
    m.add_function(wrap_pyfunction!(osem, m)?)?;
    m.add_function(wrap_pyfunction!(triple_energy_window, m)?)?;
    m.add_function(wrap_pyfunction!(dual_energy_window, m)?)?;
    m.add_function(wrap_pyfunction!(mlem, m)?)?;
    m.add_function(wrap_pyfunction!(log_likelihood, m)?)?;
    m.add_function(wrap_pyfunction!(nema_iec, m)?)?;
    m.add_function(wrap_pyfunction!(fbp, m)?)?;
    m.add_function(wrap_pyfunction!(shepp_logan, m)?)?;
    m.add_function(wrap_pyfunction!(shepp_logan_sinogram, m)?)?;
    m.add_function(wrap_pyfunction!(adapters, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::spect_ct, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::pet_ct, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::fuse_pet_ct, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::hu_to_mu, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::attenuation_coefficients, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::bone_ct_number, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::register_rigid, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::rigid_move_grid, m)?)?;
    m.add_function(wrap_pyfunction!(spect_ct::rigid_apply, m)?)?;
    io::register(m)?;
    fusion::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
