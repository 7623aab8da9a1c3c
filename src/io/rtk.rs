//! RTK's geometry files (`RTKThreeDCircularGeometry`, version 3 XML): read any flat-panel
//! geometry RTK writes, and write any flat-panel geometry with orthogonal detector axes, for
//! interchange with RTK.
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
        // Signed (a detector behind the principal direction's origin is negative); 0 is
        // RTK's parallel beam, which is not read.
        if !(sdd.is_finite() && sdd != 0.0) {
            return Err(bad(
                path,
                format!(
                    "projection {i}: SourceToDetectorDistance {sdd}; expected a finite, non-zero \
                     distance in mm (0 is a parallel beam, not read)"
                ),
            ));
        }
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
    ConeBeam::from_vectors(views, detector.n_rows, detector.n_cols, ConeDetector::Flat).map_err(
        |e| {
            let reason = match e {
                Error::InvalidGeometry(m) => m,
                other => other.to_string(),
            };
            bad(
                path,
                format!(
                    "its projection matrices and SourceToDetectorDistance describe no usable \
                     cone beam: {reason}"
                ),
            )
        },
    )
}

/// Writes `cone` as an RTK geometry file (atomically): any flat-panel geometry (circular
/// orbits, helices, tilted or wobbling C-arms alike; a [`ConeBeam`]'s detector axes are
/// orthogonal within 1e-6, RTK's own condition). Each view's source and detector are decomposed the way RTK's
/// `AddProjection(source, detector, row, column)` does: gantry, out-of-plane and in-plane
/// angles (ZXY Euler angles of the detector frame), source-to-isocentre and source-to-detector
/// distances along the detector normal, and source and projection offsets in the detector
/// plane; its projection matrix follows. The projection images are taken as centred (RTK
/// origin `−(n − 1)/2·spacing`), so the detector's offsets move the projection offsets.
///
/// # Errors
/// [`Error::InvalidGeometry`] for a cylindrical detector; [`Error::Io`] when writing fails.
pub fn write_rtk_geometry(path: &Path, cone: &ConeBeam) -> Result<()> {
    if cone.detector() != ConeDetector::Flat {
        return Err(Error::InvalidGeometry(
            "RTK's geometry files are written for flat panels only".into(),
        ));
    }
    let [col_offset, row_offset] = cone.offsets();
    let mut xml = String::from(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE RTKGEOMETRY>\n<RTKThreeDCircularGeometry version=\"3\">\n",
    );
    for v in cone.views() {
        let p = rtk_parameters(v, col_offset, row_offset);
        let deg = |a: f64| a.to_degrees().rem_euclid(360.0);
        xml.push_str(&format!(
            "  <Projection>\n    <GantryAngle>{}</GantryAngle>\n    \
             <SourceToIsocenterDistance>{}</SourceToIsocenterDistance>\n    \
             <SourceToDetectorDistance>{}</SourceToDetectorDistance>\n    \
             <SourceOffsetX>{}</SourceOffsetX>\n    <SourceOffsetY>{}</SourceOffsetY>\n    \
             <ProjectionOffsetX>{}</ProjectionOffsetX>\n    <ProjectionOffsetY>{}</ProjectionOffsetY>\n    \
             <InPlaneAngle>{}</InPlaneAngle>\n    <OutOfPlaneAngle>{}</OutOfPlaneAngle>\n    <Matrix>\n",
            deg(p.gantry),
            p.sid,
            p.sdd,
            p.source_offset[0],
            p.source_offset[1],
            p.projection_offset[0],
            p.projection_offset[1],
            deg(p.in_plane),
            deg(p.out_of_plane),
        ));
        for r in p.matrix() {
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

/// One view in RTK's parameters (RTK coordinates; angles in radians).
struct RtkView {
    sid: f64,
    sdd: f64,
    gantry: f64,
    out_of_plane: f64,
    in_plane: f64,
    source_offset: [f64; 2],
    projection_offset: [f64; 2],
    /// Rows: the detector's row direction, column direction and normal (RTK's rotation).
    rotation: [[f64; 3]; 3],
}

/// `view` (its pixel grid's centre moved by the detector offsets, mm) in RTK's parameters, as
/// RTK's `AddProjection(source, detector, row, column)` computes them.
fn rtk_parameters(view: &ConeView, col_offset: f64, row_offset: f64) -> RtkView {
    let unit = |a: [f64; 3]| {
        let l = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
        a.map(|x| x / l)
    };
    let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let (u, v) = (unit(view.u), unit(view.v));
    let centre: [f64; 3] =
        std::array::from_fn(|k| view.detector[k] + col_offset * u[k] + row_offset * v[k]);
    let (r, c) = (to_rtk(u), to_rtk(v));
    let n = [
        r[1] * c[2] - r[2] * c[1],
        r[2] * c[0] - r[0] * c[2],
        r[0] * c[1] - r[1] * c[0],
    ];
    let (s, d) = (to_rtk(view.source), to_rtk(centre));
    let m = [r, c, n];
    // m = Rz(z)·Rx(x)·Ry(y) (ITK's ZXY Euler angles); RTK stores their negatives.
    let x = m[2][1].clamp(-1.0, 1.0).asin();
    let (y, z) = if x.cos() > 1e-12 {
        ((-m[2][0]).atan2(m[2][2]), (-m[0][1]).atan2(m[1][1]))
    } else {
        (m[0][2].atan2(m[0][0]), 0.0)
    };
    RtkView {
        sid: dot(n, s),
        sdd: dot(n, [s[0] - d[0], s[1] - d[1], s[2] - d[2]]),
        gantry: -y,
        out_of_plane: -x,
        in_plane: -z,
        source_offset: [dot(s, r), dot(s, c)],
        projection_offset: [dot(d, r), dot(d, c)],
        rotation: m,
    }
}

impl RtkView {
    /// RTK's projection matrix: projection translation · magnification · source translation
    /// · rotation, from RTK points to physical detector coordinates (homogeneous, mm).
    fn matrix(&self) -> [[f64; 4]; 3] {
        let [sx, sy] = self.source_offset;
        let [px, py] = self.projection_offset;
        let (sdd, sid) = (self.sdd, self.sid);
        // Rotated point q = m·x, shifted by (−sx, −sy, 0), then magnified:
        // rows (−sdd·(q₀ − sx), −sdd·(q₁ − sy), q₂ − sid), then (u + (sx − px)·w, v + (sy − py)·w, w).
        let m = self.rotation;
        let w = [m[2][0], m[2][1], m[2][2], -sid];
        let row = |k: usize, shift: f64, offset: f64| -> [f64; 4] {
            let base = [-sdd * m[k][0], -sdd * m[k][1], -sdd * m[k][2], sdd * shift];
            std::array::from_fn(|j| base[j] + offset * w[j])
        };
        [row(0, sx, sx - px), row(1, sy, sy - py), w]
    }
}
