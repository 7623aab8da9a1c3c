//! RTK's geometry files: a file RTK wrote (gantry, detector and source offsets, in-plane and
//! out-of-plane angles) read through its own projection matrices, orbits written and read
//! back, and bad files.

use std::f64::consts::PI;
use std::path::PathBuf;
use tomors::geometry::ConeView;
use tomors::io::rtk::{RtkDetector, read_rtk_geometry, write_rtk_geometry};
use tomors::{ConeBeam, ConeDetector, ConeOrbit, Error};

/// Written by itk-rtk 2.7.0 (`ThreeDCircularProjectionGeometryXMLFileWriter`) for
/// `AddProjection(1000, 1500, 0, 3, -2)`, `(1000, 1500, 90, 3, -2)` and
/// `(1000, 1536, 45, 1, 0, 0.5, 1.5, 4, 5)`.
const RTK_FILE: &str = r#"<?xml version="1.0"?>
<!DOCTYPE RTKGEOMETRY>
<RTKThreeDCircularGeometry version="3">
    <SourceToIsocenterDistance>1000</SourceToIsocenterDistance>
  <Projection>
    <GantryAngle>0</GantryAngle>
    <SourceToDetectorDistance>1500</SourceToDetectorDistance>
    <SourceOffsetX>0</SourceOffsetX>
    <SourceOffsetY>0</SourceOffsetY>
    <ProjectionOffsetX>3</ProjectionOffsetX>
    <ProjectionOffsetY>-2</ProjectionOffsetY>
    <InPlaneAngle>0</InPlaneAngle>
    <OutOfPlaneAngle>0</OutOfPlaneAngle>
    <Matrix>
                    -1500                   0                  -3                3000
                        0               -1500                   2               -2000
                        0                   0                   1               -1000
    </Matrix>
  </Projection>
  <Projection>
    <GantryAngle>90</GantryAngle>
    <SourceToDetectorDistance>1500</SourceToDetectorDistance>
    <SourceOffsetX>0</SourceOffsetX>
    <SourceOffsetY>0</SourceOffsetY>
    <ProjectionOffsetX>3</ProjectionOffsetX>
    <ProjectionOffsetY>-2</ProjectionOffsetY>
    <InPlaneAngle>0</InPlaneAngle>
    <OutOfPlaneAngle>0</OutOfPlaneAngle>
    <Matrix>
        -3.00000000000009                   0                1500                3000
                        2               -1500 1.22464679914735e-16               -2000
                        1                   0 6.12323399573677e-17               -1000
    </Matrix>
  </Projection>
  <Projection>
    <GantryAngle>45</GantryAngle>
    <SourceToDetectorDistance>1536</SourceToDetectorDistance>
    <SourceOffsetX>4</SourceOffsetX>
    <SourceOffsetY>5</SourceOffsetY>
    <ProjectionOffsetX>1</ProjectionOffsetX>
    <ProjectionOffsetY>0</ProjectionOffsetY>
    <InPlaneAngle>1.5</InPlaneAngle>
    <OutOfPlaneAngle>0.5</OutOfPlaneAngle>
    <Matrix>
        -1083.87069740059   -40.2324412178496    1087.61696473988                3144
          22.491820004294   -1535.45881770827   -34.3705856049737                2680
        0.707079856727016 -0.00872653549837393   0.707079856727016               -1000
    </Matrix>
  </Projection>
</RTKThreeDCircularGeometry>
"#;

const MATRICES: [[f64; 12]; 3] = [
    [
        -1500.0, 0.0, -3.0, 3000.0, 0.0, -1500.0, 2.0, -2000.0, 0.0, 0.0, 1.0, -1000.0,
    ],
    [
        -3.00000000000009,
        0.0,
        1500.0,
        3000.0,
        2.0,
        -1500.0,
        1.22464679914735e-16,
        -2000.0,
        1.0,
        0.0,
        6.12323399573677e-17,
        -1000.0,
    ],
    [
        -1083.87069740059,
        -40.2324412178496,
        1087.61696473988,
        3144.0,
        22.491820004294,
        -1535.45881770827,
        -34.3705856049737,
        2680.0,
        0.707079856727016,
        -0.00872653549837393,
        0.707079856727016,
        -1000.0,
    ],
];

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tomors-rtk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// RTK's point (x, y, z) is tomors's (x, −z, y).
fn to_rtk(p: [f64; 3]) -> [f64; 4] {
    [p[0], p[2], -p[1], 1.0]
}

fn project(m: &[f64; 12], p: [f64; 4]) -> [f64; 3] {
    std::array::from_fn(|r| (0..4).map(|c| m[4 * r + c] * p[c]).sum())
}

#[test]
fn a_file_rtk_wrote_reads_through_its_matrices() {
    let path = scratch("rtk.xml");
    std::fs::write(&path, RTK_FILE).unwrap();
    let det = RtkDetector {
        n_rows: 8,
        n_cols: 10,
        row_spacing: 1.2,
        col_spacing: 1.5,
        origin: Some([-7.0, -4.0]),
    };
    let cone = read_rtk_geometry(&path, &det).unwrap();
    assert_eq!(cone.data_shape(), [3, 8, 10]);
    let mut worst = 0.0f64;
    for (view, m) in MATRICES.iter().enumerate() {
        // The source is the matrix's null vector.
        let (s, _) = cone.ray(view, 0, 0);
        let w = project(m, to_rtk(s));
        worst = worst.max(w.iter().map(|x| x.abs()).fold(0.0, f64::max) / 1000.0);
        // Every pixel centre lands on its own detector coordinates.
        for row in [0, 3, 7] {
            for col in [0, 4, 9] {
                let (_, p) = cone.ray(view, row, col);
                let q = project(m, to_rtk(p));
                let (u, v) = (q[0] / q[2], q[1] / q[2]);
                worst = worst.max((u - (-7.0 + 1.5 * col as f64)).abs());
                worst = worst.max((v - (-4.0 + 1.2 * row as f64)).abs());
            }
        }
    }
    println!("largest deviation from RTK's matrices: {worst:.2e} mm");
    assert!(worst < 1e-6, "{worst}");
    // Gantry 0: the source at RTK's +z, 1000 mm: tomors's −y.
    let (s, _) = cone.ray(0, 0, 0);
    assert!(
        (s[0]).abs() < 1e-9 && (s[1] + 1000.0).abs() < 1e-9 && s[2].abs() < 1e-9,
        "{s:?}"
    );
}

#[test]
fn orbits_write_and_read_back() {
    let o = ConeOrbit {
        col_offset: 12.5,
        row_offset: -3.0,
        ..ConeOrbit::new(
            (0..36).map(|i| i as f64 * PI / 18.0).collect(),
            20,
            30,
            0.9,
            1.1,
            600.0,
            950.0,
        )
    };
    let cone = ConeBeam::orbit(&o).unwrap();
    let path = scratch("orbit.xml");
    write_rtk_geometry(&path, &cone).unwrap();
    let det = RtkDetector {
        n_rows: 20,
        n_cols: 30,
        row_spacing: 0.9,
        col_spacing: 1.1,
        origin: None,
    };
    let back = read_rtk_geometry(&path, &det).unwrap();
    let worst = largest_ray_difference(&cone, &back);
    println!("orbit → RTK file → vectors: largest pixel difference {worst:.2e} mm");
    assert!(worst < 1e-6, "{worst}");
}

#[test]
fn bad_files_and_geometries_are_typed_errors() {
    let det = RtkDetector {
        n_rows: 4,
        n_cols: 4,
        row_spacing: 1.0,
        col_spacing: 1.0,
        origin: None,
    };
    for (name, text) in [
        ("notxml.xml", "<RTKThreeDCircularGeometry"),
        ("other.xml", "<Other/>"),
        ("empty.xml", "<RTKThreeDCircularGeometry version=\"3\"/>"),
        (
            "nomatrix.xml",
            "<RTKThreeDCircularGeometry><Projection><SourceToDetectorDistance>5</SourceToDetectorDistance></Projection></RTKThreeDCircularGeometry>",
        ),
        (
            "cylinder.xml",
            "<RTKThreeDCircularGeometry><RadiusCylindricalDetector>900</RadiusCylindricalDetector><Projection/></RTKThreeDCircularGeometry>",
        ),
    ] {
        let path = scratch(name);
        std::fs::write(&path, text).unwrap();
        let e = read_rtk_geometry(&path, &det).unwrap_err();
        assert!(matches!(e, Error::Format { .. }), "{name}: {e}");
    }
    assert!(matches!(
        read_rtk_geometry(&scratch("missing.xml"), &det),
        Err(Error::Io { .. })
    ));
    let cyl = ConeOrbit {
        detector: ConeDetector::Cylindrical,
        ..ConeOrbit::new(vec![0.0, 1.0], 4, 4, 1.0, 1.0, 100.0, 200.0)
    };
    let e = write_rtk_geometry(&scratch("no.xml"), &ConeBeam::orbit(&cyl).unwrap()).unwrap_err();
    assert!(matches!(e, Error::InvalidGeometry(_)), "{e}");
}

/// Largest distance (mm) between the pixel centres and sources of two geometries.
fn largest_ray_difference(a: &ConeBeam, b: &ConeBeam) -> f64 {
    let mut worst = 0.0f64;
    for view in 0..a.n_views() {
        for (row, col) in [(0, 0), (a.n_rows() - 1, a.n_cols() - 1), (3, 5)] {
            let (p, q) = (a.ray(view, row, col), b.ray(view, row, col));
            for k in 0..3 {
                worst = worst
                    .max((p.0[k] - q.0[k]).abs())
                    .max((p.1[k] - q.1[k]).abs());
            }
        }
    }
    worst
}

/// A helix with offsets and a C-arm whose detector tilts, wobbles and spins in its plane
/// (every RTK angle and offset in use) write as RTK parameters and matrices and read back
/// through the matrices to the same rays.
#[test]
fn helices_and_tilted_c_arms_write_and_read_back() {
    let helix = ConeOrbit {
        pitch: 40.0,
        col_offset: -6.0,
        row_offset: 2.5,
        ..ConeOrbit::new(
            (0..50).map(|i| i as f64 * PI / 12.0).collect(),
            16,
            24,
            1.5,
            1.2,
            550.0,
            900.0,
        )
    };
    let helix = ConeBeam::orbit(&helix).unwrap();
    let c_arm: Vec<ConeView> = (0..40)
        .map(|i| {
            let t = i as f64 * 0.13;
            let (s, c) = t.sin_cos();
            // Detector frame: rotated about z by t, tilted about its u axis, spun in plane.
            let (tilt, spin) = (0.2 * (3.0 * t).sin(), 0.15 * (2.0 * t).cos());
            let normal = [-s * tilt.cos(), c * tilt.cos(), tilt.sin()];
            let u0 = [c, s, 0.0];
            let v0 = [
                normal[1] * u0[2] - normal[2] * u0[1],
                normal[2] * u0[0] - normal[0] * u0[2],
                normal[0] * u0[1] - normal[1] * u0[0],
            ];
            let (ss, cs) = spin.sin_cos();
            let u: [f64; 3] = std::array::from_fn(|k| 0.8 * (cs * u0[k] + ss * v0[k]));
            let v: [f64; 3] = std::array::from_fn(|k| 0.8 * (-ss * u0[k] + cs * v0[k]));
            let source: [f64; 3] =
                std::array::from_fn(|k| -700.0 * normal[k] + [3.0, -2.0, 5.0 * s][k]);
            let detector: [f64; 3] =
                std::array::from_fn(|k| 450.0 * normal[k] + [0.0, 4.0, -7.0][k]);
            ConeView {
                source,
                detector,
                u,
                v,
            }
        })
        .collect();
    let c_arm = ConeBeam::from_vectors(c_arm, 16, 24, ConeDetector::Flat).unwrap();
    for (name, cone, spacing) in [("helix", helix, [1.5, 1.2]), ("C-arm", c_arm, [0.8, 0.8])] {
        let path = scratch(&format!("{name}.xml"));
        write_rtk_geometry(&path, &cone).unwrap();
        let det = RtkDetector {
            n_rows: 16,
            n_cols: 24,
            row_spacing: spacing[0],
            col_spacing: spacing[1],
            origin: None,
        };
        let back = read_rtk_geometry(&path, &det).unwrap();
        let worst = largest_ray_difference(&cone, &back);
        println!("{name} → RTK file → vectors: largest pixel difference {worst:.2e} mm");
        assert!(worst < 1e-6, "{name}: {worst}");
    }
}
