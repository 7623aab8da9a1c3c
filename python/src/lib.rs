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
use tomors::phantom::EllipsoidPhantom;

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
        _ => "TomorsError",
    };
    match py.import("tomors.errors").and_then(|m| m.getattr(class)) {
        Ok(cls) => PyErr::from_type(cls.cast_into().expect("exception classes are types"), e.to_string()),
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
fn f32_array<'py>(py: Python<'py>, obj: &Bound<'py, PyAny>, name: &str) -> PyResult<PyReadonlyArrayDyn<'py, f32>> {
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
        return Err(PyTypeError::new_err(format!("{name} has dtype {dtype}; expected real numbers (float32, or any float/int dtype, converted)")));
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
        return Err(PyErr::new::<pyo3::exceptions::PyValueError, _>(format!("{what} has {} values; expected 1 or {n}", v.len())));
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
    fn new(py: Python<'_>, shape: Vec<usize>, spacing: Option<&Bound<'_, PyAny>>, origin: Option<Vec<f64>>) -> PyResult<Self> {
        let n = shape.len();
        let spacing = match spacing {
            Some(s) => per_axis(s, n, "spacing")?,
            None => vec![1.0; n],
        };
        let grid = match n {
            2 => tomors::ImageGrid::new_2d([shape[0], shape[1]], [spacing[0], spacing[1]]),
            3 => tomors::ImageGrid::new_3d([shape[0], shape[1], shape[2]], [spacing[0], spacing[1], spacing[2]]),
            _ => return Err(to_py(py, tomors::Error::InvalidGeometry(format!("grid shape has {n} axes; expected (ny, nx) or (nz, ny, nx)")))),
        }
        .py_err(py)?;
        let grid = match origin {
            None => grid,
            Some(o) if o.len() == n => {
                let z = if n == 2 { grid.origin()[0] } else { o[0] };
                grid.with_origin([z, o[n - 2], o[n - 1]]).py_err(py)?
            }
            Some(o) => return Err(to_py(py, tomors::Error::InvalidGeometry(format!("origin has {} values; expected {n}", o.len())))),
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
        if self.inner.ndim() == 2 { s[1..].to_vec() } else { s.to_vec() }
    }
    /// Centre of voxel 0 in mm, same axis order as `shape`.
    #[getter]
    fn origin(&self) -> Vec<f64> {
        let o = self.inner.origin();
        if self.inner.ndim() == 2 { o[1..].to_vec() } else { o.to_vec() }
    }
    fn __repr__(&self) -> String {
        format!("ImageGrid(shape={:?}, spacing={:?}, origin={:?})", self.shape(), self.spacing(), self.origin())
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
        return Err(PyTypeError::new_err("angles must be a 1-D sequence of real numbers (radians)"));
    }
    arr.call_method1("astype", ("float64",))?.call_method0("tolist")?.extract()
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
    fn new(py: Python<'_>, angles: &Bound<'_, PyAny>, n_cols: usize, col_spacing: f64, col_offset: f64, n_rows: usize, row_spacing: f64) -> PyResult<Self> {
        let cols = tomors::DetectorColumns { n_cols, spacing: col_spacing, offset: col_offset };
        let inner = tomors::ParallelBeam::with_detector(angles_vec(py, angles)?, cols, n_rows, row_spacing).py_err(py)?;
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
        format!("ParallelBeam({} views, {} cols of {} mm, offset {} mm, {} rows)", self.inner.angles().len(), c.n_cols, c.spacing, c.offset, self.inner.n_rows())
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> Reduce<'py, (Vec<f64>, usize, f64, f64, usize, f64)> {
        let g = &slf.get().inner;
        let c = g.columns();
        (slf.get_type(), (g.angles().to_vec(), c.n_cols, c.spacing, c.offset, g.n_rows(), g.row_spacing()))
    }
}

/// FanBeam's constructor arguments, in order.
type FanArgs = (Vec<f64>, usize, f64, f64, f64, &'static str, f64, usize, f64);

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
            other => return Err(to_py(py, tomors::Error::InvalidArgument(format!("detector={other:?}; expected \"flat\" or \"arc\"")))),
        };
        let cols = tomors::DetectorColumns { n_cols, spacing: col_spacing, offset: col_offset };
        let inner = tomors::FanBeam::with_rows(angles_vec(py, angles)?, cols, n_rows, row_spacing, source_to_center, source_to_detector, shape).py_err(py)?;
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
        let shape = if g.detector_shape() == tomors::DetectorShape::Arc { "arc" } else { "flat" };
        (slf.get_type(), (g.angles().to_vec(), c.n_cols, c.spacing, g.source_to_center(), g.source_to_detector(), shape, c.offset, g.n_rows(), g.row_spacing()))
    }
}

fn geometry_of(obj: &Bound<'_, PyAny>) -> PyResult<tomors::Geometry> {
    if let Ok(p) = obj.cast::<PyParallelBeam>() {
        return Ok(p.get().inner.clone().into());
    }
    if let Ok(f) = obj.cast::<PyFanBeam>() {
        return Ok(f.get().inner.clone().into());
    }
    Err(PyTypeError::new_err("geometry must be a tomors.ParallelBeam or tomors.FanBeam"))
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
    fn new(py: Python<'_>, geometry: &Bound<'_, PyAny>, grid: &PyImageGrid, backend: &str, max_chunk_bytes: Option<u64>) -> PyResult<Self> {
        let geometry = geometry_of(geometry)?;
        let backend: tomors::Backend = backend.parse().py_err(py)?;
        let mut options = tomors::PlanOptions { backend, ..Default::default() };
        if let Some(b) = max_chunk_bytes {
            options.max_chunk_bytes = b;
        }
        let grid_inner = grid.inner.clone();
        let inner = py.detach(move || tomors::Projector::with_options(geometry, grid_inner, options)).py_err(py)?;
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Pickles as its constructor arguments: the plan is rebuilt where it is unpickled, with
    /// the backend that was asked for (not necessarily the one used here).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduce<'py, ProjectorArgs<'py>>> {
        let py = slf.py();
        let p = &slf.get().inner;
        let geometry = match p.geometry() {
            tomors::Geometry::Parallel(g) => Bound::new(py, PyParallelBeam { inner: g.clone() })?.into_any(),
            tomors::Geometry::Fan(g) => Bound::new(py, PyFanBeam { inner: g.clone() })?.into_any(),
        };
        let options = p.options();
        Ok((slf.get_type(), (geometry, PyImageGrid { inner: p.grid().clone() }, options.backend.to_string(), options.max_chunk_bytes)))
    }

    /// Line integrals (image value × mm) of `image` (shape `image_shape`); returns a new
    /// float32 array of shape `data_shape`.
    fn forward<'py>(&self, py: Python<'py>, image: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        let x = f32_array(py, image, "image")?;
        let view: ArrayViewD<'_, f32> = x.as_array();
        let p = &self.inner;
        let out = py.detach(|| p.forward(view)).py_err(py)?;
        Ok(to_numpy(py, out))
    }

    /// The exact adjoint (transpose) of `forward` applied to `data` (shape `data_shape`);
    /// returns a new float32 array of shape `image_shape`.
    fn adjoint<'py>(&self, py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        let y = f32_array(py, data, "data")?;
        let view = y.as_array();
        let p = &self.inner;
        let out = py.detach(|| p.adjoint(view)).py_err(py)?;
        Ok(to_numpy(py, out))
    }

    /// Relative dot-product error |<Ax,y> - <x,A^T y>| / |<Ax,y>| for random x, y.
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
        PyImageGrid { inner: self.inner.grid().clone() }
    }
    fn __repr__(&self) -> String {
        format!("Projector(image_shape={:?}, data_shape={:?}, backend={:?})", self.image_shape(), self.data_shape(), self.inner.backend().to_string())
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
        Ok(Self { inner: Arc::new(inner) })
    }
    /// Reconstructs `data` (the projector's `data_shape`); a new float32 image.
    fn __call__<'py>(&self, py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        let y = f32_array(py, data, "data")?;
        let view = y.as_array();
        let f = &self.inner;
        let out = py.detach(|| f.reconstruct(view)).py_err(py)?;
        Ok(to_numpy(py, out))
    }
}

/// Filtered back-projection of `data` with `projector`'s geometry; returns the image.
#[pyfunction]
#[pyo3(signature = (data, projector, filter="ram-lak", cutoff=1.0))]
fn fbp<'py>(py: Python<'py>, data: &Bound<'py, PyAny>, projector: &PyProjector, filter: &str, cutoff: f64) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
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
fn shepp_logan<'py>(py: Python<'py>, grid: &PyImageGrid, radius: Option<f64>, supersample: usize) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let g = &grid.inner;
    let r = phantom_radius(g, radius);
    let out = py
        .detach(|| {
            let a = EllipsoidPhantom::shepp_logan(r).rasterize(g, supersample)?;
            Ok::<_, tomors::Error>(if g.ndim() == 2 { a.index_axis_move(ndarray::Axis(0), 0).into_dyn() } else { a.into_dyn() })
        })
        .py_err(py)?;
    Ok(to_numpy(py, out))
}

/// Exact line integrals of the Shepp-Logan phantom of `shepp_logan(grid, radius)` through
/// every detector bin centre of `geometry`: shape `(views, cols)` for a 2D grid,
/// `(views, rows, cols)` for 3D.
#[pyfunction]
#[pyo3(signature = (geometry, grid, radius=None))]
fn shepp_logan_sinogram<'py>(py: Python<'py>, geometry: &Bound<'py, PyAny>, grid: &PyImageGrid, radius: Option<f64>) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let geometry = geometry_of(geometry)?;
    let g = &grid.inner;
    let r = phantom_radius(g, radius);
    let out = py
        .detach(|| {
            let a = EllipsoidPhantom::shepp_logan(r).line_integrals(&geometry, g)?;
            Ok::<_, tomors::Error>(if g.ndim() == 2 { a.index_axis_move(ndarray::Axis(1), 0) } else { a })
        })
        .py_err(py)?;
    Ok(to_numpy(py, out))
}

/// Names of the wgpu adapters found on this machine, with their device types.
#[pyfunction]
fn adapters() -> Vec<(String, String, String)> {
    tomors::backend::gpu::GpuContext::adapters().into_iter().map(|a| (a.name, a.backend, a.device_type)).collect()
}

#[pymodule]
fn _tomors(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyImageGrid>()?;
    m.add_class::<PyParallelBeam>()?;
    m.add_class::<PyFanBeam>()?;
    m.add_class::<PyProjector>()?;
    m.add_class::<PyFbp>()?;
    m.add_function(wrap_pyfunction!(fbp, m)?)?;
    m.add_function(wrap_pyfunction!(shepp_logan, m)?)?;
    m.add_function(wrap_pyfunction!(shepp_logan_sinogram, m)?)?;
    m.add_function(wrap_pyfunction!(adapters, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
