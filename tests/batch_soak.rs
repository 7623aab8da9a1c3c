//! Soak of `tomors batch` (issue 31): many studies (synthetic PET over CT, each a new study
//! with UIDs of its own) mixed with bad input (a CT slice cut short in its pixels, one cut
//! inside its header, a PET file whose header bytes are overwritten, a study with a CT alone,
//! an empty file, a text file), the command killed (SIGKILL) at random moments (every other
//! kill as soon as a study is under way) and restarted, then run to the end. Every good study
//! must be done exactly once with the images of an uninterrupted run, every bad one logged with
//! its file and reason, nothing partial or temporary left, and the memory of each run bounded.
//!
//! CI runs `TOMORS_SOAK_STUDIES` (default 8) good studies and `TOMORS_SOAK_KILLS` (default 4)
//! kills from a fixed seed; the long run (README, "Fuzzing"): `TOMORS_SOAK_STUDIES=200
//! TOMORS_SOAK_KILLS=40 cargo test --release --test batch_soak -- --nocapture`.

mod common;

use common::fuzz::Rng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Peak resident memory allowed for one run of the batch, bytes.
const MEMORY_BOUND: u64 = 1 << 30;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The bad input: the study or file, and what the log must say about it.
struct Bad {
    what: &'static str,
    /// The study's UID (a record expected) or `None` (a file in `unreadable.json`).
    study: Option<String>,
    /// A file the record's error or `unreadable.json` must name.
    file: PathBuf,
}

fn bad_input(input: &Path) -> Vec<Bad> {
    let mut bad = Vec::new();
    // A CT slice cut short in its pixels: unreadable (its lengths are checked when the
    // headers are read), and its study has a gap.
    let dir = input.join("bad-pixels");
    let study = common::pet_ct_study(&dir, true);
    bad.push(Bad {
        what: "a CT slice cut short in its pixels (file)",
        study: None,
        file: nth_file(&dir.join("CT"), 5),
    });
    bad.push(Bad {
        what: "a CT slice cut short in its pixels (study)",
        study: Some(study),
        file: dir.join("CT"),
    });
    // A CT slice cut inside its header: unreadable, and its study has a gap.
    let dir = input.join("bad-header");
    let study = common::pet_ct_study(&dir, false);
    let cut = nth_file(&dir.join("CT"), 10);
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..300]).unwrap();
    bad.push(Bad {
        what: "a CT slice cut inside its header (file)",
        study: None,
        file: cut.clone(),
    });
    bad.push(Bad {
        what: "a CT slice cut inside its header (study)",
        study: Some(study),
        file: dir.join("CT"),
    });
    // A PET file whose meta group is overwritten.
    let dir = input.join("bad-meta");
    let study = common::pet_ct_study(&dir, false);
    let pet = nth_file(&dir.join("PET"), 3);
    let mut bytes = std::fs::read(&pet).unwrap();
    bytes[140..160].fill(0xFF);
    std::fs::write(&pet, &bytes).unwrap();
    bad.push(Bad {
        what: "a PET file with its meta group overwritten (file)",
        study: None,
        file: pet,
    });
    bad.push(Bad {
        what: "a PET file with its meta group overwritten (study)",
        study: Some(study),
        file: dir.join("PET"),
    });
    // A study with a CT alone: nothing to reconstruct.
    let dir = input.join("ct-only");
    let study = common::pet_ct_study(&dir, false);
    std::fs::remove_dir_all(dir.join("PET")).unwrap();
    bad.push(Bad {
        what: "a CT alone",
        study: Some(study),
        file: PathBuf::new(),
    });
    for (name, content) in [("empty.dcm", &b""[..]), ("notes.txt", b"not DICOM\n")] {
        let f = input.join(name);
        std::fs::write(&f, content).unwrap();
        bad.push(Bad {
            what: "not DICOM",
            study: None,
            file: f,
        });
    }
    bad
}

/// The `n`-th file of `dir` in name order.
fn nth_file(dir: &Path, n: usize) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files[n].clone()
}

/// Peak resident memory of process `pid` so far (VmHWM), bytes; 0 once it has gone.
fn peak_memory(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// Entries under `dir` (recursively) whose names start with a dot: `.partial` folders and
/// temporary files.
fn hidden(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with('.') {
            out.push(p.clone());
        }
        if p.is_dir() {
            out.extend(hidden(&p));
        }
    }
    out
}

fn batch(settings: &Path, input: &Path, output: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tomors"));
    c.arg("batch")
        .arg(settings)
        .arg(input)
        .arg(output)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[test]
fn a_batch_killed_at_random_finishes_every_good_study_once() {
    let (n_good, n_kills) = (
        setting("TOMORS_SOAK_STUDIES", 8),
        setting("TOMORS_SOAK_KILLS", 4),
    );
    let root = std::env::temp_dir().join(format!("tomors-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (input, output) = (root.join("in"), root.join("out"));
    let good: Vec<String> = (0..n_good)
        .map(|i| common::pet_ct_study(&input.join(format!("good-{i:04}")), false))
        .collect();
    let bad = bad_input(&input);
    let settings = root.join("settings.toml");
    std::fs::write(&settings, "backend = \"cpu\"\n").unwrap();

    // The images of one good study, uninterrupted, for comparison.
    let reference = root.join("reference");
    let one = root.join("one");
    common::pet_ct_study(&one.join("s"), false);
    let t = Instant::now();
    let status = batch(&settings, &one, &reference).status().unwrap();
    assert!(status.success());
    // Kills land anywhere in what an uninterrupted batch would take.
    let whole = t.elapsed().as_millis() as usize * (n_good + bad.len());
    let reference_uid = std::fs::read_dir(&reference)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let reference_image = std::fs::read(reference_uid.join("pet.nii.gz")).unwrap();

    let mut rng = Rng::for_mutant(31);
    let (mut peak, mut mid_study, start) = (0u64, 0usize, Instant::now());
    let partials = |output: &Path| {
        std::fs::read_dir(output)
            .map(|d| {
                d.filter(|e| {
                    let name = e.as_ref().unwrap().file_name();
                    name.to_string_lossy().ends_with(".partial")
                })
                .count()
            })
            .unwrap_or(0)
    };
    for k in 0..n_kills {
        let mut child = batch(&settings, &input, &output).spawn().unwrap();
        // Every other kill as soon as a study is under way; the others at any moment.
        let inside = k % 2 == 0;
        let at = Duration::from_millis(rng.below(whole) as u64);
        let t = Instant::now();
        let mut exited = false;
        while inside || t.elapsed() < at {
            peak = peak.max(peak_memory(child.id()));
            if child.try_wait().unwrap().is_some() {
                exited = true;
                break;
            }
            if inside && partials(&output) > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(if inside { 1 } else { 10 }));
        }
        if !exited {
            child.kill().unwrap();
        }
        child.wait().unwrap();
        if !exited {
            mid_study += partials(&output);
        }
    }
    let mut child = batch(&settings, &input, &output).spawn().unwrap();
    let status = loop {
        peak = peak.max(peak_memory(child.id()));
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = start.elapsed();
    // Bad studies failed: exit status 8.
    assert_eq!(status.code(), Some(8), "the last run's exit status");

    let log: Vec<serde_json::Value> = std::fs::read_to_string(output.join("batch.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut done: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &log {
        if r["status"] == "done" {
            *done.entry(r["study"].as_str().unwrap()).or_default() += 1;
        }
    }
    for uid in &good {
        assert!(
            done.get(uid.as_str()).copied().unwrap_or(0) <= 1,
            "{uid} done twice"
        );
        let record: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(output.join(uid).join("study.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(record[0]["status"], "done", "{uid}");
        let image = std::fs::read(output.join(uid).join("pet.nii.gz")).unwrap();
        assert!(
            image == reference_image,
            "{uid}: not the image of an uninterrupted run"
        );
    }
    let unreadable: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(output.join("unreadable.json")).unwrap())
            .unwrap();
    for b in &bad {
        match &b.study {
            Some(uid) => {
                assert!(!output.join(uid).exists(), "{}: has results", b.what);
                let record = log
                    .iter()
                    .rev()
                    .find(|r| r["study"] == uid.as_str())
                    .unwrap_or_else(|| panic!("{}: not in the log", b.what));
                let error = record["error"].as_str().unwrap_or_default();
                assert!(
                    record["status"] != "done" && !error.is_empty(),
                    "{}: {record}",
                    b.what
                );
                let named =
                    b.file.as_os_str().is_empty() || error.contains(&*b.file.to_string_lossy());
                assert!(
                    named,
                    "{}: the error does not name {}: {error}",
                    b.what,
                    b.file.display()
                );
            }
            None => {
                let listed = unreadable.iter().any(|u| {
                    u["file"].as_str() == Some(&*b.file.to_string_lossy())
                        && !u["reason"].as_str().unwrap_or_default().is_empty()
                });
                assert!(
                    listed,
                    "{}: {} not in unreadable.json",
                    b.what,
                    b.file.display()
                );
            }
        }
    }
    let left = hidden(&output);
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(peak < MEMORY_BOUND, "a run peaked at {peak} bytes");
    eprintln!(
        "soak: {n_good} good and {} bad inputs, {n_kills} kills ({mid_study} inside a study), \
         {} log lines, {:.1} s in all, peak memory of a run {:.0} MiB",
        bad.len(),
        log.len(),
        took.as_secs_f64(),
        peak as f64 / (1 << 20) as f64
    );
    std::fs::remove_dir_all(&root).unwrap();
}
