//! Siemens component-based normalisation (ECAT8 `.n` + `.n.hdr`, "sinogram expandable from
//! norm components"), as the mMR writes it. The layout of the components, and how they
//! combine, follow the format's description in STIR's `BinNormalisationFromECAT8` (read for
//! the facts; the code here is our own):
//!
//! 1. geometric effects, `[2·rings − 1 planes][tangential]`, indexed by `r₁ + r₂`;
//! 2. crystal interference, `[tangential][crystals per block incl. gap]`, indexed by the
//!    unmashed view modulo the block;
//! 3. crystal efficiencies, `[rings][crystals per ring]`; on the mMR stored one crystal
//!    ahead of the list-mode numbering (shifted by one on reading), gaps set to 0;
//! 4. axial effects, one per plane of the file's span-11 layout (divided);
//! 5. paralysing ring dead-time parameters, one per ring;
//! 6. non-paralysing ring dead-time parameters, one per ring;
//! 7. a transaxial crystal dead-time parameter per crystal of a block (gap included);
//! 8. additional axial effects: not read (as STIR).
//!
//! Components 5 to 7 are read when the header lists them ([`MmrDeadTime`]) and applied by
//! [`crate::physics::dead_time`] with the list mode's singles, as NiftyPET does
//! (NiftyPET/NIPET, `niftypet/nipet/mmrnorm.py` reads them in this order, `src/norm.cu`
//! applies 5 and 6; 7 is read and not used there either).
//!
//! The efficiency of a crystal pair `(r₁, c₁), (r₂, c₂)` at unmashed view `v`, tangential `t`
//! is `geometric[r₁ + r₂][t] · interference[t][v mod block] · ε[r₁][c₁] · ε[r₂][c₂] /
//! axial[plane of (r₁, r₂)]`; a bin's factor is the mean over its crystal pairs (the model
//! already counts the pairs, see [`crate::Pet3dProjector`]).

use super::interfile::{InterfileHeader, shown_list};
use crate::error::{Error, Result};
use crate::geometry::pet::{PetScanner, SinogramLayout};
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;
use std::path::Path;

/// Radial bins of the mMR's normalisation components (its sinograms' tangential bins).
const MMR_BINS: usize = 344;

/// The components of an mMR normalisation file.
#[derive(Debug, Clone)]
pub struct MmrNormalisation {
    scanner: PetScanner,
    bins: usize,
    block: usize,
    /// `[2·rings − 1][bins]`.
    pub geometric: Vec<f32>,
    /// `[bins][block]`.
    pub interference: Vec<f32>,
    /// `[rings][crystals per ring]`, in list-mode numbering, gaps 0.
    pub efficiencies: Vec<f32>,
    /// One per plane of the span-11 layout.
    pub axial: Vec<f32>,
    /// Components 5 to 7, when the header lists them.
    pub dead_time: Option<MmrDeadTime>,
    axial_layout: SinogramLayout,
}

/// The dead-time components of an mMR normalisation (5 to 7), as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MmrDeadTime {
    /// Component 5, per ring: the paralysing dead-time parameter, s per count (the mMR's
    /// file stores −1.116 µs: the sign is the model's, see [`crate::physics::dead_time`]).
    pub paralysing: Vec<f32>,
    /// Component 6, per ring: the non-paralysing dead-time parameter, s per count.
    pub non_paralysing: Vec<f32>,
    /// Component 7, per crystal position of a block (gap included), when listed: read, not
    /// applied (NiftyPET does not apply it; STIR's ECAT7 code notes the vendor did not).
    pub crystal: Option<Vec<f32>>,
}

impl MmrNormalisation {
    /// Reads the file whose header is `path` (`.n.hdr`) or whose data file is `path` (`.n`).
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Format`] when the header does not describe mMR norm
    /// components (sizes, offsets) or the data file is shorter than they need.
    pub fn read(path: &Path) -> Result<Self> {
        let header_path = if path.extension().is_some_and(|e| e == "hdr") {
            path.to_path_buf()
        } else {
            let mut p = path.as_os_str().to_owned();
            p.push(".hdr");
            p.into()
        };
        let h = InterfileHeader::read(&header_path)?;
        let bad = |reason: String| Error::Format {
            path: header_path.clone(),
            reason,
        };
        let format = h.get("data format").unwrap_or("");
        if !format.contains("norm components") {
            return Err(bad(format!(
                "data format `{format}`: expected `sinogram - expandable from norm components`"
            )));
        }
        let scanner = PetScanner::mmr();
        let rings = scanner.rings() as usize;
        let crystals = scanner.crystals_per_ring() as usize;
        let size = |k: usize| h.list(&format!("matrix size [{k}]"));
        let (g, i, e, a) = (size(1)?, size(2)?, size(3)?, size(4)?);
        let bins = MMR_BINS;
        // The interference repeats with the block (crystals and gap): 9 on the mMR.
        let (per_block, gaps, _) = scanner.blocks();
        let block = (per_block + gaps) as usize;
        let expect = [
            (
                &g,
                vec![bins as f64, (2 * rings - 1) as f64],
                "geometric effects",
            ),
            (&i, vec![block as f64, bins as f64], "crystal interference"),
            (
                &e,
                vec![crystals as f64, rings as f64],
                "crystal efficiencies",
            ),
        ];
        for (got, want, what) in expect {
            if *got != want {
                return Err(bad(format!(
                    "{what}: matrix size {}, expected {} for the mMR",
                    shown_list(got),
                    shown_list(&want)
                )));
            }
        }
        let axial_layout = SinogramLayout::new(scanner.clone(), bins as u32, 11, 60, 1)
            .map_err(|e| bad(format!("{e}")))?;
        if a != vec![axial_layout.planes() as f64] {
            return Err(bad(format!(
                "axial effects: matrix size {}, expected [{}] (span 11)",
                shown_list(&a),
                axial_layout.planes()
            )));
        }
        let data_path = h.data_file()?;
        let raw = std::fs::read(&data_path).map_err(|source| Error::Io {
            path: data_path.clone(),
            source,
        })?;
        let read = |k: usize, n: usize| -> Result<Vec<f32>> {
            let offset = h.byte_offset(&format!("data offset in bytes [{k}]"))? as usize;
            let end = offset.saturating_add(4 * n);
            if raw.len() < end {
                return Err(Error::Format {
                    path: data_path.clone(),
                    reason: format!(
                        "truncated: component {k} needs bytes {offset}..{end}, the file has {}",
                        raw.len()
                    ),
                });
            }
            let v: Vec<f32> = raw[offset..end]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            crate::error::check_finite("normalisation component", &v)?;
            // Efficiencies are ≥ 0, and a component of zeros would zero every factor.
            if let Some(at) = v.iter().position(|&x| x < 0.0) {
                return Err(bad(format!(
                    "component {k} holds {} at index {at}: expected values ≥ 0",
                    v[at]
                )));
            }
            if v.iter().all(|&x| x == 0.0) {
                return Err(bad(format!(
                    "component {k} is all zeros: it would zero every normalisation factor"
                )));
            }
            Ok(v)
        };
        let dead_time = read_dead_time(&h, &raw, &data_path, rings, block)?;
        let geometric = read(1, bins * (2 * rings - 1))?;
        let interference = read(2, block * bins)?;
        let stored = read(3, rings * crystals)?;
        let axial = read(4, axial_layout.planes() as usize)?;
        // Stored one crystal ahead; gaps detect nothing.
        let mut efficiencies = vec![0.0f32; rings * crystals];
        for r in 0..rings {
            for c in 0..crystals {
                let from = (c + crystals - 1) % crystals;
                efficiencies[r * crystals + c] = if scanner.is_gap(c as u32) {
                    0.0
                } else {
                    stored[r * crystals + from]
                };
            }
        }
        Ok(Self {
            scanner,
            bins,
            block,
            geometric,
            interference,
            efficiencies,
            axial,
            dead_time,
            axial_layout,
        })
    }

    /// Tangential bins the components are given for.
    pub fn bins(&self) -> usize {
        self.bins
    }

    /// The efficiency of crystal pair `(r1, c1), (r2, c2)` seen at unmashed view `view` and
    /// tangential index `tangential` (`0..bins`), ordered as the layout orders it.
    pub fn pair_efficiency(
        &self,
        view: u32,
        tangential: usize,
        (r1, c1): (u32, u32),
        (r2, c2): (u32, u32),
    ) -> f32 {
        let n = self.scanner.crystals_per_ring() as usize;
        let plane = (r1 + r2) as usize;
        let axial = match self.axial_layout.plane_of(r1, r2) {
            Some(p) => self.axial[p as usize],
            None => 1.0,
        };
        let e = self.efficiencies[r1 as usize * n + c1 as usize]
            * self.efficiencies[r2 as usize * n + c2 as usize];
        if e == 0.0 || axial == 0.0 {
            return 0.0;
        }
        self.geometric[plane * self.bins + tangential]
            * self.interference[tangential * self.block + view as usize % self.block]
            * e
            / axial
    }

    /// Normalisation factors for `layout` (an mMR layout with at most the file's tangential
    /// bins): per line of response the mean efficiency of its crystal pairs, in the layout's
    /// shape without TOF, for [`crate::Pet3dProjector::with_normalisation`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a layout of another scanner or with more bins.
    pub fn factors(&self, layout: &SinogramLayout) -> Result<ArrayD<f32>> {
        let plain = layout.clone().without_tof();
        if plain.scanner() != &self.scanner || plain.tangential() as usize > self.bins {
            return Err(Error::InvalidArgument(format!(
                "normalisation of the {} with {} tangential bins: the layout is of the {} with {}",
                self.scanner.name(),
                self.bins,
                plain.scanner().name(),
                plain.tangential()
            )));
        }
        let (planes, tang) = (plain.planes(), plain.tangential());
        let shift = (self.bins - tang as usize) / 2;
        let ring_pairs: Vec<Vec<(u32, u32)>> = (0..planes).map(|p| plain.ring_pairs(p)).collect();
        let mut out = vec![0.0f32; plain.len()];
        out.par_chunks_mut((planes * tang) as usize)
            .enumerate()
            .for_each(|(view, chunk)| {
                for (plane, pairs) in ring_pairs.iter().enumerate() {
                    for i in 0..tang {
                        let t = i as i32 - tang as i32 / 2;
                        let mut sum = 0.0f64;
                        let mut n = 0;
                        for j in 0..plain.view_mashing() {
                            let v = view as u32 * plain.view_mashing() + j;
                            let (c1, c2) = plain.crystals_of(v, t);
                            for &(r1, r2) in pairs {
                                sum +=
                                    self.pair_efficiency(v, i as usize + shift, (r1, c1), (r2, c2))
                                        as f64;
                                n += 1;
                            }
                        }
                        chunk[plane * tang as usize + i as usize] = (sum / n as f64) as f32;
                    }
                }
            });
        Ok(ArrayD::from_shape_vec(IxDyn(&plain.shape()), out).expect("layout shape"))
    }
}

/// Components 5 to 7 (the dead-time parameters) of the norm whose header is `h` and data
/// `raw`, when the header names components 5 and 6 `… ring DT parameters`; `None` when it
/// lists fewer components or others.
///
/// # Errors
/// [`Error::Format`] when a listed component has not one value per ring (7: per crystal of a
/// block), the data file is shorter than it, or a value is not finite.
fn read_dead_time(
    h: &InterfileHeader,
    raw: &[u8],
    data_path: &Path,
    rings: usize,
    block: usize,
) -> Result<Option<MmrDeadTime>> {
    let name = |k: usize| {
        h.get(&format!("normalization component [{k}]"))
            .map(|s| s.trim().to_ascii_lowercase())
    };
    let named = |k: usize, what: &str| name(k).is_some_and(|n| n == what);
    if !(named(5, "paralyzing ring dt parameters") && named(6, "non-paralyzing ring dt parameters"))
    {
        return Ok(None);
    }
    let component = |k: usize, n: usize| -> Result<Vec<f32>> {
        let what = name(k).unwrap_or_default();
        let size = h.list(&format!("matrix size [{k}]"))?;
        if size != vec![n as f64] {
            return Err(Error::Format {
                path: h.path().to_path_buf(),
                reason: format!(
                    "component {k} ({what}): matrix size {}, expected {{{n}}} for the mMR",
                    shown_list(&size)
                ),
            });
        }
        let offset = h.byte_offset(&format!("data offset in bytes [{k}]"))? as usize;
        let end = offset.saturating_add(4 * n);
        if raw.len() < end {
            return Err(Error::Format {
                path: data_path.to_path_buf(),
                reason: format!(
                    "truncated: component {k} ({what}) needs bytes {offset}..{end}, the file \
                     has {}",
                    raw.len()
                ),
            });
        }
        let v: Vec<f32> = raw[offset..end]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        crate::error::check_finite("dead-time component", &v)?;
        Ok(v)
    };
    let paralysing = component(5, rings)?;
    let non_paralysing = component(6, rings)?;
    let crystal = if named(7, "tx crystal dt parameter") {
        Some(component(7, block)?)
    } else {
        None
    };
    Ok(Some(MmrDeadTime {
        paralysing,
        non_paralysing,
        crystal,
    }))
}
