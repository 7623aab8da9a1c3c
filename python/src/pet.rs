//! 3D PET: scanners, sinogram layouts, the 3D PET projector, list-mode OSEM, and the PET file
//! readers (Interfile, PETLINK list mode, mMR normalisation).

use crate::arrays::*;
use crate::geometry::PyImageGrid;
use numpy::{PyArrayDyn, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::Arc;
use tomors::geometry::pet::{PetScanner, SinogramLayout, TofBins};

/// A cylindrical PET scanner: `rings` rings of `crystals_per_ring` crystal positions (gaps
/// included) on a cylinder of inner `radius` (mm) with average interaction depth
/// `interaction_depth`, rings `ring_spacing` apart. `blocks=(crystals, gaps, first_gap)`;
/// `tof=(bins, bin_width_ps, fwhm_ps)`; `view_offset` (radians) turns every crystal (as
/// Interfile's `view offset`). Presets: `PetScanner.mmr()`, `PetScanner.generic_tof()`.
#[pyclass(name = "PetScanner", module = "tomors", frozen)]
#[derive(Clone)]
pub(crate) struct PyPetScanner {
    pub(crate) inner: PetScanner,
}

#[pymethods]
impl PyPetScanner {
    #[new]
    #[pyo3(signature = (rings, crystals_per_ring, radius, ring_spacing, interaction_depth=0.0, blocks=None, tof=None, name="scanner", view_offset=0.0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        rings: Int<u32>,
        crystals_per_ring: Int<u32>,
        radius: f64,
        ring_spacing: f64,
        interaction_depth: f64,
        blocks: Option<(Int<u32>, Int<u32>, Int<u32>)>,
        tof: Option<(Int<u32>, f64, f64)>,
        name: &str,
        view_offset: f64,
    ) -> PyResult<Self> {
        let rings = rings.0;
        let crystals_per_ring = crystals_per_ring.0;
        let mut s = PetScanner::new(
            name,
            rings,
            crystals_per_ring,
            radius,
            interaction_depth,
            ring_spacing,
        )
        .py_err(py)?;
        if let Some((c, g, f)) = blocks {
            s = s.with_blocks(c.0, g.0, f.0).py_err(py)?;
        }
        if let Some((n, w, fwhm)) = tof {
            s = s.with_tof(TofBins::from_ps(n.0, w, fwhm).py_err(py)?);
        }
        Ok(Self {
            inner: s.with_view_offset(view_offset).py_err(py)?,
        })
    }
    /// The Siemens Biograph mMR (64 rings, 504 positions per ring, no TOF).
    #[staticmethod]
    fn mmr() -> Self {
        Self {
            inner: PetScanner::mmr(),
        }
    }
    /// A generic whole-body TOF scanner (400 ps FWHM, 13 TOF bins).
    #[staticmethod]
    fn generic_tof() -> Self {
        Self {
            inner: PetScanner::generic_tof(),
        }
    }
    #[getter]
    fn name(&self) -> String {
        self.inner.name().to_string()
    }
    #[getter]
    fn rings(&self) -> u32 {
        self.inner.rings()
    }
    #[getter]
    fn crystals_per_ring(&self) -> u32 {
        self.inner.crystals_per_ring()
    }
    /// Radius where lines of response end (inner radius + interaction depth), mm.
    #[getter]
    fn effective_radius(&self) -> f64 {
        self.inner.effective_radius_mm()
    }
    #[getter]
    fn ring_spacing(&self) -> f64 {
        self.inner.ring_spacing_mm()
    }
    /// Angle added to every crystal's azimuth, radians (Interfile's `view offset`).
    #[getter]
    fn view_offset(&self) -> f64 {
        self.inner.view_offset()
    }
    /// `(bins, bin width mm, FWHM mm)`, or None without TOF.
    #[getter]
    fn tof(&self) -> Option<(u32, f64, f64)> {
        self.inner.tof().map(|t| (t.count, t.width_mm, t.fwhm_mm))
    }
    /// `(x, y, z)` of crystal `crystal` of ring `ring`, mm.
    fn crystal_position(
        &self,
        py: Python<'_>,
        ring: Int<u32>,
        crystal: Int<u32>,
    ) -> PyResult<(f64, f64, f64)> {
        let ring = ring.0;
        let crystal = crystal.0;
        self.inner.check_crystal(ring, crystal).py_err(py)?;
        let [x, y] = self.inner.crystal_xy(crystal);
        Ok((x, y, self.inner.ring_z(ring)))
    }
    fn __repr__(&self) -> String {
        format!(
            "PetScanner({:?}, rings={}, crystals_per_ring={}, tof={:?})",
            self.inner.name(),
            self.inner.rings(),
            self.inner.crystals_per_ring(),
            self.tof()
        )
    }
}

/// The sinogram layout of a scanner: `tangential` bins, axial compression `span`, ring
/// differences up to `max_ring_difference` (default: all), `view_mashing`, and TOF when the
/// scanner has it (`tof=False` sums the TOF bins). Data are `[views, planes, (tof,) tangential]`.
#[pyclass(name = "SinogramLayout", module = "tomors", frozen)]
#[derive(Clone)]
pub(crate) struct PySinogramLayout {
    pub(crate) inner: SinogramLayout,
}

#[pymethods]
impl PySinogramLayout {
    #[new]
    #[pyo3(signature = (scanner, tangential, span=Int(1), max_ring_difference=None, view_mashing=Int(1), tof=true))]
    fn new(
        py: Python<'_>,
        scanner: &PyPetScanner,
        tangential: Int<u32>,
        span: Int<u32>,
        max_ring_difference: Option<Int<u32>>,
        view_mashing: Int<u32>,
        tof: bool,
    ) -> PyResult<Self> {
        let tangential = tangential.0;
        let span = span.0;
        let max_ring_difference = max_ring_difference.map(|v| v.0);
        let view_mashing = view_mashing.0;
        let max = max_ring_difference.unwrap_or(scanner.inner.rings().saturating_sub(1));
        let l = SinogramLayout::new(scanner.inner.clone(), tangential, span, max, view_mashing)
            .py_err(py)?;
        Ok(Self {
            inner: if tof { l } else { l.without_tof() },
        })
    }
    /// The mMR's layout of span `span` (344 bins, max ring difference 60).
    #[staticmethod]
    #[pyo3(signature = (span=Int(11)))]
    fn mmr(py: Python<'_>, span: Int<u32>) -> PyResult<Self> {
        Ok(Self {
            inner: SinogramLayout::mmr(span.0).py_err(py)?,
        })
    }
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.inner.shape()
    }
    #[getter]
    fn scanner(&self) -> PyPetScanner {
        PyPetScanner {
            inner: self.inner.scanner().clone(),
        }
    }
    #[getter]
    fn span(&self) -> u32 {
        self.inner.span()
    }
    #[getter]
    fn views(&self) -> u32 {
        self.inner.views()
    }
    #[getter]
    fn planes(&self) -> u32 {
        self.inner.planes()
    }
    #[getter]
    fn tof_bins(&self) -> u32 {
        self.inner.tof_bins()
    }
    /// Segments in storage order: `(number, min ring difference, max ring difference, planes)`.
    #[getter]
    fn segments(&self) -> Vec<(i32, i32, i32, u32)> {
        self.inner
            .segments()
            .iter()
            .map(|s| {
                (
                    s.number,
                    s.min_ring_difference,
                    s.max_ring_difference,
                    s.planes,
                )
            })
            .collect()
    }
    /// `(view, plane, tof, tangential)` of the coincidence between crystals `a` and `b`
    /// (`(ring, crystal)` each) in TOF bin `tof`, or None outside the layout.
    #[pyo3(signature = (a, b, tof=Int(0)))]
    fn bin(
        &self,
        py: Python<'_>,
        a: (Int<u32>, Int<u32>),
        b: (Int<u32>, Int<u32>),
        tof: Int<u32>,
    ) -> PyResult<Option<(u32, u32, u32, u32)>> {
        let (a, b, tof) = ((a.0.0, a.1.0), (b.0.0, b.1.0), tof.0);
        Ok(self
            .inner
            .bin(a, b, tof)
            .py_err(py)?
            .map(|b| (b.view, b.plane, b.tof, b.tangential)))
    }
    fn __repr__(&self) -> String {
        format!(
            "SinogramLayout({:?}, span={}, max_ring_difference={}, shape={:?})",
            self.inner.scanner().name(),
            self.inner.span(),
            self.inner.max_ring_difference(),
            self.inner.shape()
        )
    }
}

/// List-mode OSEM of `events` (an `(n, 4)` integer array of crystal pairs `[ring_a, crystal_a,
/// ring_b, crystal_b]`, with `tof_bins` (n,) when the projector's layout has TOF) through the
/// system model of `projector` (a `Pet3dProjector` of an unmashed layout: its factors and
/// sensitivity image); `background` (expected randoms + scatter per bin, the layout's shape);
/// `sensitivity` (the projector's `sensitivity()`, computed once and reused across frames;
/// default: computed here). Events whose pair lies outside the layout (ring difference,
/// tangential range) are dropped: `outside="warn"` (default) says how many with a
/// `UserWarning`, `"error"` raises `InvalidArgumentError`, `"drop"` is silent.
#[pyfunction]
#[pyo3(signature = (events, projector, iterations, subsets, tof_bins=None, background=None, post_filter_fwhm=None, sensitivity=None, outside="warn", max_resident_bytes=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn lm_osem<'py>(
    py: Python<'py>,
    events: PyReadonlyArray2<'py, i64>,
    projector: &crate::projectors::PyPet3dProjector,
    iterations: Int<usize>,
    subsets: Int<usize>,
    tof_bins: Option<PyReadonlyArray1<'py, i64>>,
    background: Option<&Bound<'py, PyAny>>,
    post_filter_fwhm: Option<f64>,
    sensitivity: Option<&Bound<'py, PyAny>>,
    outside: &str,
    max_resident_bytes: Option<Int<u64>>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let max_resident_bytes = max_resident_bytes.map(|b| b.0);
    let iterations = iterations.0;
    let subsets = subsets.0;
    if !matches!(outside, "warn" | "error" | "drop") {
        return Err(PyValueError::new_err(format!(
            "outside={outside:?}: expected \"warn\", \"error\" or \"drop\""
        )));
    }
    let e = events.as_array();
    if e.ncols() != 4 {
        return Err(PyValueError::new_err(format!(
            "events of shape {:?}: expected (n, 4) rows [ring_a, crystal_a, ring_b, crystal_b]",
            e.shape()
        )));
    }
    let to_u32 = |v: i64, what: &str| -> PyResult<u32> {
        u32::try_from(v)
            .map_err(|_| PyValueError::new_err(format!("{what} {v}: expected an index ≥ 0")))
    };
    let pairs: Vec<[u32; 4]> = e
        .rows()
        .into_iter()
        .map(|r| {
            Ok([
                to_u32(r[0], "ring")?,
                to_u32(r[1], "crystal")?,
                to_u32(r[2], "ring")?,
                to_u32(r[3], "crystal")?,
            ])
        })
        .collect::<PyResult<_>>()?;
    let tof: Option<Vec<u32>> = tof_bins
        .map(|t| {
            t.as_array()
                .iter()
                .map(|&v| to_u32(v, "TOF bin"))
                .collect::<PyResult<_>>()
        })
        .transpose()?;
    let b = background
        .map(|b| f32_array(py, b, "background"))
        .transpose()?;
    let s = sensitivity
        .map(|s| f32_array(py, s, "sensitivity"))
        .transpose()?;
    let sino = projector.inner.clone();
    let events = py
        .detach(|| tomors::ListModeEvents::from_crystals(sino.layout(), &pairs, tof.as_deref()))
        .py_err(py)?;
    let dropped = events.outside_layout();
    if dropped > 0 {
        let message = format!(
            "{dropped} of {} events lie outside the layout (ring difference above {} or beyond \
             its {} tangential bins) and were dropped",
            pairs.len(),
            sino.layout().max_ring_difference(),
            sino.layout().tangential()
        );
        match outside {
            "error" => {
                return Err(to_py(py, tomors::Error::InvalidArgument(message)));
            }
            "warn" => {
                let text = std::ffi::CString::new(message).expect("no NUL in the message");
                let category = py.get_type::<pyo3::exceptions::PyUserWarning>();
                PyErr::warn(py, &category, &text, 1)?;
            }
            _ => {}
        }
    }
    let bv = b.as_ref().map(|b| b.as_array());
    let sv = s.as_ref().map(|s| s.as_array());
    let out = py
        .detach(move || {
            let mut lm = match sv {
                Some(s) => tomors::ListModeProjector::with_sensitivity(events, &sino, s)?,
                None => tomors::ListModeProjector::new(events, &sino)?,
            };
            if let Some(b) = bv {
                lm = lm.with_background(b)?;
            }
            let osem = tomors::Osem {
                post_filter_fwhm,
                max_resident_bytes,
                ..tomors::Osem::new(iterations, subsets)
            };
            tomors::recon::lm_osem(&lm, &osem)
        })
        .py_err(py)?;
    Ok(to_numpy(py, out))
}

/// Reads an Interfile image (`.hv`: returns `(volume, ImageGrid)`) or STIR projection data
/// (`.hs`: returns `(sinogram, SinogramLayout)`), by the header's content.
#[pyfunction]
pub(crate) fn read_interfile<'py>(
    py: Python<'py>,
    path: PathBuf,
) -> PyResult<(Bound<'py, PyArrayDyn<f32>>, Py<PyAny>)> {
    let header = tomors::io::interfile::InterfileHeader::read(&path).py_err(py)?;
    if header.get("number of dimensions") == Some("4") {
        let (data, layout) = py
            .detach(|| tomors::io::interfile::read_interfile_sinogram(&path))
            .py_err(py)?;
        let layout = Bound::new(py, PySinogramLayout { inner: layout })?
            .into_any()
            .unbind();
        return Ok((to_numpy(py, data), layout));
    }
    let (vol, grid) = py
        .detach(|| tomors::io::interfile::read_interfile_image(&path))
        .py_err(py)?;
    let grid = Bound::new(py, PyImageGrid { inner: grid })?
        .into_any()
        .unbind();
    Ok((to_numpy(py, vol.into_dyn()), grid))
}

/// Writes `sinogram` (of `layout`, non-TOF) as STIR Interfile projection data: the header at
/// `path` (`.hs`) and little-endian floats beside it (`.s`).
#[pyfunction]
pub(crate) fn write_interfile(
    py: Python<'_>,
    path: PathBuf,
    sinogram: &Bound<'_, PyAny>,
    layout: &PySinogramLayout,
) -> PyResult<()> {
    let data = f32_array(py, sinogram, "sinogram")?;
    let view = data.as_array();
    let l = layout.inner.clone();
    py.detach(|| tomors::io::interfile::write_interfile_sinogram(&path, view, &l))
        .py_err(py)
}

/// Reads a PETLINK list-mode file (`.l.hdr`) and histograms it into `layout` (default: the
/// file's span-1 layout) within `window` (seconds): a dict with `prompts`, `delayeds`,
/// `randoms` (estimated from the delayeds by `randoms_estimate`: `"ml-singles"`, singles
/// fitted by maximum likelihood to the delayeds' fan sums, or `"fan-sums"`; the layout's
/// shape), `layout`, `counts`
/// (words, prompts, delayeds, tags) and `prompt_pairs` ((n, 4) crystal pairs) when
/// `pairs=True`.
#[pyfunction]
#[pyo3(signature = (path, layout=None, window=None, pairs=false, randoms_estimate="ml-singles"))]
pub(crate) fn read_petlink<'py>(
    py: Python<'py>,
    path: PathBuf,
    layout: Option<&PySinogramLayout>,
    window: Option<(f64, f64)>,
    pairs: bool,
    randoms_estimate: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let estimate: tomors::physics::RandomsEstimate = randoms_estimate.parse().py_err(py)?;
    let file = tomors::io::petlink::ListModeFile::open(&path).py_err(py)?;
    let layout = layout.map_or_else(|| file.layout().clone(), |l| l.inner.clone());
    let (h, randoms, prompt_pairs) = py
        .detach(|| -> tomors::Result<_> {
            let h = file.histogram(&layout, window)?;
            let total: f64 = h.delayeds.iter().map(|&v| v as f64).sum();
            let r = tomors::physics::randoms_from_delayeds(
                file.layout(),
                &layout,
                &h.delayed_fan_sums,
                total,
                estimate,
            )?;
            let p = if pairs {
                Some(file.prompt_pairs(window)?.0)
            } else {
                None
            };
            Ok((h, r, p))
        })
        .py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("prompts", to_numpy(py, h.prompts))?;
    d.set_item("delayeds", to_numpy(py, h.delayeds))?;
    d.set_item("randoms", to_numpy(py, randoms))?;
    d.set_item("layout", PySinogramLayout { inner: layout })?;
    let c = h.counts;
    let counts = PyDict::new(py);
    for (k, v) in [
        ("words", c.words),
        ("prompts", c.prompts),
        ("delayeds", c.delayeds),
        ("outside_window", c.outside_window),
        ("time_tags", c.time_tags),
        ("singles_tags", c.singles_tags),
        ("other_tags", c.other_tags),
        ("last_time_ms", c.last_time_ms as u64),
    ] {
        counts.set_item(k, v)?;
    }
    d.set_item("counts", counts)?;
    if let Some(p) = prompt_pairs {
        let flat: Vec<i64> = p.iter().flat_map(|r| r.map(i64::from)).collect();
        let arr = numpy::ndarray::Array2::from_shape_vec((p.len(), 4), flat).expect("n × 4");
        d.set_item("prompt_pairs", numpy::PyArray2::from_owned_array(py, arr))?;
    }
    Ok(d)
}

/// Normalisation factors (efficiencies, the layout's shape without TOF) for `layout` from a
/// Siemens mMR component normalisation file (`.n.hdr`).
#[pyfunction]
pub(crate) fn read_mmr_norm<'py>(
    py: Python<'py>,
    path: PathBuf,
    layout: &PySinogramLayout,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let l = layout.inner.clone();
    let f = py
        .detach(move || tomors::io::siemens_norm::MmrNormalisation::read(&path)?.factors(&l))
        .py_err(py)?;
    Ok(to_numpy(py, f))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPetScanner>()?;
    m.add_class::<PySinogramLayout>()?;
    m.add_function(wrap_pyfunction!(lm_osem, m)?)?;
    m.add_function(wrap_pyfunction!(read_interfile, m)?)?;
    m.add_function(wrap_pyfunction!(write_interfile, m)?)?;
    m.add_function(wrap_pyfunction!(read_petlink, m)?)?;
    m.add_function(wrap_pyfunction!(read_mmr_norm, m)?)?;
    Ok(())
}

/// The projector's model shared with list mode.
pub(crate) type SharedPet3d = Arc<tomors::Pet3dProjector>;
