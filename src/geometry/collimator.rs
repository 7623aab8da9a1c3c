//! The collimator-detector response of a parallel-hole gamma camera, and the collimators of
//! the main vendors' cameras.
//!
//! The response is a Gaussian whose FWHM at distance `b` from the collimator face is
//! `√((D·(L_eff + b)/L_eff)² + R_i²)`:
//! - `D` the hole diameter and `L_eff = L − 2/μ(E)` the hole length less twice the mean free
//!   path of photons of energy `E` in lead: photons that cross the septa's corners see shorter
//!   holes (Anger's effective length, the septal penetration model of Mather 1957 and Anger
//!   1964 that PyTomography and STIR's SPECT models also use);
//! - `R_i` the camera's intrinsic resolution, which the scintillation light's statistics make
//!   scale as `1/√E`; vendors state it at 140 keV.

use crate::error::{Error, Result};

/// The collimator-detector response of a parallel-hole gamma camera: a Gaussian whose FWHM at
/// distance `b` (mm) from the collimator face is `√((a + s·b)² + r_i²)`, with `a + s·b` the
/// collimator's geometric resolution and `r_i` the camera's intrinsic resolution (all FWHM, mm).
///
/// For a collimator of hole diameter `D` and (effective) hole length `L`, `a = D` and
/// `s = D / L` (the geometric resolution `D·(L + b)/L`). [`CollimatorSpec::at_energy`] builds
/// one from a collimator's holes at a photon energy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Collimator {
    /// Geometric FWHM at the collimator face, mm.
    pub fwhm_at_face: f64,
    /// Growth of the geometric FWHM per mm of distance from the face (dimensionless).
    pub fwhm_slope: f64,
    /// Intrinsic FWHM of the detector, mm (added in quadrature).
    pub intrinsic_fwhm: f64,
}

impl Collimator {
    /// A response that grows linearly with distance, plus intrinsic resolution in quadrature.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for negative or non-finite values, or a response of zero width.
    pub fn linear(fwhm_at_face: f64, fwhm_slope: f64, intrinsic_fwhm: f64) -> Result<Self> {
        let c = Self {
            fwhm_at_face,
            fwhm_slope,
            intrinsic_fwhm,
        };
        for (name, v) in [
            ("FWHM at the face", fwhm_at_face),
            ("FWHM slope", fwhm_slope),
            ("intrinsic FWHM", intrinsic_fwhm),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::InvalidGeometry(format!(
                    "collimator {name} is {v}; expected a finite value ≥ 0"
                )));
            }
        }
        if fwhm_at_face == 0.0 && fwhm_slope == 0.0 && intrinsic_fwhm == 0.0 {
            return Err(Error::InvalidGeometry(
                "collimator response has zero width everywhere; leave the collimator out instead"
                    .into(),
            ));
        }
        Ok(c)
    }

    /// From hole geometry: hole diameter `D` and effective length `L` (mm), intrinsic FWHM (mm).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for a non-positive diameter or length.
    pub fn from_holes(hole_diameter: f64, hole_length: f64, intrinsic_fwhm: f64) -> Result<Self> {
        if !(hole_diameter.is_finite()
            && hole_diameter > 0.0
            && hole_length.is_finite()
            && hole_length > 0.0)
        {
            return Err(Error::InvalidGeometry(format!(
                "collimator holes of diameter {hole_diameter} mm and length {hole_length} mm; both must be finite and > 0"
            )));
        }
        Self::linear(hole_diameter, hole_diameter / hole_length, intrinsic_fwhm)
    }

    /// A generic collimator by type at 140 keV (Tc-99m): `"lehr"`, `"legp"`, `"megp"`, `"hegp"`
    /// ([`CollimatorSpec::named`] without a manufacturer, at 140 keV).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown name, listing the known ones.
    pub fn preset(name: &str) -> Result<Self> {
        CollimatorSpec::named(None, name)?.at_energy(140.0)
    }

    /// The collimator a camera's header names (manufacturer and collimator), at the photon
    /// energy `kev` reconstructed ([`CollimatorSpec::named`], [`CollimatorSpec::at_energy`]).
    ///
    /// # Errors
    /// As [`CollimatorSpec::named`] and [`CollimatorSpec::at_energy`].
    pub fn for_camera(manufacturer: Option<&str>, name: &str, kev: f64) -> Result<Self> {
        CollimatorSpec::named(manufacturer, name)?.at_energy(kev)
    }

    /// The system FWHM (mm) at `distance` mm from the collimator face (negative distances count as 0).
    pub fn fwhm(&self, distance: f64) -> f64 {
        let geometric = self.fwhm_at_face + self.fwhm_slope * distance.max(0.0);
        geometric.hypot(self.intrinsic_fwhm)
    }
}

/// A parallel-hole collimator as its maker builds it, and the camera's intrinsic resolution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollimatorSpec {
    /// Hole diameter (across flats for hexagonal holes), mm.
    pub hole_diameter: f64,
    /// Septal thickness, mm.
    pub septal_thickness: f64,
    /// Hole length, mm.
    pub hole_length: f64,
    /// The camera's intrinsic FWHM at 140 keV, mm.
    pub intrinsic_fwhm_140: f64,
}

/// Intrinsic FWHM at 140 keV (mm) the presets assume: the usual figure for cameras with a
/// 3/8-inch NaI(Tl) crystal (vendors state 3.5–3.9 mm); give a measured value through
/// [`CollimatorSpec`] where it matters.
pub const INTRINSIC_FWHM_140: f64 = 3.8;

/// Collimators by manufacturer and name: (names the header may give, hole diameter, septal
/// thickness, hole length), mm. From SIMIND's collimator database (`collim.col`, M. Ljungberg,
/// as distributed with PyTomography 3.4): codes GI-* (GE Infinia and Discovery NM/CT 670),
/// SY-* (Siemens Symbia), MA-* (Mediso AnyScan).
const GE: &[(&[&str], f64, f64, f64)] = &[
    (&["LEHR"], 1.5, 0.2, 35.0),
    (&["LEGP"], 1.9, 0.2, 35.0),
    (&["MEGP", "ME"], 3.0, 1.05, 58.0),
    (&["HEGP", "HE"], 4.0, 1.8, 66.0),
];
const SIEMENS: &[(&[&str], f64, f64, f64)] = &[
    (&["LEHR"], 1.11, 0.16, 24.05),
    (&["LEAP", "LEGP"], 1.45, 0.2, 24.05),
    (&["ME", "MELP", "MEGP"], 2.94, 1.14, 40.64),
    (&["HE", "HEGP"], 4.0, 2.0, 59.7),
];
const MEDISO: &[(&[&str], f64, f64, f64)] = &[
    (&["LEHR"], 1.5, 0.2, 35.0),
    (&["LEGP"], 1.9, 0.2, 35.0),
    (&["MEGP", "ME"], 2.5, 1.2, 35.0),
    (&["HEGP", "HE"], 3.4, 1.6, 55.0),
];

impl CollimatorSpec {
    /// The collimator `name` (as a DICOM header's Collimator/grid Name gives it, any case:
    /// LEHR, LEGP/LEAP, MEGP/ME/MELP, HEGP/HE) of `manufacturer`'s cameras: GE, Siemens or
    /// Mediso, recognised in the header's Manufacturer. Other or unknown manufacturers get
    /// Siemens Symbia's collimators of that type, the most common design.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a name none of them has, listing the known ones.
    pub fn named(manufacturer: Option<&str>, name: &str) -> Result<Self> {
        let words: Vec<String> = manufacturer
            .unwrap_or("")
            .to_ascii_uppercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .map(str::to_owned)
            .collect();
        let has = |w: &str| words.iter().any(|x| x == w);
        let table = if has("GE") || (has("GENERAL") && has("ELECTRIC")) {
            GE
        } else if has("MEDISO") {
            MEDISO
        } else {
            SIEMENS
        };
        let key = name.trim().to_ascii_uppercase();
        table
            .iter()
            .find(|(names, ..)| names.contains(&key.as_str()))
            .map(|&(_, d, t, l)| Self {
                hole_diameter: d,
                septal_thickness: t,
                hole_length: l,
                intrinsic_fwhm_140: INTRINSIC_FWHM_140,
            })
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown collimator {name:?}; expected LEHR, LEGP (LEAP), MEGP (ME, MELP) or \
                     HEGP (HE), or give the holes with CollimatorSpec"
                ))
            })
    }

    /// The response at photon energy `kev`: the holes' effective length `L − 2/μ_Pb(E)`
    /// (septal penetration) and the intrinsic FWHM scaled by `√(140 / E)`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an energy outside 50–600 keV (the lead table's range
    /// here); [`Error::InvalidGeometry`] for holes that are not positive and finite, or so
    /// short that lead stops nothing (`L ≤ 2/μ`).
    pub fn at_energy(&self, kev: f64) -> Result<Collimator> {
        let mu = lead_mu_per_mm(kev)?;
        let effective = self.hole_length - 2.0 / mu;
        if !(self.septal_thickness.is_finite() && self.septal_thickness >= 0.0) {
            return Err(Error::InvalidGeometry(format!(
                "septal thickness {} mm; expected a finite value ≥ 0",
                self.septal_thickness
            )));
        }
        if effective.is_nan() || effective <= 0.0 {
            return Err(Error::InvalidGeometry(format!(
                "holes of {} mm are no longer than twice the mean free path in lead at {kev} keV \
                 ({:.2} mm): the collimator does not collimate there",
                self.hole_length,
                2.0 / mu
            )));
        }
        if !(self.intrinsic_fwhm_140.is_finite() && self.intrinsic_fwhm_140 >= 0.0) {
            return Err(Error::InvalidGeometry(format!(
                "intrinsic FWHM {} mm; expected a finite value ≥ 0",
                self.intrinsic_fwhm_140
            )));
        }
        Collimator::from_holes(
            self.hole_diameter,
            effective,
            self.intrinsic_fwhm_140 * (140.0 / kev).sqrt(),
        )
    }
}

/// Lead's total mass attenuation coefficient (with coherent scattering) against energy, as
/// (keV, cm²/g), below and above the K edge (88.0 keV): NIST XCOM / Hubbell & Seltzer, NIST
/// Standard Reference Database 126, table 3 (Z = 82).
const LEAD_BELOW_K: [(f64, f64); 4] =
    [(50.0, 8.041), (60.0, 5.021), (80.0, 2.419), (K_EDGE, 1.910)];
const LEAD_ABOVE_K: [(f64, f64); 8] = [
    (K_EDGE, 7.683),
    (100.0, 5.549),
    (150.0, 2.014),
    (200.0, 0.9985),
    (300.0, 0.4031),
    (400.0, 0.2323),
    (500.0, 0.1614),
    (600.0, 0.1248),
];
/// Lead's K edge, keV.
const K_EDGE: f64 = 88.0045;
/// Lead's density, g/cm³ (the same table).
const LEAD_DENSITY: f64 = 11.35;

/// Lead's linear attenuation coefficient at `kev`, 1/mm, interpolated log-log in NIST's table.
fn lead_mu_per_mm(kev: f64) -> Result<f64> {
    if !(50.0..=600.0).contains(&kev) {
        return Err(Error::InvalidArgument(format!(
            "photon energy {kev} keV; the collimator model covers 50–600 keV"
        )));
    }
    let table: &[(f64, f64)] = if kev < K_EDGE {
        &LEAD_BELOW_K
    } else {
        &LEAD_ABOVE_K
    };
    let i = table
        .windows(2)
        .position(|w| kev <= w[1].0)
        .unwrap_or(table.len() - 2);
    let ((e0, m0), (e1, m1)) = (table[i], table[i + 1]);
    let t = (kev / e0).ln() / (e1 / e0).ln();
    let mass = (m0.ln() + t * (m1 / m0).ln()).exp();
    Ok(mass * LEAD_DENSITY / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_follows_the_nist_table() {
        // At the table's energies, the table's values; between them, within its trend.
        assert!((lead_mu_per_mm(200.0).unwrap() - 0.9985 * 1.135).abs() < 1e-12);
        assert!((lead_mu_per_mm(150.0).unwrap() - 2.014 * 1.135).abs() < 1e-12);
        let mu208 = lead_mu_per_mm(208.0).unwrap();
        assert!(mu208 < 0.9985 * 1.135 && mu208 > 0.4031 * 1.135);
        // The K edge: a jump by a factor of 4.
        assert!(lead_mu_per_mm(88.1).unwrap() > 3.5 * lead_mu_per_mm(87.9).unwrap());
        assert!(lead_mu_per_mm(40.0).is_err() && lead_mu_per_mm(f64::NAN).is_err());
    }

    #[test]
    fn penetration_shortens_the_holes_and_intrinsic_scales_with_energy() {
        let megp = CollimatorSpec::named(Some("GE MEDICAL SYSTEMS"), "megp").unwrap();
        assert_eq!(
            (megp.hole_diameter, megp.hole_length),
            (3.0, 58.0),
            "GE's MEGP from SIMIND's database"
        );
        let c = megp.at_energy(208.0).unwrap();
        let effective = 58.0 - 2.0 / lead_mu_per_mm(208.0).unwrap();
        assert!((c.fwhm_slope - 3.0 / effective).abs() < 1e-12);
        assert!(effective > 55.0 && effective < 57.0, "{effective}");
        assert!((c.intrinsic_fwhm - 3.8 * (140.0f64 / 208.0).sqrt()).abs() < 1e-12);
        // Higher energy: more penetration (a steeper slope), a sharper intrinsic response.
        let c364 = megp.at_energy(364.0).unwrap();
        assert!(c364.fwhm_slope > c.fwhm_slope && c364.intrinsic_fwhm < c.intrinsic_fwhm);
        // A low-energy collimator at 364 keV is nearly transparent but still collimates here;
        // one too short for the energy is refused.
        let thin = CollimatorSpec {
            hole_length: 3.0,
            ..megp
        };
        assert!(matches!(
            thin.at_energy(364.0),
            Err(Error::InvalidGeometry(_))
        ));
    }

    #[test]
    fn the_manufacturer_picks_the_table() {
        let ge = CollimatorSpec::named(Some("GE MEDICAL SYSTEMS"), "MEGP").unwrap();
        let siemens = CollimatorSpec::named(Some("SIEMENS NM"), "ME").unwrap();
        let mediso = CollimatorSpec::named(Some("Mediso"), "megp").unwrap();
        assert_eq!(ge.hole_length, 58.0);
        assert_eq!(siemens.hole_length, 40.64);
        assert_eq!(mediso.hole_diameter, 2.5);
        // "GE" as a word only; unknown manufacturers get Siemens' collimators.
        assert_eq!(
            CollimatorSpec::named(Some("GEMINI"), "megp").unwrap(),
            siemens
        );
        assert_eq!(CollimatorSpec::named(None, "MELP").unwrap(), siemens);
        assert!(matches!(
            CollimatorSpec::named(Some("GE"), "pinhole"),
            Err(Error::InvalidArgument(_))
        ));
        let lehr = Collimator::preset("LEHR").unwrap();
        assert!(lehr.fwhm(100.0) > lehr.fwhm(0.0));
        assert!(Collimator::preset("hegp").unwrap().fwhm(100.0) > lehr.fwhm(100.0));
        assert!(Collimator::linear(-1.0, 0.0, 0.0).is_err());
    }
}
