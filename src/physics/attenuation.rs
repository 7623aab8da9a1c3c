//! CT numbers (HU) to linear attenuation coefficients μ (1/mm) at an emission energy: the
//! bilinear water–bone model used for SPECT-CT and PET-CT attenuation maps.
//!
//! # Model
//! A CT voxel is read as a mixture of two materials, chosen by its CT number `h`:
//! - `h ≤ 0`: air and water, `μ(E) = μ_water(E) · (1 + h/1000)` (0 at −1000 HU and below; air's
//!   own μ, 0.1 % of water's, is neglected);
//! - `h > 0`: water and cortical bone, `μ(E) = μ_water(E) + h · (μ_bone(E) − μ_water(E)) / h_bone`,
//!   where `h_bone` is the CT number cortical bone has on this CT at its tube voltage.
//!
//! The emission energy enters through `μ_water(E)` and `μ_bone(E)`; the CT's X-ray spectrum only
//! through `h_bone`, which is why it depends on the tube voltage (kVp) and little else.
//!
//! # Where the numbers come from
//! - **μ/ρ of water and of cortical bone** (ICRU Report 44, ρ = 1.92 g/cm³): NIST Standard
//!   Reference Database 126, *X-Ray Mass Attenuation Coefficients* (Hubbell & Seltzer, 2004),
//!   total attenuation with coherent scattering, every point of the database's own energy grid
//!   from 40 keV to 1 MeV; between them, log–log interpolation. Water ρ = 1.00 g/cm³.
//! - **`h_bone` by tube voltage** ([`bone_ct_number`]): derived from the vendors' bilinear
//!   HU→μ coefficients compiled in PyTomography's `data/ct_table.csv` (PyTomography 3.4, MIT
//!   licence): for every radionuclide energy listed, `h_bone = (μ_bone(E) − μ_water(E)) /
//!   upper slope`. The per-energy values agree to ±1.5 %, i.e. the vendor curves are this
//!   model. GE Optima CT540 gives 1766, 1474, 1358, 1248 HU at 80, 100, 120, 140 kVp; Siemens
//!   Symbia T gives 1857, 1442, 1293 HU at 80, 110, 130 kVp. The default table is GE's, with
//!   Siemens' 110 and 130 kVp points; between points it is interpolated linearly. Give your
//!   scanner's own value with [`HuToMu::with_bone_ct_number`], or your own curve with
//!   [`HuToMu::bilinear`].
//!
//! Those vendor curves also steepen the air–water branch by 6–10 % (GE) over the mixture
//! model's `μ_water/1000`; tomors keeps the physical mixture there (lung at −800 HU gets 0.20
//! μ_water here, 0.14–0.15 μ_water on the vendor curves).
//!
//! Iodinated contrast and metal are read as bone and so over-corrected; that is the model's
//! known limit.

use ndarray::{Array3, ArrayView3};
use rayon::prelude::*;

use crate::error::{Error, Result, check_finite};

/// NIST SRD 126 energies (keV) and mass attenuation coefficients μ/ρ (cm²/g, with coherent
/// scattering) of liquid water and ICRU-44 cortical bone.
const NIST_KEV: [f64; 13] = [
    40.0, 50.0, 60.0, 80.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0, 600.0, 800.0, 1000.0,
];
const WATER_MU_RHO: [f64; 13] = [
    0.2683, 0.2269, 0.2059, 0.1837, 0.1707, 0.1505, 0.1370, 0.1186, 0.1061, 0.09687, 0.08956,
    0.07865, 0.07072,
];
const BONE_MU_RHO: [f64; 13] = [
    0.6655, 0.4242, 0.3148, 0.2229, 0.1855, 0.1480, 0.1309, 0.1113, 0.09908, 0.09022, 0.08332,
    0.07308, 0.06566,
];
/// Density of ICRU-44 cortical bone, g/cm³.
const BONE_DENSITY: f64 = 1.92;

/// Tube voltage (kVp) and the CT number of cortical bone at it (see the module docs).
const BONE_CT_NUMBER: [(f64, f64); 6] = [
    (80.0, 1766.0),
    (100.0, 1474.0),
    (110.0, 1442.0),
    (120.0, 1358.0),
    (130.0, 1293.0),
    (140.0, 1248.0),
];

fn check_energy(kev: f64) -> Result<()> {
    let (lo, hi) = (NIST_KEV[0], NIST_KEV[NIST_KEV.len() - 1]);
    if kev.is_finite() && (lo..=hi).contains(&kev) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "photon energy {kev} keV is outside the tabulated {lo}–{hi} keV"
        )))
    }
}

/// Log–log interpolation of a NIST column at `kev` (checked to be in range).
fn interpolate(column: &[f64; 13], kev: f64) -> f64 {
    let i = NIST_KEV
        .windows(2)
        .position(|w| kev <= w[1])
        .unwrap_or(NIST_KEV.len() - 2);
    let t = (kev / NIST_KEV[i]).ln() / (NIST_KEV[i + 1] / NIST_KEV[i]).ln();
    (column[i].ln() + t * (column[i + 1] / column[i]).ln()).exp()
}

/// μ of liquid water at `kev`, 1/mm (NIST SRD 126).
///
/// # Errors
/// [`Error::InvalidArgument`] for an energy outside 40–1000 keV.
pub fn water_mu(kev: f64) -> Result<f64> {
    check_energy(kev)?;
    Ok(interpolate(&WATER_MU_RHO, kev) / 10.0)
}

/// μ of ICRU-44 cortical bone (1.92 g/cm³) at `kev`, 1/mm (NIST SRD 126).
///
/// # Errors
/// As [`water_mu`].
pub fn cortical_bone_mu(kev: f64) -> Result<f64> {
    check_energy(kev)?;
    Ok(interpolate(&BONE_MU_RHO, kev) * BONE_DENSITY / 10.0)
}

/// The CT number (HU) of cortical bone on a CT run at `kvp`, interpolated in the table of the
/// module docs (80–140 kVp).
///
/// # Errors
/// [`Error::InvalidArgument`] outside 80–140 kVp: give the bone CT number yourself there.
pub fn bone_ct_number(kvp: f64) -> Result<f64> {
    let (lo, hi) = (
        BONE_CT_NUMBER[0].0,
        BONE_CT_NUMBER[BONE_CT_NUMBER.len() - 1].0,
    );
    if !(kvp.is_finite() && (lo..=hi).contains(&kvp)) {
        return Err(Error::InvalidArgument(format!(
            "no cortical-bone CT number is tabulated for {kvp} kVp (only {lo}–{hi} kVp); \
             give your scanner's with HuToMu::with_bone_ct_number"
        )));
    }
    let i = BONE_CT_NUMBER
        .windows(2)
        .position(|w| kvp <= w[1].0)
        .unwrap_or(BONE_CT_NUMBER.len() - 2);
    let ((k0, h0), (k1, h1)) = (BONE_CT_NUMBER[i], BONE_CT_NUMBER[i + 1]);
    Ok(h0 + (kvp - k0) / (k1 - k0) * (h1 - h0))
}

/// A bilinear map from CT numbers (HU) to μ (1/mm), broken at 0 HU:
/// `μ = max(0, μ_water + h · lower_slope)` for `h ≤ 0`, `μ_water + h · upper_slope` above.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HuToMu {
    /// μ at 0 HU (water), 1/mm.
    pub mu_water: f64,
    /// Slope below 0 HU, 1/mm per HU.
    pub lower_slope: f64,
    /// Slope above 0 HU, 1/mm per HU.
    pub upper_slope: f64,
}

impl HuToMu {
    /// The water–bone model at emission energy `kev` for a CT run at `kvp` (the bone CT
    /// number from [`bone_ct_number`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an energy outside 40–1000 keV or a tube voltage
    /// outside 80–140 kVp.
    pub fn at_energy(kev: f64, kvp: f64) -> Result<Self> {
        Self::with_bone_ct_number(kev, bone_ct_number(kvp)?)
    }

    /// The water–bone model at `kev` with cortical bone at `bone_hu` on this CT.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an energy outside 40–1000 keV or `bone_hu` not in
    /// (0, 4000].
    pub fn with_bone_ct_number(kev: f64, bone_hu: f64) -> Result<Self> {
        if !(bone_hu.is_finite() && bone_hu > 0.0 && bone_hu <= 4000.0) {
            return Err(Error::InvalidArgument(format!(
                "cortical bone CT number {bone_hu} HU; expected a value in (0, 4000]"
            )));
        }
        let (water, bone) = (water_mu(kev)?, cortical_bone_mu(kev)?);
        Ok(Self {
            mu_water: water,
            lower_slope: water / 1000.0,
            upper_slope: (bone - water) / bone_hu,
        })
    }

    /// A curve of your own (e.g. your scanner vendor's), in 1/mm and 1/mm per HU.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless every coefficient is finite and ≥ 0 and `mu_water`
    /// is > 0.
    pub fn bilinear(mu_water: f64, lower_slope: f64, upper_slope: f64) -> Result<Self> {
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        if !(ok(mu_water) && mu_water > 0.0 && ok(lower_slope) && ok(upper_slope)) {
            return Err(Error::InvalidArgument(format!(
                "HU→μ coefficients μ_water {mu_water} 1/mm, slopes {lower_slope} and \
                 {upper_slope} 1/mm per HU; expected finite values ≥ 0 with μ_water > 0"
            )));
        }
        Ok(Self {
            mu_water,
            lower_slope,
            upper_slope,
        })
    }

    /// μ (1/mm) for one CT number (HU).
    pub fn mu(&self, hu: f64) -> f64 {
        if hu <= 0.0 {
            (self.mu_water + hu * self.lower_slope).max(0.0)
        } else {
            self.mu_water + hu * self.upper_slope
        }
    }

    /// The μ-map (1/mm) of a CT volume in HU, voxel by voxel; same shape.
    ///
    /// # Errors
    /// [`Error::NonFinite`] when a CT number is NaN or infinite.
    pub fn apply(&self, ct: ArrayView3<'_, f32>) -> Result<Array3<f32>> {
        let ct = ct.as_standard_layout();
        let hu = ct.as_slice().expect("standard layout");
        check_finite("CT volume (HU)", hu)?;
        let mut mu = Array3::zeros(ct.raw_dim());
        mu.as_slice_mut()
            .expect("fresh array")
            .par_iter_mut()
            .zip(hu.par_iter())
            .for_each(|(m, &h)| *m = self.mu(h as f64) as f32);
        Ok(mu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nist_values_at_photopeaks() {
        // Tc-99m 140.5 keV: μ_water = 0.1536 /cm (NIST full grid through 140.5 keV).
        assert!((water_mu(140.5).unwrap() - 0.01536).abs() < 2e-5);
        // 511 keV: 0.0960 /cm for water, 0.1716 /cm for cortical bone.
        assert!((water_mu(511.0).unwrap() - 0.00960).abs() < 2e-5);
        assert!((cortical_bone_mu(511.0).unwrap() - 0.01716).abs() < 4e-5);
        // Tabulated points come back exactly.
        assert!((water_mu(200.0).unwrap() - 0.01370).abs() < 1e-12);
        assert!(water_mu(30.0).is_err() && water_mu(f64::NAN).is_err());
    }

    #[test]
    fn bilinear_model_hits_air_water_and_bone() {
        let m = HuToMu::at_energy(208.0, 120.0).unwrap();
        let (w, b) = (water_mu(208.0).unwrap(), cortical_bone_mu(208.0).unwrap());
        assert_eq!(m.mu(-1000.0), 0.0);
        assert_eq!(m.mu(-2000.0), 0.0);
        assert!((m.mu(0.0) - w).abs() < 1e-15);
        assert!((m.mu(-500.0) - w / 2.0).abs() < 1e-12);
        assert!((m.mu(1358.0) - b).abs() < 1e-12);
        // Continuous at the break, increasing on both sides.
        assert!((m.mu(-1e-9) - m.mu(1e-9)).abs() < 1e-12);
        assert!(m.mu(100.0) > m.mu(0.0) && m.mu(0.0) > m.mu(-100.0));
    }

    #[test]
    fn matches_the_vendor_curve_it_was_derived_from() {
        // GE Optima CT540, 120 kVp, Lu-177 208 keV: upper slope 8.365e-5 /cm per HU
        // (PyTomography's ct_table.csv); ours within 2 %.
        let m = HuToMu::at_energy(208.0, 120.0).unwrap();
        assert!((m.upper_slope * 10.0 / 8.365e-5 - 1.0).abs() < 0.02);
        // Siemens Symbia T16, 130 kVp, Tc-99m 140 keV: 1.0895e-4 /cm per HU.
        let s = HuToMu::at_energy(140.0, 130.0).unwrap();
        assert!((s.upper_slope * 10.0 / 1.0895e-4 - 1.0).abs() < 0.03);
    }

    #[test]
    fn bone_ct_number_interpolates_and_refuses_outside() {
        assert_eq!(bone_ct_number(120.0).unwrap(), 1358.0);
        assert!((bone_ct_number(90.0).unwrap() - 1620.0).abs() < 1e-9);
        assert!(bone_ct_number(70.0).is_err() && bone_ct_number(150.0).is_err());
        assert!(HuToMu::with_bone_ct_number(140.0, 0.0).is_err());
        assert!(HuToMu::bilinear(0.0, 1e-5, 1e-5).is_err());
        assert!(HuToMu::bilinear(0.015, -1e-5, 1e-5).is_err());
    }

    #[test]
    fn apply_maps_every_voxel_and_refuses_nan() {
        let m = HuToMu::at_energy(140.5, 120.0).unwrap();
        let ct = Array3::from_shape_fn((2, 3, 4), |(z, y, x)| {
            (z * 500 + y * 100 + x) as f32 - 600.0
        });
        let mu = m.apply(ct.view()).unwrap();
        for (h, u) in ct.iter().zip(&mu) {
            assert!((*u as f64 - m.mu(*h as f64)).abs() < 1e-7);
        }
        let mut bad = ct.clone();
        bad[[1, 1, 1]] = f32::NAN;
        assert!(m.apply(bad.view()).is_err());
    }
}
