//! The command line: demo, fbp and osem on .npy files (atomic output, inputs never
//! overwritten), info.

mod common;

use ndarray::{Array2, ArrayD};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use std::path::PathBuf;
use std::process::Command;
use tomors::phantom::EllipsePhantom;
use tomors::{Geometry, ParallelBeam};

/// Exit statuses by kind (documented in `tomors --help`).
const EXIT_USAGE: i32 = 2;
const EXIT_INPUT: i32 = 3;
const EXIT_FILE: i32 = 4;

fn tomors() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tomors"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tomors-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn demo_writes_images_and_a_table() {
    let dir = scratch("demo");
    let out = tomors()
        .args([
            "demo",
            "--size",
            "64",
            "--views",
            "90",
            "--backend",
            "cpu",
            "--out",
        ])
        .arg(&dir)
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No driver noise: the quick start prints nothing about a missing XDG_RUNTIME_DIR.
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("XDG_RUNTIME_DIR"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("| FBP") && text.contains("RMSE in circle"),
        "{text}"
    );
    for name in ["phantom.png", "sinogram.png", "fbp.png", "fbp_error.png"] {
        assert!(
            std::fs::metadata(dir.join(name)).unwrap().len() > 100,
            "{name}"
        );
    }
}

#[test]
fn fbp_of_an_npy_sinogram() {
    let dir = scratch("fbp");
    let angles: Vec<f64> = (0..90)
        .map(|i| i as f64 * std::f64::consts::PI / 90.0)
        .collect();
    let geometry: Geometry = ParallelBeam::new(angles, 47, 1.0).unwrap().into();
    let sino: Array2<f32> = EllipsePhantom::shepp_logan(16.0)
        .line_integrals(&geometry)
        .unwrap();
    let input = dir.join("sino.npy");
    sino.mapv(|v| v as f64)
        .write_npy(std::fs::File::create(&input).unwrap())
        .unwrap();
    let output = dir.join("image.npy");
    let png = dir.join("image.png");
    let run = tomors()
        .arg("fbp")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--png")
        .arg(&png)
        .args(["--size", "32", "--backend", "cpu", "--filter", "hann"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let image = ArrayD::<f32>::read_npy(std::fs::File::open(&output).unwrap()).unwrap();
    assert_eq!(image.shape(), &[32, 32]);
    assert!(
        image[[16, 16]] > 0.1 && image[[16, 16]] < 0.4,
        "centre {}",
        image[[16, 16]]
    );
    assert!(std::fs::metadata(&png).unwrap().len() > 100);
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());

    // The input is never overwritten, and bad input is a clear error, not a panic.
    let before = std::fs::read(&input).unwrap();
    let same = tomors()
        .arg("fbp")
        .arg(&input)
        .arg("-o")
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(same.status.code(), Some(EXIT_INPUT));
    assert!(String::from_utf8_lossy(&same.stderr).contains("refusing to overwrite"));
    assert_eq!(std::fs::read(&input).unwrap(), before);
    let fan = tomors()
        .arg("fbp")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["--geometry", "fan-arc"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&fan.stderr).contains("--source-to-center"));
    assert_eq!(fan.status.code(), Some(EXIT_INPUT));
    let missing = tomors()
        .arg("fbp")
        .arg(dir.join("missing.npy"))
        .arg("-o")
        .arg(dir.join("m.npy"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(EXIT_FILE));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("missing.npy"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    let garbage = dir.join("garbage.npy");
    std::fs::write(&garbage, b"not an npy file").unwrap();
    let bad = tomors()
        .arg("fbp")
        .arg(&garbage)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(EXIT_FILE));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("not a .npy file"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    // Every argument is parsed before any file is read: a bad backend is a usage error (2)
    // even when the input does not exist.
    let usage = tomors()
        .arg("fbp")
        .arg(dir.join("missing.npy"))
        .args(["-o", "x.npy", "--backend", "tpu"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(EXIT_USAGE));
    let stderr = String::from_utf8_lossy(&usage.stderr);
    assert!(
        stderr.contains("tpu") && !stderr.contains("missing.npy"),
        "{stderr}"
    );
}

#[test]
fn osem_of_an_npy_projection_stack() {
    let dir = scratch("osem");
    let grid = tomors::ImageGrid::new_3d([4, 24, 24], [4.0, 4.0, 4.0]).unwrap();
    let (activity, mu) = tomors::phantom::NemaIecPhantom::default()
        .rasterize(&grid, 1)
        .unwrap();
    let angles: Vec<f64> = (0..16)
        .map(|i| i as f64 * std::f64::consts::PI / 8.0)
        .collect();
    let geometry = tomors::SpectGeometry::new(angles, 200.0, 24, 4.0)
        .unwrap()
        .with_collimator(tomors::Collimator::preset("lehr").unwrap());
    let p =
        tomors::SpectProjector::new(geometry, grid, Some(mu.view()), tomors::Backend::Cpu).unwrap();
    let data = p.forward(activity.view().into_dyn()).unwrap();
    let (input, mu_path, output) = (
        dir.join("proj.npy"),
        dir.join("mu.npy"),
        dir.join("osem.npy"),
    );
    data.write_npy(std::fs::File::create(&input).unwrap())
        .unwrap();
    mu.write_npy(std::fs::File::create(&mu_path).unwrap())
        .unwrap();
    let run = tomors()
        .arg("osem")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--mu")
        .arg(&mu_path)
        .args([
            "--radius",
            "200",
            "--pixel",
            "4",
            "--collimator",
            "lehr",
            "--iterations",
            "3",
            "--subsets",
            "4",
            "--backend",
            "cpu",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let image = ArrayD::<f32>::read_npy(std::fs::File::open(&output).unwrap()).unwrap();
    assert_eq!(image.shape(), &[4, 24, 24]);
    // The command reconstructs exactly what the library does with the same settings.
    let expected = tomors::Osem::new(3, 4).run(&p, data.view()).unwrap();
    assert_eq!(image, expected);
    let before = std::fs::read(&mu_path).unwrap();
    let same = tomors()
        .arg("osem")
        .arg(&input)
        .arg("--mu")
        .arg(&mu_path)
        .arg("-o")
        .arg(&mu_path)
        .args(["--radius", "200", "--pixel", "4"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&same.stderr).contains("refusing to overwrite"));
    assert_eq!(std::fs::read(&mu_path).unwrap(), before);
    let no_radius = tomors()
        .arg("osem")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["--pixel", "4"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&no_radius.stderr).contains("--radius"));
    let bad_pixel = tomors()
        .arg("osem")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--mu")
        .arg(&mu_path)
        .args(["--radius", "200", "--pixel", "4", "--subsets", "40"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&bad_pixel.stderr).contains("subsets"),
        "{}",
        String::from_utf8_lossy(&bad_pixel.stderr)
    );
}

#[test]
fn info_lists_what_auto_uses() {
    let out = tomors().arg("info").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("backend=auto uses:"));
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn dicom_info_describes_the_study() {
    let study = common::shared_data("spect_ct_lu177");
    let out = tomors()
        .args(["dicom", "info"])
        .arg(&study)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "2 series",
        "6 window(s) × 60 views of 128×128 bins",
        "187.20–228.80",
        "start angle [180.16]°, step 6° CC, radius 253.7–253.7 mm, 25 s per view, collimator MEGP",
        "volume [197, 512, 512]",
        "120 kVp",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // A folder without DICOM is an error that says so.
    let empty = scratch("dicom-empty");
    std::fs::write(empty.join("notes.txt"), "hello").unwrap();
    let out = tomors()
        .args(["dicom", "info"])
        .arg(&empty)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no readable DICOM file"));
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn fuse_pet_places_a_pet_series_over_the_ct() {
    use tomors::io::dicom::{
        ReadLimits, Reference, SeriesSelect, SeriesWriter, WriteModality, read_ct_series,
    };
    let ct_dir = common::shared_data("spect_ct_lu177/CT");
    let ct = read_ct_series(&ct_dir, &SeriesSelect::Largest, &ReadLimits::default()).unwrap();
    // A coarse PET (8 mm voxels) of uniform activity about the CT's centre, in its frame.
    let c = ct.volume.grid.centre();
    let pet_grid = tomors::PatientGrid::axis_aligned(
        [30, 40, 40],
        [8.0; 3],
        [c[0] - 156.0, c[1] - 156.0, c[2] - 116.0],
    )
    .unwrap();
    let dir = scratch("fuse-pet");
    SeriesWriter::new(WriteModality::Pt, "BQML")
        .with_reference(Reference::from_file(&ct.volume.files[0]).unwrap())
        .write(
            ndarray::Array3::from_elem((30, 40, 40), 3000.0f32).view(),
            &pet_grid,
            &dir.join("PET"),
        )
        .unwrap();
    let run = || {
        tomors()
            .arg("fuse-pet")
            .arg(dir.join("PET"))
            .arg(&ct_dir)
            .arg(dir.join("out"))
            .args(["--backend", "cpu"])
            .output()
            .unwrap()
    };
    let out = run();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("units BQML"), "{stdout}");
    assert!(stderr.contains("warning: no SUV"), "{stderr}");
    assert!(dir.join("out/summary.png").exists() && dir.join("out/pet.nii.gz").exists());
    // A second run does not overwrite the results.
    let again = run();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

/// List-mode OSEM of the real mMR prompts (randoms per event, normalisation, attenuation): a
/// first frame computes and writes the sensitivity image, a second frame reads it back; a
/// sensitivity image of another grid is refused.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn recon_pet_list_mode_osem_reuses_its_sensitivity() {
    let dir = scratch("recon-pet-lm");
    let data = common::shared_data("pet_mmr");
    let frame = |out: &std::path::Path, window: [&str; 2], extra: &[&std::ffi::OsStr]| {
        tomors()
            .arg("recon-pet")
            .arg(out)
            .arg("--listmode")
            .arg(data.join("small_listmode_file.l.hdr"))
            .arg("--norm")
            .arg(data.join("norm.n.hdr"))
            .arg("--mu")
            .arg(data.join("mu_map.hv"))
            .args(["--lm-osem", "--iterations", "1", "--subsets", "2"])
            .args(["--voxel", "16", "--backend", "cpu", "--window"])
            .args(window)
            .args(extra)
            .output()
            .unwrap()
    };
    // The file holds 0.61 s of prompts: two frames of about 0.3 s.
    let first = dir.join("first");
    let run = frame(&first, ["0", "0.3"], &[]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("list-mode OSEM of"), "{stdout}");
    let sensitivity = first.join("sensitivity.hv");
    assert!(sensitivity.exists() && first.join("recon.nii.gz").exists());
    let second = dir.join("second");
    let run = frame(
        &second,
        ["0.3", "0.7"],
        &["--sensitivity".as_ref(), sensitivity.as_os_str()],
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("sensitivity image"), "{stdout}");
    assert!(second.join("sensitivity.hv").exists());
    // The events held on the host and sent a subset at a time: the same image.
    let bounded = dir.join("bounded");
    let run = frame(
        &bounded,
        ["0.3", "0.7"],
        &[
            "--sensitivity".as_ref(),
            sensitivity.as_os_str(),
            "--max-resident-mib".as_ref(),
            "0".as_ref(),
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        std::fs::read(second.join("recon.nii.gz")).unwrap(),
        std::fs::read(bounded.join("recon.nii.gz")).unwrap()
    );
    // A window after the last prompt: a typed error naming it, no image of zeros.
    let empty = frame(
        &dir.join("empty"),
        ["5", "6"],
        &["--sensitivity".as_ref(), sensitivity.as_os_str()],
    );
    assert_eq!(empty.status.code(), Some(EXIT_INPUT));
    assert!(
        String::from_utf8_lossy(&empty.stderr)
            .contains("no prompts in the layout within the time window")
    );
    // Another voxel size: the image's grid differs from the sensitivity's.
    let other = tomors()
        .arg("recon-pet")
        .arg(dir.join("other"))
        .arg("--listmode")
        .arg(data.join("small_listmode_file.l.hdr"))
        .args([
            "--lm-osem",
            "--voxel",
            "12",
            "--backend",
            "cpu",
            "--sensitivity",
        ])
        .arg(&sensitivity)
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(EXIT_INPUT));
    assert!(String::from_utf8_lossy(&other.stderr).contains("grid"));
}

/// The real mMR acquisition end to end: list mode → span-11 histogram (mashed 6 for time),
/// normalisation, randoms from delayeds, attenuation from the μ-map, OSEM → DICOM PT, NIfTI,
/// summary. The μ-map is the NEMA phantom's (the only one in the data), so the check is on the
/// pipeline, not on the values: activity inside the field of view, finite, non-negative.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn recon_pet_reconstructs_the_real_mmr_acquisition() {
    let dir = scratch("recon-pet");
    let out = dir.join("out");
    let data = common::shared_data("pet_mmr");
    let run = tomors()
        .arg("recon-pet")
        .arg(&out)
        .arg("--listmode")
        .arg(data.join("small_listmode_file.l.hdr"))
        .arg("--norm")
        .arg(data.join("norm.n.hdr"))
        .arg("--mu")
        .arg(data.join("mu_map.hv"))
        .args([
            "--mash",
            "6",
            "--iterations",
            "1",
            "--subsets",
            "7",
            "--voxel",
            "8",
        ])
        .args(["--backend", "cpu"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for expected in [
        "218881 prompts, 35320 delayeds",
        "randoms: 35320 delayeds",
        "span 11, max ring difference 60, 42 views × 837 planes × 344 bins",
        "normalisation",
        // The 0.61 s piece holds no singles report (the mMR polls every 2 s).
        "dead time: not corrected (live fraction 1): the list-mode file has no singles reports",
        "wrote 127 DICOM slices",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(out.join("recon.nii.gz").exists() && out.join("summary.png").exists());
    let slices = std::fs::read_dir(out.join("dicom")).unwrap().count();
    assert_eq!(slices, 127);
    // Running again into the same folder refuses at once, before reading anything.
    let again = tomors()
        .arg("recon-pet")
        .arg(&out)
        .arg("--sinogram")
        .arg(data.join("mMR_template_span11.hs"))
        .output()
        .unwrap();
    // An output in the way is a refused input, as for every command (fdk --dicom too).
    assert_eq!(again.status.code(), Some(EXIT_INPUT));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    // A sinogram header whose data file is absent: a file error naming it.
    let missing = tomors()
        .arg("recon-pet")
        .arg(dir.join("other"))
        .arg("--sinogram")
        .arg(data.join("mMR_template_span11.hs"))
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("mMR_template_span11.s"));
    // The μ-map from a CT (HU → μ at 511 keV): the real SPECT study's CT, which does not
    // image this patient, so only the path is checked (the CT covers part of the field of view).
    let ct = tomors()
        .arg("recon-pet")
        .arg(dir.join("ct"))
        .arg("--listmode")
        .arg(data.join("small_listmode_file.l.hdr"))
        .arg("--ct")
        .arg(common::shared_data("spect_ct_lu177/CT"))
        .args([
            "--span",
            "11",
            "--mash",
            "12",
            "--iterations",
            "1",
            "--subsets",
            "3",
        ])
        .args(["--voxel", "12", "--backend", "cpu"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&ct.stdout);
    assert!(
        ct.status.success(),
        "{}",
        String::from_utf8_lossy(&ct.stderr)
    );
    assert!(stdout.contains("μ-map from CT, water 0.09"), "{stdout}");
    // The series joins the CT's study and frame of reference.
    let limits = tomors::io::dicom::ReadLimits::default();
    let select = tomors::io::dicom::SeriesSelect::default();
    let pt = tomors::io::dicom::read_pet_series(&dir.join("ct/dicom"), &select, &limits).unwrap();
    let ct = tomors::io::dicom::read_ct_series(
        &common::shared_data("spect_ct_lu177/CT"),
        &select,
        &limits,
    )
    .unwrap();
    assert_eq!(
        pt.volume.frame_of_reference_uid,
        ct.volume.frame_of_reference_uid
    );
    assert_eq!(pt.volume.study_uid, ct.volume.study_uid);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn fdk_of_an_npy_projection_stack() {
    use tomors::{ConeBeam, ConeOrbit, ImageGrid};
    let dir = scratch("fdk");
    let angles = (0..120)
        .map(|i| i as f64 * std::f64::consts::PI / 60.0)
        .collect();
    let cone = ConeBeam::orbit(&ConeOrbit::new(angles, 40, 48, 1.5, 1.5, 150.0, 250.0)).unwrap();
    let solids = tomors::phantom::EllipsoidPhantom::shepp_logan(16.0).solids();
    let data = solids.cone_projections(&cone).mapv(|v| 0.02 * v);
    let input = dir.join("proj.npy");
    data.write_npy(std::fs::File::create(&input).unwrap())
        .unwrap();
    let (out, dicom) = (dir.join("vol.npy"), dir.join("ct"));
    let args = [
        "fdk",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--dicom",
        dicom.to_str().unwrap(),
        "--mu-water",
        "0.02",
        "--source-to-center",
        "150",
        "--source-to-detector",
        "250",
        "--col-spacing",
        "1.5",
        "--row-spacing",
        "1.5",
        "--size",
        "40",
        "--slices",
        "36",
        "--voxel",
        "1",
        "--backend",
        "cpu",
        "--max-buffer-mib",
        "1",
    ];
    let run = tomors().args(args).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let volume = ArrayD::<f32>::read_npy(std::fs::File::open(&out).unwrap()).unwrap();
    assert_eq!(volume.shape(), &[36, 40, 40]);
    let grid = ImageGrid::new_3d([36, 40, 40], [1.0; 3]).unwrap();
    let truth = solids.rasterize(&grid, 2).unwrap().mapv(|v| 0.02 * v);
    let centre = |a: &ArrayD<f32>| a[[18, 20, 20]] as f64;
    assert!(
        (centre(&volume) - truth[[18, 20, 20]] as f64).abs() < 0.002,
        "{}",
        centre(&volume)
    );
    assert_eq!(std::fs::read_dir(&dicom).unwrap().count(), 36);
    // A second run refuses to overwrite the DICOM series; the input is never the output.
    let again = tomors().args(args).output().unwrap();
    assert!(!again.status.success());
    let clash = tomors()
        .args([
            "fdk",
            input.to_str().unwrap(),
            "-o",
            input.to_str().unwrap(),
            "--source-to-center",
            "150",
            "--source-to-detector",
            "250",
        ])
        .output()
        .unwrap();
    assert_eq!(
        clash.status.code(),
        Some(EXIT_INPUT),
        "{}",
        String::from_utf8_lossy(&clash.stderr)
    );
}

#[test]
fn fdk_of_tiff_intensities_with_an_rtk_geometry() {
    use tiff::encoder::{TiffEncoder, colortype};
    use tomors::{ConeBeam, ConeOrbit};
    let dir = scratch("fdk-tiff");
    let angles = (0..90)
        .map(|i| i as f64 * std::f64::consts::PI / 45.0)
        .collect();
    let cone = ConeBeam::orbit(&ConeOrbit::new(angles, 24, 32, 1.5, 1.5, 150.0, 250.0)).unwrap();
    let solids = tomors::phantom::EllipsoidPhantom::shepp_logan(10.0).solids();
    let data = solids.cone_projections(&cone).mapv(|v| 0.02 * v);
    // Intensities in a multi-page TIFF, the geometry as RTK writes it.
    let tif = dir.join("proj.tif");
    let mut enc = TiffEncoder::new(std::fs::File::create(&tif).unwrap()).unwrap();
    for view in data.outer_iter() {
        let page: Vec<f32> = view.iter().map(|l| 1000.0 * (-l).exp()).collect();
        enc.write_image::<colortype::Gray32Float>(32, 24, &page)
            .unwrap();
    }
    drop(enc);
    let xml = dir.join("geometry.xml");
    tomors::io::rtk::write_rtk_geometry(&xml, &cone).unwrap();
    let npy = dir.join("proj.npy");
    data.write_npy(std::fs::File::create(&npy).unwrap())
        .unwrap();
    let common = [
        "--size",
        "24",
        "--slices",
        "20",
        "--voxel",
        "1",
        "--backend",
        "cpu",
    ];
    let (a, b) = (dir.join("a.npy"), dir.join("b.npy"));
    let run = |args: Vec<&str>| {
        let out = tomors().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let mut from_tiff = vec![
        "fdk",
        tif.to_str().unwrap(),
        "-o",
        a.to_str().unwrap(),
        "--i0",
        "1000",
    ];
    from_tiff.extend([
        "--rtk-geometry",
        xml.to_str().unwrap(),
        "--col-spacing",
        "1.5",
        "--row-spacing",
        "1.5",
    ]);
    from_tiff.extend(common);
    run(from_tiff);
    let mut from_npy = vec!["fdk", npy.to_str().unwrap(), "-o", b.to_str().unwrap()];
    from_npy.extend([
        "--source-to-center",
        "150",
        "--source-to-detector",
        "250",
        "--col-spacing",
        "1.5",
        "--row-spacing",
        "1.5",
    ]);
    from_npy.extend(common);
    run(from_npy);
    let va = ArrayD::<f32>::read_npy(std::fs::File::open(&a).unwrap()).unwrap();
    let vb = ArrayD::<f32>::read_npy(std::fs::File::open(&b).unwrap()).unwrap();
    let diff = va
        .iter()
        .zip(vb.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    let peak = vb.iter().cloned().fold(0.0f32, f32::max);
    assert!(
        diff < 1e-3 * peak,
        "TIFF + RTK geometry vs .npy + orbit: {diff} (peak {peak})"
    );
    // A negative source-to-detector distance was reported as a grid spacing.
    let text = std::fs::read_to_string(&xml).unwrap();
    let flipped: String = text
        .split("<SourceToDetectorDistance>")
        .enumerate()
        .map(|(i, part)| match (i, part.split_once('<')) {
            (0, _) | (_, None) => part.to_string(),
            (_, Some((_, rest))) => format!("<SourceToDetectorDistance>-500<{rest}"),
        })
        .collect();
    assert!(flipped.contains(">-500<"));
    std::fs::write(&xml, flipped).unwrap();
    let mut flipped_run = vec!["fdk", tif.to_str().unwrap(), "-o", a.to_str().unwrap()];
    flipped_run.extend(["--i0", "1000", "--rtk-geometry", xml.to_str().unwrap()]);
    let out = tomors().args(flipped_run).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_INPUT), "{stderr}");
    assert!(stderr.contains("SourceToDetectorDistance"), "{stderr}");
}

/// `tomors batch` killed in the middle of a study (the real two-bed SPECT-CT, one OSEM
/// iteration) leaves no study folder; run again, it redoes the study from scratch and writes
/// the same image, byte for byte, as a run never interrupted; a third run does nothing.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn batch_killed_half_way_completes_with_the_same_image() {
    let dir = scratch("batch-kill");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::os::unix::fs::symlink(
        common::shared_data("spect_ct_lu177_two_beds"),
        input.join("lu177"),
    )
    .unwrap();
    let settings = dir.join("settings.toml");
    std::fs::write(
        &settings,
        "backend = \"cpu\"\n[spect]\nphotopeak_kev = 208.0\niterations = 1\nsubsets = 4\n",
    )
    .unwrap();
    let batch = |out: &std::path::Path| {
        let mut c = tomors();
        c.arg("batch").arg(&settings).arg(&input).arg(out);
        c
    };
    let (whole, killed) = (dir.join("whole"), dir.join("killed"));
    let status = batch(&whole).output().unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    // Killed while the study is being reconstructed (its .partial folder exists).
    let mut child = batch(&killed)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let partial = |out: &std::path::Path| {
        std::fs::read_dir(out).ok().is_some_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        })
    };
    let t = std::time::Instant::now();
    while !partial(&killed) {
        assert!(t.elapsed().as_secs() < 300, "no study started");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it was killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Reading and the μ-maps take seconds, the joint OSEM tens of seconds.
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(
        child.try_wait().unwrap().is_none(),
        "finished before it was killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let studies = |out: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(out)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect()
    };
    assert!(studies(&killed).is_empty(), "a study folder after the kill");

    let again = batch(&killed).output().unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(!partial(&killed));
    let (a, b) = (studies(&whole), studies(&killed));
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_eq!(
        std::fs::read(a[0].join("recon.nii.gz")).unwrap(),
        std::fs::read(b[0].join("recon.nii.gz")).unwrap(),
        "the resumed image differs from the uninterrupted one"
    );
    let third = batch(&killed).output().unwrap();
    assert!(String::from_utf8_lossy(&third.stdout).contains("0 studies worked on"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `tomors bench --json`: the documented keys, on both backends (lavapipe in CI), with the
/// accuracy against the analytic truth of the 256² parallel case and the PET 2D NEMA case.
#[test]
fn bench_json_has_the_documented_keys_and_the_accuracy() {
    let dir = scratch("bench-json");
    let json = dir.join("bench.json");
    let out = tomors()
        .args(["bench", "--cases", "256,pet", "--repeat", "1", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["tomors"], env!("CARGO_PKG_VERSION"));
    for key in ["os", "arch", "cpu", "threads", "memory_bytes"] {
        assert!(doc["machine"].get(key).is_some(), "machine.{key}");
    }
    assert!(doc["machine"]["threads"].as_u64().unwrap() >= 1);
    let results = doc["results"].as_array().unwrap();
    let backends: std::collections::BTreeSet<&str> = results
        .iter()
        .map(|r| r["backend"].as_str().unwrap())
        .collect();
    let adapters = !doc["adapters"].as_array().unwrap().is_empty();
    assert_eq!(backends.len(), if adapters { 2 } else { 1 }, "{backends:?}");
    // 256²: forward, adjoint, FBP per backend; PET: OSEM per backend.
    assert_eq!(results.len(), 4 * backends.len());
    let keys = [
        "case",
        "description",
        "backend",
        "device",
        "operation",
        "image",
        "data",
        "repeat",
        "seconds",
        "kernel_seconds",
        "kernel_stages",
        "iterations",
        "subsets",
        "seconds_per_iteration",
        "gvoxel_updates_per_second",
        "plan_memory_bytes",
        "accuracy",
    ];
    for r in results {
        for key in keys {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
        assert!(r["seconds"].as_f64().unwrap() > 0.0);
        let row = |case: &str, op: &str| r["case"] == case && r["operation"] == op;
        let accuracy = |key: &str| r["accuracy"][key].as_f64().unwrap();
        if row("parallel-256", "fbp") {
            assert_eq!(r["image"], serde_json::json!([256, 256]));
            assert_eq!(r["data"], serde_json::json!([360, 363]));
            // Against the rasterised phantom: the 1-sample edges dominate.
            assert!(accuracy("rmse") < 0.05, "{r}");
        } else if row("parallel-256", "forward") {
            assert!(accuracy("relative_l2") < 0.03, "{r}");
        } else if row("parallel-256", "adjoint") {
            assert!(r["accuracy"].is_null());
        } else {
            assert!(row("pet2d-nema-256", "osem"), "{r}");
            assert_eq!(r["iterations"], 4);
            assert_eq!(r["subsets"], 12);
            let per = r["seconds_per_iteration"].as_f64().unwrap();
            assert!((per * 4.0 - r["seconds"].as_f64().unwrap()).abs() < 1e-9);
            assert!(r["plan_memory_bytes"].as_u64().unwrap() > 0);
            assert!(accuracy("relative_l2") < 0.2, "{r}");
        }
        if r["backend"] == "cpu" {
            assert!(r["kernel_seconds"].is_null() && r["kernel_stages"].is_null());
        }
        // Where the adapter times its passes, the stages add up to the total.
        if let Some(total) = r["kernel_seconds"].as_f64() {
            let stages = r["kernel_stages"].as_array().unwrap();
            let sum: f64 = stages.iter().map(|s| s["seconds"].as_f64().unwrap()).sum();
            assert!((sum - total).abs() <= 1e-9 * total.max(1.0), "{r}");
            assert!(
                stages.iter().all(|s| s["passes"].as_u64().unwrap() > 0),
                "{r}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `tomors pacs`: a PACS that is down is exit status 7 with the peer named; a settings file
/// without a [pacs] table is an input error (3).
#[test]
fn pacs_down_or_missing_is_a_clear_error() {
    let dir = scratch("pacs");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = dir.join("settings.toml");
    std::fs::write(
        &settings,
        format!(
            "[pacs]\nhost = \"127.0.0.1\"\nport = {port}\nae_title = \"PACS\"\ntimeout_s = 5.0\n"
        ),
    )
    .unwrap();
    let out = tomors()
        .args(["pacs", "find"])
        .arg(&settings)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(
        stderr.contains(&format!("PACS@127.0.0.1:{port}")),
        "{stderr}"
    );
    std::fs::write(&settings, "backend = \"cpu\"\n").unwrap();
    let out = tomors()
        .args(["pacs", "echo"])
        .arg(&settings)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_INPUT), "{stderr}");
    assert!(stderr.contains("no [pacs] table"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 31's command-line cases: a `.npy` declaring a shape beyond the machine (an abort
/// before) and a 32 TB FDK volume are input errors at once; NaN intensities with `--i0` are
/// refused (they were clamped to a plausible value); `-o` to a folder or into a missing one
/// and `--dicom` into a folder that holds the series' files fail before the reconstruction
/// and leave nothing behind.
#[test]
fn hostile_inputs_fail_fast_and_leave_nothing() {
    let dir = scratch("hostile");
    let npy = |name: &str, shape: &str, data: &[f32]| {
        let data: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        let path = dir.join(name);
        std::fs::write(&path, common::npy_bytes("<f4", shape, &data)).unwrap();
        path
    };
    let run = |args: &[&str]| {
        let out = tomors().args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    let huge = npy("huge.npy", "(4000000000, 4000000000)", &[1.0; 4]);
    let out = s(&dir.join("out.npy"));
    for extra in [&[][..], &["--pixel", "4", "--radius", "200"][..]] {
        let command = if extra.is_empty() { "fbp" } else { "osem" };
        let mut args = vec![command, huge.to_str().unwrap(), "-o", &out];
        args.extend_from_slice(extra);
        let (code, stderr) = run(&args);
        assert_eq!(code, Some(EXIT_INPUT), "{command}: {stderr}");
        assert!(stderr.contains("would need"), "{command}: {stderr}");
    }
    let proj = npy(
        "proj.npy",
        "(2, 2, 2)",
        &[1.0, 0.5, f32::NAN, 1.0, 1.0, 1.0, 1.0, 1.0],
    );
    let geometry = [
        "--source-to-center",
        "100",
        "--source-to-detector",
        "200",
        "--backend",
        "cpu",
    ];
    let fdk = |extra: &[&str], out: &str| {
        let mut args = vec!["fdk".to_string(), s(&proj), "-o".into(), out.into()];
        args.extend(geometry.iter().chain(extra).map(|a| a.to_string()));
        run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (code, stderr) = fdk(&["--i0", "2"], &out);
    assert_eq!(code, Some(EXIT_INPUT), "{stderr}");
    assert!(stderr.contains("non-finite"), "{stderr}");
    let ok = npy("ok.npy", "(2, 2, 2)", &[1.0; 8]);
    let proj_ok = s(&ok);
    let fdk_ok = |extra: &[&str], out: &str| {
        let mut args = vec!["fdk".to_string(), proj_ok.clone(), "-o".into(), out.into()];
        args.extend(geometry.iter().chain(extra).map(|a| a.to_string()));
        run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (code, stderr) = fdk_ok(&["--size", "4000000", "--slices", "2000000"], &out);
    assert_eq!(code, Some(EXIT_INPUT), "{stderr}");
    assert!(stderr.contains("would need"), "{stderr}");
    // A slice larger than the buffer cap, on the CPU: a setting to raise, not a GPU failure
    // (it was "GPU error", exit status 6).
    let (code, stderr) = fdk_ok(
        &["--size", "1000", "--voxel", "0.01", "--max-buffer-mib", "1"],
        &out,
    );
    assert_eq!(code, Some(EXIT_INPUT), "{stderr}");
    assert!(
        stderr.contains("--max-buffer-mib") && !stderr.contains("GPU"),
        "{stderr}"
    );
    let (code, stderr) = fdk_ok(&[], &s(&dir));
    assert_eq!(code, Some(EXIT_INPUT), "{stderr}");
    assert!(stderr.contains("is a folder"), "{stderr}");
    let (code, stderr) = fdk_ok(&[], &s(&dir.join("missing").join("vol.npy")));
    assert_eq!(code, Some(EXIT_INPUT), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    let series = dir.join("ct");
    std::fs::create_dir_all(&series).unwrap();
    std::fs::write(series.join("slice_0001.dcm"), b"someone else's").unwrap();
    let (code, stderr) = fdk_ok(&["--dicom", &s(&series)], &out);
    assert_eq!(code, Some(EXIT_INPUT), "{stderr}");
    assert!(stderr.contains("slice_0001.dcm"), "{stderr}");
    // An absurd voxel: refused by the grid, in a line, not 300 digits of a depth.
    let (code, stderr) = fdk_ok(&["--voxel", "1e300"], &out);
    assert_eq!(code, Some(EXIT_INPUT), "{stderr}");
    assert!(stderr.contains("1e300") && stderr.len() < 300, "{stderr}");
    // Every output checked before the work: --mu-water for the DICOM series' HU, --png.
    let (code, stderr) = fdk_ok(
        &["--dicom", &s(&dir.join("ct2")), "--mu-water", "nan"],
        &out,
    );
    assert_eq!(code, Some(EXIT_INPUT), "{stderr}");
    assert!(stderr.contains("--mu-water"), "{stderr}");
    let sino = npy("sino.npy", "(4, 5)", &[1.0; 20]);
    let png = s(&dir.join("missing").join("p.png"));
    let (code, stderr) = run(&["fbp", &s(&sino), "-o", &out, "--png", &png]);
    assert_eq!(code, Some(EXIT_INPUT), "{stderr}");
    assert!(
        stderr.contains("--png") && stderr.contains("does not exist"),
        "{stderr}"
    );
    let (code, stderr) = run(&["fbp", &s(&sino), "-o", &out, "--png", &s(&dir)]);
    assert_eq!(code, Some(EXIT_INPUT), "{stderr}");
    assert!(
        stderr.contains("--png") && stderr.contains("is a folder"),
        "{stderr}"
    );
    // Output folders that are files: refused before reading the inputs.
    let afile = dir.join("afile");
    std::fs::write(&afile, b"x").unwrap();
    for args in [
        &["fuse-pet", "no-pet", "no-ct", &s(&afile)][..],
        &[
            "recon-pet",
            &s(&afile.join("sub")),
            "--listmode",
            "no.l.hdr",
        ][..],
        &["nema-iq", "no-series", &s(&afile)][..],
    ] {
        let (code, stderr) = run(args);
        assert!(
            matches!(code, Some(EXIT_INPUT) | Some(EXIT_FILE)),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("is a file"), "{args:?}: {stderr}");
    }
    assert!(
        !dir.join("out.npy").exists(),
        "nothing written before the refusal"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The commands of `tomors … --help` under `args` (an empty list: the top level).
fn subcommands(args: &[&str]) -> Vec<String> {
    let out = tomors().args(args).arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// Every option of every command says what it does (`--help` used to show some with only
/// their default).
#[test]
fn every_option_has_help() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for command in subcommands(&[]) {
        let mut paths = vec![vec![command.clone()]];
        for sub in subcommands(&[&command]) {
            paths.push(vec![command.clone(), sub]);
        }
        for path in paths {
            let args: Vec<&str> = path.iter().map(String::as_str).collect();
            let out = tomors().args(&args).arg("--help").output().unwrap();
            assert!(out.status.success(), "{path:?}");
            let text = String::from_utf8(out.stdout).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let option = line.trim_start();
                if !line.starts_with("  ") || !option.starts_with('-') {
                    continue;
                }
                checked += 1;
                // `--name <VALUE>  Text` on one line, or the text on the next lines.
                let same_line = option.split("  ").filter(|s| !s.trim().is_empty()).count() > 1;
                let next = lines.get(i + 1).map_or("", |l| l.trim());
                if !same_line && (next.is_empty() || next.starts_with('[')) {
                    missing.push(format!("{}: {option}", path.join(" ")));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} options found");
    assert!(missing.is_empty(), "options without help: {missing:#?}");
}
