//! Mutation fuzzing of the DICOM readers: seeds (small files tomors writes, a reduced copy of
//! the real NM projections' header, a real RLE-compressed CT slice) are mutated at random
//! (bit flips, overwritten length fields, truncation, duplicated and deleted runs, biased to
//! the header), and every reader must return `Ok` or a typed error, never panic.
//!
//! A mutant that takes over a second is a failure too: it means a parser sized a buffer from a
//! hostile length (the first one found, an invalid VR whose bytes turned the next 4 bytes into
//! a 3 GB length, is now `invalid_vr_with_a_huge_length_is_refused`).
//!
//! `TOMORS_FUZZ_EXECUTIONS` sets the number of mutants (default 2000). Mutant `i` depends only
//! on its seed file and `i`, so a failure reproduces from the index the test prints
//! (`reproduce_a_mutant` writes it out); each one fixed becomes a test of its own, as
//! `invalid_vr_with_a_huge_length_is_refused` did.

mod common;

use std::path::Path;

use common::fuzz::{Rng, executions, mutate, run};
use tomors::io::dicom::{
    ReadLimits, SeriesSelect, SeriesWriter, WriteModality, read_ct_series, read_nm_projections,
    read_nm_volume, read_pet_series, scan,
};

/// Every DICOM reader on `path`; whether the NM projection reader (the strictest) gave a
/// typed error. Panics are the fuzz harness's to catch.
fn read_all(path: &Path) -> bool {
    let limits = ReadLimits {
        max_pixel_bytes: 64 << 20,
        ..ReadLimits::default()
    };
    let any = SeriesSelect::Largest;
    let _ = scan(path, &limits);
    let nm = read_nm_projections(path, &limits);
    let _ = read_ct_series(path, &any, &limits);
    let _ = read_pet_series(path, &any, &limits);
    let _ = read_nm_volume(path, &any, &limits);
    nm.is_err()
}

fn seeds(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let grid =
        tomors::PatientGrid::axis_aligned([2, 6, 5], [3.0, 2.0, 2.0], [1.0, 2.0, 3.0]).unwrap();
    let volume =
        ndarray::Array3::from_shape_fn(grid.shape, |(z, y, x)| (z * 30 + y * 5 + x) as f32 - 20.0);
    for modality in [WriteModality::Nm, WriteModality::Pt, WriteModality::Ct] {
        let w = SeriesWriter::new(modality, "BQML")
            .write(
                volume.view(),
                &grid,
                &dir.join(format!("seed-{modality:?}")),
            )
            .unwrap();
        out.push((
            format!("{modality:?} slice"),
            std::fs::read(&w.files[0]).unwrap(),
        ));
    }
    let codecs = common::shared_data("dicom_codecs");
    out.push((
        "CT1_RLE".into(),
        std::fs::read(codecs.join("CT1_RLE.dcm")).unwrap(),
    ));
    let nm = common::shared_data("spect_ct_lu177/NM");
    out.push((
        "NM projections (reduced)".into(),
        reduced_nm(&nm.join("bed1_projections.dcm"), dir),
    ));
    out
}

/// The real NM file's header with 2 windows × 3 views of 4 × 4 pixels: every NM attribute, a
/// small file.
fn reduced_nm(path: &Path, dir: &Path) -> Vec<u8> {
    let obj = common::small_nm(path, &[1, 1, 1, 2, 2, 2], &[1; 6], &[1, 2, 3, 1, 2, 3]);
    let out = dir.join("reduced_nm.dcm");
    obj.write_to_file(&out).unwrap();
    // It reads: the seed is a valid file.
    read_nm_projections(&out, &ReadLimits::default()).unwrap();
    std::fs::read(out).unwrap()
}

/// Mutant `i`: of seed `i mod seeds`, from a generator seeded by `i` alone.
fn mutant(seeds: &[(String, Vec<u8>)], i: usize) -> (&str, Vec<u8>) {
    let (name, seed) = &seeds[i % seeds.len()];
    let mut rng = Rng::for_mutant(i);
    (name, mutate(seed, &mut rng))
}

/// A tool, not a check: `TOMORS_FUZZ_REPRODUCE=i cargo test --test dicom_fuzz -- --ignored
/// reproduce_a_mutant` writes mutant `i` to the temporary folder, to study a failure.
/// `scripts/test.sh` skips it by name; without the variable it fails rather than pass silently.
#[test]
#[ignore = "tool: set TOMORS_FUZZ_REPRODUCE=i to write mutant i"]
fn reproduce_a_mutant() {
    let i: usize = std::env::var("TOMORS_FUZZ_REPRODUCE")
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("set TOMORS_FUZZ_REPRODUCE to the index of the mutant to write");
    let dir = std::env::temp_dir().join(format!("tomors-fuzz-repro-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seeds = seeds(&dir);
    let (name, bytes) = mutant(&seeds, i);
    let out = std::env::temp_dir().join(format!("tomors-mutant-{i}.dcm"));
    std::fs::write(&out, bytes).unwrap();
    eprintln!("mutant {i} of {name:?} written to {}", out.display());
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn readers_never_panic_on_mutated_files() {
    let dir = std::env::temp_dir().join(format!("tomors-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seeds = seeds(&dir);
    let target = dir.join("mutant.dcm");
    let report = run(
        "DICOM",
        executions(2000),
        std::time::Duration::from_secs(1),
        |i| mutant(&seeds, i).1,
        |bytes| {
            std::fs::write(&target, bytes).unwrap();
            read_all(&target)
        },
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
}

#[test]
fn invalid_vr_with_a_huge_length_is_refused() {
    // An explicit-VR element whose VR bytes are not a VR: parsers read it as UN, with a 4-byte
    // length after 2 reserved bytes; here that length says 3 GB in a file of a few KB.
    let dir = std::env::temp_dir().join(format!("tomors-vr-{}", std::process::id()));
    let grid = tomors::PatientGrid::axis_aligned([1, 4, 4], [1.0; 3], [0.0; 3]).unwrap();
    let volume = ndarray::Array3::<f32>::ones(grid.shape);
    let w = SeriesWriter::new(WriteModality::Ct, "HU")
        .write(volume.view(), &grid, &dir)
        .unwrap();
    let mut bytes = std::fs::read(&w.files[0]).unwrap();
    // Image Position (Patient): (0020,0032) DS.
    let at = bytes
        .windows(6)
        .position(|b| b == [0x20, 0x00, 0x32, 0x00, b'D', b'S'])
        .unwrap();
    bytes[at + 4] = 0xFF;
    bytes[at + 6..at + 8].copy_from_slice(&[0, 0]);
    bytes[at + 8..at + 12].copy_from_slice(&0xC334_892A_u32.to_le_bytes());
    let bad = dir.join("bad.dcm");
    std::fs::write(&bad, &bytes).unwrap();
    let start = std::time::Instant::now();
    let e = read_ct_series(&bad, &SeriesSelect::Largest, &ReadLimits::default())
        .unwrap_err()
        .to_string();
    assert!(start.elapsed() < std::time::Duration::from_millis(200));
    assert!(
        e.contains("(0020,0032)") && e.contains("declares 3275000106 bytes"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
