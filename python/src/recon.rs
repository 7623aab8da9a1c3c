//! Reconstruction: FBP, the EM family (OSEM, MLEM, priors, likelihood), scatter estimates, and
//! CT (FDK, OS-SPS, OS-SART, CGLS).

use crate::arrays::*;
use crate::projectors::*;
use ndarray::{ArrayD, ArrayViewD};
use numpy::{PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use std::sync::Arc;

pub(crate) fn ramp_filter(
    py: Python<'_>,
    filter: &str,
    cutoff: f64,
) -> PyResult<tomors::RampFilter> {
    let window: tomors::FilterWindow = filter.parse().py_err(py)?;
    tomors::RampFilter::new(window, cutoff).py_err(py)
}

/// The plan behind `tomors.FBP`: FBP for parallel and fan beams, FDK for cone beams. (One per
/// Python object: the variants' sizes matter not.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum FbpPlan {
    Fbp(tomors::Fbp),
    Fdk(tomors::Fdk),
}

/// A filtered back-projection plan for a projector's geometry, grid and backend (FDK for a
/// ConeBeam): reuse it to reconstruct many data sets with the same geometry. For FDK,
/// `max_buffer_bytes` caps every device buffer (volumes are streamed in slabs).
#[pyclass(name = "FBP", module = "tomors", frozen)]
pub(crate) struct PyFbp {
    pub(crate) inner: Arc<FbpPlan>,
}

#[pymethods]
impl PyFbp {
    #[new]
    #[pyo3(signature = (projector, filter="ram-lak", cutoff=1.0, max_buffer_bytes=None))]
    fn new(
        py: Python<'_>,
        projector: &PyProjector,
        filter: &str,
        cutoff: f64,
        max_buffer_bytes: Option<Int<u64>>,
    ) -> PyResult<Self> {
        let max_buffer_bytes = max_buffer_bytes.map(|v| v.0);
        let f = ramp_filter(py, filter, cutoff)?;
        let p = projector.inner.clone();
        let inner = py
            .detach(move || match &*p {
                CtProjector::Joseph(j) => tomors::Fbp::new(j, f).map(FbpPlan::Fbp),
                CtProjector::Cone(c) => {
                    let mut options = tomors::FdkOptions {
                        filter: f,
                        ..Default::default()
                    };
                    if let Some(b) = max_buffer_bytes {
                        options.max_buffer_bytes = b;
                    }
                    tomors::Fdk::with_options(c, options).map(FbpPlan::Fdk)
                }
            })
            .py_err(py)?;
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
        array_to_array(py, data, "data", |v| match &*self.inner {
            FbpPlan::Fbp(f) => f.reconstruct(v),
            FbpPlan::Fdk(f) => f.reconstruct(v),
        })
    }
}

/// Filtered back-projection of `data` with `projector`'s geometry (FDK for a ConeBeam);
/// returns the image.
#[pyfunction]
#[pyo3(signature = (data, projector, filter="ram-lak", cutoff=1.0))]
pub(crate) fn fbp<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    projector: &PyProjector,
    filter: &str,
    cutoff: f64,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let plan = PyFbp::new(py, projector, filter, cutoff, None)?;
    plan.__call__(py, data)
}

/// FDK of cone-beam `projections` (line integrals, the projector's `data_shape`) with a
/// ConeBeam `projector`: cosine, redundancy (full scan, offset detector or Parker short scan,
/// chosen from the geometry) and ramp filter with `filter` ("ram-lak", "shepp-logan", "cosine",
/// "hamming", "hann") and `cutoff`; returns μ (1/mm). `max_buffer_bytes` caps each device buffer.
#[pyfunction]
#[pyo3(signature = (projections, projector, filter="ram-lak", cutoff=1.0, max_buffer_bytes=None))]
pub(crate) fn fdk<'py>(
    py: Python<'py>,
    projections: &Bound<'py, PyAny>,
    projector: &PyProjector,
    filter: &str,
    cutoff: f64,
    max_buffer_bytes: Option<Int<u64>>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    if !matches!(&*projector.inner, CtProjector::Cone(_)) {
        return Err(PyTypeError::new_err(
            "fdk needs a Projector over a ConeBeam; use fbp for parallel and fan beams",
        ));
    }
    let plan = PyFbp::new(py, projector, filter, cutoff, max_buffer_bytes)?;
    plan.__call__(py, projections)
}

/// CGLS on post-log line integrals `data` through a Projector (least squares, no constraint;
/// the residual never increases): `iterations` iterations from 0 or `x0`; `callback(iteration,
/// image)` after each (return False to stop).
#[pyfunction]
#[pyo3(signature = (data, projector, iterations, x0=None, callback=None))]
pub(crate) fn cgls<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    projector: &PyProjector,
    iterations: Int<usize>,
    x0: Option<&Bound<'py, PyAny>>,
    callback: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let iterations = iterations.0;
    let d = f32_array(py, data, "data")?;
    let x = x0.map(|x| f32_array(py, x, "x0")).transpose()?;
    let p: &CtProjector = &projector.inner;
    let (dv, xv) = (d.as_array(), x.as_ref().map(|x| x.as_array()));
    let out = with_callback(py, &callback, |cb| {
        tomors::recon::cgls(p, dv, iterations, xv, cb)
    })?;
    Ok(to_numpy(py, out))
}

/// A prior for one-step-late MAP-EM: `Prior.quadratic(beta)` or
/// `Prior.relative_difference(beta, gamma=2.0)` (26-neighbourhood, inverse-distance weights).
#[pyclass(name = "Prior", module = "tomors", frozen)]
#[derive(Clone)]
pub(crate) struct PyPrior {
    pub(crate) inner: tomors::Prior,
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

/// OSEM (MLEM when `subsets == 1`) of `data` (counts, finite, >= 0) through a SpectProjector
/// or a PetProjector.
/// `background` is the additive term (scatter, randoms) shaped like the data; `x0` the start
/// image (default uniform at the measured counts' level wherever the camera sees);
/// `callback(iteration, image)` is called after each iteration with a copy of the image and
/// stops the reconstruction by returning False
/// (an exception it raises stops it and is re-raised); `post_filter_fwhm` (mm) smooths the
/// result with a 3D Gaussian; `prior` (a `Prior`) makes it one-step-late MAP-EM. Returns a new
/// float32 image.
#[pyfunction]
#[pyo3(signature = (data, projector, iterations, subsets, background=None, x0=None, callback=None, post_filter_fwhm=None, prior=None, max_resident_bytes=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn osem<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    projector: &Bound<'py, PyAny>,
    iterations: Int<usize>,
    subsets: Int<usize>,
    background: Option<&Bound<'py, PyAny>>,
    x0: Option<&Bound<'py, PyAny>>,
    callback: Option<Py<PyAny>>,
    post_filter_fwhm: Option<f64>,
    prior: Option<PyRef<'py, PyPrior>>,
    max_resident_bytes: Option<Int<u64>>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let iterations = iterations.0;
    let subsets = subsets.0;
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
        max_resident_bytes: max_resident_bytes.map(|b| b.0),
    };
    let view = y.as_array();
    let model = emission_model(projector, "osem")?;
    let model = &*model;
    let out = with_callback(py, &callback, |cb| model.run(&settings, view, cb))?;
    Ok(to_numpy(py, out))
}

/// BSREM (convergent penalised-likelihood reconstruction) of `data` through a SpectProjector,
/// PetProjector or Pet3dProjector with `prior` (a `Prior`: relative difference or quadratic):
/// each sub-iteration a relaxed, EM-preconditioned gradient step with step
/// 1 / (1 + relaxation * n) in iteration n (from 0). `background`, `x0` (an OSEM image is a
/// good start), `callback` and `post_filter_fwhm` as for `osem`. Returns a new float32 image.
#[pyfunction]
#[pyo3(signature = (data, projector, prior, iterations, subsets, relaxation=0.3, background=None, x0=None, callback=None, post_filter_fwhm=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn bsrem<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    projector: &Bound<'py, PyAny>,
    prior: PyRef<'py, PyPrior>,
    iterations: Int<usize>,
    subsets: Int<usize>,
    relaxation: f64,
    background: Option<&Bound<'py, PyAny>>,
    x0: Option<&Bound<'py, PyAny>>,
    callback: Option<Py<PyAny>>,
    post_filter_fwhm: Option<f64>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let iterations = iterations.0;
    let subsets = subsets.0;
    let y = f32_array(py, data, "data")?;
    let b = background
        .map(|b| f32_array(py, b, "background"))
        .transpose()?;
    let x = x0.map(|x| f32_array(py, x, "x0")).transpose()?;
    let settings = bsrem_settings(
        (iterations, subsets, relaxation),
        prior.inner,
        &b,
        &x,
        post_filter_fwhm,
    );
    let view = y.as_array();
    let model = emission_model(projector, "bsrem")?;
    let model = &*model;
    let out = with_callback(py, &callback, |cb| model.run_bsrem(&settings, view, cb))?;
    Ok(to_numpy(py, out))
}

/// BSREM's settings from the bindings' arguments: `(iterations, subsets, relaxation)`, the
/// prior, the background and starting image (held by the caller), the post-filter.
fn bsrem_settings<'a>(
    (iterations, subsets, relaxation): (usize, usize, f64),
    prior: tomors::Prior,
    background: &'a Option<PyReadonlyArrayDyn<'_, f32>>,
    x0: &'a Option<PyReadonlyArrayDyn<'_, f32>>,
    post_filter_fwhm: Option<f64>,
) -> tomors::Bsrem<'a> {
    tomors::Bsrem {
        iterations,
        subsets,
        prior,
        relaxation,
        background: background.as_ref().map(|b| b.as_array()),
        x0: x0.as_ref().map(|x| x.as_array()),
        post_filter_fwhm,
        max_resident_bytes: None,
    }
}

/// BSREM with the beta that gives the background noise `noise` (std / mean over `region`, an
/// array shaped like the image, non-zero inside): `prior`'s beta is where the search starts
/// (x4 or /4 until the noise brackets the target, then bisection on log beta), until within
/// `tolerance` (relative) or `max_reconstructions`. Returns `(image, beta, noise,
/// reconstructions)`; raises InvalidArgumentError when no beta reached the target.
#[pyfunction]
#[pyo3(signature = (data, projector, prior, noise, region, iterations, subsets, relaxation=0.3, background=None, x0=None, post_filter_fwhm=None, tolerance=0.03, max_reconstructions=Int(12)))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn bsrem_for_noise<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    projector: &Bound<'py, PyAny>,
    prior: PyRef<'py, PyPrior>,
    noise: f64,
    region: &Bound<'py, PyAny>,
    iterations: Int<usize>,
    subsets: Int<usize>,
    relaxation: f64,
    background: Option<&Bound<'py, PyAny>>,
    x0: Option<&Bound<'py, PyAny>>,
    post_filter_fwhm: Option<f64>,
    tolerance: f64,
    max_reconstructions: Int<usize>,
) -> PyResult<(Bound<'py, PyArrayDyn<f32>>, f64, f64, usize)> {
    let iterations = iterations.0;
    let subsets = subsets.0;
    let max_reconstructions = max_reconstructions.0;
    let y = f32_array(py, data, "data")?;
    let b = background
        .map(|b| f32_array(py, b, "background"))
        .transpose()?;
    let x = x0.map(|x| f32_array(py, x, "x0")).transpose()?;
    let region = f32_array(py, region, "region")?
        .as_array()
        .mapv(|v| v != 0.0);
    let settings = bsrem_settings(
        (iterations, subsets, relaxation),
        prior.inner,
        &b,
        &x,
        post_filter_fwhm,
    );
    let target = tomors::recon::NoiseTarget {
        region: region.view(),
        noise,
        tolerance,
        max_reconstructions,
    };
    let view = y.as_array();
    let model = emission_model(projector, "bsrem_for_noise")?;
    let model = &*model;
    let found = py
        .detach(|| model.run_bsrem_for_noise(&settings, view, &target))
        .py_err(py)?;
    Ok((
        to_numpy(py, found.image),
        found.beta,
        found.noise,
        found.reconstructions,
    ))
}

/// The penalised log-likelihood L(image) - beta * U(image) that `bsrem` maximises.
#[pyfunction]
#[pyo3(signature = (data, projector, image, prior, background=None))]
pub(crate) fn penalised_log_likelihood<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    projector: &Bound<'py, PyAny>,
    image: &Bound<'py, PyAny>,
    prior: PyRef<'py, PyPrior>,
    background: Option<&Bound<'py, PyAny>>,
) -> PyResult<f64> {
    objective(
        py,
        data,
        projector,
        image,
        background,
        Some(prior.inner),
        "penalised_log_likelihood",
    )
}

/// The callback the Rust iterations take, made of a Python `callback(iteration, image)`
/// (returning False stops; an exception stops and is raised), run with the interpreter
/// released around `run`.
pub(crate) type Callback<'a> =
    Option<&'a mut dyn FnMut(&tomors::recon::IterationReport<'_>) -> bool>;

pub(crate) fn with_callback<T: Send>(
    py: Python<'_>,
    callback: &Option<Py<PyAny>>,
    run: impl FnOnce(Callback<'_>) -> tomors::Result<T> + Send,
) -> PyResult<T> {
    let mut raised: Option<PyErr> = None;
    let out = py.detach(|| match callback {
        None => run(None),
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
            run(Some(&mut call))
        }
    });
    if let Some(e) = raised {
        return Err(e);
    }
    out.py_err(py)
}

/// MLEM: `osem` with one subset.
#[pyfunction]
#[pyo3(signature = (data, projector, iterations, background=None, x0=None, callback=None, post_filter_fwhm=None, prior=None, max_resident_bytes=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn mlem<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    projector: &Bound<'py, PyAny>,
    iterations: Int<usize>,
    background: Option<&Bound<'py, PyAny>>,
    x0: Option<&Bound<'py, PyAny>>,
    callback: Option<Py<PyAny>>,
    post_filter_fwhm: Option<f64>,
    prior: Option<PyRef<'py, PyPrior>>,
    max_resident_bytes: Option<Int<u64>>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    osem(
        py,
        data,
        projector,
        iterations,
        Int(1),
        background,
        x0,
        callback,
        post_filter_fwhm,
        prior,
        max_resident_bytes,
    )
}

/// Triple-energy-window scatter estimate (C_lower/W_lower + C_upper/W_upper) * W_peak / 2 from
/// the side windows' counts (upper may be None) and the window widths in keV.
#[pyfunction]
#[pyo3(signature = (lower, upper, lower_width_kev, upper_width_kev, peak_width_kev))]
pub(crate) fn triple_energy_window<'py>(
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
pub(crate) fn dual_energy_window<'py>(
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
pub(crate) fn log_likelihood<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    projector: &Bound<'py, PyAny>,
    image: &Bound<'py, PyAny>,
    background: Option<&Bound<'py, PyAny>>,
) -> PyResult<f64> {
    objective(
        py,
        data,
        projector,
        image,
        background,
        None,
        "log_likelihood",
    )
}

/// The log-likelihood of `image`, less β·U(image) with a prior, for `log_likelihood` and
/// `penalised_log_likelihood` (`function` names the caller in errors).
fn objective<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    projector: &Bound<'py, PyAny>,
    image: &Bound<'py, PyAny>,
    background: Option<&Bound<'py, PyAny>>,
    prior: Option<tomors::Prior>,
    function: &str,
) -> PyResult<f64> {
    let y = f32_array(py, data, "data")?;
    let x = f32_array(py, image, "image")?;
    let b = background
        .map(|b| f32_array(py, b, "background"))
        .transpose()?;
    let (yv, xv, bv) = (y.as_array(), x.as_array(), b.as_ref().map(|b| b.as_array()));
    let model = emission_model(projector, function)?;
    let model = &*model;
    py.detach(|| model.objective(yv, xv, bv, prior.as_ref()))
        .py_err(py)
}

/// The Rust model behind an emission projector (`SpectProjector` or `PetProjector`); a
/// `TypeError` that says what `function` expects for anything else.
fn emission_model(
    projector: &Bound<'_, PyAny>,
    function: &str,
) -> PyResult<Arc<dyn SystemModelDyn + Send + Sync>> {
    if let Ok(p) = projector.cast::<PySpectProjector>() {
        return Ok(p.get().inner.clone());
    }
    if let Ok(p) = projector.cast::<PyPetProjector>() {
        return Ok(p.get().inner.clone());
    }
    if let Ok(p) = projector.cast::<crate::projectors::PyPet3dProjector>() {
        return Ok(p.get().inner.clone());
    }
    let got = projector.get_type().name()?.to_string();
    let hint = if projector.cast::<PyProjector>().is_ok() {
        ": a Projector models CT line integrals; reconstruct CT with fbp, os_sps or os_sart, or \
         build a PetProjector (emission data through the same geometry)"
    } else {
        ""
    };
    Err(PyTypeError::new_err(format!(
        "{function} needs an emission model, a SpectProjector, PetProjector or Pet3dProjector; got {got}{hint}"
    )))
}

/// Object-safe access to the generic EM entry points for every system model.
pub(crate) trait SystemModelDyn {
    fn run(
        &self,
        settings: &tomors::Osem<'_>,
        data: ArrayViewD<'_, f32>,
        callback: Option<&mut dyn FnMut(&tomors::recon::IterationReport<'_>) -> bool>,
    ) -> tomors::Result<ArrayD<f32>>;
    fn objective(
        &self,
        data: ArrayViewD<'_, f32>,
        image: ArrayViewD<'_, f32>,
        background: Option<ArrayViewD<'_, f32>>,
        prior: Option<&tomors::Prior>,
    ) -> tomors::Result<f64>;
    fn run_bsrem(
        &self,
        settings: &tomors::Bsrem<'_>,
        data: ArrayViewD<'_, f32>,
        callback: Option<&mut dyn FnMut(&tomors::recon::IterationReport<'_>) -> bool>,
    ) -> tomors::Result<ArrayD<f32>>;
    fn run_bsrem_for_noise(
        &self,
        settings: &tomors::Bsrem<'_>,
        data: ArrayViewD<'_, f32>,
        target: &tomors::recon::NoiseTarget<'_>,
    ) -> tomors::Result<tomors::recon::NoiseMatched>;
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
    fn objective(
        &self,
        data: ArrayViewD<'_, f32>,
        image: ArrayViewD<'_, f32>,
        background: Option<ArrayViewD<'_, f32>>,
        prior: Option<&tomors::Prior>,
    ) -> tomors::Result<f64> {
        match prior {
            Some(p) => tomors::recon::penalised_log_likelihood(self, data, image, background, p),
            None => tomors::recon::log_likelihood(self, data, image, background),
        }
    }
    fn run_bsrem(
        &self,
        settings: &tomors::Bsrem<'_>,
        data: ArrayViewD<'_, f32>,
        callback: Option<&mut dyn FnMut(&tomors::recon::IterationReport<'_>) -> bool>,
    ) -> tomors::Result<ArrayD<f32>> {
        settings.run_with(self, data, callback)
    }
    fn run_bsrem_for_noise(
        &self,
        settings: &tomors::Bsrem<'_>,
        data: ArrayViewD<'_, f32>,
        target: &tomors::recon::NoiseTarget<'_>,
    ) -> tomors::Result<tomors::recon::NoiseMatched> {
        settings.run_for_noise(self, data, target)
    }
}

/// OS-SPS for CT: pre-log `counts` ~ Poisson(blank * exp(-A mu) + background) through a
/// Projector; returns mu (1/mm), non-negative. One subset is SPS (monotone).
#[pyfunction]
#[pyo3(signature = (counts, blank, projector, iterations, subsets, background=None, x0=None, callback=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn os_sps<'py>(
    py: Python<'py>,
    counts: &Bound<'py, PyAny>,
    blank: &Bound<'py, PyAny>,
    projector: &PyProjector,
    iterations: Int<usize>,
    subsets: Int<usize>,
    background: Option<&Bound<'py, PyAny>>,
    x0: Option<&Bound<'py, PyAny>>,
    callback: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let iterations = iterations.0;
    let subsets = subsets.0;
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
    let p: &CtProjector = &projector.inner;
    let (yv, bv, rv) = (y.as_array(), b.as_array(), r.as_ref().map(|r| r.as_array()));
    let out = with_callback(py, &callback, |cb| {
        settings.os_sps_with_callback(p, yv, bv, rv, cb)
    })?;
    Ok(to_numpy(py, out))
}

/// OS-SART for CT on post-log line integrals `sinogram` through a Projector, relaxation in
/// (0, 2), optional non-negativity.
#[pyfunction]
#[pyo3(signature = (sinogram, projector, iterations, subsets, relaxation=1.0, non_negative=true, x0=None, callback=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn os_sart<'py>(
    py: Python<'py>,
    sinogram: &Bound<'py, PyAny>,
    projector: &PyProjector,
    iterations: Int<usize>,
    subsets: Int<usize>,
    relaxation: f64,
    non_negative: bool,
    x0: Option<&Bound<'py, PyAny>>,
    callback: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let iterations = iterations.0;
    let subsets = subsets.0;
    let p_in = f32_array(py, sinogram, "sinogram")?;
    let x = x0.map(|x| f32_array(py, x, "x0")).transpose()?;
    let settings = tomors::recon::OrderedSubsets {
        iterations,
        subsets,
        x0: x.as_ref().map(|x| x.as_array()),
    };
    let p: &CtProjector = &projector.inner;
    let view = p_in.as_array();
    let out = with_callback(py, &callback, |cb| {
        settings.os_sart_with_callback(p, view, relaxation, non_negative, cb)
    })?;
    Ok(to_numpy(py, out))
}

/// Statistics of `image[z, y, x]` (voxel `spacing` (dz, dy, dx), mm) over a volume of
/// interest: `mask` (nonzero = inside), or the voxels at or above `level`, or at or above
/// `fraction_of_max` of the maximum; the last two within `within` (a mask) when given. Returns
/// a dict: voxels, volume_ml, mean, std, max, min, total (Σ value × voxel mL: Bq for Bq/mL).
#[pyfunction]
#[pyo3(signature = (image, spacing, mask=None, level=None, fraction_of_max=None, within=None))]
pub(crate) fn voi_stats<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    spacing: (f64, f64, f64),
    mask: Option<&Bound<'py, PyAny>>,
    level: Option<f64>,
    fraction_of_max: Option<f64>,
    within: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
    use ndarray::Array3;
    let image = f32_array(py, image, "image")?;
    let image = view3(&image, "image")?;
    let as_mask = |obj: &Bound<'py, PyAny>, name: &str| -> PyResult<Array3<bool>> {
        let a = f32_array(py, obj, name)?;
        Ok(view3(&a, name)?.mapv(|v| v != 0.0))
    };
    let within = within.map(|w| as_mask(w, "within")).transpose()?;
    let mask = mask.map(|m| as_mask(m, "mask")).transpose()?;
    let voi = match (&mask, level, fraction_of_max) {
        (Some(m), None, None) if within.is_none() => tomors::recon::Voi::Mask(m.view()),
        (None, Some(level), None) => tomors::recon::Voi::AtLeast {
            level,
            within: within.as_ref().map(|w| w.view()),
        },
        (None, None, Some(fraction)) => tomors::recon::Voi::FractionOfMax {
            fraction,
            within: within.as_ref().map(|w| w.view()),
        },
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "give exactly one of mask, level or fraction_of_max (within only with a level or fraction)",
            ));
        }
    };
    let (dz, dy, dx) = spacing;
    let s = tomors::recon::voi_stats(image, [dz, dy, dx], voi).py_err(py)?;
    let d = pyo3::types::PyDict::new(py);
    d.set_item("voxels", s.voxels)?;
    d.set_item("volume_ml", s.volume_ml)?;
    d.set_item("mean", s.mean)?;
    d.set_item("std", s.std)?;
    d.set_item("max", s.max)?;
    d.set_item("min", s.min)?;
    d.set_item("total", s.total)?;
    Ok(d)
}
