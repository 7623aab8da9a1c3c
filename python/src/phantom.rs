//! Analytic phantoms: Shepp-Logan (with exact sinograms) and the NEMA IEC body phantom.

use crate::arrays::*;
use crate::geometry::*;
use numpy::PyArrayDyn;
use pyo3::prelude::*;
use tomors::phantom::EllipsoidPhantom;

/// Two new float32 arrays.
type ArrayPair<'py> = (Bound<'py, PyArrayDyn<f32>>, Bound<'py, PyArrayDyn<f32>>);
/// Six sphere masks and a background mask.
type Regions<'py> = (
    Vec<Bound<'py, PyArrayDyn<bool>>>,
    Bound<'py, PyArrayDyn<bool>>,
);

pub(crate) fn phantom_radius(grid: &tomors::ImageGrid, radius: Option<f64>) -> f64 {
    radius.unwrap_or_else(|| grid.inscribed_radius())
}

/// The modified Shepp-Logan phantom (maximum 1.0) on `grid`; `radius` is the head's
/// half-height in mm (default: the grid's inscribed radius). Each voxel is the mean of
/// `supersample`² point samples.
#[pyfunction]
#[pyo3(signature = (grid, radius=None, supersample=Int(1)))]
pub(crate) fn shepp_logan<'py>(
    py: Python<'py>,
    grid: &PyImageGrid,
    radius: Option<f64>,
    supersample: Int<usize>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let supersample = supersample.0;
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
/// `(views, rows, cols)` for 3D; for a ConeBeam, along every ray from the source to a pixel
/// centre (flat or cylindrical detector, any trajectory).
#[pyfunction]
#[pyo3(signature = (geometry, grid, radius=None))]
pub(crate) fn shepp_logan_sinogram<'py>(
    py: Python<'py>,
    geometry: &Bound<'py, PyAny>,
    grid: &PyImageGrid,
    radius: Option<f64>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let g = &grid.inner;
    let r = phantom_radius(g, radius);
    if let Ok(cone) = geometry.cast::<crate::geometry::PyConeBeam>() {
        let cone = &cone.get().inner;
        let out = py.detach(|| {
            EllipsoidPhantom::shepp_logan(r)
                .solids()
                .cone_projections(cone)
        });
        return Ok(to_numpy(py, out));
    }
    let geometry = geometry_of(geometry)?;
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

/// The NEMA IEC body-like phantom on `grid` (3D, or 2D for the plane through the spheres):
/// `(activity, mu)` arrays, spheres at
/// `contrast`:1 over a background of `background`, μ of water `mu_water` (1/mm; lung 0.3×).
#[pyfunction]
#[pyo3(signature = (grid, contrast=4.0, background=1.0, mu_water=0.0154, supersample=Int(2)))]
pub(crate) fn nema_iec<'py>(
    py: Python<'py>,
    grid: &PyImageGrid,
    contrast: f64,
    background: f64,
    mu_water: f64,
    supersample: Int<usize>,
) -> PyResult<ArrayPair<'py>> {
    let supersample = supersample.0;
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

/// The NEMA IEC phantom of `nema_iec`'s settings.
fn nema(contrast: f64, background: f64) -> tomors::phantom::NemaIecPhantom {
    tomors::phantom::NemaIecPhantom {
        contrast,
        background,
        ..Default::default()
    }
}

/// The regions a NEMA IEC recovery reads on the 3D `grid`: `(spheres, background)`, six bool
/// arrays (10 to 37 mm) and one, shaped like the grid's images.
#[pyfunction]
pub(crate) fn nema_regions<'py>(py: Python<'py>, grid: &PyImageGrid) -> PyResult<Regions<'py>> {
    let r = nema(4.0, 1.0).regions(&grid.inner);
    let spheres = r
        .spheres
        .into_iter()
        .map(|s| PyArrayDyn::from_owned_array(py, s.into_dyn()))
        .collect();
    Ok((
        spheres,
        PyArrayDyn::from_owned_array(py, r.background.into_dyn()),
    ))
}

/// Recovery of each sphere of the NEMA IEC phantom (`contrast`:1 over `background`) in
/// `image` on the 3D `grid`: a dict with `spheres` (a list of `(diameter_mm, mean, max)`,
/// mean and max over the sphere / its true activity), `background_recovery` (mean / truth)
/// and `background_noise` (std / mean).
#[pyfunction]
#[pyo3(signature = (image, grid, contrast=4.0, background=1.0))]
pub(crate) fn nema_recovery<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    grid: &PyImageGrid,
    contrast: f64,
    background: f64,
) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
    let image = f32_array(py, image, "image")?;
    let image = view3(&image, "image")?;
    let r = nema(contrast, background)
        .recovery(image, &grid.inner)
        .py_err(py)?;
    let d = pyo3::types::PyDict::new(py);
    let spheres: Vec<(f64, f64, f64)> = r
        .spheres
        .iter()
        .map(|s| (s.diameter_mm, s.mean, s.max))
        .collect();
    d.set_item("spheres", spheres)?;
    d.set_item("background_recovery", r.background_recovery)?;
    d.set_item("background_noise", r.background_noise())?;
    Ok(d)
}

/// NEMA NU 2 image quality of `image` (`[z, y, x]` on the 3D `grid`, the phantom centred
/// in-plane, spheres at z = `sphere_z`): a dict with `spheres` (a list of dicts:
/// `diameter_mm`, `cold`, `contrast`, `variability`, `sphere_mean`, `background_mean`),
/// `lung_residual`, `background_centres` and `table` (Markdown, percentages).
#[pyfunction]
#[pyo3(signature = (image, grid, ratio=4.0, cold=Vec::new(), sphere_z=0.0))]
pub(crate) fn nema_nu2<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    grid: &PyImageGrid,
    ratio: f64,
    cold: Vec<f64>,
    sphere_z: f64,
) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
    use tomors::phantom::{NemaIecPhantom, Nu2Filling, SPHERE_DIAMETERS};
    let image = f32_array(py, image, "image")?;
    let image = view3(&image, "image")?;
    let mut filling = Nu2Filling {
        ratio,
        ..Nu2Filling::default()
    };
    for d in cold {
        let i = SPHERE_DIAMETERS
            .iter()
            .position(|s| (s - d).abs() < 0.5)
            .ok_or_else(|| {
                to_py(
                    py,
                    tomors::Error::InvalidArgument(format!(
                        "cold sphere of {d} mm; the spheres are {SPHERE_DIAMETERS:?} mm"
                    )),
                )
            })?;
        filling.cold[i] = true;
    }
    let phantom = NemaIecPhantom {
        sphere_plane: sphere_z,
        ..NemaIecPhantom::pet()
    };
    let q = phantom
        .nu2_image_quality(image, &grid.inner, &filling)
        .py_err(py)?;
    let d = pyo3::types::PyDict::new(py);
    let spheres = pyo3::types::PyList::empty(py);
    for s in &q.spheres {
        let sd = pyo3::types::PyDict::new(py);
        sd.set_item("diameter_mm", s.diameter_mm)?;
        sd.set_item("cold", s.cold)?;
        sd.set_item("contrast", s.contrast)?;
        sd.set_item("variability", s.variability)?;
        sd.set_item("sphere_mean", s.sphere_mean)?;
        sd.set_item("background_mean", s.background_mean)?;
        spheres.append(sd)?;
    }
    d.set_item("spheres", spheres)?;
    d.set_item("lung_residual", q.lung_residual)?;
    d.set_item("background_centres", q.background_centres.clone())?;
    d.set_item("table", q.table())?;
    Ok(d)
}
