//! Quantitative 3D PET end to end: a scanner calibrated with a Ge-68 phantom of known
//! concentration reads an F-18 study of another concentration, frame and decay in Bq/mL, and
//! the written DICOM tags give its SUV, both within 2 %. The counts are simulated with the
//! decay integrated numerically (not the closed form the library applies), noise-free, through
//! the reconstruction's own projector scaled by a "sensitivity" the calibration must find.

mod common;
use ndarray::{Array3, ArrayD};
use std::path::{Path, PathBuf};
use tomors::geometry::pet::{PetScanner, SinogramLayout};
use tomors::io::dicom::{SeriesSelect, read_pet_series};
use tomors::io::interfile::write_interfile_sinogram;
use tomors::physics::{PetCalibration, Radionuclide};
use tomors::pipeline::{PetData, PetQuantitationOptions, PetReconOptions, reconstruct_pet};
use tomors::{Backend, ImageGrid, Pet3dProjector};

/// Image units per (positron per second per mL) × seconds: what the calibration must find.
const SENSITIVITY: f64 = 2.5e-3;

fn layout() -> SinogramLayout {
    let scanner = PetScanner::new("small", 8, 64, 60.0, 2.0, 4.0).unwrap();
    SinogramLayout::new(scanner, 40, 1, 7, 1).unwrap()
}

fn grid() -> ImageGrid {
    ImageGrid::new_3d([15, 24, 24], [2.0, 4.0, 4.0]).unwrap()
}

/// Concentration map (Bq/mL at the scan start): a cylinder of radius 36 mm over the whole
/// axial field, `hot` × its value in a sphere of radius 10 mm at (x, y) = (16, 0).
fn phantom(c: f64, hot: f64) -> Array3<f32> {
    let g = grid();
    let [nz, ny, nx] = g.shape();
    let [_, oy, ox] = g.origin();
    let [_, dy, dx] = g.spacing();
    let [oz, dz] = [g.origin()[0], g.spacing()[0]];
    Array3::from_shape_fn((nz, ny, nx), |(z, y, x)| {
        let (px, py, pz) = (ox + x as f64 * dx, oy + y as f64 * dy, oz + z as f64 * dz);
        if px.hypot(py) > 36.0 {
            0.0
        } else if ((px - 16.0).powi(2) + py * py + pz * pz).sqrt() < 10.0 {
            (c * hot) as f32
        } else {
            c as f32
        }
    })
}

/// Voxels of the uniform background: radius < 24 mm, 16 mm clear of the sphere, the inner
/// 11 slices.
fn background(v: &Array3<f32>) -> f64 {
    let g = grid();
    let [_, oy, ox] = g.origin();
    let [_, dy, dx] = g.spacing();
    let (mut sum, mut n) = (0.0, 0);
    for ((z, y, x), &value) in v.indexed_iter() {
        let (px, py) = (ox + x as f64 * dx, oy + y as f64 * dy);
        if (2..13).contains(&z) && px.hypot(py) < 24.0 && (px - 16.0).hypot(py) > 26.0 {
            sum += value as f64;
            n += 1;
        }
    }
    assert!(n > 100, "{n} background voxels");
    sum / n as f64
}

/// Positrons per mL emitted over `[start, start + duration]` (s after the scan start) by a
/// unit concentration at the scan start: a midpoint sum of the decay curve.
fn positrons(n: &Radionuclide, start: f64, duration: f64) -> f64 {
    let steps = 100_000;
    let h = duration / steps as f64;
    let sum: f64 = (0..steps)
        .map(|k| n.remaining(start + (k as f64 + 0.5) * h) * h)
        .sum();
    sum * n.positron_fraction()
}

/// Writes the noise-free sinogram of `concentration` × the counts a unit concentration gives,
/// with the header's acquisition keys `keys`.
fn acquire(
    dir: &Path,
    name: &str,
    concentration: &Array3<f32>,
    counts: f64,
    keys: &str,
) -> PathBuf {
    acquire_noisy(dir, name, concentration, counts, keys, None)
}

/// [`acquire`], with Poisson noise of `seed` when given.
fn acquire_noisy(
    dir: &Path,
    name: &str,
    concentration: &Array3<f32>,
    counts: f64,
    keys: &str,
    seed: Option<u64>,
) -> PathBuf {
    let p = Pet3dProjector::new(layout(), grid(), Backend::Cpu).unwrap();
    let x = concentration.mapv(|v| (v as f64 * counts * SENSITIVITY) as f32);
    let mut y: ArrayD<f32> = p.forward(x.view().into_dyn()).unwrap();
    if let Some(seed) = seed {
        y = common::poisson(&y, seed);
    }
    let path = dir.join(format!("{name}.hs"));
    write_interfile_sinogram(&path, y.view(), &layout()).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "!END OF INTERFILE :=",
        &format!("{keys}\n!END OF INTERFILE :="),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// An empty folder of its own under the temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn options(quantitation: PetQuantitationOptions) -> PetReconOptions {
    PetReconOptions {
        iterations: 10,
        subsets: 4,
        shape: Some(grid().shape()),
        spacing: Some(grid().spacing()),
        quantitation,
        backend: Backend::Cpu,
        ..PetReconOptions::default()
    }
}

#[test]
fn a_calibrated_study_reads_its_concentration_and_suv() {
    let dir = scratch("tomors-pet-quant");

    // Calibration: Ge-68 at 5000 Bq/mL on its assay date, scanned two days later for 600 s.
    let ge68 = Radionuclide::new("Ge-68", 270.95 * 86_400.0, 0.891).unwrap();
    let two_days = 2.0 * 86_400.0;
    let cal_scan = acquire(
        &dir,
        "cal",
        &phantom(5000.0, 1.0),
        positrons(&ge68, two_days, 600.0),
        "isotope name := Ge-68\nisotope gamma halflife (sec) := 23410080\n\
         isotope branching factor := 0.891\nimage duration (sec) := 600\n\
         %study date (yyyy:mm:dd) := 2026:12:03\n%study time (hh:mm:ss GMT+00:00) := 08:00:00",
    );
    let cal = reconstruct_pet(
        &PetData::Sinogram(cal_scan),
        None,
        None,
        &options(PetQuantitationOptions::default()),
        None,
    )
    .unwrap();
    assert!(cal.quantitation.is_none());
    assert!(cal.warnings.iter().any(|w| w.contains("PROPCNTS")));
    let calibration =
        PetCalibration::from_phantom(background(&cal.image), 5000.0, &ge68, two_days, 600.0, 1.0)
            .unwrap();

    // The study: F-18, injected 370 MBq at 09:00, scanned at 10:00 for 30 min (the activity
    // falls 17 % over the frame), 8000 Bq/mL in the background at 10:00, a 4:1 sphere.
    let f18 = Radionuclide::new("F-18", 6586.2, 0.9686).unwrap();
    let study = acquire(
        &dir,
        "study",
        &phantom(8000.0, 4.0),
        positrons(&f18, 0.0, 1800.0),
        "isotope name := F-18\nisotope gamma halflife (sec) := 6586.2\n\
         isotope branching factor := 0.9686\nradiopharmaceutical := Fluorodeoxyglucose\n\
         image duration (sec) := 1800\n\
         %study date (yyyy:mm:dd) := 2026:12:07\n%study time (hh:mm:ss GMT+01:00) := 10:00:00\n\
         %tracer injection date (yyyy:mm:dd) := 2026:12:07\n\
         %tracer injection time (hh:mm:ss GMT+01:00) := 09:00:00\n\
         tracer activity at time of injection (Bq) := 3.7e8",
    );
    let quantitation = PetQuantitationOptions {
        calibration: Some(calibration.clone()),
        weight_kg: Some(75.0),
        ..PetQuantitationOptions::default()
    };
    let r = reconstruct_pet(
        &PetData::Sinogram(study.clone()),
        None,
        None,
        &options(quantitation.clone()),
        None,
    )
    .unwrap();
    let q = r.quantitation.clone().expect("quantified");
    let bq_ml = background(&r.image);
    eprintln!("background {bq_ml:.1} Bq/mL (truth 8000), {}", q.summary());
    assert!((bq_ml / 8000.0 - 1.0).abs() < 0.02, "{bq_ml}");
    // Without the decay correction over the frame the reading would be 9 % low.
    assert!(q.scale.decay_factor > 1.09 && q.scale.decay_factor < 1.10);
    let suv_truth = 8000.0 * 75_000.0 / (3.7e8 * f18.remaining(3600.0));
    let suv = bq_ml * q.suv_bw_per_bq_ml.unwrap();
    assert!(
        (suv / suv_truth - 1.0).abs() < 0.02,
        "SUV {suv} vs {suv_truth}"
    );
    assert_eq!(r.units(), "BQML");
    assert_eq!(r.corrected, ["DECY"]);

    // Through the written DICOM tags: units, decay correction, dose, times and weight.
    let out = dir.join("out");
    let files = r.write(&out).unwrap();
    let series = read_pet_series(
        files.dicom[0].parent().unwrap(),
        &SeriesSelect::default(),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(series.suv.units.as_deref(), Some("BQML"));
    assert_eq!(series.suv.decay_correction.as_deref(), Some("START"));
    let scale = series.suv.suv_bw_scale().unwrap();
    let values = series.volume.data.clone();
    let from_dicom = background(&values) * scale;
    eprintln!("SUV through the DICOM tags {from_dicom:.4} (truth {suv_truth:.4})");
    assert!(
        (from_dicom / suv_truth - 1.0).abs() < 0.02,
        "{from_dicom} vs {suv_truth}"
    );

    // Bad inputs: typed errors naming what is missing or wrong.
    let fails = |o: PetQuantitationOptions, path: &Path| {
        reconstruct_pet(
            &PetData::Sinogram(path.to_path_buf()),
            None,
            None,
            &options(o),
            None,
        )
        .expect_err("refused")
        .to_string()
    };
    let bare = acquire(&dir, "bare", &phantom(1.0, 1.0), 1.0, "");
    let e = fails(quantitation.clone(), &bare);
    assert!(e.contains("radionuclide"), "{e}");
    let e = fails(
        PetQuantitationOptions {
            weight_kg: Some(-75.0),
            ..quantitation.clone()
        },
        &study,
    );
    assert!(e.contains("weight") && e.contains("> 0"), "{e}");
    let e = fails(
        PetQuantitationOptions {
            calibration: None,
            ..quantitation.clone()
        },
        &study,
    );
    assert!(e.contains("calibration"), "{e}");
    let no_time = acquire(
        &dir,
        "no_time",
        &phantom(1.0, 1.0),
        1.0,
        "isotope name := F-18\nisotope gamma halflife (sec) := 6586.2\n\
         isotope branching factor := 0.9686\nimage duration (sec) := 0",
    );
    let e = fails(quantitation, &no_time);
    assert!(e.contains("image duration"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The same through the command line: `--phantom-bq-ml` writes the calibration, which
/// `--calibration` applies; the SUV read from the written DICOM tags (a uniform study, its
/// interior found by `phantom_mean`).
#[test]
fn the_command_line_calibrates_and_quantifies() {
    let dir = scratch("tomors-pet-quant-cli");
    let ge68 = Radionuclide::new("Ge-68", 270.95 * 86_400.0, 0.891).unwrap();
    let cal = acquire(
        &dir,
        "cal",
        &phantom(5000.0, 1.0),
        positrons(&ge68, 86_400.0, 600.0),
        "isotope name := Ge-68\nisotope gamma halflife (sec) := 23410080\n\
         isotope branching factor := 0.891\nimage duration (sec) := 600\n\
         %study date (yyyy:mm:dd) := 2026:12:02\n%study time (hh:mm:ss GMT+00:00) := 08:00:00",
    );
    let f18 = Radionuclide::new("F-18", 6586.2, 0.9686).unwrap();
    let study = acquire(
        &dir,
        "study",
        &phantom(12_000.0, 1.0),
        positrons(&f18, 0.0, 900.0),
        "isotope name := F-18\nisotope gamma halflife (sec) := 6586.2\n\
         isotope branching factor := 0.9686\nimage duration (sec) := 900\n\
         %study date (yyyy:mm:dd) := 2026:12:07\n%study time (hh:mm:ss GMT+00:00) := 10:00:00",
    );
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tomors"))
            .arg("recon-pet")
            .args(args)
            .args([
                "--iterations",
                "10",
                "--subsets",
                "4",
                "--voxel",
                "4",
                "--backend",
                "cpu",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    let out1 = dir.join("cal_out");
    let (code, text) = run(&[
        out1.to_str().unwrap(),
        "--sinogram",
        cal.to_str().unwrap(),
        "--phantom-bq-ml",
        "5000",
        "--phantom-assay-time",
        "2026-12-01T08:00:00",
    ]);
    assert_eq!(code, Some(0), "{text}");
    let line = std::fs::read_to_string(out1.join("calibration.txt")).unwrap();
    let factor = line.split_whitespace().nth(1).unwrap().to_string();
    eprintln!("{line}");
    let out2 = dir.join("study_out");
    let (code, text) = run(&[
        out2.to_str().unwrap(),
        "--sinogram",
        study.to_str().unwrap(),
        "--calibration",
        &factor,
        "--weight",
        "80",
        "--injected-mbq",
        "300",
        "--injection-time",
        "2026-12-07T08:45:00",
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("SUVbw = Bq/mL ×"), "{text}");
    let series = read_pet_series(
        &out2.join("dicom"),
        &SeriesSelect::default(),
        &Default::default(),
    )
    .unwrap();
    let (mean, _) = tomors::pipeline::phantom_mean(series.volume.data.view()).unwrap();
    let suv = mean * series.suv.suv_bw_scale().unwrap();
    let truth = 12_000.0 * 80_000.0 / (300e6 * f18.remaining(4500.0));
    eprintln!("Bq/mL {mean:.1} (truth 12000), SUV {suv:.4} (truth {truth:.4})");
    assert!((mean / 12_000.0 - 1.0).abs() < 0.02, "{mean}");
    assert!((suv / truth - 1.0).abs() < 0.02, "{suv} vs {truth}");
    // SUV without a calibration is refused before any work.
    let (code, text) = run(&[
        dir.join("x").to_str().unwrap(),
        "--sinogram",
        study.to_str().unwrap(),
        "--weight",
        "80",
    ]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--calibration"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// BSREM with the relative-difference prior after OSEM (`PetReconOptions::prior`): on noisy
/// data the background is smoother than OSEM's at the same mean, and still in Bq/mL; list-mode
/// OSEM refuses a prior.
#[test]
fn bsrem_rdp_smooths_and_keeps_the_quantitation() {
    let dir = scratch("tomors-pet-bsrem");
    let f18 = Radionuclide::new("F-18", 6586.2, 0.9686).unwrap();
    // About 30 counts in a central bin.
    let counts = 0.004;
    let keys = "isotope name := F-18\nisotope gamma halflife (sec) := 6586.2\n\
                isotope branching factor := 0.9686\nimage duration (sec) := 600\n\
                %study date (yyyy:mm:dd) := 2026:12:07\n%study time (hh:mm:ss GMT+00:00) := 10:00:00";
    let study = acquire_noisy(&dir, "noisy", &phantom(8000.0, 4.0), counts, keys, Some(7));
    // The calibration that reads this simulation's image units (concentration × counts ×
    // SENSITIVITY) as Bq/mL: image × factor × decay factor / (T × positron fraction).
    let calibration = PetCalibration::new(
        600.0 * f18.positron_fraction()
            / (f18.decay_factor(0.0, 600.0).unwrap() * counts * SENSITIVITY),
    )
    .unwrap();
    let quantitation = PetQuantitationOptions {
        calibration: Some(calibration),
        ..PetQuantitationOptions::default()
    };
    let run = |prior: Option<tomors::recon::Prior>| {
        let o = PetReconOptions {
            iterations: 4,
            prior,
            bsrem_iterations: 10,
            ..options(quantitation.clone())
        };
        let r = reconstruct_pet(&PetData::Sinogram(study.clone()), None, None, &o, None).unwrap();
        let mean = background(&r.image);
        let sq = background(&r.image.mapv(|v| (v as f64 - mean).powi(2) as f32));
        (mean, sq.sqrt() / mean, r.settings)
    };
    let (osem_mean, osem_cv, _) = run(None);
    let prior = tomors::recon::Prior::relative_difference(10.0, 2.0).unwrap();
    let (bsrem_mean, bsrem_cv, settings) = run(Some(prior));
    eprintln!(
        "OSEM background {osem_mean:.0} Bq/mL, CV {osem_cv:.3}; BSREM-RDP {bsrem_mean:.0}, CV {bsrem_cv:.3}"
    );
    assert!(
        settings.iter().any(|l| l.starts_with("BSREM 10 it")),
        "{settings:?}"
    );
    assert!((osem_mean / 8000.0 - 1.0).abs() < 0.03, "{osem_mean}");
    assert!((bsrem_mean / 8000.0 - 1.0).abs() < 0.03, "{bsrem_mean}");
    assert!(bsrem_cv < 0.7 * osem_cv, "{bsrem_cv} vs {osem_cv}");
    let o = PetReconOptions {
        list_mode: true,
        prior: Some(prior),
        ..options(quantitation)
    };
    let e = reconstruct_pet(&PetData::ListMode(study), None, None, &o, None)
        .expect_err("refused")
        .to_string();
    assert!(e.contains("BSREM"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A μ-map that does not cover the field of view is refused, naming its extent; one that does
/// is taken (and the model then corrects attenuation).
#[test]
fn a_mu_map_short_of_the_field_of_view_is_refused() {
    let dir = scratch("tomors-pet-mu");
    let study = acquire(&dir, "study", &phantom(1000.0, 1.0), 1.0, "");
    let write_mu = |name: &str, g: &ImageGrid| {
        let path = dir.join(name);
        let mu = Array3::<f32>::from_elem((g.shape()[0], g.shape()[1], g.shape()[2]), 0.096);
        tomors::io::interfile::write_interfile_image(&path, mu.view(), g).unwrap();
        path
    };
    // The scanner's field of view: radius ~60 mm; a μ-map 80 mm wide misses its edge.
    let short = write_mu(
        "short.hv",
        &ImageGrid::new_3d([15, 20, 20], [2.0, 4.0, 4.0]).unwrap(),
    );
    let whole = write_mu(
        "whole.hv",
        &ImageGrid::new_3d([17, 40, 40], [2.0, 4.0, 4.0]).unwrap(),
    );
    let o = options(PetQuantitationOptions::default());
    let run = |mu: PathBuf| {
        reconstruct_pet(
            &PetData::Sinogram(study.clone()),
            None,
            Some(&tomors::pipeline::MuMap::Interfile(mu)),
            &o,
            None,
        )
    };
    let e = run(short).expect_err("refused").to_string();
    assert!(e.contains("μ-map spans") && e.contains("in y"), "{e}");
    let r = run(whole).unwrap();
    assert!(r.corrected.contains(&"ATTN"));
    std::fs::remove_dir_all(&dir).unwrap();
}
