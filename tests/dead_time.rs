//! Dead time from the list mode's singles and the norm's dead-time components, on the real
//! mMR files: the real 0.61 s piece holds no singles report (the mMR polls every 2 s), which
//! the reader says with `None` and the reconstruction with a warning naming it; the real norm's
//! components 5 to 7 are read; the same piece with singles reports written into it gives the
//! live fraction of the real norm's parameters, checked against a computation of its own
//! (NiftyPET's bucket numbering and formula); corrupt components are typed errors.

mod common;
use std::path::PathBuf;

use tomors::Error;
use tomors::geometry::pet::SinogramLayout;
use tomors::io::petlink::ListModeFile;
use tomors::io::siemens_norm::MmrNormalisation;
use tomors::physics::{PetCalibration, crystal_live_fraction};
use tomors::pipeline::{
    DeadTime, PetData, PetQuantitationOptions, PetReconOptions, frame_dead_time, reconstruct_pet,
};

/// The computation here and the library's sum the same terms in another order.
const SAME_SUM: f64 = 1e-9;

fn mmr(name: &str) -> PathBuf {
    common::shared_data(&format!("pet_mmr/{name}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tomors-dead-time-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The singles rate written for bucket `b`, counts/s: 120 to 242 kcps, a multiple of the
/// header's scale factor 8 (the rate a report can state).
fn rate(b: usize) -> f64 {
    8.0 * (15_000 + 500 * (b % 28) + 250 * (b / 28)) as f64
}

/// The real list-mode piece with a report of every bucket's singles written after the time
/// tags of 100, 300 and 500 ms, the rate of the second report `rate(b)`, the others ± 800
/// counts/s (their mean `rate(b)`), and one report naming bucket 900 (beyond the 224).
fn with_singles(dir: &std::path::Path) -> PathBuf {
    let raw = std::fs::read(mmr("small_listmode_file.l")).unwrap();
    let mut out = Vec::with_capacity(raw.len() + 3 * 225 * 4);
    for c in raw.chunks_exact(4) {
        out.extend_from_slice(c);
        let w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        if w >> 29 == 0b100 && [100, 300, 500].contains(&(w & 0x1fff_ffff)) {
            let k = (w & 0x1fff_ffff) / 200; // 0, 1, 2
            for b in 0..224usize {
                let r = rate(b) + 800.0 * (k as f64 - 1.0);
                let word = 0b101u32 << 29 | (b as u32) << 19 | (r / 8.0) as u32;
                out.extend_from_slice(&word.to_le_bytes());
            }
            out.extend_from_slice(&(0b101u32 << 29 | 900 << 19 | 7).to_le_bytes());
        }
    }
    std::fs::write(dir.join("lm.l"), out).unwrap();
    let header = std::fs::read_to_string(mmr("small_listmode_file.l.hdr"))
        .unwrap()
        .replace("small_listmode_file.l", "lm.l");
    std::fs::write(dir.join("lm.l.hdr"), header).unwrap();
    dir.join("lm.l.hdr")
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn the_real_piece_has_no_singles_and_the_real_norm_its_components() {
    let file = ListModeFile::open(&mmr("small_listmode_file.l.hdr")).unwrap();
    let buckets = file.singles_buckets().unwrap();
    assert_eq!(
        (buckets.transaxial, buckets.axial, buckets.blocks),
        (28, 8, 2)
    );
    let (counts, singles) = file.scan_with_singles(None, |_| {}).unwrap();
    // One tag of the singles kind (0xbc000000: bucket 896, beyond the 224), none in reach.
    assert_eq!((counts.singles_tags, counts.last_time_ms), (1, 612));
    assert_eq!(singles, None);
    let h = file
        .histogram(&SinogramLayout::mmr(11).unwrap(), None)
        .unwrap();
    assert!(h.singles.is_none());
    assert_eq!(
        h.bucket_prompts.iter().sum::<f64>(),
        h.counts.prompts as f64
    );

    let norm = MmrNormalisation::read(&mmr("norm.n.hdr")).unwrap();
    let dt = norm.dead_time.as_ref().unwrap();
    assert_eq!((dt.paralysing.len(), dt.non_paralysing.len()), (64, 64));
    assert!(
        dt.paralysing
            .iter()
            .all(|&t| (t + 1.116_043e-6).abs() < 1e-12)
    );
    assert!(
        dt.non_paralysing
            .iter()
            .all(|&t| (t - 4.883_178e-13).abs() < 1e-18)
    );
    assert_eq!(dt.crystal.as_deref(), Some(&[0.0f32; 9][..]));
    eprintln!(
        "real norm: paralysing {:e} s, non-paralysing {:e} s per ring; real list mode: {} \
         singles tags, none of a bucket, in {} ms",
        dt.paralysing[0], dt.non_paralysing[0], counts.singles_tags, counts.last_time_ms
    );
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn written_singles_give_the_real_norms_live_fraction() {
    let dir = scratch("singles");
    let file = ListModeFile::open(&with_singles(&dir)).unwrap();
    let h = file
        .histogram(&SinogramLayout::mmr(11).unwrap(), None)
        .unwrap();
    let s = h.singles.as_ref().unwrap();
    // The real piece's own tag of the kind (bucket 896) is skipped with the three written.
    assert_eq!((s.reports, s.skipped), (3 * 224, 4));
    assert_eq!((s.first_s, s.last_s), (0.1, 0.5));
    for (b, r) in s.rates_cps.iter().enumerate() {
        assert_eq!(*r, Some(rate(b)), "bucket {b}");
    }
    // The events are the real file's.
    let real = ListModeFile::open(&mmr("small_listmode_file.l.hdr")).unwrap();
    let (pairs, _) = real.prompt_pairs(None).unwrap();
    assert_eq!(h.counts.prompts, pairs.len() as u64);
    let norm = MmrNormalisation::read(&mmr("norm.n.hdr")).unwrap();
    let dt = norm.dead_time.as_ref().unwrap();
    let got = frame_dead_time(None, Ok((s, &h.bucket_prompts)), Ok(dt)).unwrap();
    let DeadTime::Singles(d) = &got else {
        panic!("{got:?}")
    };
    // Our own sum over the prompts: NiftyPET's bucket of a crystal (its numbering one behind
    // the list mode's), the rate per block half the bucket's, f = exp(sτp/(1+sτnp))/(1+sτnp).
    let f = |ring: u32, crystal: u32| {
        let b = ((crystal + 503) % 504 / 18 + 28 * (ring / 8)) as usize;
        let r = ring as usize;
        crystal_live_fraction(
            rate(b) / 2.0,
            dt.paralysing[r] as f64,
            dt.non_paralysing[r] as f64,
        )
    };
    let restored: f64 = pairs
        .iter()
        .map(|p| 1.0 / (f(p[0], p[1]) * f(p[2], p[3])))
        .sum();
    let expected = pairs.len() as f64 / restored;
    assert!(
        (d.live_fraction - expected).abs() < SAME_SUM,
        "{} vs {expected}",
        d.live_fraction
    );
    // 120–242 kcps per bucket with τp = −1.116 µs: each crystal loses 6.5–12.6 %.
    assert!((0.75..0.9).contains(&d.live_fraction), "{d:?}");
    eprintln!(
        "written singles (mean {:.0} counts/s per bucket) under the real norm's parameters: \
         live fraction {:.5} over {} prompts",
        d.mean_rate_cps, d.live_fraction, d.prompts
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The reconstruction uses the computed live fraction (DTIM, the settings), a given one over
/// it, and says which piece is missing when it has none.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn reconstruct_pet_applies_reports_and_explains_the_dead_time() {
    let dir = scratch("recon");
    let lm = with_singles(&dir);
    let o = |live_fraction: Option<f64>| PetReconOptions {
        view_mashing: 6,
        iterations: 1,
        subsets: 7,
        spacing: Some([8.0, 8.0, 8.0]),
        randoms: false,
        quantitation: PetQuantitationOptions {
            calibration: Some(PetCalibration::new(1e4).unwrap()),
            // The header gives the injection: SUV then needs the weight.
            weight_kg: Some(70.0),
            live_fraction,
            ..Default::default()
        },
        backend: tomors::Backend::Cpu,
        ..Default::default()
    };
    let norm = mmr("norm.n.hdr");
    let run = |data: &PathBuf, norm: Option<&std::path::Path>, live: Option<f64>| {
        reconstruct_pet(&PetData::ListMode(data.clone()), norm, None, &o(live), None).unwrap()
    };
    let r = run(&lm, Some(&norm), None);
    let l = r.dead_time.live_fraction().unwrap();
    assert!(matches!(r.dead_time, DeadTime::Singles(_)));
    assert_eq!(r.quantitation.as_ref().unwrap().live_fraction, l);
    assert!(r.corrected.contains(&"DTIM"), "{:?}", r.corrected);
    let line = r
        .settings
        .iter()
        .find(|s| s.starts_with("dead time"))
        .unwrap();
    assert!(line.contains(&format!("{l:.5}")), "{line}");
    assert!(
        r.settings
            .iter()
            .any(|s| s.starts_with("singles: 672 reports"))
    );
    eprintln!("{line}");
    // Given wins.
    let given = run(&lm, Some(&norm), Some(0.95));
    assert_eq!(given.dead_time, DeadTime::Given(0.95));
    assert_eq!(given.quantitation.as_ref().unwrap().live_fraction, 0.95);
    // The real piece: no singles; without the norm: no components. Each named.
    let real = mmr("small_listmode_file.l.hdr");
    for (data, norm, missing) in [
        (
            &real,
            Some(norm.as_path()),
            "no singles reports within the frame",
        ),
        (&lm, None, "no normalisation file"),
    ] {
        let r = run(data, norm, None);
        assert_eq!(r.dead_time.live_fraction(), None);
        assert!(!r.corrected.contains(&"DTIM"));
        let w = r
            .warnings
            .iter()
            .find(|w| w.contains("dead time not corrected"));
        assert!(w.is_some_and(|w| w.contains(missing)), "{:?}", r.warnings);
        assert_eq!(r.quantitation.as_ref().unwrap().live_fraction, 1.0);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Dead-time components of the wrong size, or beyond the data file's end, are format errors
/// naming the component.
#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn corrupt_dead_time_components_are_typed_errors() {
    let dir = scratch("norm");
    std::fs::copy(mmr("norm.n"), dir.join("norm.n")).unwrap();
    let header = std::fs::read_to_string(mmr("norm.n.hdr")).unwrap();
    let read = |from: &str, to: &str| {
        assert!(header.contains(from), "{from}");
        std::fs::write(dir.join("norm.n.hdr"), header.replace(from, to)).unwrap();
        MmrNormalisation::read(&dir.join("norm.n.hdr"))
    };
    for (from, to, says) in [
        (
            "%matrix size [5]:={64}",
            "%matrix size [5]:={63}",
            "component 5",
        ),
        (
            "%matrix size [6]:={64}",
            "%matrix size [6]:={64,2}",
            "component 6",
        ),
        (
            "%matrix size [7]:={9}",
            "%matrix size [7]:={8}",
            "component 7",
        ),
        (
            "data offset in bytes [6]:=319764",
            "data offset in bytes [6]:=323300",
            "truncated: component 6",
        ),
    ] {
        match read(from, to) {
            Err(Error::Format { reason, .. }) => assert!(reason.contains(says), "{reason}"),
            other => panic!("{to}: {other:?}"),
        }
    }
    // A norm that lists no dead-time components reads without them.
    let n = read(
        "%normalization component [5]:=paralyzing ring DT parameters",
        "%normalization component [5]:=something else",
    )
    .unwrap();
    assert!(n.dead_time.is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}
