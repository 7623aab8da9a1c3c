//! Cylindrical PET scanners: rings of crystals, their block structure and time-of-flight
//! resolution.
//!
//! ## Crystal numbering and positions
//! A crystal is `(ring, crystal)`: ring `r ∈ 0..rings`, crystal `c ∈ 0..crystals_per_ring`
//! around the ring; flat crystal index `r · crystals_per_ring + c` (ring-major). Gap positions
//! between blocks are numbered like crystals (the mMR's 504 per ring are 56 blocks of a gap
//! and 8 crystals) and detect nothing: their efficiency is 0.
//!
//! In patient coordinates (DICOM LPS, mm, the centre of the scanner at the origin), crystal `c`
//! lies at angle `ψ = 2π·c / crystals_per_ring + view_offset` on a circle of the *effective*
//! radius `R = radius + interaction_depth`:
//!
//! ```text
//! x = R sin ψ,   y = −R cos ψ,   z = (r − (rings − 1)/2) · ring_spacing
//! ```
//!
//! so crystal 0 is anterior (`y = −R`, above a supine patient), numbers increase towards the
//! patient's left (+x), and ring 0 is the most inferior ring. This is the crystal ordering of
//! STIR and of Siemens sinograms (PETLINK bin addresses map to it unchanged).

use crate::error::{Error, Result};

/// Speed of light over two, mm per ps: a difference of arrival times Δt puts the annihilation
/// `Δt · c / 2` from the midpoint of the line of response.
pub const MM_PER_PS: f64 = 0.299_792_458 / 2.0;

/// Time-of-flight sampling of a scanner: `count` bins of `width_mm` along each line of
/// response, centred on its midpoint, and the timing resolution as a Gaussian FWHM.
///
/// TOF bin `k ∈ 0..count` is centred `(k − (count − 1)/2) · width_mm` from the midpoint of the
/// line of response, positive towards its second crystal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TofBins {
    /// Number of TOF bins (odd, so one is centred on the midpoint).
    pub count: u32,
    /// Width of one bin along the line of response, mm.
    pub width_mm: f64,
    /// Timing resolution as a FWHM along the line of response, mm.
    pub fwhm_mm: f64,
}

impl TofBins {
    /// `count` bins of `width_mm` with a resolution of `fwhm_mm`, all along the line of
    /// response.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for an even or zero count, or a non-finite or non-positive
    /// width or FWHM.
    pub fn new(count: u32, width_mm: f64, fwhm_mm: f64) -> Result<Self> {
        if count == 0 || count.is_multiple_of(2) {
            return Err(Error::InvalidGeometry(format!(
                "{count} TOF bins; expected an odd number (one centred on the midpoint)"
            )));
        }
        for (what, v) in [
            ("TOF bin width", width_mm),
            ("TOF resolution FWHM", fwhm_mm),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::InvalidGeometry(format!(
                    "{what} {v} mm; expected a finite, positive length"
                )));
            }
        }
        Ok(Self {
            count,
            width_mm,
            fwhm_mm,
        })
    }

    /// As [`TofBins::new`] with the bin width and the resolution in picoseconds of arrival-time
    /// difference (`mm = ps · c / 2`).
    ///
    /// # Errors
    /// As [`TofBins::new`].
    pub fn from_ps(count: u32, width_ps: f64, fwhm_ps: f64) -> Result<Self> {
        Self::new(count, width_ps * MM_PER_PS, fwhm_ps * MM_PER_PS)
    }

    /// Standard deviation of the timing kernel along the line of response, mm.
    pub fn sigma_mm(&self) -> f64 {
        self.fwhm_mm / crate::maths::FWHM_PER_SIGMA
    }

    /// Centre of TOF bin `k` from the midpoint of the line of response, mm (towards crystal 2).
    pub fn centre_mm(&self, k: u32) -> f64 {
        (k as f64 - (self.count as f64 - 1.0) / 2.0) * self.width_mm
    }
}

/// The energy window of a scanner's coincidences and its energy resolution, which decide how
/// many photons that lost energy in a Compton scatter are still counted (single scatter
/// simulation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnergyWindow {
    /// Lower level, keV.
    pub lower_kev: f64,
    /// Upper level, keV.
    pub upper_kev: f64,
    /// Energy resolution at 511 keV: FWHM / energy (e.g. 0.145 for 14.5 %). The FWHM at an
    /// energy `E` is taken as `resolution · √(511 keV · E)` (the photostatistics of a
    /// scintillator, as STIR models it).
    pub resolution: f64,
}

impl EnergyWindow {
    /// The window `lower_kev`–`upper_kev` with the resolution `resolution` at 511 keV.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] unless `0 ≤ lower < 511 < upper` keV (a window that holds
    /// the photopeak) and `0 < resolution < 1`.
    pub fn new(lower_kev: f64, upper_kev: f64, resolution: f64) -> Result<Self> {
        let holds_the_peak = lower_kev.is_finite()
            && upper_kev.is_finite()
            && (0.0..511.0).contains(&lower_kev)
            && upper_kev > 511.0;
        if !holds_the_peak {
            return Err(Error::InvalidGeometry(format!(
                "energy window {lower_kev}–{upper_kev} keV; expected finite levels either side \
                 of 511 keV"
            )));
        }
        if !(resolution > 0.0 && resolution < 1.0) {
            return Err(Error::InvalidGeometry(format!(
                "energy resolution {resolution}; expected FWHM / E at 511 keV in (0, 1), e.g. \
                 0.145"
            )));
        }
        Ok(Self {
            lower_kev,
            upper_kev,
            resolution,
        })
    }

    /// Probability that a photon of `energy_kev` is counted: its Gaussian energy spectrum
    /// (FWHM `resolution · √(511 · E)`) integrated over the window.
    pub fn efficiency(&self, energy_kev: f64) -> f64 {
        let sigma = self.resolution * (511.0 * energy_kev).sqrt() / crate::maths::FWHM_PER_SIGMA;
        let z = |level: f64| (level - energy_kev) / (std::f64::consts::SQRT_2 * sigma);
        0.5 * (libm::erf(z(self.upper_kev)) - libm::erf(z(self.lower_kev)))
    }
}

/// A cylindrical PET scanner: `rings` rings of `crystals_per_ring` crystal positions (gaps
/// included) on a cylinder.
#[derive(Debug, Clone, PartialEq)]
pub struct PetScanner {
    name: String,
    rings: u32,
    crystals_per_ring: u32,
    radius_mm: f64,
    interaction_depth_mm: f64,
    ring_spacing_mm: f64,
    crystals_per_block: u32,
    gaps_per_block: u32,
    first_gap: u32,
    view_offset: f64,
    tof: Option<TofBins>,
    energy_window: EnergyWindow,
}

impl PetScanner {
    /// A scanner of `rings` rings of `crystals_per_ring` crystal positions on a cylinder of
    /// inner `radius_mm`, with an average interaction depth `interaction_depth_mm` (the
    /// effective radius is their sum) and rings `ring_spacing_mm` apart. No block gaps and no
    /// TOF until [`PetScanner::with_blocks`] and [`PetScanner::with_tof`].
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for fewer than 2 crystals per ring or an odd count (lines of
    /// response pair crystals half a turn apart), no ring, more than 4096 rings or 65536
    /// crystals, or a length that is not finite and positive (the depth may be 0).
    pub fn new(
        name: &str,
        rings: u32,
        crystals_per_ring: u32,
        radius_mm: f64,
        interaction_depth_mm: f64,
        ring_spacing_mm: f64,
    ) -> Result<Self> {
        if crystals_per_ring < 2
            || !crystals_per_ring.is_multiple_of(2)
            || crystals_per_ring > 65536
        {
            return Err(Error::InvalidGeometry(format!(
                "{crystals_per_ring} crystals per ring; expected an even number from 2 to 65536"
            )));
        }
        if rings == 0 || rings > 4096 {
            return Err(Error::InvalidGeometry(format!(
                "{rings} rings; expected 1 to 4096"
            )));
        }
        for (what, v, zero_ok) in [
            ("radius", radius_mm, false),
            ("interaction depth", interaction_depth_mm, true),
            ("ring spacing", ring_spacing_mm, false),
        ] {
            if !(v.is_finite() && (v > 0.0 || (zero_ok && v == 0.0))) {
                return Err(Error::InvalidGeometry(format!(
                    "scanner {what} {v} mm; expected a finite, positive length"
                )));
            }
        }
        Ok(Self {
            name: name.to_string(),
            rings,
            crystals_per_ring,
            radius_mm,
            interaction_depth_mm,
            ring_spacing_mm,
            crystals_per_block: crystals_per_ring,
            gaps_per_block: 0,
            first_gap: 0,
            view_offset: 0.0,
            tof: None,
            energy_window: EnergyWindow {
                lower_kev: 435.0,
                upper_kev: 650.0,
                resolution: 0.12,
            },
        })
    }

    /// The same scanner made of blocks of `crystals` crystals and `gaps` gap positions each,
    /// around the ring, the first gap at position `first_gap` (`0..crystals + gaps`).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] when `crystals + gaps` does not divide the crystal positions
    /// per ring, `crystals` is 0 or `first_gap` is beyond a block.
    pub fn with_blocks(mut self, crystals: u32, gaps: u32, first_gap: u32) -> Result<Self> {
        let period = crystals + gaps;
        if crystals == 0 || !self.crystals_per_ring.is_multiple_of(period) || first_gap >= period {
            return Err(Error::InvalidGeometry(format!(
                "blocks of {crystals} crystals and {gaps} gaps (first gap at {first_gap}) do \
                 not tile {} positions per ring",
                self.crystals_per_ring
            )));
        }
        self.crystals_per_block = crystals;
        self.gaps_per_block = gaps;
        self.first_gap = first_gap;
        Ok(self)
    }

    /// The same scanner with the energy window `window`.
    pub fn with_energy_window(mut self, window: EnergyWindow) -> Self {
        self.energy_window = window;
        self
    }

    /// The same scanner with time-of-flight sampling `tof`.
    pub fn with_tof(mut self, tof: TofBins) -> Self {
        self.tof = Some(tof);
        self
    }

    /// The same scanner rotated: crystal 0 at angle `radians` (see the module docs).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for a non-finite angle.
    pub fn with_view_offset(mut self, radians: f64) -> Result<Self> {
        if !radians.is_finite() {
            return Err(Error::InvalidGeometry(format!(
                "view offset {radians} rad; expected a finite angle"
            )));
        }
        self.view_offset = radians;
        Ok(self)
    }

    /// The Siemens Biograph mMR: 64 rings 4.0625 mm apart, 504 positions per ring (56 blocks
    /// of 8 crystals and one gap, the gaps at positions 0, 9, 18, …: no prompt of the real
    /// list-mode file in `../shared/data` lands there), inner radius 328 mm, average
    /// interaction depth 7 mm, no TOF; energy window 430–610 keV (the list-mode and norm
    /// headers' levels), resolution 14.5 % at 511 keV (STIR's value for the mMR).
    pub fn mmr() -> Self {
        Self::new("Siemens mMR", 64, 504, 328.0, 7.0, 4.0625)
            .and_then(|s| s.with_blocks(8, 1, 0))
            .expect("mMR preset")
            .with_energy_window(EnergyWindow::new(430.0, 610.0, 0.145).expect("mMR window"))
    }

    /// A generic whole-body TOF scanner (not a vendor's): 48 rings 4 mm apart, 576 crystals
    /// per ring (48 blocks of 12), inner radius 400 mm, interaction depth 7 mm, 400 ps FWHM
    /// timing resolution sampled in 13 TOF bins of 120 ps.
    pub fn generic_tof() -> Self {
        let tof = TofBins::from_ps(13, 120.0, 400.0).expect("TOF preset");
        Self::new("generic TOF", 48, 576, 400.0, 7.0, 4.0)
            .and_then(|s| s.with_blocks(12, 0, 0))
            .expect("generic TOF preset")
            .with_tof(tof)
    }

    /// The scanner's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Number of rings.
    pub fn rings(&self) -> u32 {
        self.rings
    }
    /// Crystal positions per ring, gaps included.
    pub fn crystals_per_ring(&self) -> u32 {
        self.crystals_per_ring
    }
    /// Inner radius of the crystal cylinder, mm.
    pub fn radius_mm(&self) -> f64 {
        self.radius_mm
    }
    /// Average depth of interaction, mm.
    pub fn interaction_depth_mm(&self) -> f64 {
        self.interaction_depth_mm
    }
    /// Radius at which lines of response end: inner radius + interaction depth, mm.
    pub fn effective_radius_mm(&self) -> f64 {
        self.radius_mm + self.interaction_depth_mm
    }
    /// Distance between ring centres, mm.
    pub fn ring_spacing_mm(&self) -> f64 {
        self.ring_spacing_mm
    }
    /// `(crystals, gaps, position of the first gap)` per block around the ring.
    pub fn blocks(&self) -> (u32, u32, u32) {
        (self.crystals_per_block, self.gaps_per_block, self.first_gap)
    }
    /// Angle of crystal 0, radians.
    pub fn view_offset(&self) -> f64 {
        self.view_offset
    }
    /// Time-of-flight sampling, if the scanner has it.
    pub fn tof(&self) -> Option<TofBins> {
        self.tof
    }
    /// The energy window and resolution (a scanner built with [`PetScanner::new`] has
    /// 435–650 keV and 12 % until [`PetScanner::with_energy_window`]: an LSO/LYSO scanner's
    /// typical values, not any vendor's).
    pub fn energy_window(&self) -> EnergyWindow {
        self.energy_window
    }
    /// Axial length covered by the rings (centre of the first to centre of the last, plus one
    /// ring spacing), mm.
    pub fn axial_length_mm(&self) -> f64 {
        self.rings as f64 * self.ring_spacing_mm
    }

    /// Whether crystal position `crystal` (around the ring) is a gap between blocks.
    pub fn is_gap(&self, crystal: u32) -> bool {
        let period = self.crystals_per_block + self.gaps_per_block;
        (crystal + period - self.first_gap) % period < self.gaps_per_block
    }

    /// Angle of crystal position `crystal` around the ring, radians (see the module docs).
    pub fn crystal_angle(&self, crystal: u32) -> f64 {
        std::f64::consts::TAU * crystal as f64 / self.crystals_per_ring as f64 + self.view_offset
    }

    /// In-plane position `(x, y)` of crystal position `crystal` on the effective radius, mm.
    pub fn crystal_xy(&self, crystal: u32) -> [f64; 2] {
        let (s, c) = self.crystal_angle(crystal).sin_cos();
        let r = self.effective_radius_mm();
        [r * s, -r * c]
    }

    /// Axial position of ring `ring`, mm (rings centred on z = 0).
    pub fn ring_z(&self, ring: u32) -> f64 {
        (ring as f64 - (self.rings as f64 - 1.0) / 2.0) * self.ring_spacing_mm
    }

    /// Checks that `(ring, crystal)` exists.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the scanner's ranges.
    pub fn check_crystal(&self, ring: u32, crystal: u32) -> Result<()> {
        if ring >= self.rings || crystal >= self.crystals_per_ring {
            return Err(Error::InvalidArgument(format!(
                "crystal (ring {ring}, crystal {crystal}) is not on the {}: expected ring < {} \
                 and crystal < {}",
                self.name, self.rings, self.crystals_per_ring
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mmr_preset_has_the_published_geometry() {
        let s = PetScanner::mmr();
        assert_eq!((s.rings(), s.crystals_per_ring()), (64, 504));
        assert_eq!(s.effective_radius_mm(), 335.0);
        assert_eq!(s.blocks(), (8, 1, 0));
        // 56 blocks, one gap each.
        assert_eq!((0..504).filter(|&c| s.is_gap(c)).count(), 56);
        assert!(s.is_gap(0) && s.is_gap(9) && !s.is_gap(8) && !s.is_gap(1));
        // Crystal 0 anterior, 126 (a quarter turn) at the patient's left.
        let [x0, y0] = s.crystal_xy(0);
        assert!(x0.abs() < 1e-9 && (y0 + 335.0).abs() < 1e-9);
        let [x1, y1] = s.crystal_xy(126);
        assert!((x1 - 335.0).abs() < 1e-9 && y1.abs() < 1e-9);
        assert_eq!(s.ring_z(0), -s.ring_z(63));
        // Non-arc-corrected bin width at the centre, as the Interfile headers give it.
        let bin = 335.0 * (std::f64::consts::PI / 504.0).sin();
        assert!((bin - 2.0882).abs() < 1e-3);
    }

    #[test]
    fn bad_scanners_are_typed_errors() {
        assert!(PetScanner::new("odd", 4, 11, 300.0, 0.0, 4.0).is_err());
        assert!(PetScanner::new("no rings", 0, 12, 300.0, 0.0, 4.0).is_err());
        assert!(PetScanner::new("nan", 4, 12, f64::NAN, 0.0, 4.0).is_err());
        let s = PetScanner::new("s", 4, 12, 300.0, 0.0, 4.0).unwrap();
        assert!(s.clone().with_blocks(5, 0, 0).is_err());
        assert!(s.clone().with_blocks(5, 1, 6).is_err());
        assert!(s.check_crystal(4, 0).is_err() && s.check_crystal(3, 11).is_ok());
        assert!(TofBins::new(4, 10.0, 60.0).is_err());
        let tof = TofBins::from_ps(13, 120.0, 400.0).unwrap();
        assert!((tof.fwhm_mm - 59.958).abs() < 1e-3);
        assert_eq!(tof.centre_mm(6), 0.0);
    }
}
