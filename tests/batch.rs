//! `tomors::batch`: a folder with the real two-bed SPECT-CT study, a PET-over-CT study, a study
//! whose CT is damaged, a study with nothing to reconstruct and a file that is not DICOM, in one
//! batch; a second run does nothing; a run interrupted in the middle of a study is redone and
//! gives the same images; the inputs are never modified.

mod common;

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use ndarray::Array3;
use tomors::PatientGrid;
use tomors::batch::{Settings, run_batch};
use tomors::io::dicom::{SeriesWriter, WriteModality};

/// Every file under `dir` (following links) with a hash of its bytes.
fn checksums(dir: &Path) -> BTreeMap<PathBuf, u64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(&p).unwrap().hash(&mut h);
                out.insert(p, h.finish());
            }
        }
    }
    out
}

fn read_log(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn a_folder_of_studies_in_one_batch_resumable_inputs_untouched() {
    let root = std::env::temp_dir().join(format!("tomors-batch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let input = root.join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::os::unix::fs::symlink(
        common::shared_data("spect_ct_lu177_two_beds"),
        input.join("lu177"),
    )
    .unwrap();
    let pet_uid = common::pet_ct_study(&input.join("petct"), false);
    let damaged_uid = common::pet_ct_study(&input.join("damaged"), true);
    // A reconstruction only (NM RECON TOMO), and a file that is not DICOM.
    let recon_only = SeriesWriter::new(WriteModality::Nm, "CNTS")
        .write(
            Array3::<f32>::ones((4, 8, 8)).view(),
            &PatientGrid::axis_aligned([4, 8, 8], [4.0; 3], [0.0; 3]).unwrap(),
            &input.join("recon_only"),
        )
        .unwrap();
    std::fs::write(input.join("notes.txt"), "not DICOM").unwrap();
    let before = checksums(&input);

    let settings = Settings::parse(
        "backend = \"cpu\"\n[spect]\nphotopeak_kev = 208.0\niterations = 1\nsubsets = 4\n",
    )
    .unwrap();
    let output = root.join("out");
    let mut events = 0;
    let report = run_batch(&settings, &input, &output, Some(&mut |_| events += 1)).unwrap();
    let log = read_log(&output.join("batch.jsonl"));
    for line in &log {
        println!("{line}");
    }
    assert_eq!(report.records.len(), 4, "{:?}", report.records);
    assert!(events >= 9);
    let by_study = |uid: &str| {
        log.iter()
            .find(|l| l["study"] == uid)
            .unwrap_or_else(|| panic!("{uid} not in the log"))
            .clone()
    };
    // The SPECT-CT study (both beds, joint) and the PET over CT are done, with their files.
    let spect = log.iter().find(|l| l["pipeline"] == "spect-ct").unwrap();
    assert_eq!(spect["status"], "done", "{spect}");
    let spect_uid = spect["study"].as_str().unwrap().to_string();
    let spect_dir = output.join(&spect_uid);
    for f in ["recon.nii.gz", "summary.png", "study.json", "dicom"] {
        assert!(spect_dir.join(f).exists(), "{f}");
    }
    assert_eq!(
        std::fs::read_dir(spect_dir.join("dicom")).unwrap().count(),
        209
    );
    let pet = by_study(&pet_uid);
    assert_eq!(
        (pet["status"].as_str(), pet["pipeline"].as_str()),
        (Some("done"), Some("pet-ct"))
    );
    assert!(output.join(&pet_uid).join("pet.nii.gz").exists());
    // The damaged study failed with a reason and left nothing; the reconstruction-only study is
    // unsupported, with a reason.
    let damaged = by_study(&damaged_uid);
    assert_eq!(damaged["status"], "failed");
    assert!(!damaged["error"].as_str().unwrap().is_empty());
    assert!(!output.join(&damaged_uid).exists());
    assert!(!output.join(format!(".{damaged_uid}.partial")).exists());
    let unsupported = by_study(&recon_only.study_uid);
    assert_eq!(unsupported["status"], "unsupported");
    assert!(
        unsupported["error"]
            .as_str()
            .unwrap()
            .contains("neither NM projections")
    );
    assert!(
        report
            .unreadable
            .iter()
            .any(|(p, _)| p.ends_with("notes.txt"))
    );

    // A second run does nothing new: the finished studies are skipped.
    let pet_image = std::fs::read(output.join(&pet_uid).join("pet.nii.gz")).unwrap();
    let again = run_batch(&settings, &input, &output, None).unwrap();
    assert_eq!(again.already_done.len(), 2);
    assert!(
        again
            .records
            .iter()
            .all(|r| r.status != tomors::batch::Status::Done)
    );

    // Interrupted in the middle of the PET study: its folder half-written, not renamed. The
    // next run removes the remains and redoes it, to the same image.
    std::fs::remove_dir_all(output.join(&pet_uid)).unwrap();
    let partial = output.join(format!(".{pet_uid}.partial"));
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("pet.nii.gz"), b"half a file").unwrap();
    let resumed = run_batch(&settings, &input, &output, None).unwrap();
    assert!(
        resumed
            .records
            .iter()
            .any(|r| r.study == pet_uid && r.status == tomors::batch::Status::Done)
    );
    assert!(!partial.exists());
    assert_eq!(
        std::fs::read(output.join(&pet_uid).join("pet.nii.gz")).unwrap(),
        pet_image
    );

    // The inputs were only read.
    assert_eq!(checksums(&input), before);
    // An output folder inside the input is refused.
    let e = run_batch(&settings, &input, &input.join("out"), None).unwrap_err();
    assert!(e.to_string().contains("inside the input"), "{e}");
    std::fs::remove_dir_all(&root).unwrap();
}

/// `workers = 3`: four synthetic studies (one damaged) at once give the records, log lines
/// and images of one worker, with each study's start and end told once.
#[test]
fn several_workers_give_the_results_of_one() {
    let root = std::env::temp_dir().join(format!("tomors-batch-workers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let input = root.join("in");
    for (i, damaged) in [false, false, true, false].into_iter().enumerate() {
        common::pet_ct_study(&input.join(format!("s{i}")), damaged);
    }
    let run = |workers: usize, out: &str| {
        let settings =
            Settings::parse(&format!("backend = \"cpu\"\nworkers = {workers}\n")).unwrap();
        let mut events = Vec::new();
        let mut tell = |e: tomors::batch::Event<'_>| match e {
            tomors::batch::Event::Start { study, .. } => events.push(format!("start {study}")),
            tomors::batch::Event::End { study, status, .. } => {
                events.push(format!("{status} {study}"))
            }
            tomors::batch::Event::Found { .. } => {}
        };
        let report = run_batch(&settings, &input, &root.join(out), Some(&mut tell)).unwrap();
        events.sort();
        (report, events)
    };
    let (one, one_events) = run(1, "one");
    let (three, three_events) = run(3, "three");
    assert_eq!(one.records.len(), 4);
    assert_eq!(one_events, three_events);
    let summary = |r: &tomors::batch::Report| -> Vec<_> {
        r.records
            .iter()
            .map(|r| (r.study.clone(), r.status, r.outputs.clone()))
            .collect()
    };
    assert_eq!(summary(&one), summary(&three));
    let log = |out: &str| -> Vec<String> {
        let mut studies: Vec<String> = std::fs::read_to_string(root.join(out).join("batch.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["study"].to_string())
            .collect();
        studies.sort();
        studies
    };
    assert_eq!(log("one"), log("three"));
    for r in one
        .records
        .iter()
        .filter(|r| r.status == tomors::batch::Status::Done)
    {
        assert_eq!(
            std::fs::read(root.join("one").join(&r.study).join("pet.nii.gz")).unwrap(),
            std::fs::read(root.join("three").join(&r.study).join("pet.nii.gz")).unwrap()
        );
    }
    let settings = "workers = 0\n";
    let e = Settings::parse(settings).unwrap_err().to_string();
    assert!(e.contains("workers"), "{e}");
    std::fs::remove_dir_all(&root).unwrap();
}

/// `tomors batch` in which every study failed exits with status 8 (it was 0), naming the
/// count and the log; files it cannot read are listed with their reason, and make the run a
/// failed one too (a truncated NM file made its study "unsupported" and the run exit 0).
#[test]
fn batch_with_failed_studies_is_a_failed_run() {
    let root = std::env::temp_dir().join(format!("tomors-batch-fail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let input = root.join("in");
    common::pet_ct_study(&input.join("damaged"), true);
    std::fs::write(input.join("broken.dcm"), b"DICM? no").unwrap();
    // The media's directory and hidden files are no input.
    std::fs::write(input.join("DICOMDIR"), b"not an instance").unwrap();
    std::fs::write(input.join(".DS_Store"), b"\0\0\0\x01Bud1").unwrap();
    let settings = root.join("settings.toml");
    std::fs::write(&settings, "backend = \"cpu\"\n").unwrap();
    let run = |out: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tomors"))
            .arg("batch")
            .args([&settings, &input, &root.join(out)])
            .output()
            .unwrap()
    };
    let out = run("out");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert!(
        stderr.contains("1 of 1 studies failed and 2 input files are unreadable"),
        "{stderr}"
    );
    assert!(stderr.contains("broken.dcm"), "{stderr}");
    assert!(
        !stderr.contains("DICOMDIR") && !stderr.contains("DS_Store"),
        "{stderr}"
    );

    // Every study done, but a file unreadable (a study's damaged NM file leaves the study
    // without its projections): still not a successful run.
    std::fs::remove_dir_all(input.join("damaged")).unwrap();
    common::pet_ct_study(&input.join("good"), false);
    let out = run("out2");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert!(
        stderr.contains("0 of 1 studies failed and 1 input files are unreadable"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

/// The example settings file holds every key, parses, and is what `tomors batch --help`
/// prints.
#[test]
fn the_example_settings_are_valid_and_in_the_help() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/batch.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    // The commented keys too: uncommented, the file still parses.
    let all = text
        .replace("# collimator", "collimator")
        .replace("# post_filter", "post_filter");
    let all = all.replace("# calibration", "calibration");
    let settings = Settings::parse(&all).unwrap();
    assert_eq!(settings.spect.photopeak_kev, Some(208.0));
    let keys = [
        "backend",
        "workers",
        "photopeak_kev",
        "scatter",
        "dew_k",
        "attenuation",
        "collimator",
        "iterations",
        "subsets",
        "post_filter_fwhm",
        "calibration_cps_per_mbq",
        "decay_correction",
        "beds",
        "require_full_ct",
        "suv",
        "register",
        "host",
        "port",
        "ae_title",
        "calling_ae_title",
        "timeout_s",
        "store_results",
    ];
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_tomors"))
        .args(["batch", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for key in keys {
        assert!(
            text.contains(&format!("{key} = ")),
            "{key} not in examples/batch.toml"
        );
        assert!(
            help.contains(&format!("{key} = ")),
            "{key} not in tomors batch --help"
        );
    }
}
