//! Mutation fuzzing of every reader besides DICOM's (`dicom_fuzz.rs`): Interfile images and
//! sinograms, the PETLINK header and its list-mode words, the Siemens mMR norm, RTK geometry
//! XML, TIFF stacks, `.npy` arrays and batch settings. Headers get structure-aware mutants
//! (numbers at their edges: 0, −1, NaN, ±1e300, 2^32, 2^64; lines deleted or repeated) and
//! byte mutants; binary files byte mutants. Every outcome must be `Ok` or a typed error within
//! a second: never a panic, an allocation abort (which ends the process) or a hang.
//!
//! CI runs `TOMORS_FUZZ_EXECUTIONS` (default 300) mutants per reader from fixed seeds; the long
//! run is `TOMORS_FUZZ_EXECUTIONS=1000000 cargo test --release --test reader_fuzz --
//! --include-ignored` (README, "Fuzzing"). `TOMORS_FUZZ_VERBOSE=1` prints each mutant's index
//! first, so an abort names its mutant.

mod common;

use common::fuzz::{Rng, executions, mutate, mutate_text, run};
use ndarray::{Array3, ArrayD, IxDyn};
use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(1);
const DEFAULT_EXECUTIONS: usize = 300;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tomors-rfuzz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Half the mutants structure-aware on the text, half bytes.
fn text_or_bytes(seed: &str, i: usize) -> Vec<u8> {
    let mut rng = Rng::for_mutant(i);
    if i.is_multiple_of(2) {
        mutate_text(seed, &mut rng)
    } else {
        mutate(seed.as_bytes(), &mut rng)
    }
}

fn check(report: common::fuzz::Report) {
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
}

/// Fuzzes `read` over mutants from `make`, each written to `file` first.
fn fuzz_file(
    what: &str,
    file: &Path,
    make: impl FnMut(usize) -> Vec<u8>,
    mut read: impl FnMut() -> bool,
) {
    check(run(
        what,
        executions(DEFAULT_EXECUTIONS),
        LIMIT,
        make,
        |bytes| {
            std::fs::write(file, bytes).unwrap();
            read()
        },
    ));
}

/// Interfile images: the header mutated over a valid data file, and the data file cut or
/// grown under a valid header.
#[test]
fn interfile_images() {
    let dir = scratch("interfile");
    let grid = tomors::ImageGrid::new_3d([3, 4, 5], [2.0, 1.5, 1.5]).unwrap();
    let vol = Array3::from_shape_fn((3, 4, 5), |(z, y, x)| (z * 20 + y * 5 + x) as f32);
    let seed_path = dir.join("seed.hv");
    tomors::io::interfile::write_interfile_image(&seed_path, vol.view(), &grid).unwrap();
    let header = std::fs::read_to_string(&seed_path).unwrap();
    let data = std::fs::read(dir.join("seed.v")).unwrap();
    let target = dir.join("seed.hv");
    fuzz_file(
        "interfile image header",
        &target,
        |i| text_or_bytes(&header, i),
        || tomors::io::interfile::read_interfile_image(&target).is_err(),
    );
    std::fs::write(&target, &header).unwrap();
    fuzz_file(
        "interfile image data",
        &dir.join("seed.v"),
        |i| mutate(&data, &mut Rng::for_mutant(i)),
        || tomors::io::interfile::read_interfile_image(&target).is_err(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// STIR Interfile sinograms (a small scanner's span-3 layout).
#[test]
fn interfile_sinograms() {
    use tomors::geometry::pet::{PetScanner, SinogramLayout};
    let dir = scratch("sinogram");
    let layout = SinogramLayout::new(
        PetScanner::new("small", 4, 32, 50.0, 1.0, 4.0).unwrap(),
        16,
        3,
        3,
        1,
    )
    .unwrap();
    let data = ArrayD::from_shape_fn(IxDyn(&layout.shape()), |ix| ix[0] as f32 + ix[2] as f32);
    let target = dir.join("sino.hs");
    tomors::io::interfile::write_interfile_sinogram(&target, data.view(), &layout).unwrap();
    let header = std::fs::read_to_string(&target).unwrap();
    fuzz_file(
        "interfile sinogram header",
        &target,
        |i| text_or_bytes(&header, i),
        || tomors::io::interfile::read_interfile_sinogram(&target).is_err(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `.npy` arrays: the header text and the bytes.
#[test]
fn npy_arrays() {
    let dir = scratch("npy");
    let data: Vec<u8> = (0..12).flat_map(|v| (v as f32).to_le_bytes()).collect();
    let seed = common::npy_bytes("<f4", "(3, 4)", &data);
    let dict_len = u16::from_le_bytes([seed[8], seed[9]]) as usize;
    let dict = String::from_utf8(seed[10..10 + dict_len].to_vec()).unwrap();
    let target = dir.join("a.npy");
    fuzz_file(
        ".npy",
        &target,
        |i| {
            let mut rng = Rng::for_mutant(i);
            if i.is_multiple_of(2) {
                // The dictionary's text, structure-aware; the prefix kept.
                let mut m = seed[..10].to_vec();
                let text = mutate_text(&dict.replace(", ", ",\n"), &mut rng);
                let text = String::from_utf8_lossy(&text).replace(",\n", ", ");
                m[8..10].copy_from_slice(&(text.len() as u16).to_le_bytes());
                m.extend_from_slice(text.as_bytes());
                m.extend_from_slice(&seed[10 + dict.len()..]);
                m
            } else {
                mutate(&seed, &mut rng)
            }
        },
        || tomors::io::npy::read_npy(&target).is_err(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// RTK geometry files of a short circular orbit.
#[test]
fn rtk_geometry() {
    use tomors::{ConeBeam, ConeOrbit};
    let dir = scratch("rtk");
    let angles = (0..6).map(|i| i as f64).collect();
    let cone = ConeBeam::orbit(&ConeOrbit::new(angles, 8, 10, 1.0, 1.0, 300.0, 500.0)).unwrap();
    let target = dir.join("geometry.xml");
    tomors::io::rtk::write_rtk_geometry(&target, &cone).unwrap();
    let seed = std::fs::read_to_string(&target).unwrap();
    let det = tomors::io::rtk::RtkDetector {
        n_rows: 8,
        n_cols: 10,
        row_spacing: 1.0,
        col_spacing: 1.0,
        origin: None,
    };
    fuzz_file(
        "RTK geometry",
        &target,
        |i| text_or_bytes(&seed, i),
        || tomors::io::rtk::read_rtk_geometry(&target, &det).is_err(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// TIFF projections (32-bit float and 16-bit, little- and big-endian, written by the `tiff`
/// crate).
#[test]
fn tiff_stacks() {
    let dir = scratch("tiff");
    let mut seeds = Vec::new();
    for kind in 0..2 {
        let mut bytes = std::io::Cursor::new(Vec::new());
        let mut encoder = tiff::encoder::TiffEncoder::new(&mut bytes).unwrap();
        if kind == 0 {
            let pixels: Vec<f32> = (0..48).map(|v| v as f32 * 0.5).collect();
            encoder
                .write_image::<tiff::encoder::colortype::Gray32Float>(8, 6, &pixels)
                .unwrap();
        } else {
            let pixels: Vec<u16> = (0..48).map(|v| v as u16 * 100).collect();
            encoder
                .write_image::<tiff::encoder::colortype::Gray16>(8, 6, &pixels)
                .unwrap();
        }
        seeds.push(bytes.into_inner());
    }
    let target = dir.join("p.tif");
    for seed in &seeds {
        tomors::io::tiff::read_tiff_stack(&[{
            std::fs::write(&target, seed).unwrap();
            target.clone()
        }])
        .unwrap();
    }
    fuzz_file(
        "TIFF",
        &target,
        |i| mutate(&seeds[i % seeds.len()], &mut Rng::for_mutant(i)),
        || tomors::io::tiff::read_tiff_stack(std::slice::from_ref(&target)).is_err(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Batch settings (TOML, `[spect]`, `[pet]`, `[pacs]`).
#[test]
fn batch_settings() {
    let seed = "backend = \"cpu\"\nworkers = 2\n[spect]\nphotopeak_kev = 208.0\niterations = 4\n\
                subsets = 8\n[pacs]\nhost = \"127.0.0.1\"\nport = 104\nae_title = \"PACS\"\n\
                timeout_s = 5.0\n";
    tomors::batch::Settings::parse(seed).unwrap();
    check(run(
        "batch settings",
        executions(DEFAULT_EXECUTIONS),
        LIMIT,
        |i| text_or_bytes(seed, i),
        |bytes| tomors::batch::Settings::parse(&String::from_utf8_lossy(bytes)).is_err(),
    ));
}

fn shared(path: &str) -> PathBuf {
    common::shared_data(path)
}

/// The real mMR PETLINK header and the first 4000 words of its list-mode file, in `dir`:
/// the header's path, and the words.
fn petlink_seed(dir: &Path) -> (PathBuf, Vec<u8>) {
    let header = std::fs::read_to_string(shared("pet_mmr/small_listmode_file.l.hdr"))
        .unwrap()
        .replace("small_listmode_file.l", "lm.l");
    let words = std::fs::read(shared("pet_mmr/small_listmode_file.l")).unwrap()[..16_000].to_vec();
    let target = dir.join("lm.l.hdr");
    std::fs::write(&target, &header).unwrap();
    std::fs::write(dir.join("lm.l"), &words).unwrap();
    (target, words)
}

/// Opens and streams the list-mode file of header `path`: whether that was a typed error.
fn stream_petlink(path: &Path) -> bool {
    match tomors::io::petlink::ListModeFile::open(path) {
        Ok(file) => file.scan(None, |_| {}).is_err(),
        Err(_) => true,
    }
}

/// The PETLINK header (the real mMR one) over the first 4000 words of its list-mode file:
/// opened and streamed.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn petlink_header() {
    let dir = scratch("petlink-header");
    let (target, _) = petlink_seed(&dir);
    let header = std::fs::read_to_string(&target).unwrap();
    fuzz_file(
        "PETLINK header",
        &target,
        |i| text_or_bytes(&header, i),
        || stream_petlink(&target),
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Those words mutated under the real header: opened and streamed.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn petlink_words() {
    let dir = scratch("petlink-words");
    let (target, words) = petlink_seed(&dir);
    fuzz_file(
        "PETLINK words",
        &dir.join("lm.l"),
        |i| mutate(&words, &mut Rng::for_mutant(i)),
        || stream_petlink(&target),
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The mMR norm header (the real one) over the real component file.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn mmr_norm() {
    let dir = scratch("norm");
    let data = shared("pet_mmr/norm.n");
    let header = std::fs::read_to_string(shared("pet_mmr/norm.n.hdr"))
        .unwrap()
        .replace(
            "!name of data file:=norm.n",
            &format!("!name of data file:={}", data.display()),
        );
    let target = dir.join("norm.n.hdr");
    fuzz_file(
        "mMR norm header",
        &target,
        |i| text_or_bytes(&header, i),
        || tomors::io::siemens_norm::MmrNormalisation::read(&target).is_err(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
