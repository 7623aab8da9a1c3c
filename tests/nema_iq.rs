//! NEMA NU 2 image quality end to end: the NEMA IEC phantom rasterised, blurred as a scanner
//! would (Gaussian, 8 mm FWHM), written as a PT series, analysed by `tomors nema-iq`: contrast
//! recovery grows with the sphere, the largest near 1, the smallest far below; a noise-free
//! background does not vary; the lung insert holds the blur's spill-in only.

use std::process::Command;
use tomors::ImageGrid;
use tomors::io::dicom::{SeriesWriter, WriteModality};
use tomors::phantom::{NemaIecPhantom, Nu2Filling};
use tomors::pipeline::nema_image_quality;

/// Separable Gaussian blur of `fwhm` mm along each axis (edges clamped).
fn blur(v: &mut ndarray::Array3<f32>, fwhm: f64, spacing: [f64; 3]) {
    for axis in 0..3 {
        let sigma = fwhm / 2.3548 / spacing[axis];
        let half = (3.0 * sigma).ceil() as isize;
        let k: Vec<f64> = (-half..=half)
            .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
            .collect();
        let norm: f64 = k.iter().sum();
        let src = v.clone();
        let n = v.shape()[axis] as isize;
        for (idx, out) in v.indexed_iter_mut() {
            let mut acc = 0.0;
            for (j, w) in k.iter().enumerate() {
                let mut p = [idx.0, idx.1, idx.2];
                p[axis] = (p[axis] as isize + j as isize - half).clamp(0, n - 1) as usize;
                acc += w * src[p] as f64;
            }
            *out = (acc / norm) as f32;
        }
    }
}

#[test]
fn nema_iq_reads_a_blurred_phantom() {
    let phantom = NemaIecPhantom::pet();
    let grid = ImageGrid::new_3d([31, 152, 152], [2.0, 2.0, 2.0]).unwrap();
    let (mut activity, _) = phantom.rasterize(&grid, 2).unwrap();
    blur(&mut activity, 8.0, grid.spacing());
    let dir = std::env::temp_dir().join(format!("nema-iq-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let patient = tomors::geometry::PatientGrid::axis_aligned(
        grid.shape(),
        grid.spacing(),
        [grid.origin()[2], grid.origin()[1], grid.origin()[0]],
    )
    .unwrap();
    SeriesWriter::new(WriteModality::Pt, "BQML")
        .write(activity.view(), &patient, &dir.join("series"))
        .unwrap();

    let iq = nema_image_quality(&dir.join("series"), &phantom, &Nu2Filling::default()).unwrap();
    println!("{}", iq.quality.table());
    let q = &iq.quality;
    assert!(q.spheres.windows(2).all(|w| w[0].contrast < w[1].contrast));
    assert!(q.spheres[5].contrast > 0.8 && q.spheres[5].contrast < 1.0);
    assert!(q.spheres[0].contrast < 0.5);
    assert!(q.spheres.iter().all(|s| s.variability < 0.01));
    assert!(
        q.lung_residual > 0.0 && q.lung_residual < 0.25,
        "{}",
        q.lung_residual
    );

    // The command line writes the same table and the page.
    let out = dir.join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_tomors"))
        .args(["nema-iq"])
        .arg(dir.join("series"))
        .arg(&out)
        .env("XDG_RUNTIME_DIR", &dir)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read_to_string(out.join("nu2.md")).unwrap(),
        q.table()
    );
    assert!(std::fs::metadata(out.join("nu2.png")).unwrap().len() > 1000);
    // A phantom placed elsewhere than the series holds it is refused, not measured.
    let away = NemaIecPhantom {
        sphere_plane: 500.0,
        ..NemaIecPhantom::pet()
    };
    let e = nema_image_quality(&dir.join("series"), &away, &Nu2Filling::default()).unwrap_err();
    assert!(e.to_string().contains("outside the image"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
