//! The projectors: Projector (CT line integrals), SpectProjector, PetProjector. One set of
//! operator methods (shapes, device, forward/adjoint, adjointness test, norm) is written once
//! for all three (`operator_methods!`).

use crate::arrays::*;
use crate::geometry::*;
use ndarray::{ArrayD, ArrayViewD};
use numpy::PyArrayDyn;
use pyo3::prelude::*;
use std::sync::Arc;
use tomors::LinearOperator;

/// Projector's constructor arguments, in order.
pub(crate) type ProjectorArgs<'py> = (Bound<'py, PyAny>, PyImageGrid, String, u64);

/// The CT projectors behind `tomors.Projector`: Joseph over a parallel or fan geometry, or
/// the cone-beam pair. (One per Python object, behind an `Arc`: the variants' sizes matter not.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum CtProjector {
    /// Parallel or fan beam.
    Joseph(tomors::Projector),
    /// Cone beam.
    Cone(tomors::ConeProjector),
}

impl LinearOperator for CtProjector {
    fn in_shape(&self) -> Vec<usize> {
        match self {
            CtProjector::Joseph(p) => p.in_shape(),
            CtProjector::Cone(p) => p.in_shape(),
        }
    }
    fn out_shape(&self) -> Vec<usize> {
        match self {
            CtProjector::Joseph(p) => p.out_shape(),
            CtProjector::Cone(p) => p.out_shape(),
        }
    }
    fn forward_into(&self, x: &[f32], out: &mut [f32]) -> tomors::Result<()> {
        match self {
            CtProjector::Joseph(p) => LinearOperator::forward_into(p, x, out),
            CtProjector::Cone(p) => LinearOperator::forward_into(p, x, out),
        }
    }
    fn adjoint_into(&self, y: &[f32], out: &mut [f32]) -> tomors::Result<()> {
        match self {
            CtProjector::Joseph(p) => LinearOperator::adjoint_into(p, y, out),
            CtProjector::Cone(p) => LinearOperator::adjoint_into(p, y, out),
        }
    }
}

impl tomors::ViewSubsets for CtProjector {
    type Subset = CtProjector;
    fn subset(&self, views: &[usize]) -> tomors::Result<CtProjector> {
        Ok(match self {
            CtProjector::Joseph(p) => CtProjector::Joseph(p.subset(views)?),
            CtProjector::Cone(p) => CtProjector::Cone(p.subset(views)?),
        })
    }
}

impl Operator for CtProjector {
    fn forward_array(&self, x: ArrayViewD<'_, f32>) -> tomors::Result<ArrayD<f32>> {
        match self {
            CtProjector::Joseph(p) => p.forward(x),
            CtProjector::Cone(p) => p.forward(x),
        }
    }
    fn adjoint_array(&self, y: ArrayViewD<'_, f32>) -> tomors::Result<ArrayD<f32>> {
        match self {
            CtProjector::Joseph(p) => p.adjoint(y),
            CtProjector::Cone(p) => p.adjoint(y),
        }
    }
    fn active(&self) -> tomors::ActiveBackend {
        match self {
            CtProjector::Joseph(p) => p.backend(),
            CtProjector::Cone(p) => p.backend().clone(),
        }
    }
}

/// A matched projector pair `A` (Joseph forward projection) and `Aᵀ` (its exact adjoint) for
/// `geometry` (ParallelBeam, FanBeam or ConeBeam) over `grid`, planned once on `backend`
/// ("auto", "gpu" or "cpu").
#[pyclass(name = "Projector", module = "tomors", frozen)]
pub(crate) struct PyProjector {
    pub(crate) inner: Arc<CtProjector>,
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
        max_chunk_bytes: Option<Int<u64>>,
    ) -> PyResult<Self> {
        let max_chunk_bytes = max_chunk_bytes.map(|v| v.0);
        let backend: tomors::Backend = backend.parse().py_err(py)?;
        let grid_inner = grid.inner.clone();
        if let Ok(cone) = geometry.cast::<PyConeBeam>() {
            let cone = cone.get().inner.clone();
            let inner = py
                .detach(move || tomors::ConeProjector::new(cone, grid_inner, backend))
                .py_err(py)?;
            return Ok(Self {
                inner: Arc::new(CtProjector::Cone(inner)),
            });
        }
        let geometry = geometry_of(geometry)?;
        let mut options = tomors::PlanOptions {
            backend,
            ..Default::default()
        };
        if let Some(b) = max_chunk_bytes {
            options.max_chunk_bytes = b;
        }
        let inner = py
            .detach(move || tomors::Projector::with_options(geometry, grid_inner, options))
            .py_err(py)?;
        Ok(Self {
            inner: Arc::new(CtProjector::Joseph(inner)),
        })
    }

    /// Pickles as its constructor arguments: the plan is rebuilt where it is unpickled, with
    /// the backend that was asked for (not necessarily the one used here).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduce<'py, ProjectorArgs<'py>>> {
        let py = slf.py();
        let (geometry, grid, backend, chunk) = match &*slf.get().inner {
            CtProjector::Joseph(p) => {
                let geometry = match p.geometry() {
                    tomors::Geometry::Parallel(g) => {
                        Bound::new(py, PyParallelBeam { inner: g.clone() })?.into_any()
                    }
                    tomors::Geometry::Fan(g) => {
                        Bound::new(py, PyFanBeam { inner: g.clone() })?.into_any()
                    }
                };
                let o = p.options();
                (
                    geometry,
                    p.grid().clone(),
                    o.backend.to_string(),
                    o.max_chunk_bytes,
                )
            }
            CtProjector::Cone(p) => (
                Bound::new(
                    py,
                    PyConeBeam {
                        inner: p.geometry().clone(),
                    },
                )?
                .into_any(),
                p.grid().clone(),
                p.backend().kind().to_string(),
                tomors::projector::DEFAULT_MAX_CHUNK_BYTES,
            ),
        };
        Ok((
            slf.get_type(),
            (geometry, PyImageGrid { inner: grid }, backend, chunk),
        ))
    }

    #[getter]
    fn grid(&self) -> PyImageGrid {
        let grid = match &*self.inner {
            CtProjector::Joseph(p) => p.grid().clone(),
            CtProjector::Cone(p) => p.grid().clone(),
        };
        PyImageGrid { inner: grid }
    }
}

/// `SpectProjector` constructor arguments: geometry, grid, μ-map, backend.
pub(crate) type SpectProjectorArgs<'py> = (
    Bound<'py, PyAny>,
    PyImageGrid,
    Option<Bound<'py, PyArrayDyn<f32>>>,
    String,
);

/// The SPECT system model: attenuation by the μ-map `attenuation` (1/mm, shape of the grid)
/// and the geometry's collimator response inside a matched forward/adjoint pair. Images are
/// `vol[z, y, x]` (activity), projections `proj[view, row, col]` (counts; activity × mm).
#[pyclass(name = "SpectProjector", module = "tomors", frozen)]
pub(crate) struct PySpectProjector {
    pub(crate) inner: Arc<tomors::SpectProjector>,
    pub(crate) backend_request: String,
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
}

/// The PET system model for 2D sinograms (stacks of planes): line integrals of a parallel
/// `geometry` (views over [0, pi)) times attenuation factors exp(-A mu) from `attenuation`
/// (1/mm, the grid's shape) and `normalisation` factors (the data's shape). Randoms and
/// scatter go to `osem(..., background=...)`.
#[pyclass(name = "PetProjector", module = "tomors", frozen)]
pub(crate) struct PyPetProjector {
    pub(crate) inner: Arc<tomors::PetProjector>,
    /// Copies of the constructor's arrays (as the model used them, whatever the caller does to
    /// its own afterwards) and the backend request, kept for pickling.
    attenuation: Option<Py<PyArrayDyn<f32>>>,
    normalisation: Option<Py<PyArrayDyn<f32>>>,
    backend_request: String,
}

/// What `PetProjector.__reduce__` hands to the constructor.
type PetProjectorArgs<'py> = (
    Bound<'py, PyAny>,
    PyImageGrid,
    Option<Py<PyArrayDyn<f32>>>,
    Option<Py<PyArrayDyn<f32>>>,
    String,
);

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
            attenuation: mu
                .as_ref()
                .map(|m| to_numpy(py, m.as_array().to_owned()).unbind()),
            normalisation: norm
                .as_ref()
                .map(|n| to_numpy(py, n.as_array().to_owned()).unbind()),
            backend_request: backend.to_string(),
        })
    }
    /// Pickles as its constructor arguments (μ-map and normalisation included); the plan is
    /// rebuilt on arrival.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduce<'py, PetProjectorArgs<'py>>> {
        let py = slf.py();
        let me = slf.get();
        let projector = me.inner.projector();
        let geometry = match projector.geometry() {
            tomors::Geometry::Parallel(g) => Bound::new(py, PyParallelBeam { inner: g.clone() })?,
            tomors::Geometry::Fan(_) => unreachable!("a PetProjector is built from a ParallelBeam"),
        };
        Ok((
            slf.get_type(),
            (
                geometry.into_any(),
                PyImageGrid {
                    inner: projector.grid().clone(),
                },
                me.attenuation.as_ref().map(|a| a.clone_ref(py)),
                me.normalisation.as_ref().map(|n| n.clone_ref(py)),
                me.backend_request.clone(),
            ),
        ))
    }
    /// The multiplicative factors m (attenuation x normalisation), or None.
    #[getter]
    fn factors<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArrayDyn<f32>>> {
        self.inner.factors().map(|f| to_numpy(py, f))
    }
}

/// The 3D PET model of a scanner's sinograms: Joseph line integrals between crystal pairs
/// (TOF-weighted when the layout has TOF) over `grid`, times attenuation factors exp(-∫mu)
/// from `attenuation` (1/mm at 511 keV, the grid's shape) and `normalisation` factors
/// (detector efficiencies, the layout's shape without TOF). Randoms and scatter go to
/// `osem(..., background=...)`.
#[pyclass(name = "Pet3dProjector", module = "tomors", frozen)]
pub(crate) struct PyPet3dProjector {
    pub(crate) inner: crate::pet::SharedPet3d,
}

#[pymethods]
impl PyPet3dProjector {
    #[new]
    #[pyo3(signature = (layout, grid, attenuation=None, normalisation=None, backend="auto"))]
    fn new(
        py: Python<'_>,
        layout: &crate::pet::PySinogramLayout,
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
        let (l, g) = (layout.inner.clone(), grid.inner.clone());
        let (mv, nv) = (
            mu.as_ref().map(|m| m.as_array()),
            norm.as_ref().map(|n| n.as_array()),
        );
        let inner = py
            .detach(move || -> tomors::Result<_> {
                let mut p = tomors::Pet3dProjector::new(l, g, b)?;
                if let Some(n) = nv {
                    p = p.with_normalisation(n)?;
                }
                if let Some(m) = mv {
                    p = p.with_attenuation(m)?;
                }
                Ok(p)
            })
            .py_err(py)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }
    /// The multiplicative factors (attenuation x normalisation) in the data's shape, or None.
    #[getter]
    fn factors<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArrayDyn<f32>>> {
        self.inner.factors().map(|f| to_numpy(py, f))
    }
    /// The sensitivity image A^T m.
    fn sensitivity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        let p = self.inner.clone();
        let s = py.detach(move || p.sensitivity()).py_err(py)?;
        Ok(to_numpy(py, s))
    }
    /// The sinogram layout.
    #[getter]
    fn layout(&self) -> crate::pet::PySinogramLayout {
        crate::pet::PySinogramLayout {
            inner: self.inner.layout().clone(),
        }
    }
}

/// What every projector wrapper exposes, for the three Rust projectors alike.
pub(crate) trait Operator: LinearOperator + Send + Sync {
    /// `A x` of an image, a new array.
    fn forward_array(&self, x: ArrayViewD<'_, f32>) -> tomors::Result<ArrayD<f32>>;
    /// `Aᵀ y` of data, a new array.
    fn adjoint_array(&self, y: ArrayViewD<'_, f32>) -> tomors::Result<ArrayD<f32>>;
    /// Where it runs.
    fn active(&self) -> tomors::ActiveBackend;
}

/// Implements [`Operator`] for a projector with `forward`/`adjoint` on array views.
macro_rules! operator {
    ($t:ty) => {
        impl Operator for $t {
            fn forward_array(&self, x: ArrayViewD<'_, f32>) -> tomors::Result<ArrayD<f32>> {
                self.forward(x)
            }
            fn adjoint_array(&self, y: ArrayViewD<'_, f32>) -> tomors::Result<ArrayD<f32>> {
                self.adjoint(y)
            }
            fn active(&self) -> tomors::ActiveBackend {
                self.backend().clone()
            }
        }
    };
}
operator!(tomors::SpectProjector);
operator!(tomors::PetProjector);
operator!(tomors::Pet3dProjector);

/// The methods every projector class has, written once: `forward`, `adjoint`,
/// `adjointness_test`, `norm`, and `backend`, `device`, `image_shape`, `data_shape`.
macro_rules! operator_methods {
    ($class:ident, $name:literal) => {
        #[pymethods]
        impl $class {
            /// `A x` of `image` (shape `image_shape`, any real dtype): a new float32 array of
            /// shape `data_shape`.
            fn forward<'py>(
                &self,
                py: Python<'py>,
                image: &Bound<'py, PyAny>,
            ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
                let p = &*self.inner;
                array_to_array(py, image, "image", |v| p.forward_array(v))
            }
            /// The exact adjoint (transpose) of `forward` applied to `data` (shape
            /// `data_shape`): a new float32 array of shape `image_shape`.
            fn adjoint<'py>(
                &self,
                py: Python<'py>,
                data: &Bound<'py, PyAny>,
            ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
                let p = &*self.inner;
                array_to_array(py, data, "data", |v| p.adjoint_array(v))
            }
            /// Dot-product error |<Ax,y> - <x,A^T y>| / (|Ax| |y|) for signed random x, y in
            /// [-1, 1) drawn from `seed`.
            #[pyo3(signature = (seed=Int(0)))]
            fn adjointness_test(&self, py: Python<'_>, seed: Int<u64>) -> PyResult<f64> {
                let p = &*self.inner;
                py.detach(|| p.adjointness_test(seed.0)).py_err(py)
            }
            /// Operator norm ||A||_2 by `iterations` rounds of power iteration.
            #[pyo3(signature = (iterations=Int(20)))]
            fn norm(&self, py: Python<'_>, iterations: Int<usize>) -> PyResult<f64> {
                let p = &*self.inner;
                py.detach(|| p.norm(iterations.0)).py_err(py)
            }
            /// "cpu" or "gpu".
            #[getter]
            fn backend(&self) -> &'static str {
                self.inner.active().kind()
            }
            /// The device it runs on, e.g. "gpu (NVIDIA H100 (Vulkan))" or "cpu (8 threads)".
            #[getter]
            fn device(&self) -> String {
                self.inner.active().to_string()
            }
            /// Shape of images, `(ny, nx)` or `(nz, ny, nx)`.
            #[getter]
            fn image_shape(&self) -> Vec<usize> {
                self.inner.in_shape()
            }
            /// Shape of projection data, `(views, cols)` or `(views, rows, cols)`.
            #[getter]
            fn data_shape(&self) -> Vec<usize> {
                self.inner.out_shape()
            }
            fn __repr__(&self) -> String {
                format!(
                    "{}(image_shape={:?}, data_shape={:?}, device={:?})",
                    $name,
                    self.image_shape(),
                    self.data_shape(),
                    self.device()
                )
            }
        }
    };
}
operator_methods!(PyProjector, "Projector");
operator_methods!(PySpectProjector, "SpectProjector");
operator_methods!(PyPetProjector, "PetProjector");
operator_methods!(PyPet3dProjector, "Pet3dProjector");
