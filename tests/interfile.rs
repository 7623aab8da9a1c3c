//! Interfile images and projection data: round trips, the real headers and data of
//! `../shared/data/pet_mmr`, and typed errors for bad files.

mod common;
use ndarray::{Array3, ArrayD, IxDyn};
use std::path::PathBuf;
use tomors::ImageGrid;
use tomors::geometry::pet::{PetScanner, SinogramLayout};
use tomors::io::interfile::{
    read_interfile_image, read_interfile_layout, read_interfile_sinogram, write_interfile_image,
    write_interfile_sinogram,
};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tomors-interfile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn images_round_trip() {
    let dir = scratch("image");
    let grid = ImageGrid::new_3d([3, 4, 5], [2.5, 1.5, 1.0])
        .unwrap()
        .with_origin([-10.0, 3.0, 4.5])
        .unwrap();
    let vol = Array3::from_shape_fn((3, 4, 5), |(z, y, x)| (z * 100 + y * 10 + x) as f32 - 7.5);
    let path = dir.join("img.hv");
    write_interfile_image(&path, vol.view(), &grid).unwrap();
    let (back, g) = read_interfile_image(&path).unwrap();
    assert_eq!(back, vol);
    assert_eq!(g, grid);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sinograms_round_trip_in_stir_order() {
    let dir = scratch("sino");
    let scanner = PetScanner::new("small", 6, 32, 50.0, 1.0, 4.0).unwrap();
    let layout = SinogramLayout::new(scanner, 20, 3, 4, 2).unwrap();
    let data = ArrayD::from_shape_fn(IxDyn(&layout.shape()), |i| {
        (i[0] * 1000 + i[1] * 30 + i[2]) as f32
    });
    let path = dir.join("sino.hs");
    write_interfile_sinogram(&path, data.view(), &layout).unwrap();
    let (back, l) = read_interfile_sinogram(&path).unwrap();
    assert_eq!(l.shape(), layout.shape());
    assert_eq!(back, data);
    // STIR order on disk: the first values are segment −1 (most negative), view 0, axial 0.
    let raw = std::fs::read(dir.join("sino.s")).unwrap();
    let first = f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let seg = layout
        .segments()
        .iter()
        .position(|s| s.number == -1)
        .unwrap();
    assert_eq!(first, (layout.plane_offset(seg) * 30) as f32);
    // A header whose data file is short: a typed error naming the sizes.
    std::fs::write(dir.join("sino.s"), &raw[..raw.len() - 4]).unwrap();
    let err = read_interfile_sinogram(&path).unwrap_err().to_string();
    assert!(err.contains("truncated"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn mmr_headers_give_their_layouts() {
    let dir = common::shared_data("pet_mmr");
    let span11 = read_interfile_layout(&dir.join("mMR_template_span11.hs")).unwrap();
    assert_eq!(
        (span11.span(), span11.max_ring_difference(), span11.planes()),
        (11, 60, 837)
    );
    assert_eq!(span11.scanner(), &PetScanner::mmr());
    let seg2 = read_interfile_layout(&dir.join("Siemens_mMR_seg2.hs")).unwrap();
    assert_eq!(
        (seg2.span(), seg2.max_ring_difference(), seg2.planes()),
        (1, 2, 314)
    );
    // STIR's 2-ring single-slice template packs ring differences −1…1 into one plane: not a
    // span tomors can represent, said as such.
    let err = read_interfile_layout(&dir.join("mMR_template_single_slice.hs")).unwrap_err();
    assert!(err.to_string().contains("do not match"), "{err}");
}

#[test]
#[ignore = "real data: needs ../shared/data; run with --include-ignored"]
fn the_nema_mu_map_reads_in_inverse_cm() {
    let (mu, grid) = read_interfile_image(&common::shared_data("pet_mmr/mu_map.hv")).unwrap();
    assert_eq!(mu.shape(), &[127, 57, 57]);
    assert_eq!(grid.spacing(), [2.03125, 13.0391, 13.0391]);
    // Water is 0.096 /cm at 511 keV: the phantom's body is close to it.
    let max = mu.iter().fold(0.0f32, |m, &v| m.max(v));
    assert!(max > 0.08 && max < 0.2, "max μ {max} /cm");
    let (brain, g) =
        read_interfile_image(&common::shared_data("pet_mmr/brain_phantom/emission.hv")).unwrap();
    assert_eq!(brain.shape(), &[15, 211, 211]);
    assert_eq!(g.origin()[2], -105.0);
}
