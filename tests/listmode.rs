//! PETLINK list-mode: the real mMR file histogrammed into span-1 and span-11 sinograms whose
//! totals are the events counted in the file; time windows; randoms from delayeds; typed
//! errors for truncated and corrupt files.

mod common;
use std::path::PathBuf;
use tomors::geometry::pet::SinogramLayout;
use tomors::io::petlink::ListModeFile;
use tomors::physics::{ml_singles, randoms_from_fan_sums, randoms_from_singles};

fn mmr_file() -> PathBuf {
    common::shared_data("pet_mmr/small_listmode_file.l.hdr")
}

/// Counts the file's words independently of the reader: coincidences by bit 30, tags by
/// bits 29–30.
fn count_words() -> (u64, u64, u64) {
    let raw = std::fs::read(common::shared_data("pet_mmr/small_listmode_file.l")).unwrap();
    let (mut p, mut d, mut t) = (0, 0, 0);
    for c in raw.chunks_exact(4) {
        let w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        match (w >> 31, (w >> 30) & 1, (w >> 29) & 3) {
            (0, 1, _) => p += 1,
            (0, 0, _) => d += 1,
            (1, _, 0) => t += 1,
            _ => {}
        }
    }
    (p, d, t)
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn the_mmr_file_histograms_to_span_1_and_11_with_every_event() {
    let file = ListModeFile::open(&mmr_file()).unwrap();
    assert_eq!(file.layout().shape(), vec![252, 4084, 344]);
    let (prompts, delayeds, time_tags) = count_words();
    for span in [1, 11] {
        let layout = SinogramLayout::mmr(span).unwrap();
        let h = file.histogram(&layout, None).unwrap();
        assert_eq!(h.counts.words, 254_816);
        assert_eq!((h.counts.prompts, h.counts.delayeds), (prompts, delayeds));
        assert_eq!(h.counts.time_tags, time_tags);
        assert_eq!(h.outside_layout, 0);
        let sum = |a: &ndarray::ArrayD<f32>| a.iter().map(|&v| v as f64).sum::<f64>();
        assert_eq!(sum(&h.prompts), prompts as f64, "span {span} prompts");
        assert_eq!(sum(&h.delayeds), delayeds as f64, "span {span} delayeds");
        eprintln!(
            "span {span}: {prompts} prompts, {delayeds} delayeds, {time_tags} time tags \
             ({} ms), {} singles and {} other tags",
            h.counts.last_time_ms, h.counts.singles_tags, h.counts.other_tags
        );
        // The randoms estimate holds the delayeds, and is smooth: no bin is empty where a
        // crystal pair saw delayeds on both sides.
        let r = randoms_from_fan_sums(&layout, &h.delayed_fan_sums, delayeds as f64).unwrap();
        assert!((sum(&r) - delayeds as f64).abs() < 1e-3 * delayeds as f64);
        // ML singles fitted over the file's own pairs hold the delayeds (issue 32: within 1 %),
        // and differ from the fan-sum product where the crystals' fans differ.
        let singles = ml_singles(file.layout(), &h.delayed_fan_sums).unwrap();
        let ml = randoms_from_singles(&layout, &singles).unwrap();
        let rel = sum(&ml) / delayeds as f64 - 1.0;
        let diff = ml
            .iter()
            .zip(r.iter())
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            .sqrt()
            / r.iter().map(|&b| (b as f64).powi(2)).sum::<f64>().sqrt();
        eprintln!(
            "span {span}: ML-singles randoms hold {:.1} of {delayeds} delayeds ({:+.2e}); \
             relative L2 to the fan-sum estimate {diff:.3}",
            sum(&ml),
            rel
        );
        assert!(rel.abs() < 0.01, "{rel}");
    }
    // Gaps between blocks detect nothing.
    let span1 = SinogramLayout::mmr(1).unwrap();
    let (pairs, _) = file.prompt_pairs(None).unwrap();
    assert_eq!(pairs.len() as u64, prompts);
    assert!(
        pairs
            .iter()
            .all(|p| !span1.scanner().is_gap(p[1]) && !span1.scanner().is_gap(p[3]))
    );
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn time_windows_split_the_events() {
    let file = ListModeFile::open(&mmr_file()).unwrap();
    let all = file.scan(None, |_| {}).unwrap();
    let mid = all.last_time_ms as f64 / 2e3;
    let a = file.scan(Some((0.0, mid)), |_| {}).unwrap();
    let b = file.scan(Some((mid, f64::INFINITY)), |_| {}).unwrap();
    assert!(a.prompts > 0 && b.prompts > 0);
    assert_eq!(a.prompts + b.prompts, all.prompts);
    assert_eq!(a.delayeds + b.delayeds, all.delayeds);
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn truncated_and_corrupt_files_are_typed_errors() {
    let dir = std::env::temp_dir().join(format!("tomors-lm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let raw = std::fs::read(common::shared_data("pet_mmr/small_listmode_file.l")).unwrap();
    let header = std::fs::read_to_string(mmr_file()).unwrap();
    std::fs::write(
        dir.join("cut.l.hdr"),
        header.replace("small_listmode_file.l", "cut.l"),
    )
    .unwrap();
    std::fs::write(dir.join("cut.l"), &raw[..raw.len() - 3]).unwrap();
    let err = ListModeFile::open(&dir.join("cut.l"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated"), "{err}");
    // A coincidence whose address lies beyond the 354 M span-1 bins.
    let mut bad = raw[..4000].to_vec();
    bad[400..404].copy_from_slice(&0x3fff_fff0u32.to_le_bytes());
    std::fs::write(dir.join("cut.l"), &bad).unwrap();
    let file = ListModeFile::open(&dir.join("cut.l")).unwrap();
    let err = file.scan(None, |_| {}).unwrap_err().to_string();
    assert!(err.contains("word 100") && err.contains("beyond"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
