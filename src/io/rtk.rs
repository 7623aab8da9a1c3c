//! RTK's geometry files (`RTKThreeDCircularGeometry`, version 3 XML): read any flat-panel
//! geometry RTK writes, and write circular orbits, for interchange with RTK.
//!
//! RTK rotates about its y axis: a point `(x, y, z)` of RTK is `(x, −z, y)` here (RTK's
//! source sits at `+z` for gantry angle 0, ours at `−y`), RTK's gantry angle in degrees is β,
//! its detector axes u and v are our columns and rows. Each `<Projection>` holds a 3×4
//! projection matrix (RTK coordinates to physical detector coordinates, mm); the reader takes
//! the source, the detector centre and the pixel steps from it, so gantry, in-plane and
//! out-of-plane angles, source and detector offsets all come through, and the parameters are
//! only checked against it. Where a pixel lies also depends on the projection images: RTK
//! places pixel `k` at `origin + k·spacing` in physical detector coordinates; give that origin
//! (default: centred, `−(n − 1)/2·spacing`).

use crate::error::{Error, Result};
use crate::geometry::{ConeBeam, ConeDetector, ConeView};
use std::path::Path;

/// The projection images a geometry file describes (RTK keeps them apart from the geometry).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RtkDetector {
    /// Detector rows (RTK's v).
    pub n_rows: usize,
    /// Detector columns (RTK's u).
    pub n_cols: usize,
    /// Row spacing, mm.
    pub row_spacing: f64,
    /// Column spacing, mm.
    pub col_spacing: f64,
    /// Physical detector coordinates `(u, v)` of pixel (0, 0), mm; `None`: centred.
    pub origin: Option<[f64; 2]>,
}

impl RtkDetector {
    fn origin(&self) -> [f64; 2] {
        self.origin.unwrap_or([
            -(self.n_cols as f64 - 1.0) / 2.0 * self.col_spacing,
            -(self.n_rows as f64 - 1.0) / 2.0 * self.row_spacing,
        ])
    }
}

/// RTK coordinates to ours.
fn from_rtk(p: [f64; 3]) -> [f64; 3] {
    [p[0], -p[2], p[1]]
}
/// Ours to RTK's.
fn to_rtk(p: [f64; 3]) -> [f64; 3] {
    [p[0], p[2], -p[1]]
}

fn bad(path: &Path, reason: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        reason,
    }
}

/// Solves `A x = b` for a 3×3 `A` (Cramer's rule); `None` when singular.
fn solve3(a: [[f64; 3]; 3], b: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(a);
    let scale = a.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    if d.is_nan() || d.abs() <= 1e-12 * scale.powi(3) {
        return None;
    }
    let mut x = [0.0; 3];
    for (k, xk) in x.iter_mut().enumerate() {
        let mut m = a;
        for r in 0..3 {
            m[r][k] = b[r];
        }
        *xk = det(m) / d;
    }
    Some(x)
}

/// The view a projection matrix describes: the source (its null vector), and the detector
/// points of physical coordinates `(u, v)`, which lie on the plane perpendicular to the
/// principal ray at `sdd` from the source.
fn view_of(m: [[f64; 4]; 3], sdd: f64, det: &RtkDetector) -> Option<ConeView> {
    let a = [
        [m[0][0], m[0][1], m[0][2]],
        [m[1][0], m[1][1], m[1][2]],
        [m[2][0], m[2][1], m[2][2]],
    ];
    let source = solve3(a, [-m[0][3], -m[1][3], -m[2][3]])?;
    // Principal direction: towards the detector, where w = m₃·(x − s) < 0.
    let n = {
        let r = a[2];
        let l = (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt();
        [-r[0] / l, -r[1] / l, -r[2] / l]
    };
    let point = |u: f64, v: f64| -> Option<[f64; 3]> {
        let r = solve3(a, [u, v, 1.0])?;
        // Direction of the ray: ±r, whichever points to the detector.
        let along = r[0] * n[0] + r[1] * n[1] + r[2] * n[2];
        if along == 0.0 {
            return None;
        }
        let t = sdd / along;
        Some([
            source[0] + t * r[0],
            source[1] + t * r[1],
            source[2] + t * r[2],
        ])
    };
    let [u0, v0] = det.origin();
    let uc = u0 + (det.n_cols as f64 - 1.0) / 2.0 * det.col_spacing;
    let vc = v0 + (det.n_rows as f64 - 1.0) / 2.0 * det.row_spacing;
    let centre = point(uc, vc)?;
    let pu = point(uc + det.col_spacing, vc)?;
    let pv = point(uc, vc + det.row_spacing)?;
    let sub = |a: [f64; 3], b: [f64; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    Some(ConeView {
        source: from_rtk(source),
        detector: from_rtk(centre),
        u: from_rtk(sub(pu, centre)),
        v: from_rtk(sub(pv, centre)),
    })
}

/// Reads an RTK geometry file for projection images of `detector`'s size and placement.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] naming the file for
/// malformed XML, another root element, a projection without a matrix or distances, a
/// cylindrical detector (`RadiusCylindricalDetector` ≠ 0: not supported yet) or a singular
/// matrix; [`Error::InvalidGeometry`] for what [`ConeBeam::from_vectors`] rejects.
pub fn read_rtk_geometry(path: &Path, detector: &RtkDetector) -> Result<ConeBeam> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // RTK writes `<!DOCTYPE RTKGEOMETRY>`.
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&text, options)
        .map_err(|e| bad(path, format!("not XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "RTKThreeDCircularGeometry" {
        return Err(bad(
            path,
            format!(
                "root element <{}>; expected <RTKThreeDCircularGeometry>",
                root.tag_name().name()
            ),
        ));
    }
    let number = |node: roxmltree::Node<'_, '_>, tag: &str| -> Result<Option<f64>> {
        match node.children().find(|c| c.has_tag_name(tag)) {
            None => Ok(None),
            Some(c) => {
                let t = c.text().unwrap_or("").trim();
                t.parse::<f64>()
                    .map(Some)
                    .map_err(|_| bad(path, format!("<{tag}> is {t:?}; expected a number")))
            }
        }
    };
    let global_sdd = number(root, "SourceToDetectorDistance")?;
    let global_radius = number(root, "RadiusCylindricalDetector")?;
    let mut views = Vec::new();
    for (i, p) in root
        .children()
        .filter(|c| c.has_tag_name("Projection"))
        .enumerate()
    {
        let radius = number(p, "RadiusCylindricalDetector")?.or(global_radius);
        if radius.is_some_and(|r| r != 0.0) {
            return Err(bad(
                path,
                format!(
                    "projection {i} has a cylindrical detector; only flat panels are read so far"
                ),
            ));
        }
        let sdd = number(p, "SourceToDetectorDistance")?
            .or(global_sdd)
            .ok_or_else(|| {
                bad(
                    path,
                    format!("projection {i} has no SourceToDetectorDistance"),
                )
            })?;
        let text = p
            .children()
            .find(|c| c.has_tag_name("Matrix"))
            .and_then(|c| c.text())
            .ok_or_else(|| bad(path, format!("projection {i} has no <Matrix>")))?;
        let values: Vec<f64> = text
            .split_whitespace()
            .map(|v| v.parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad(path, format!("projection {i}: <Matrix> holds a non-number")))?;
        if values.len() != 12 || values.iter().any(|v| !v.is_finite()) {
            return Err(bad(
                path,
                format!(
                    "projection {i}: <Matrix> holds {} values; expected 12 finite ones",
                    values.len()
                ),
            ));
        }
        let m = [
            [values[0], values[1], values[2], values[3]],
            [values[4], values[5], values[6], values[7]],
            [values[8], values[9], values[10], values[11]],
        ];
        views.push(
            view_of(m, sdd, detector)
                .ok_or_else(|| bad(path, format!("projection {i}: singular projection matrix")))?,
        );
    }
    if views.is_empty() {
        return Err(bad(path, "no <Projection> elements".into()));
    }
    ConeBeam::from_vectors(views, detector.n_rows, detector.n_cols, ConeDetector::Flat)
}

/// Writes `cone` as an RTK geometry file (atomically): a circular flat-panel orbit (a helix
/// or any other trajectory has no place in RTK's circular parameters). The projection images
/// are taken as centred (RTK origin `−(n − 1)/2·spacing`); the detector's offsets become
/// `ProjectionOffsetX/Y`.
///
/// # Errors
/// [`Error::InvalidGeometry`] for a cylindrical detector or views that are not one circular
/// orbit about z; [`Error::Io`] when writing fails.
pub fn write_rtk_geometry(path: &Path, cone: &ConeBeam) -> Result<()> {
    if cone.detector() != ConeDetector::Flat {
        return Err(Error::InvalidGeometry(
            "RTK's geometry files are written for flat panels only".into(),
        ));
    }
    let [col_offset, row_offset] = cone.offsets();
    let orbit = cone.orbit_views();
    let mut xml = String::from(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE RTKGEOMETRY>\n<RTKThreeDCircularGeometry version=\"3\">\n",
    );
    let dso = orbit[0].source_to_center;
    xml.push_str(&format!(
        "  <SourceToIsocenterDistance>{dso}</SourceToIsocenterDistance>\n"
    ));
    for (i, (v, o)) in cone.views().iter().zip(&orbit).enumerate() {
        let (s, c) = o.angle.sin_cos();
        let du = (v.u[0] * v.u[0] + v.u[1] * v.u[1] + v.u[2] * v.u[2]).sqrt();
        let dv = (v.v[0] * v.v[0] + v.v[1] * v.v[1] + v.v[2] * v.v[2]).sqrt();
        // The orbit this view would be, then the check that it is.
        let expect = ConeView {
            source: [dso * s, -dso * c, 0.0],
            detector: [
                dso * s - o.source_to_detector * s,
                -dso * c + o.source_to_detector * c,
                0.0,
            ],
            u: [c * du, s * du, 0.0],
            v: [0.0, 0.0, dv],
        };
        let close =
            |a: [f64; 3], b: [f64; 3]| (0..3).all(|k| (a[k] - b[k]).abs() <= 1e-6 * (1.0 + dso));
        if !(close(v.source, expect.source)
            && close(v.detector, expect.detector)
            && close(v.u, expect.u)
            && close(v.v, expect.v)
            && (o.source_to_center - dso).abs() <= 1e-6 * dso)
        {
            return Err(Error::InvalidGeometry(format!(
                "view {i} is not on a circular orbit about z with the detector facing the axis; \
                 RTK's circular geometry cannot hold it"
            )));
        }
        let sdd = o.source_to_detector;
        let angle = o.angle.to_degrees().rem_euclid(360.0);
        // RTK's matrix for this view (as RTK computes it): u·w, v·w, w of an RTK point.
        let src = to_rtk(v.source);
        let n = to_rtk([-s, c, 0.0]);
        let (ur, vr) = (to_rtk([c, s, 0.0]), [0.0, 1.0, 0.0]);
        let row = |axis: [f64; 3], off: f64| {
            // u_phys = SDD·(x − s)·û / depth − offset, times w = −depth.
            let g: [f64; 3] = std::array::from_fn(|k| -sdd * axis[k] + off * n[k]);
            let w: f64 = -(0..3).map(|k| g[k] * src[k]).sum::<f64>();
            [g[0], g[1], g[2], w]
        };
        let m = [row(ur, col_offset), row(vr, row_offset), {
            let g = [-n[0], -n[1], -n[2]];
            [
                g[0],
                g[1],
                g[2],
                -(0..3).map(|k| g[k] * src[k]).sum::<f64>(),
            ]
        }];
        xml.push_str(&format!(
            "  <Projection>\n    <GantryAngle>{angle}</GantryAngle>\n    \
             <SourceToDetectorDistance>{sdd}</SourceToDetectorDistance>\n    \
             <SourceOffsetX>0</SourceOffsetX>\n    <SourceOffsetY>0</SourceOffsetY>\n    \
             <ProjectionOffsetX>{}</ProjectionOffsetX>\n    <ProjectionOffsetY>{}</ProjectionOffsetY>\n    \
             <InPlaneAngle>0</InPlaneAngle>\n    <OutOfPlaneAngle>0</OutOfPlaneAngle>\n    <Matrix>\n",
            col_offset, row_offset
        ));
        for r in m {
            xml.push_str(&format!(
                "      {:e} {:e} {:e} {:e}\n",
                r[0], r[1], r[2], r[3]
            ));
        }
        xml.push_str("    </Matrix>\n  </Projection>\n");
    }
    xml.push_str("</RTKThreeDCircularGeometry>\n");
    crate::io::write_atomically(path, |tmp| {
        std::fs::write(tmp, xml.as_bytes()).map_err(|source| Error::Io {
            path: tmp.to_path_buf(),
            source,
        })
    })
}
