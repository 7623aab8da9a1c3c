//! Hostile input (issue 31): each case a review found crashing tomors, aborting it on an
//! allocation or making it answer wrongly, reproduced; every outcome a typed error that says
//! what was expected, before any large allocation.

mod common;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use tomors::Error;
use tomors::io::petlink::ListModeFile;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tomors-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An Interfile image header over `data` with `extra` lines.
fn interfile_image(dir: &Path, extra: &str, data: &[u8]) -> PathBuf {
    std::fs::write(dir.join("img.v"), data).unwrap();
    let bytes = if extra.contains("bytes per pixel") {
        ""
    } else {
        "!number of bytes per pixel := 4\n"
    };
    let header = format!(
        "!INTERFILE :=\n!name of data file := img.v\nnumber format := float\n\
         {bytes}number of dimensions := 3\n\
         matrix size [1] := 2\nmatrix size [2] := 2\nmatrix size [3] := 1\n\
         scaling factor (mm/pixel) [1] := 1\nscaling factor (mm/pixel) [2] := 1\n\
         scaling factor (mm/pixel) [3] := 1\n{extra}!END OF INTERFILE :=\n"
    );
    let path = dir.join("img.hv");
    std::fs::write(&path, header).unwrap();
    path
}

/// Byte offsets at their edges (1e300 once panicked on a wrapped slice; −1000 read from byte
/// 0): each a format error naming the key; a valid offset reads the right bytes.
#[test]
fn interfile_offsets_at_their_edges() {
    let dir = scratch("interfile");
    let mut data = vec![0u8; 8];
    for v in [1.0f32, 2.0, 3.0, 4.0] {
        data.extend_from_slice(&v.to_le_bytes());
    }
    let ok = interfile_image(&dir, "data offset in bytes := 8\n", &data);
    let (img, _) = tomors::io::interfile::read_interfile_image(&ok).unwrap();
    assert_eq!(
        img.iter().copied().collect::<Vec<_>>(),
        [1.0, 2.0, 3.0, 4.0]
    );
    for offset in [
        "1e300",
        "-1000",
        "nan",
        "18446744073709551616",
        "2.5",
        "inf",
    ] {
        let path = interfile_image(&dir, &format!("data offset in bytes := {offset}\n"), &data);
        let e = tomors::io::interfile::read_interfile_image(&path).unwrap_err();
        assert!(
            matches!(e, Error::Format { .. }) && e.to_string().contains("data offset in bytes"),
            "{offset}: {e}"
        );
    }
    // An offset within u64 but past the end: truncated, not a slice panic.
    let path = interfile_image(&dir, "data offset in bytes := 4294967296\n", &data);
    let e = tomors::io::interfile::read_interfile_image(&path).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    // A byte count that is not a whole number is an error, not the default 4.
    let path = interfile_image(&dir, "!number of bytes per pixel := -4\n", &data);
    assert!(tomors::io::interfile::read_interfile_image(&path).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Grids and layouts larger than the machine are refused with the bytes they need, before
/// anything is allocated (they were process aborts: `memory allocation of N bytes failed`).
#[test]
fn sizes_beyond_the_machine_are_refused_before_allocation() {
    let e = tomors::ImageGrid::new_3d([100_000; 3], [1.0; 3]).unwrap_err();
    assert!(
        matches!(e, Error::TooLarge { .. }) && e.to_string().contains("PiB"),
        "{e}"
    );
    let e = tomors::ImageGrid::new_2d([200_000, 200_000], [1.0; 2]).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    use tomors::geometry::pet::{PetScanner, SinogramLayout};
    let scanner = PetScanner::new("huge", 4096, 65_536, 400.0, 0.0, 4.0).unwrap();
    let e = SinogramLayout::new(scanner, 60_000, 1, 4095, 1).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
}

fn mmr_listmode_header() -> String {
    std::fs::read_to_string(common::shared_data("pet_mmr/small_listmode_file.l.hdr")).unwrap()
}

/// A PETLINK header of an unknown scanner, or of the mMR with other rings and views, is a
/// format error at once (it was a generic scanner without a word, and 4096 rings × 32768
/// views × 60000 bins aborted after two minutes); an empty file and a window the wrong way
/// round or NaN are errors, not an empty or a whole acquisition.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn petlink_headers_and_windows_are_checked() {
    let dir = scratch("petlink");
    let header = mmr_listmode_header().replace("small_listmode_file.l", "lm.l");
    std::fs::write(dir.join("lm.l"), []).unwrap();
    let write = |text: &str| {
        std::fs::write(dir.join("lm.l.hdr"), text).unwrap();
        dir.join("lm.l.hdr")
    };
    let foreign = write(&header.replace("!originating system:=2008", "!originating system:=1104"));
    let e = ListModeFile::open(&foreign).unwrap_err().to_string();
    assert!(
        e.contains("originating system 1104") && e.contains("open_with_scanner"),
        "{e}"
    );
    let huge = write(
        &header
            .replace("number of rings:=64", "number of rings:=4096")
            .replace("number of views:=252", "number of views:=32768")
            .replace("number of projections:=344", "number of projections:=60000"),
    );
    let started = std::time::Instant::now();
    let e = ListModeFile::open(&huge).unwrap_err().to_string();
    assert!(e.contains("4096 rings"), "{e}");
    assert!(started.elapsed().as_secs_f64() < 1.0);
    let file = ListModeFile::open(&write(&header)).unwrap();
    for window in [(5.0, 1.0), (f64::NAN, 1.0), (-1.0, 2.0), (1.0, f64::NAN)] {
        let e = file.scan(Some(window), |_| {}).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{window:?}: {e}");
    }
    // No events: the pipeline refuses to reconstruct nothing.
    let options = tomors::pipeline::PetReconOptions::default();
    let e = tomors::pipeline::reconstruct_pet(
        &tomors::pipeline::PetData::ListMode(dir.join("lm.l.hdr")),
        None,
        None,
        &options,
        None,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("no prompts") && e.contains("nothing to reconstruct"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The PETLINK header's `data offset in bytes` is where the words start (it was ignored: any
/// offset read the whole file); offsets that are negative, not whole words, past the end or
/// beyond 2^53 are format errors.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn petlink_data_offset_is_honoured_and_checked() {
    let dir = scratch("petlink-offset");
    let words = std::fs::read(common::shared_data("pet_mmr/small_listmode_file.l")).unwrap();
    let words = &words[..40_000];
    let header = mmr_listmode_header().replace("small_listmode_file.l", "lm.l");
    assert!(header.contains("!data offset in bytes:=0\n"));
    let write = |offset: &str, junk: &[u8]| {
        let text = header.replace(
            "!data offset in bytes:=0",
            &format!("!data offset in bytes:={offset}"),
        );
        std::fs::write(dir.join("lm.l"), [junk, words].concat()).unwrap();
        std::fs::write(dir.join("lm.l.hdr"), text).unwrap();
        ListModeFile::open(&dir.join("lm.l.hdr"))
    };
    let counts = |file: ListModeFile| file.scan(None, |_| {}).unwrap();
    let plain = counts(write("0", &[]).unwrap());
    assert!(plain.prompts > 0);
    // Eight bytes of event words whose bins lie beyond the layout: read, they are an error.
    let junk = [0x7fu8, 0xff, 0xff, 0x3f, 0x7f, 0xff, 0xff, 0x3f];
    assert!(write("0", &junk).unwrap().scan(None, |_| {}).is_err());
    let skipped = counts(write("8", &junk).unwrap());
    assert_eq!(
        (skipped.words, skipped.prompts, skipped.delayeds),
        (plain.words, plain.prompts, plain.delayeds)
    );
    for offset in ["-1000", "1e300", "6", "40009", "9007199254740993"] {
        let e = write(offset, &junk).unwrap_err();
        assert!(matches!(e, Error::Format { .. }), "offset {offset}: {e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The mMR norm: a block size of 0 (a remainder by zero, a panic) and a component of zeros
/// (factors all 0, silently) are format errors.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn mmr_norm_components_are_checked() {
    let dir = scratch("norm");
    let data = common::shared_data("pet_mmr/norm.n");
    let header = std::fs::read_to_string(common::shared_data("pet_mmr/norm.n.hdr"))
        .unwrap()
        .replace(
            "!name of data file:=norm.n",
            &format!("!name of data file:={}", data.display()),
        );
    let read = |text: &str, name: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        tomors::io::siemens_norm::MmrNormalisation::read(&path)
    };
    read(&header, "ok.n.hdr").unwrap();
    let zero_block = header.replace("%matrix size [2]:={9,344}", "%matrix size [2]:={0,344}");
    assert_ne!(zero_block, header);
    let e = read(&zero_block, "block.n.hdr").unwrap_err();
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert!(e.to_string().contains("[0, 344], expected [9, 344]"), "{e}");
    // What the mMR's components hold, not what the file claims; huge numbers in exponent
    // form, not 301 digits.
    let huge = header.replace(
        "%matrix size [1]:={344,127}",
        "%matrix size [1]:={4e9,1e300}",
    );
    assert_ne!(huge, header);
    let e = read(&huge, "huge.n.hdr").unwrap_err().to_string();
    assert!(
        e.contains("[4000000000, 1e300], expected [344, 127]"),
        "{e}"
    );
    // Axial effects (component 4) pointed at a run of zeros past the data: all zero.
    let mut zeros = std::fs::read(&data).unwrap();
    let at = zeros.len();
    zeros.extend(std::iter::repeat_n(0u8, 4 * 837));
    std::fs::write(dir.join("zeros.n"), &zeros).unwrap();
    let key = header
        .lines()
        .find(|l| l.contains("data offset in bytes [4]"))
        .unwrap()
        .to_string();
    let axial_zero = header
        .replace(
            &format!("!name of data file:={}", data.display()),
            "!name of data file:=zeros.n",
        )
        .replace(&key, &format!("data offset in bytes [4]:={at}"));
    let e = read(&axial_zero, "zeros.n.hdr").unwrap_err().to_string();
    assert!(e.contains("component 4 is all zeros"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// RTK: a source-to-detector distance of 0 (RTK's parallel beam) or NaN is named as such.
#[test]
fn rtk_distances_are_named() {
    let dir = scratch("rtk");
    let path = dir.join("geometry.xml");
    std::fs::write(
        &path,
        "<?xml version=\"1.0\"?>\n<RTKThreeDCircularGeometry version=\"3\">\n\
         <SourceToIsocenterDistance>1000</SourceToIsocenterDistance>\n\
         <SourceToDetectorDistance>0</SourceToDetectorDistance>\n\
         <Projection><GantryAngle>0</GantryAngle>\n\
         <Matrix>1 0 0 0 0 1 0 0 0 0 1 -1000</Matrix></Projection>\n\
         </RTKThreeDCircularGeometry>\n",
    )
    .unwrap();
    let det = tomors::io::rtk::RtkDetector {
        n_rows: 4,
        n_cols: 4,
        row_spacing: 1.0,
        col_spacing: 1.0,
        origin: None,
    };
    let e = tomors::io::rtk::read_rtk_geometry(&path, &det)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("SourceToDetectorDistance 0") && e.contains("parallel"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Batch settings: the file's name once, the kind's prefix once.
#[test]
fn batch_settings_errors_say_it_once() {
    let dir = scratch("settings");
    let path = dir.join("settings.toml");
    std::fs::write(&path, "workers = 0\n").unwrap();
    let e = tomors::batch::Settings::read(&path)
        .unwrap_err()
        .to_string();
    assert_eq!(e.matches("invalid argument").count(), 1, "{e}");
    assert!(e.contains("settings.toml") && e.contains("workers"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn pacs_at(port: u16) -> tomors::pacs::Pacs {
    tomors::pacs::Pacs::new(tomors::pacs::PacsSettings {
        host: "127.0.0.1".into(),
        port,
        ae_title: "PACS".into(),
        calling_ae_title: "TOMORS".into(),
        timeout_s: 0.5,
        store_results: false,
    })
    .unwrap()
}

/// A PACS setting that points at an HTTP port, or at a peer that accepts and stays silent:
/// errors that say what the symptom means (they were "Incoming pdu was too large" and
/// "Resource temporarily unavailable (os error 11)").
#[test]
fn pacs_peers_that_do_not_speak_dicom() {
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = http.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = http.accept().unwrap();
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        std::thread::sleep(std::time::Duration::from_millis(200));
    });
    let e = pacs_at(port).echo().unwrap_err().to_string();
    server.join().unwrap();
    assert!(e.contains("not DICOM"), "{e}");
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (s, _) = silent.accept().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        drop(s);
    });
    let e = pacs_at(port).echo().unwrap_err().to_string();
    server.join().unwrap();
    assert!(e.contains("no answer within timeout_s = 0.5 s"), "{e}");
}
