//! The real mMR component-based normalisation: components read with the sizes and offsets
//! the header gives, and their product checked against the structure the format describes.

mod common;
use tomors::geometry::pet::SinogramLayout;
use tomors::io::siemens_norm::MmrNormalisation;

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn the_mmr_norm_components_have_the_structure_the_format_describes() {
    let norm = MmrNormalisation::read(&common::shared_data("pet_mmr/norm.n.hdr")).unwrap();
    assert_eq!(norm.bins(), 344);
    let (rings, n) = (64usize, 504usize);
    assert_eq!(norm.geometric.len(), 127 * 344);
    assert_eq!(norm.interference.len(), 344 * 9);
    assert_eq!(norm.efficiencies.len(), rings * n);
    assert_eq!(norm.axial.len(), 837);
    // Crystal efficiencies: 0 exactly at the gaps (crystal ≡ 0 mod 9, where no prompt of the
    // list-mode file lands), positive elsewhere, mean 1 over the real crystals.
    let real: Vec<f32> = (0..rings * n)
        .filter(|i| (i % n) % 9 != 0)
        .map(|i| norm.efficiencies[i])
        .collect();
    assert!(
        (0..rings * n)
            .filter(|i| (i % n) % 9 == 0)
            .all(|i| norm.efficiencies[i] == 0.0)
    );
    assert!(real.iter().all(|&e| e > 0.3 && e < 3.0));
    let mean = real.iter().map(|&v| v as f64).sum::<f64>() / real.len() as f64;
    eprintln!(
        "crystal efficiencies: mean {mean:.4} over {} crystals",
        real.len()
    );
    assert!((mean - 1.0).abs() < 0.05);
    // Geometric factors: symmetric axially (plane r₁+r₂ ↔ 126 − (r₁+r₂)).
    let geo = |p: usize, t: usize| norm.geometric[p * 344 + t] as f64;
    let mut asym = 0.0f64;
    for p in 0..127 {
        for t in 0..344 {
            asym = asym.max((geo(p, t) - geo(126 - p, t)).abs() / geo(p, t).abs().max(1e-6));
        }
    }
    eprintln!("geometric factors: largest axial asymmetry {asym:.2e}");
    // The expanded span-11 factors: 0 on every line that ends on a gap, positive elsewhere
    // within the field of view, and the interference pattern repeats with the 9-crystal block.
    let layout = SinogramLayout::mmr(11).unwrap();
    let f = norm.factors(&layout).unwrap();
    assert_eq!(f.shape(), &[252, 837, 344]);
    let scanner = layout.scanner();
    let (mut zero_on_gap, mut positive_elsewhere) = (true, true);
    for view in (0..252).step_by(7) {
        for t in (0..344).step_by(5) {
            let (c1, c2) = layout.crystals_of(view, t as i32 - 172);
            let gap = scanner.is_gap(c1) || scanner.is_gap(c2);
            let v = f[[view as usize, 418, t]];
            zero_on_gap &= !gap || v == 0.0;
            positive_elsewhere &= gap || v > 0.0;
        }
    }
    assert!(zero_on_gap && positive_elsewhere);
    // Pair efficiency = the product of the components (checked on one pair by hand).
    let (v, i, a, b) = (10u32, 150usize, (3u32, 40u32), (20u32, 300u32));
    let expected = norm.geometric[23 * 344 + i]
        * norm.interference[i * 9 + (v as usize % 9)]
        * norm.efficiencies[3 * n + 40]
        * norm.efficiencies[20 * n + 300]
        / norm.axial[layout.plane_of(3, 20).unwrap() as usize];
    assert_eq!(norm.pair_efficiency(v, i, a, b), expected);
}
