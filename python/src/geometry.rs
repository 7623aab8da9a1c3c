//! Grids and acquisition geometries: ImageGrid, ParallelBeam, FanBeam, Collimator, SpectGeometry.

use crate::arrays::*;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

/// A regular voxel grid centred on the rotation axis: `shape` is `(ny, nx)` or `(nz, ny, nx)`,
/// `spacing` in mm (a scalar or one value per axis, same order), `origin` the centre of voxel 0
/// in mm (same order; default: centred).
#[pyclass(name = "ImageGrid", module = "tomors", frozen)]
#[derive(Clone)]
pub(crate) struct PyImageGrid {
    pub(crate) inner: tomors::ImageGrid,
}

#[pymethods]
impl PyImageGrid {
    #[new]
    #[pyo3(signature = (shape, spacing=None, origin=None))]
    fn new(
        py: Python<'_>,
        shape: Vec<Int<usize>>,
        spacing: Option<&Bound<'_, PyAny>>,
        origin: Option<Vec<f64>>,
    ) -> PyResult<Self> {
        let shape: Vec<usize> = shape.into_iter().map(|v| v.0).collect();
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

pub(crate) fn angles_vec(py: Python<'_>, angles: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
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
pub(crate) struct PyParallelBeam {
    pub(crate) inner: tomors::ParallelBeam,
}

#[pymethods]
impl PyParallelBeam {
    #[new]
    #[pyo3(signature = (angles, n_cols, col_spacing=1.0, col_offset=0.0, n_rows=Int(1), row_spacing=1.0))]
    fn new(
        py: Python<'_>,
        angles: &Bound<'_, PyAny>,
        n_cols: Int<usize>,
        col_spacing: f64,
        col_offset: f64,
        n_rows: Int<usize>,
        row_spacing: f64,
    ) -> PyResult<Self> {
        let n_cols = n_cols.0;
        let n_rows = n_rows.0;
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

/// Fan-beam geometry: source `source_to_center` mm from the axis, detector
/// `source_to_detector` mm from the source, `detector="flat"` or `"arc"` (equiangular; the
/// column spacing is then the arc length in mm).
#[pyclass(name = "FanBeam", module = "tomors", frozen)]
#[derive(Clone)]
pub(crate) struct PyFanBeam {
    pub(crate) inner: tomors::FanBeam,
}

/// FanBeam's constructor arguments, in order.
pub(crate) type FanArgs = (
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

#[pymethods]
impl PyFanBeam {
    #[new]
    #[pyo3(signature = (angles, n_cols, col_spacing, source_to_center, source_to_detector, detector="flat", col_offset=0.0, n_rows=Int(1), row_spacing=1.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        angles: &Bound<'_, PyAny>,
        n_cols: Int<usize>,
        col_spacing: f64,
        source_to_center: f64,
        source_to_detector: f64,
        detector: &str,
        col_offset: f64,
        n_rows: Int<usize>,
        row_spacing: f64,
    ) -> PyResult<Self> {
        let n_cols = n_cols.0;
        let n_rows = n_rows.0;
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

pub(crate) fn geometry_of(obj: &Bound<'_, PyAny>) -> PyResult<tomors::Geometry> {
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

/// The collimator-detector response of a parallel-hole gamma camera: a Gaussian of FWHM
/// sqrt((fwhm_at_face + fwhm_slope * b)**2 + intrinsic_fwhm**2) mm at distance b mm from the
/// collimator face. Build one with `Collimator.for_camera(name, manufacturer, kev)`,
/// `Collimator.from_spec(...)`, `Collimator.preset("lehr" | "legp" | "megp" | "hegp")` (at
/// 140 keV), `Collimator.from_holes(diameter, effective_length, intrinsic_fwhm)` or the
/// constructor.
#[pyclass(name = "Collimator", module = "tomors", frozen)]
#[derive(Clone)]
pub(crate) struct PyCollimator {
    pub(crate) inner: tomors::Collimator,
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
    /// A generic collimator by type at 140 keV: "lehr", "legp", "megp" or "hegp".
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
    /// The collimator `name` ("lehr", "legp"/"leap", "megp"/"me"/"melp", "hegp"/"he") of
    /// `manufacturer`'s cameras (GE, Siemens or Mediso; others get Siemens Symbia's) at photon
    /// energy `kev`: septal penetration as an effective hole length, intrinsic FWHM (3.8 mm at
    /// 140 keV) scaled by sqrt(140 / kev).
    #[staticmethod]
    #[pyo3(signature = (name, manufacturer=None, kev=140.0))]
    fn for_camera(
        py: Python<'_>,
        name: &str,
        manufacturer: Option<&str>,
        kev: f64,
    ) -> PyResult<Self> {
        Ok(Self {
            inner: tomors::Collimator::for_camera(manufacturer, name, kev).py_err(py)?,
        })
    }
    /// From a collimator's holes as built (mm) at photon energy `kev`, with the intrinsic FWHM
    /// at 140 keV (mm): the model of `for_camera` for any collimator.
    #[staticmethod]
    #[pyo3(signature = (hole_diameter, septal_thickness, hole_length, kev, intrinsic_fwhm_140=3.8))]
    fn from_spec(
        py: Python<'_>,
        hole_diameter: f64,
        septal_thickness: f64,
        hole_length: f64,
        kev: f64,
        intrinsic_fwhm_140: f64,
    ) -> PyResult<Self> {
        let spec = tomors::CollimatorSpec {
            hole_diameter,
            septal_thickness,
            hole_length,
            intrinsic_fwhm_140,
        };
        Ok(Self {
            inner: spec.at_energy(kev).py_err(py)?,
        })
    }
    /// Geometric FWHM at the collimator face, mm.
    #[getter]
    fn fwhm_at_face(&self) -> f64 {
        self.inner.fwhm_at_face
    }
    /// Growth of the geometric FWHM per mm of distance from the face.
    #[getter]
    fn fwhm_slope(&self) -> f64 {
        self.inner.fwhm_slope
    }
    /// Intrinsic FWHM, mm.
    #[getter]
    fn intrinsic_fwhm(&self) -> f64 {
        self.inner.intrinsic_fwhm
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
pub(crate) struct PySpectGeometry {
    pub(crate) inner: tomors::SpectGeometry,
}

/// `SpectGeometry` constructor arguments: angles, n_cols, col_spacing, radii, collimator, col_offset.
pub(crate) type SpectGeometryArgs = (Vec<f64>, usize, f64, Vec<f64>, Option<PyCollimator>, f64);

#[pymethods]
impl PySpectGeometry {
    #[new]
    #[pyo3(signature = (angles, n_cols, col_spacing, radius, collimator=None, col_offset=0.0))]
    fn new(
        py: Python<'_>,
        angles: Vec<f64>,
        n_cols: Int<usize>,
        col_spacing: f64,
        radius: &Bound<'_, PyAny>,
        collimator: Option<PyRef<'_, PyCollimator>>,
        col_offset: f64,
    ) -> PyResult<Self> {
        let n_cols = n_cols.0;
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

/// Cone-beam CT geometry. The constructor describes a circular orbit (a helix with `pitch`,
/// mm of table feed per turn): view `angles` in radians, a detector of `n_rows` × `n_cols`
/// pixels of `row_spacing` × `col_spacing` mm at the detector, `source_to_center` and
/// `source_to_detector` in mm, `detector` "flat" or "cylindrical", shifts `col_offset` and
/// `row_offset` in mm. `ConeBeam.from_vectors(vectors, n_rows, n_cols)` takes any trajectory
/// as ASTRA's cone_vec rows (source xyz, detector centre xyz, column step u xyz, row step v
/// xyz; mm, tomors's patient coordinates).
#[pyclass(name = "ConeBeam", module = "tomors", frozen)]
#[derive(Clone)]
pub(crate) struct PyConeBeam {
    pub(crate) inner: tomors::ConeBeam,
}

/// Views from ASTRA's cone_vec rows: source, detector centre, u, v.
fn cone_views(rows: &[[f64; 12]]) -> Vec<tomors::ConeView> {
    rows.iter()
        .map(|r| tomors::ConeView {
            source: [r[0], r[1], r[2]],
            detector: [r[3], r[4], r[5]],
            u: [r[6], r[7], r[8]],
            v: [r[9], r[10], r[11]],
        })
        .collect()
}

fn detector_of(py: Python<'_>, detector: &str) -> PyResult<tomors::ConeDetector> {
    detector.parse().py_err(py)
}

#[pymethods]
impl PyConeBeam {
    #[new]
    #[pyo3(signature = (angles, n_rows, n_cols, row_spacing, col_spacing, source_to_center, source_to_detector, detector="flat", col_offset=0.0, row_offset=0.0, pitch=0.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        angles: &Bound<'_, PyAny>,
        n_rows: Int<usize>,
        n_cols: Int<usize>,
        row_spacing: f64,
        col_spacing: f64,
        source_to_center: f64,
        source_to_detector: f64,
        detector: &str,
        col_offset: f64,
        row_offset: f64,
        pitch: f64,
    ) -> PyResult<Self> {
        let n_rows = n_rows.0;
        let n_cols = n_cols.0;
        let orbit = tomors::ConeOrbit {
            angles: angles_vec(py, angles)?,
            n_rows,
            n_cols,
            row_spacing,
            col_spacing,
            source_to_center,
            source_to_detector,
            detector: detector_of(py, detector)?,
            col_offset,
            row_offset,
            pitch,
        };
        let inner = tomors::ConeBeam::orbit(&orbit).py_err(py)?;
        Ok(Self { inner })
    }

    /// Any trajectory: `vectors` of shape (views, 12), each row source (3), detector centre
    /// (3), column step u (3), row step v (3), in mm.
    #[staticmethod]
    #[pyo3(signature = (vectors, n_rows, n_cols, detector="flat"))]
    fn from_vectors(
        py: Python<'_>,
        vectors: &Bound<'_, PyAny>,
        n_rows: Int<usize>,
        n_cols: Int<usize>,
        detector: &str,
    ) -> PyResult<Self> {
        let n_rows = n_rows.0;
        let n_cols = n_cols.0;
        let arr = py
            .import("numpy")?
            .call_method1("asarray", (vectors, "float64"))?;
        let shape: Vec<usize> = arr.getattr("shape")?.extract()?;
        if shape.len() != 2 || shape[1] != 12 {
            return Err(to_py(
                py,
                tomors::Error::InvalidGeometry(format!(
                    "vectors have shape {shape:?}; expected (views, 12): source, detector centre, u, v"
                )),
            ));
        }
        let rows: Vec<[f64; 12]> = arr.call_method0("tolist")?.extract()?;
        let inner = tomors::ConeBeam::from_vectors(
            cone_views(&rows),
            n_rows,
            n_cols,
            detector_of(py, detector)?,
        )
        .py_err(py)?;
        Ok(Self { inner })
    }

    /// The per-view vectors, shape (views, 12) (without the detector offsets).
    fn vectors<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArrayDyn<f32>> {
        let flat: Vec<f32> = self
            .inner
            .views()
            .iter()
            .flat_map(|v| [v.source, v.detector, v.u, v.v].into_iter().flatten())
            .map(|x| x as f32)
            .collect();
        let n = self.inner.n_views();
        to_numpy(
            py,
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[n, 12]), flat).expect("shape"),
        )
    }
    #[getter]
    fn n_views(&self) -> usize {
        self.inner.n_views()
    }
    #[getter]
    fn n_rows(&self) -> usize {
        self.inner.n_rows()
    }
    #[getter]
    fn n_cols(&self) -> usize {
        self.inner.n_cols()
    }
    /// "flat" or "cylindrical".
    #[getter]
    fn detector(&self) -> &'static str {
        match self.inner.detector() {
            tomors::ConeDetector::Flat => "flat",
            tomors::ConeDetector::Cylindrical => "cylindrical",
        }
    }
    /// Shape of the projections, (views, rows, cols).
    #[getter]
    fn data_shape(&self) -> Vec<usize> {
        self.inner.data_shape().to_vec()
    }
    fn __repr__(&self) -> String {
        format!(
            "ConeBeam({} views, {}×{} {} detector)",
            self.inner.n_views(),
            self.inner.n_rows(),
            self.inner.n_cols(),
            self.detector()
        )
    }
    /// Pickles as its vectors, detector size, shape and offsets.
    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(
        Bound<'py, PyAny>,
        (Vec<[f64; 12]>, usize, usize, &'static str, f64, f64),
    )> {
        let g = &slf.get().inner;
        let rebuild = slf
            .py()
            .import("tomors._tomors")?
            .getattr("_cone_from_state")?;
        let vectors = g
            .views()
            .iter()
            .map(|v| {
                let mut r = [0.0; 12];
                for (k, x) in [v.source, v.detector, v.u, v.v]
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    r[k] = x;
                }
                r
            })
            .collect();
        let [cu, cv] = g.offsets();
        Ok((
            rebuild,
            (
                vectors,
                g.n_rows(),
                g.n_cols(),
                slf.get().detector(),
                cu,
                cv,
            ),
        ))
    }
}

/// Rebuilds a pickled ConeBeam.
#[pyfunction]
pub(crate) fn _cone_from_state(
    py: Python<'_>,
    vectors: Vec<[f64; 12]>,
    n_rows: Int<usize>,
    n_cols: Int<usize>,
    detector: &str,
    col_offset: f64,
    row_offset: f64,
) -> PyResult<PyConeBeam> {
    let n_rows = n_rows.0;
    let n_cols = n_cols.0;
    let inner = tomors::ConeBeam::from_vectors(
        cone_views(&vectors),
        n_rows,
        n_cols,
        detector_of(py, detector)?,
    )
    .py_err(py)?
    .with_offsets(col_offset, row_offset)
    .py_err(py)?;
    Ok(PyConeBeam { inner })
}
