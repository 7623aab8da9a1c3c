//! Arrays in and out (NumPy borrowed as float32 where possible, results handed out without a
//! copy) and errors out (one Python exception class per `tomors::Error` kind).

use ndarray::{ArrayD, ArrayViewD};
use numpy::{PyArray, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Maps a Rust error to its Python exception class in `tomors.errors`.
pub(crate) fn to_py(py: Python<'_>, e: tomors::Error) -> PyErr {
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
        E::Network { .. } => "NetworkError",
        E::TooLarge { .. } => "TooLargeError",
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

/// An integer argument of type `T`: any Python int is taken, then converted, so that a value
/// outside `T` (a negative count, a port above 65535) raises `InvalidArgumentError` with the
/// range expected, where PyO3's own conversion raised a bare `OverflowError`; PyO3 adds the
/// argument's name ("while processing 'iterations'", a note on Python ≥ 3.11).
pub(crate) struct Int<T>(pub T);

impl<'a, 'py, T> FromPyObject<'a, 'py> for Int<T>
where
    T: TryFrom<i128> + IntRange,
{
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        let out_of_range = |v: String| {
            to_py(
                py,
                tomors::Error::InvalidArgument(format!(
                    "{v} is out of range: expected a whole number from {} to {}",
                    T::MIN,
                    T::MAX
                )),
            )
        };
        match obj.extract::<i128>() {
            Ok(v) => T::try_from(v)
                .map(Int)
                .map_err(|_| out_of_range(v.to_string())),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(py) => {
                Err(out_of_range(obj.to_string()))
            }
            Err(e) => Err(e),
        }
    }
}

/// The range of an integer type, for [`Int`]'s message.
pub(crate) trait IntRange {
    const MIN: i128;
    const MAX: u128;
}

macro_rules! int_range {
    ($($t:ty),*) => {$(
        impl IntRange for $t {
            const MIN: i128 = <$t>::MIN as i128;
            const MAX: u128 = <$t>::MAX as u128;
        }
    )*};
}
int_range!(u16, u32, u64, usize);

pub(crate) trait IntoPy<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for tomors::Result<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}

/// Borrows `obj` as a float32 C-contiguous array, converting (one copy) when it is not one.
/// Complex, object, string and other non-real dtypes raise `TypeError`.
pub(crate) fn f32_array<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<PyReadonlyArrayDyn<'py, f32>> {
    if let Ok(a) = obj.cast::<PyArrayDyn<f32>>()
        && a.is_c_contiguous()
    {
        return Ok(a.readonly());
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

/// The 3D view `[z, y, x]` of an array [`f32_array`] borrowed; `TypeError` naming `name`
/// for any other number of dimensions.
pub(crate) fn view3<'a>(
    array: &'a PyReadonlyArrayDyn<'_, f32>,
    name: &str,
) -> PyResult<ndarray::ArrayView3<'a, f32>> {
    array
        .as_array()
        .into_dimensionality::<ndarray::Ix3>()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be 3D [z, y, x]")))
}

/// Borrows `input` as float32 (see [`f32_array`]), runs `work` on it with the interpreter
/// released, and returns its result as a new NumPy array.
pub(crate) fn array_to_array<'py>(
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

pub(crate) fn to_numpy<'py>(py: Python<'py>, a: ArrayD<f32>) -> Bound<'py, PyArrayDyn<f32>> {
    PyArray::from_owned_array(py, a)
}

/// What `__reduce__` returns for pickling: the class and its constructor arguments.
pub(crate) type Reduce<'py, A> = (Bound<'py, pyo3::types::PyType>, A);

/// Per-axis values from a scalar or a sequence of `n`.
pub(crate) fn per_axis(obj: &Bound<'_, PyAny>, n: usize, what: &str) -> PyResult<Vec<f64>> {
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
