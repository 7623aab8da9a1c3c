//! 3D PET sinograms: the bins of a [`PetScanner`]'s lines of response, organised in segments
//! of ring differences, with axial compression (span), a maximum ring difference, view
//! mashing and time-of-flight bins.
//!
//! ## Data order
//! `sino[view, plane, tof, tangential]` (C order; `[view, plane, tangential]` without TOF),
//! so that a subset of views is one contiguous block, like every tomors projection stack.
//! Planes are the segments' axial positions, segment after segment in the order
//! `0, −1, +1, −2, +2, …` (the order of Siemens sinograms and PETLINK bin addresses); STIR's
//! Interfile order (`[segment −K…K][view][axial][tangential]`) is a permutation of it
//! ([`SinogramLayout::stir_order_for`]).
//!
//! ## Bins and crystal pairs
//! With `n` crystals per ring, unmashed view `v ∈ 0..n/2` and tangential position
//! `t ∈ −T/2 … T/2 − 1` (index `t + T/2`) pair
//! `c₁ = (v + ⌊t/2⌋) mod n` and `c₂ = (v − ⌊(t+1)/2⌋ + n/2) mod n` (the CTI/STIR convention).
//! A crystal pair `(r₁, c₁), (r₂, c₂)` is ordered so that its crystals match this formula and
//! its ring difference is `r₂ − r₁`, which picks the segment. In a segment of one ring
//! difference `d` the axial position is `min(r₁, r₂)`; in a segment of several (span > 1) it is
//! `r₁ + r₂ − m`, `m` the smallest |d| in the segment (half-ring sampling). A view of a mashed
//! layout sums `view_mashing` consecutive unmashed views. A bin's line of response joins the
//! averages of its crystal pairs' positions, and the model counts it once per pair
//! ([`SinogramLayout::plane_table`]).

use super::scanner::{PetScanner, TofBins};
use crate::error::{Error, Result};

/// One segment: the ring differences it holds and its number of axial positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Segment number (`0, ±1, …`).
    pub number: i32,
    /// Smallest ring difference `r₂ − r₁` held.
    pub min_ring_difference: i32,
    /// Largest ring difference held.
    pub max_ring_difference: i32,
    /// Axial positions (planes) in the segment.
    pub planes: u32,
}

impl Segment {
    /// Smallest |ring difference| in the segment.
    fn min_abs(&self) -> i32 {
        if self.min_ring_difference <= 0 && self.max_ring_difference >= 0 {
            0
        } else {
            self.min_ring_difference
                .abs()
                .min(self.max_ring_difference.abs())
        }
    }
    fn holds(&self, d: i32) -> bool {
        (self.min_ring_difference..=self.max_ring_difference).contains(&d)
    }
}

/// One bin of a sinogram (indices into [`SinogramLayout::shape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SinogramBin {
    /// View (mashed).
    pub view: u32,
    /// Plane (all segments, storage order).
    pub plane: u32,
    /// TOF bin (0 without TOF).
    pub tof: u32,
    /// Tangential index `t + T/2`.
    pub tangential: u32,
}

/// A crystal: `(ring, crystal around the ring)`.
pub type Crystal = (u32, u32);

/// The sinogram layout of a scanner (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct SinogramLayout {
    scanner: PetScanner,
    tangential: u32,
    view_mashing: u32,
    span: u32,
    max_ring_difference: u32,
    tof: Option<TofBins>,
    segments: Vec<Segment>,
    plane_offsets: Vec<u32>,
}

impl SinogramLayout {
    /// The layout of `scanner` with `tangential` bins, axial compression `span` (odd; 1 = none),
    /// ring differences up to `max_ring_difference` and `view_mashing` unmashed views per view.
    /// Time of flight follows the scanner (see [`SinogramLayout::without_tof`]).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for an even span, a mashing factor that does not divide the
    /// views, more tangential bins than crystal pairs allow (`crystals_per_ring − 2`, even),
    /// or a maximum ring difference beyond the rings; [`Error::TooLarge`] for a sinogram
    /// (float32) this machine cannot hold.
    pub fn new(
        scanner: PetScanner,
        tangential: u32,
        span: u32,
        max_ring_difference: u32,
        view_mashing: u32,
    ) -> Result<Self> {
        let n = scanner.crystals_per_ring();
        if tangential == 0 || !tangential.is_multiple_of(2) || tangential > n - 2 {
            return Err(Error::InvalidGeometry(format!(
                "{tangential} tangential bins; expected an even number from 2 to {}",
                n - 2
            )));
        }
        if span == 0 || span.is_multiple_of(2) {
            return Err(Error::InvalidGeometry(format!(
                "span {span}; expected an odd axial compression (1 = none)"
            )));
        }
        if max_ring_difference >= scanner.rings() {
            return Err(Error::InvalidGeometry(format!(
                "maximum ring difference {max_ring_difference}; the {} has {} rings (at most {})",
                scanner.name(),
                scanner.rings(),
                scanner.rings() - 1
            )));
        }
        if view_mashing == 0 || !(n / 2).is_multiple_of(view_mashing) {
            return Err(Error::InvalidGeometry(format!(
                "view mashing {view_mashing} does not divide the {} views",
                n / 2
            )));
        }
        let segments = build_segments(scanner.rings(), span, max_ring_difference);
        let mut plane_offsets = vec![0];
        for s in &segments {
            plane_offsets.push(plane_offsets.last().unwrap() + s.planes);
        }
        let tof = scanner.tof();
        let layout = Self {
            scanner,
            tangential,
            view_mashing,
            span,
            max_ring_difference,
            tof,
            segments,
            plane_offsets,
        };
        crate::memory::bytes_for("a sinogram of this layout", &layout.shape(), 4)?;
        Ok(layout)
    }

    /// The mMR's span-`span` layout: 344 tangential bins, maximum ring difference 60, no
    /// mashing (span 1: 4084 planes, span 11: 837).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for an even span.
    pub fn mmr(span: u32) -> Result<Self> {
        Self::new(PetScanner::mmr(), 344, span, 60, 1)
    }

    /// The same layout without time of flight (TOF bins summed).
    pub fn without_tof(mut self) -> Self {
        self.tof = None;
        self
    }

    /// The scanner.
    pub fn scanner(&self) -> &PetScanner {
        &self.scanner
    }
    /// Tangential bins.
    pub fn tangential(&self) -> u32 {
        self.tangential
    }
    /// Views (mashed).
    pub fn views(&self) -> u32 {
        self.scanner.crystals_per_ring() / 2 / self.view_mashing
    }
    /// Unmashed views per view.
    pub fn view_mashing(&self) -> u32 {
        self.view_mashing
    }
    /// Axial compression.
    pub fn span(&self) -> u32 {
        self.span
    }
    /// Largest |ring difference| held.
    pub fn max_ring_difference(&self) -> u32 {
        self.max_ring_difference
    }
    /// TOF sampling, if any.
    pub fn tof(&self) -> Option<TofBins> {
        self.tof
    }
    /// TOF bins per line of response (1 without TOF).
    pub fn tof_bins(&self) -> u32 {
        self.tof.map_or(1, |t| t.count)
    }
    /// Segments in storage order `0, −1, +1, …`.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }
    /// Planes over all segments.
    pub fn planes(&self) -> u32 {
        *self.plane_offsets.last().unwrap()
    }
    /// First plane of segment `index` (into [`SinogramLayout::segments`]).
    pub fn plane_offset(&self, index: usize) -> u32 {
        self.plane_offsets[index]
    }
    /// The data shape: `[views, planes, tof, tangential]`, or `[views, planes, tangential]`
    /// without TOF.
    pub fn shape(&self) -> Vec<usize> {
        let mut s = vec![self.views() as usize, self.planes() as usize];
        if self.tof.is_some() {
            s.push(self.tof_bins() as usize);
        }
        s.push(self.tangential as usize);
        s
    }
    /// Number of bins.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }
    /// Never true: a layout has at least one bin.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Lines of response (bins without the TOF axis).
    pub fn lors(&self) -> usize {
        self.views() as usize * self.planes() as usize * self.tangential as usize
    }
    /// Flat index of `bin` in the data.
    pub fn index(&self, bin: SinogramBin) -> usize {
        ((bin.view as usize * self.planes() as usize + bin.plane as usize)
            * self.tof_bins() as usize
            + bin.tof as usize)
            * self.tangential as usize
            + bin.tangential as usize
    }

    /// Unmashed view and tangential position `t` of crystals `c1`, `c2` around the ring, and
    /// whether they come in the other order (`c2` is the formula's first crystal).
    pub fn view_tangential(&self, c1: u32, c2: u32) -> (u32, i32, bool) {
        let n = self.scanner.crystals_per_ring() as i32;
        let (a, b) = (c1 as i32, c2 as i32);
        let mut t = (a - b + 3 * n / 2).rem_euclid(n);
        let mut v = (a - (t >> 1) + n).rem_euclid(n);
        if v >= n / 2 {
            v -= n / 2;
            t = if t >= n / 2 { t - n } else { -t };
        } else if t >= n / 2 {
            t = n - t;
        }
        let (f1, _) = self.crystals_of(v as u32, t);
        (v as u32, t, f1 != c1)
    }

    /// The crystals around the ring of unmashed view `view` and tangential position `t`.
    pub fn crystals_of(&self, view: u32, t: i32) -> (u32, u32) {
        let n = self.scanner.crystals_per_ring() as i32;
        let v = view as i32;
        let c1 = (v + (t >> 1)).rem_euclid(n);
        let c2 = (v - ((t + 1) >> 1) + n / 2).rem_euclid(n);
        (c1 as u32, c2 as u32)
    }

    /// The plane of rings `r1` (of the first crystal) and `r2` (of the second), if held.
    pub fn plane_of(&self, r1: u32, r2: u32) -> Option<u32> {
        let d = r2 as i32 - r1 as i32;
        let (index, segment) = self.segments.iter().enumerate().find(|(_, s)| s.holds(d))?;
        let axial = if segment.min_ring_difference == segment.max_ring_difference {
            r1.min(r2)
        } else {
            (r1 + r2) - segment.min_abs() as u32
        };
        Some(self.plane_offsets[index] + axial)
    }

    /// The bin of the coincidence between crystals `a` and `b` (in either order) in TOF bin
    /// `tof` (as measured from `a` to `b`; ignored without TOF), or `None` when the pair lies
    /// outside the layout (ring difference or tangential position beyond it, or one crystal).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a crystal or TOF bin not on the scanner.
    pub fn bin(&self, a: Crystal, b: Crystal, tof: u32) -> Result<Option<SinogramBin>> {
        self.scanner.check_crystal(a.0, a.1)?;
        self.scanner.check_crystal(b.0, b.1)?;
        if tof >= self.scanner.tof().map_or(1, |t| t.count) {
            return Err(Error::InvalidArgument(format!(
                "TOF bin {tof}; the {} has {} TOF bins",
                self.scanner.name(),
                self.scanner.tof().map_or(1, |t| t.count)
            )));
        }
        if a.1 == b.1 {
            return Ok(None);
        }
        let (view, t, swapped) = self.view_tangential(a.1, b.1);
        let (r1, r2) = if swapped { (b.0, a.0) } else { (a.0, b.0) };
        let half = self.tangential as i32 / 2;
        if t < -half || t >= half {
            return Ok(None);
        }
        let Some(plane) = self.plane_of(r1, r2) else {
            return Ok(None);
        };
        let tof = match self.tof {
            Some(bins) if swapped => bins.count - 1 - tof,
            Some(_) => tof,
            None => 0,
        };
        Ok(Some(SinogramBin {
            view: view / self.view_mashing,
            plane,
            tof,
            tangential: (t + half) as u32,
        }))
    }

    /// Every crystal pair counted in `bin`'s line of response, ordered (first crystal, second
    /// crystal).
    pub fn pairs(&self, bin: SinogramBin) -> Vec<(Crystal, Crystal)> {
        let t = bin.tangential as i32 - self.tangential as i32 / 2;
        let rings = self.ring_pairs(bin.plane);
        let mut out = Vec::with_capacity(rings.len() * self.view_mashing as usize);
        for j in 0..self.view_mashing {
            let (c1, c2) = self.crystals_of(bin.view * self.view_mashing + j, t);
            out.extend(rings.iter().map(|&(r1, r2)| ((r1, c1), (r2, c2))));
        }
        out
    }

    /// The ring pairs `(r₁, r₂)` summed in `plane`.
    pub fn ring_pairs(&self, plane: u32) -> Vec<(u32, u32)> {
        // The segment holding `plane`, and the plane's axial position in it.
        let index = self.plane_offsets.partition_point(|&o| o <= plane) - 1;
        if index >= self.segments.len() {
            return Vec::new();
        }
        let segment = self.segments[index];
        let axial = (plane - self.plane_offsets[index]) as i32;
        let rings = self.scanner.rings() as i32;
        let single = segment.min_ring_difference == segment.max_ring_difference;
        let mut out = Vec::new();
        for d in segment.min_ring_difference..=segment.max_ring_difference {
            // Inverts the axial position of plane_of: min(r₁, r₂), or r₁ + r₂ − m.
            let (r1, r2) = if single {
                if d >= 0 {
                    (axial, axial + d)
                } else {
                    (axial - d, axial)
                }
            } else {
                let sum = axial + segment.min_abs();
                if (sum - d) % 2 != 0 {
                    continue;
                }
                ((sum - d) / 2, (sum + d) / 2)
            };
            if (0..rings).contains(&r1) && (0..rings).contains(&r2) {
                out.push((r1 as u32, r2 as u32));
            }
        }
        out
    }

    /// Per plane: the mean axial positions `(z₁, z₂)` (mm) of its ring pairs and their number,
    /// as `[z₁, z₂, pairs, 0]` (`[planes, 4]`, C order).
    pub fn plane_table(&self) -> Vec<[f32; 4]> {
        let mut acc = vec![[0.0f64; 3]; self.planes() as usize];
        let rings = self.scanner.rings();
        for r1 in 0..rings {
            for r2 in 0..rings {
                if let Some(p) = self.plane_of(r1, r2) {
                    let a = &mut acc[p as usize];
                    a[0] += self.scanner.ring_z(r1);
                    a[1] += self.scanner.ring_z(r2);
                    a[2] += 1.0;
                }
            }
        }
        acc.iter()
            .map(|a| [(a[0] / a[2]) as f32, (a[1] / a[2]) as f32, a[2] as f32, 0.0])
            .collect()
    }

    /// Per (view, tangential) position: the mean in-plane positions of its two crystals over
    /// the mashed views, `[x₁, y₁, x₂, y₂]` mm (`[views, tangential, 4]`, C order).
    pub fn transaxial_table(&self) -> Vec<[f32; 4]> {
        let half = self.tangential as i32 / 2;
        let m = self.view_mashing;
        let mut out = Vec::with_capacity((self.views() * self.tangential) as usize);
        for view in 0..self.views() {
            for i in 0..self.tangential as i32 {
                let mut sum = [0.0f64; 4];
                for j in 0..m {
                    let (c1, c2) = self.crystals_of(view * m + j, i - half);
                    let [x1, y1] = self.scanner.crystal_xy(c1);
                    let [x2, y2] = self.scanner.crystal_xy(c2);
                    for (s, v) in sum.iter_mut().zip([x1, y1, x2, y2]) {
                        *s += v;
                    }
                }
                out.push(sum.map(|s| (s / m as f64) as f32));
            }
        }
        out
    }

    /// For every plane of this layout, the plane of `target` that holds all its ring pairs: the
    /// map of a rebinning that sums planes (e.g. into one segment of every ring difference,
    /// single-slice rebinning). Views, tangential bins and TOF must agree.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for another scanner, other views or tangential bins, TOF, or
    /// a plane whose ring pairs `target` splits or does not hold.
    pub fn plane_map(&self, target: &SinogramLayout) -> Result<Vec<u32>> {
        if self.scanner != target.scanner
            || self.views() != target.views()
            || self.tangential != target.tangential
            || self.tof.is_some()
            || target.tof.is_some()
        {
            return Err(Error::InvalidArgument(
                "plane rebinning needs the same scanner, views and tangential bins, without TOF"
                    .into(),
            ));
        }
        (0..self.planes())
            .map(|p| {
                let mut to = self
                    .ring_pairs(p)
                    .into_iter()
                    .map(|(r1, r2)| target.plane_of(r1, r2));
                let first = to.next().flatten();
                match first {
                    Some(t) if to.all(|o| o == Some(t)) => Ok(t),
                    _ => Err(Error::InvalidArgument(format!(
                        "plane {p} (span {}) does not fall into one plane of the span-{} layout",
                        self.span, target.span
                    ))),
                }
            })
            .collect()
    }

    /// Checks that `data` has [`SinogramLayout::shape`].
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] naming the layout's shape.
    pub fn check_shape(&self, what: &'static str, shape: &[usize]) -> Result<()> {
        if shape != self.shape().as_slice() {
            return Err(Error::ShapeMismatch {
                what,
                expected: self.shape(),
                got: shape.to_vec(),
            });
        }
        Ok(())
    }

    /// For every position of STIR's Interfile order (segments by increasing number, then
    /// `[view][axial]` when `view_first`, else `[axial][view]`, then `[tof][tangential]`),
    /// the flat index of the same bin in tomors' order.
    pub fn stir_order_for(&self, view_first: bool) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.segments.len()).collect();
        order.sort_by_key(|&i| self.segments[i].number);
        let mut out = Vec::with_capacity(self.len());
        for i in order {
            let s = self.segments[i];
            let (outer, inner) = if view_first {
                (self.views(), s.planes)
            } else {
                (s.planes, self.views())
            };
            for a in 0..outer {
                for b in 0..inner {
                    let (view, axial) = if view_first { (a, b) } else { (b, a) };
                    for tof in 0..self.tof_bins() {
                        for tangential in 0..self.tangential {
                            out.push(self.index(SinogramBin {
                                view,
                                plane: self.plane_offsets[i] + axial,
                                tof,
                                tangential,
                            }));
                        }
                    }
                }
            }
        }
        out
    }
}

/// The segments of a scanner with `rings` rings, in storage order `0, −1, +1, −2, …`.
fn build_segments(rings: u32, span: u32, max_rd: u32) -> Vec<Segment> {
    let (max_rd, half) = (max_rd as i32, (span as i32 - 1) / 2);
    let rings = rings as i32;
    let range = |k: i32| -> (i32, i32) {
        if span == 1 {
            (k, k)
        } else {
            (
                (k * span as i32 - half).max(-max_rd),
                (k * span as i32 + half).min(max_rd),
            )
        }
    };
    let count = if span == 1 {
        max_rd
    } else {
        ((max_rd - half).max(0) as u32).div_ceil(span) as i32
    };
    let mut out = Vec::new();
    for k in std::iter::once(0).chain((1..=count).flat_map(|k| [-k, k])) {
        let (lo, hi) = range(k);
        let mut s = Segment {
            number: k,
            min_ring_difference: lo,
            max_ring_difference: hi,
            planes: 0,
        };
        s.planes = if lo == hi {
            (rings - lo.abs()) as u32
        } else {
            (2 * rings - 1 - 2 * s.min_abs()) as u32
        };
        out.push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn mmr_segments_match_the_interfile_templates() {
        // mMR_template_span11.hs: axial positions per segment −5…5.
        let l = SinogramLayout::mmr(11).unwrap();
        let mut by_number: Vec<_> = l.segments().to_vec();
        by_number.sort_by_key(|s| s.number);
        let planes: Vec<u32> = by_number.iter().map(|s| s.planes).collect();
        assert_eq!(planes, [27, 49, 71, 93, 115, 127, 115, 93, 71, 49, 27]);
        let min: Vec<i32> = by_number.iter().map(|s| s.min_ring_difference).collect();
        assert_eq!(min, [-60, -49, -38, -27, -16, -5, 6, 17, 28, 39, 50]);
        assert_eq!(l.planes(), 837);
        // Span 1: the PETLINK header's 4084 sinograms, 64, 63, 63, … in storage order.
        let l1 = SinogramLayout::mmr(1).unwrap();
        assert_eq!(l1.planes(), 4084);
        let sizes: Vec<u32> = l1.segments().iter().take(5).map(|s| s.planes).collect();
        assert_eq!(sizes, [64, 63, 63, 62, 62]);
        assert_eq!(l1.segments()[1].number, -1);
        assert_eq!(l1.shape(), vec![252, 4084, 344]);
    }

    /// Every crystal pair of a small scanner maps to a bin whose pairs hold it, and every
    /// bin's pairs map back to it: the map is a bijection between in-layout pairs and
    /// (bin, pair) entries, for span 1 and 3 and with mashing.
    #[test]
    fn crystal_pairs_and_bins_map_both_ways() {
        let scanner = PetScanner::new("small", 5, 16, 50.0, 0.0, 4.0).unwrap();
        for (span, mashing, max_rd, tang) in [(1, 1, 4, 14), (3, 1, 4, 10), (3, 2, 3, 14)] {
            let l = SinogramLayout::new(scanner.clone(), tang, span, max_rd, mashing).unwrap();
            let mut seen = HashSet::new();
            let mut in_layout = 0;
            for r1 in 0..5 {
                for c1 in 0..16 {
                    for r2 in 0..5 {
                        for c2 in 0..16 {
                            let (a, b) = ((r1, c1), (r2, c2));
                            let Some(bin) = l.bin(a, b, 0).unwrap() else {
                                continue;
                            };
                            in_layout += 1;
                            let pairs = l.pairs(bin);
                            assert!(
                                pairs.contains(&(a, b)) || pairs.contains(&(b, a)),
                                "{a:?} {b:?} → {bin:?}"
                            );
                            seen.insert((
                                bin,
                                if pairs.contains(&(a, b)) {
                                    (a, b)
                                } else {
                                    (b, a)
                                },
                            ));
                        }
                    }
                }
            }
            // Each unordered pair counted from both ends once: in_layout = 2 × entries.
            assert_eq!(in_layout, 2 * seen.len());
            let mut entries = 0;
            for view in 0..l.views() {
                for plane in 0..l.planes() {
                    for tangential in 0..tang {
                        let bin = SinogramBin {
                            view,
                            plane,
                            tof: 0,
                            tangential,
                        };
                        for (a, b) in l.pairs(bin) {
                            assert_eq!(l.bin(a, b, 0).unwrap(), Some(bin));
                            entries += 1;
                        }
                    }
                }
            }
            assert_eq!(entries, seen.len());
            let multiplicity: f32 = l.plane_table().iter().map(|p| p[2]).sum();
            let pairs_within: usize = (0..5i32)
                .flat_map(|a| (0..5i32).map(move |b| (a, b)))
                .filter(|(a, b)| (a - b).unsigned_abs() <= max_rd)
                .count();
            assert_eq!(multiplicity as usize, pairs_within);
        }
    }

    #[test]
    fn tof_bins_flip_with_the_crystal_order() {
        let scanner = PetScanner::generic_tof();
        let l = SinogramLayout::new(scanner, 300, 1, 10, 1).unwrap();
        let (a, b) = ((3, 10), (5, 300));
        let ab = l.bin(a, b, 2).unwrap().unwrap();
        let ba = l.bin(b, a, 2).unwrap().unwrap();
        assert_eq!(
            (ab.view, ab.plane, ab.tangential),
            (ba.view, ba.plane, ba.tangential)
        );
        assert_eq!(ab.tof + ba.tof, 12);
        assert!(l.bin((48, 0), b, 0).is_err());
        assert!(l.bin(a, b, 13).is_err());
    }

    #[test]
    fn bad_layouts_are_typed_errors() {
        let s = PetScanner::mmr();
        assert!(SinogramLayout::new(s.clone(), 344, 2, 60, 1).is_err());
        assert!(SinogramLayout::new(s.clone(), 503, 1, 60, 1).is_err());
        assert!(SinogramLayout::new(s.clone(), 344, 1, 64, 1).is_err());
        assert!(SinogramLayout::new(s, 344, 1, 60, 5).is_err());
    }
}
