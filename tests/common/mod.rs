//! Shared test helpers: geometries, metrics, and a macro expanding one test body per backend.
#![allow(dead_code)]

pub mod fuzz;

use std::f64::consts::PI;
use tomors::{DetectorColumns, DetectorShape, FanBeam, Geometry, ImageGrid, ParallelBeam};

/// Expands each `fn name(backend: Backend)` into `cpu::name` and `gpu::name` tests.
///
/// The GPU one needs a wgpu adapter (CI installs Mesa's software Vulkan), so it is marked
/// ignored: plain `cargo test` lists it as ignored, `--include-ignored` (what
/// `scripts/test.sh` and CI run) runs it, and a missing adapter then fails it. Tests that need
/// `../shared/data` are marked the same way. Nothing is skipped while reporting ok.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod cpu {
            $( #[test] fn $name() { super::$name(tomors::Backend::Cpu); } )*
        }
        mod gpu {
            $(
                #[test]
                #[ignore = "GPU: needs a wgpu adapter; run with --include-ignored"]
                fn $name() { super::$name(tomors::Backend::Gpu); }
            )*
        }
    };
}

/// Dot-product tests on the CPU: the twins sum in `f32` but the test's inner products are
/// `f64` and normalised by ‖Ax‖·‖y‖, so an exact pair shows only `f32` rounding (≈1e-7).
pub const DOT_TOL_CPU: f64 = 1e-6;
/// On a GPU the shader compiler may fuse multiply-adds differently in the two stages.
pub const DOT_TOL_GPU: f64 = 1e-4;

/// The dot-product tolerance for `backend`.
pub fn dot_tolerance(backend: tomors::Backend) -> f64 {
    if backend == tomors::Backend::Cpu {
        DOT_TOL_CPU
    } else {
        DOT_TOL_GPU
    }
}

pub fn angles(n: usize, span: f64) -> Vec<f64> {
    (0..n).map(|i| i as f64 * span / n as f64).collect()
}

pub fn parallel(n_views: usize, n_cols: usize, du: f64, offset: f64) -> Geometry {
    let cols = DetectorColumns {
        n_cols,
        spacing: du,
        offset,
    };
    ParallelBeam::with_detector(angles(n_views, PI), cols, 1, 1.0)
        .unwrap()
        .into()
}

pub fn fan(
    n_views: usize,
    n_cols: usize,
    du: f64,
    offset: f64,
    dso: f64,
    dsd: f64,
    shape: DetectorShape,
) -> Geometry {
    let cols = DetectorColumns {
        n_cols,
        spacing: du,
        offset,
    };
    FanBeam::new(angles(n_views, 2.0 * PI), cols, dso, dsd, shape)
        .unwrap()
        .into()
}

pub fn grid2(ny: usize, nx: usize, dy: f64, dx: f64) -> ImageGrid {
    ImageGrid::new_2d([ny, nx], [dy, dx]).unwrap()
}

/// ‖a − b‖ / ‖b‖ in f64.
pub fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum();
    let den: f64 = b.iter().map(|&y| (y as f64).powi(2)).sum();
    (num / den).sqrt()
}

/// RMSE over pixels whose centre lies within `radius` mm of the axis (2D grid).
pub fn rmse_in_circle(a: &[f32], b: &[f32], grid: &ImageGrid, radius: f64) -> f64 {
    let [_, ny, nx] = grid.shape();
    let [_, dy, dx] = grid.spacing();
    let [_, oy, ox] = grid.origin();
    let (mut sum, mut n) = (0.0, 0usize);
    for iy in 0..ny {
        for ix in 0..nx {
            let (x, y) = (ox + ix as f64 * dx, oy + iy as f64 * dy);
            if x.hypot(y) <= radius {
                let i = iy * nx + ix;
                sum += (a[i] as f64 - b[i] as f64).powi(2);
                n += 1;
            }
        }
    }
    (sum / n as f64).sqrt()
}

/// A folder of `../shared/data` (the project's real test data). Panics, failing the test,
/// when this checkout has none beside it: tests that call it are marked
/// `#[ignore = "real data: …"]` and run with `--include-ignored`.
pub fn shared_data(sub: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(sub);
    assert!(
        p.exists(),
        "{} is absent: this test needs the project's real data in ../shared/data",
        p.display()
    );
    p
}

/// The real NM projections' header (every NM attribute) over a small synthetic acquisition:
/// 4 × 4 pixels, frames indexed by the given energy window, detector and view vectors (one
/// rotation), pixel value `frame` everywhere in each frame. Returned unwritten, for further edits.
pub fn small_nm(
    real: &std::path::Path,
    windows: &[u16],
    detectors: &[u16],
    views: &[u16],
) -> dicom_object::DefaultDicomObject {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;
    let n = windows.len();
    let mut obj = dicom_object::open_file(real).unwrap();
    let mut put = |tag, vr, value| {
        obj.put(DataElement::new(tag, vr, value));
    };
    let vector = |v: &[u16]| PrimitiveValue::U16(v.iter().copied().collect());
    put(tags::ROWS, VR::US, PrimitiveValue::from(4_u16));
    put(tags::COLUMNS, VR::US, PrimitiveValue::from(4_u16));
    put(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        PrimitiveValue::from(n.to_string()),
    );
    put(tags::ENERGY_WINDOW_VECTOR, VR::US, vector(windows));
    put(tags::DETECTOR_VECTOR, VR::US, vector(detectors));
    put(tags::ROTATION_VECTOR, VR::US, vector(&vec![1; n]));
    put(tags::ANGULAR_VIEW_VECTOR, VR::US, vector(views));
    let count = |v: &[u16]| *v.iter().max().unwrap();
    put(
        tags::NUMBER_OF_ENERGY_WINDOWS,
        VR::US,
        PrimitiveValue::from(count(windows)),
    );
    put(
        tags::NUMBER_OF_DETECTORS,
        VR::US,
        PrimitiveValue::from(count(detectors)),
    );
    let pixels: Vec<u16> = (0..n as u16).flat_map(|f| [f; 16]).collect();
    put(tags::PIXEL_DATA, VR::OW, vector(&pixels));
    obj
}

/// Pearson correlation of two equally long samples.
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        ab += (x - ma) * (y - mb);
        aa += (x - ma) * (x - ma);
        bb += (y - mb) * (y - mb);
    }
    ab / (aa * bb).sqrt()
}

/// Poisson samples of `mean` (inversion for small means, normal approximation above 50).
pub fn poisson(mean: &ndarray::ArrayD<f32>, seed: u64) -> ndarray::ArrayD<f32> {
    let mut s = seed;
    let mut uniform = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    mean.mapv(|m| {
        let m = m as f64;
        if m > 50.0 {
            let z = (-2.0 * uniform().ln()).sqrt() * (2.0 * PI * uniform()).cos();
            (m + m.sqrt() * z).round().max(0.0) as f32
        } else {
            let (mut k, mut p, mut cdf, u) = (0.0, (-m).exp(), (-m).exp(), uniform());
            while u > cdf && k < 1000.0 {
                k += 1.0;
                p *= m / k;
                cdf += p;
            }
            k as f32
        }
    })
}

/// A version-1 `.npy` file: the header dictionary for `descr` and `shape` (e.g. `"<f4"`,
/// `"(2, 3)"`) padded to 64 bytes, then `data` as they are.
pub fn npy_bytes(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while !(10 + dict.len() + 1).is_multiple_of(64) {
        dict.push(' ');
    }
    dict.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// A synthetic PET-over-CT study in `dir`: a CT of a water cylinder (a new study) and a PET
/// series over it in the same study; returns the study UID.
pub fn pet_ct_study(dir: &std::path::Path, damaged: bool) -> String {
    let (shape, spacing) = ([24, 48, 48], [5.0, 5.0, 5.0]);
    let grid = tomors::PatientGrid::axis_aligned(shape, spacing, [-117.5, -117.5, -57.5]).unwrap();
    let ct = ndarray::Array3::from_shape_fn((24, 48, 48), |(_, y, x)| {
        if (x as f32 - 23.5).hypot(y as f32 - 23.5) < 18.0 {
            0.0
        } else {
            -1000.0
        }
    });
    let written = tomors::io::dicom::SeriesWriter::new(tomors::io::dicom::WriteModality::Ct, "HU")
        .write(ct.view(), &grid, &dir.join("CT"))
        .unwrap();
    let reference = tomors::io::dicom::Reference::from_file(&written.files[0]).unwrap();
    let pet = ct.mapv(|v| if v > -500.0 { 3000.0 } else { 0.0 });
    tomors::io::dicom::SeriesWriter::new(tomors::io::dicom::WriteModality::Pt, "BQML")
        .with_reference(reference)
        .write(pet.view(), &grid, &dir.join("PET"))
        .unwrap();
    if damaged {
        // A CT slice cut short: its header reads, its pixels do not.
        let f = &written.files[5];
        let bytes = std::fs::read(f).unwrap();
        std::fs::write(f, &bytes[..bytes.len() - 2000]).unwrap();
    }
    written.study_uid
}
