//! PETLINK 32-bit list-mode (Siemens Biograph mMR and other ECAT8-era scanners): an Interfile
//! header (`.l.hdr`) and a stream of little-endian 32-bit words.
//!
//! A word with bit 31 clear is a coincidence: bit 30 set for a prompt, clear for a delayed;
//! bits 0–29 its span-1 sinogram bin address `tangential + T·(view + V·z)`, with `z` the
//! span-1 plane in the order of segments `0, −1, +1, −2, …` (tomors' plane order, so the
//! address is a bin of [`SinogramLayout`] span 1). A word with bit 31 set is a tag, its kind
//! in bits 29–31: `100` a time tag (bits 0–28 the milliseconds since the start of the
//! acquisition), `101` a singles (dead-time) report, `110` and `111` gantry, patient
//! monitoring and control tags, counted and skipped.
//!
//! A singles report gives one bucket's singles rate at the time of the last time tag: bits
//! 19–28 the bucket number, bits 0–18 the rate divided by the header's `singles scale factor`
//! (8 on the mMR), so that the rate is `(w & 0x7ffff) · 8` counts/s; the mMR polls every
//! bucket every 2 s (`singles polling interval`) and has 224 buckets (`total number of singles
//! blocks`), each 2 blocks of 8 × 8 crystals (and their gaps) by 8 rings. Reports whose bucket
//! number lies beyond the header's count are skipped (the mMR writes some, e.g. `0xbc000000`).
//! The layout is NiftyPET's (NiftyPET/NIPET, `niftypet/nipet/lm/src/hst.cu`, and the bucket of
//! a crystal in `niftypet/nipet/src/norm.cu`: `c / 18 + 28 · (r / 8)` in the norm's crystal
//! numbering, one behind the list mode's); the code here is our own. [`BucketSingles`] holds a
//! frame's mean rate per bucket.
//!
//! Events are streamed: histogramming a 900 s acquisition (330 M words) holds the sinograms,
//! not the events.

use super::acquisition::PetAcquisition;
use super::interfile::InterfileHeader;
use crate::error::{Error, Result};
use crate::geometry::pet::{PetScanner, SinogramBin, SinogramLayout};
use ndarray::{ArrayD, IxDyn};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Two crystals, each `(ring, crystal in ring)`.
type CrystalPair = ((u32, u32), (u32, u32));

/// What a pass over a list-mode file found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListModeCounts {
    /// 32-bit words read.
    pub words: u64,
    /// Prompt coincidences within the time window.
    pub prompts: u64,
    /// Delayed coincidences within the time window.
    pub delayeds: u64,
    /// Coincidences outside the time window.
    pub outside_window: u64,
    /// Time tags.
    pub time_tags: u64,
    /// Singles (dead-time) reports, tag kind `101`, within the time window or not (their
    /// rates: [`BucketSingles`]).
    pub singles_tags: u64,
    /// Other tags: gantry, patient monitoring, control (skipped).
    pub other_tags: u64,
    /// Last time tag, ms since the start.
    pub last_time_ms: u32,
}

/// A coincidence of a list-mode file: its span-1 bin (flat index in the file's span-1
/// layout) and whether it is a prompt (else a delayed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coincidence {
    /// Flat index into [`ListModeFile::layout`].
    pub bin: u32,
    /// Prompt (true) or delayed.
    pub prompt: bool,
}

/// How a scanner's crystals group into singles buckets, the units a singles report counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinglesBuckets {
    /// Buckets around a ring (the mMR: 28).
    pub transaxial: u32,
    /// Buckets along the axis (the mMR: 8).
    pub axial: u32,
    /// Crystal positions of one bucket around the ring, gaps included (the mMR: 18).
    pub crystals: u32,
    /// Rings of one bucket (the mMR: 8).
    pub rings: u32,
    /// Detector blocks in one bucket (the mMR: 2).
    pub blocks: u32,
    /// The crystal position bucket 0 starts at (the mMR: 1, the first after a gap).
    pub first_crystal: u32,
}

impl SinglesBuckets {
    /// The buckets of `scanner` when it has `total` of them: blocks of as many rings as
    /// crystals (the mMR's 8 × 8), each bucket whole blocks around the ring and one block
    /// along the axis, starting after a block's gap; `None` when `total` does not divide the
    /// scanner so.
    pub fn new(scanner: &PetScanner, total: u32) -> Option<Self> {
        let (per_block, gaps, first_gap) = scanner.blocks();
        let period = per_block + gaps;
        let rings = per_block;
        if rings == 0 || total == 0 || !scanner.rings().is_multiple_of(rings) {
            return None;
        }
        let axial = scanner.rings() / rings;
        if !total.is_multiple_of(axial) {
            return None;
        }
        let transaxial = total / axial;
        let n = scanner.crystals_per_ring();
        if !n.is_multiple_of(transaxial) || !(n / transaxial).is_multiple_of(period) {
            return None;
        }
        let crystals = n / transaxial;
        Some(Self {
            transaxial,
            axial,
            crystals,
            rings,
            blocks: crystals / period,
            first_crystal: if gaps == 0 {
                0
            } else {
                (first_gap + gaps) % period
            },
        })
    }

    /// Number of buckets.
    pub fn len(&self) -> usize {
        (self.transaxial * self.axial) as usize
    }

    /// Whether there are none (never, for a layout [`SinglesBuckets::new`] made).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bucket of crystal position `crystal` (list-mode numbering) in ring `ring`:
    /// `(crystal − first_crystal) mod n / crystals + transaxial · (ring / rings)`.
    pub fn bucket(&self, ring: u32, crystal: u32) -> usize {
        let n = self.transaxial * self.crystals;
        let c = (crystal % n + n - self.first_crystal) % n;
        (c / self.crystals + self.transaxial * (ring / self.rings)) as usize
    }
}

/// A frame's singles: per bucket, the mean of the rates its reports within the time window
/// state (PETLINK tag `101`, see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct BucketSingles {
    /// The buckets.
    pub buckets: SinglesBuckets,
    /// Per bucket, the mean singles rate of its reports, counts/s (the whole bucket, all its
    /// blocks); `None` for a bucket that reported nothing in the window.
    pub rates_cps: Vec<Option<f64>>,
    /// Reports within the window, of a bucket the header counts.
    pub reports: u64,
    /// Reports within the window naming a bucket beyond the header's count (skipped).
    pub skipped: u64,
    /// The first and the last report's time, s from the start of the acquisition.
    pub first_s: f64,
    /// See `first_s`.
    pub last_s: f64,
}

impl BucketSingles {
    /// Buckets that reported.
    pub fn reporting(&self) -> usize {
        self.rates_cps.iter().flatten().count()
    }

    /// The mean rate of the buckets that reported, counts/s.
    pub fn mean_rate_cps(&self) -> f64 {
        let r: Vec<f64> = self.rates_cps.iter().flatten().copied().collect();
        r.iter().sum::<f64>() / r.len().max(1) as f64
    }
}

/// A PETLINK list-mode file: its header, its scanner's span-1 layout and its data file.
#[derive(Debug, Clone)]
pub struct ListModeFile {
    header: InterfileHeader,
    data: PathBuf,
    /// Where the words start in `data` (`data offset in bytes`).
    offset: u64,
    layout: SinogramLayout,
    /// The singles buckets (`total number of singles blocks`), when the header states them.
    buckets: Option<SinglesBuckets>,
    /// A singles report's rate unit, counts/s (`singles scale factor`, 8 when absent).
    singles_scale: f64,
}

/// Sinograms histogrammed from a list-mode file.
#[derive(Debug, Clone)]
pub struct Histograms {
    /// Prompts, in the layout's shape.
    pub prompts: ArrayD<f32>,
    /// Delayeds, in the layout's shape.
    pub delayeds: ArrayD<f32>,
    /// Delayeds per crystal, summed over every coincidence it is in (the fan sums a randoms
    /// estimate uses), `[ring · crystals_per_ring + crystal]`.
    pub delayed_fan_sums: Vec<f64>,
    /// Prompts and delayeds whose ring difference or tangential position lie outside the
    /// layout (not in the sinograms).
    pub outside_layout: u64,
    /// What the pass read.
    pub counts: ListModeCounts,
    /// The singles reports within the window; `None` when the file has none there (a piece
    /// shorter than the polling interval) or its header states no buckets.
    pub singles: Option<BucketSingles>,
    /// Prompts per ordered pair of buckets, `[bucket of crystal 1 · buckets + bucket of
    /// crystal 2]` (the weights of a frame's live fraction); empty without buckets.
    pub bucket_prompts: Vec<f64>,
}

/// Checks a time window `(start, end)` in seconds from the start of an acquisition: a finite
/// `start ≥ 0` and `end > start` (`end` may be infinite).
///
/// # Errors
/// [`Error::InvalidArgument`] naming the window.
pub fn check_window(window: Option<(f64, f64)>) -> Result<()> {
    match window {
        Some((start, end)) if !(start.is_finite() && start >= 0.0 && end > start) => {
            Err(Error::InvalidArgument(format!(
                "time window {start} to {end} s: expected 0 ≤ START < END (seconds from the \
                 start of the acquisition)"
            )))
        }
        _ => Ok(()),
    }
}

impl ListModeFile {
    /// Opens the list-mode file whose header is `path` (`.l.hdr`), or whose data file is
    /// `path` (`.l`, the header beside it with `.hdr` appended).
    ///
    /// The scanner is the one the header names: the Siemens Biograph mMR (originating system
    /// 2008, 64 rings, 252 views). Files of other scanners open with
    /// [`ListModeFile::open_with_scanner`].
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Format`] for a header that is not PETLINK 32-bit list mode, of
    /// a scanner tomors does not know, a geometry it does not describe, or a data file that is
    /// not whole 32-bit words (truncated).
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_as(path, None)
    }

    /// [`ListModeFile::open`] for a file of `scanner`, whose rings and views (half its
    /// crystals per ring) the header's must match.
    ///
    /// # Errors
    /// As [`ListModeFile::open`], and [`Error::Format`] when the header's rings or views are
    /// not the scanner's.
    pub fn open_with_scanner(path: &Path, scanner: PetScanner) -> Result<Self> {
        Self::open_as(path, Some(scanner))
    }

    fn open_as(path: &Path, scanner: Option<PetScanner>) -> Result<Self> {
        let header_path = if path.extension().is_some_and(|e| e == "hdr") {
            path.to_path_buf()
        } else {
            let mut p = path.as_os_str().to_owned();
            p.push(".hdr");
            PathBuf::from(p)
        };
        let header = InterfileHeader::read(&header_path)?;
        let format = |reason: String| Error::Format {
            path: header_path.clone(),
            reason,
        };
        let words = header
            .get("lm event and tag words format (bits)")
            .unwrap_or("32");
        if words.trim() != "32" {
            return Err(format(format!(
                "{words}-bit list-mode words: expected PETLINK 32-bit"
            )));
        }
        let compression = header.count("axial compression")?;
        if compression != 1 {
            return Err(format(format!(
                "axial compression {compression}: PETLINK list mode holds span-1 addresses"
            )));
        }
        let rings = header.count("number of rings")? as u32;
        let views = header.count("number of views")? as u32;
        let tangential = header.count("number of projections")? as u32;
        let max_rd = header.count("maximum ring difference")? as u32;
        let system = header.get("originating system").unwrap_or("(none)");
        let scanner = match scanner {
            Some(s) => s,
            // The mMR is the preset: blocks, gaps, interaction depth.
            None if system == "2008" => PetScanner::mmr(),
            None => {
                return Err(format(format!(
                    "originating system {system}: the command line and Python read the \
                     PETLINK list mode of the Siemens Biograph mMR (2008) only; from Rust, \
                     another scanner's file opens with its PetScanner \
                     (ListModeFile::open_with_scanner)"
                )));
            }
        };
        // The energy window the header states (the real mMR file: 430–610 keV).
        let scanner = super::interfile::energy_window_of(&header, scanner)?;
        if scanner.rings() != rings
            || u64::from(scanner.crystals_per_ring()) != 2 * u64::from(views)
        {
            return Err(format(format!(
                "{rings} rings and {views} views: the {} has {} rings and {} views",
                scanner.name(),
                scanner.rings(),
                scanner.crystals_per_ring() / 2
            )));
        }
        let layout = SinogramLayout::new(scanner, tangential, 1, max_rd, 1)
            .map_err(|e| format(format!("sinogram layout: {e}")))?;
        let data = header.data_file()?;
        // The words start at the stated offset (0 when the key is absent).
        let offset = match header.get("data offset in bytes") {
            Some(_) => header.byte_offset("data offset in bytes")?,
            None => 0,
        };
        let file_len = std::fs::metadata(&data)
            .map_err(|source| Error::Io {
                path: data.clone(),
                source,
            })?
            .len();
        let Some(len) = file_len.checked_sub(offset) else {
            return Err(format(format!(
                "data offset {offset} bytes is beyond the end of {} ({file_len} bytes)",
                data.display()
            )));
        };
        let buckets = match header.get("total number of singles blocks") {
            Some(_) => {
                let total = header.count("total number of singles blocks")? as u32;
                SinglesBuckets::new(layout.scanner(), total)
            }
            None => None,
        };
        let singles_scale = header.number_or("singles scale factor", 8.0)?;
        if !(singles_scale.is_finite() && singles_scale > 0.0) {
            return Err(format(format!(
                "singles scale factor {singles_scale}: expected a number > 0"
            )));
        }
        if len % 4 != 0 {
            return Err(Error::Format {
                path: data,
                reason: format!(
                    "truncated: {len} bytes after the data offset ({offset}) is not a whole \
                     number of 32-bit list-mode words"
                ),
            });
        }
        Ok(Self {
            header,
            data,
            offset,
            layout,
            buckets,
            singles_scale,
        })
    }

    /// The singles buckets, when the header states how many (`total number of singles
    /// blocks`) and they divide the scanner as [`SinglesBuckets::new`] needs.
    pub fn singles_buckets(&self) -> Option<SinglesBuckets> {
        self.buckets
    }

    /// The span-1 layout the file's bin addresses index.
    pub fn layout(&self) -> &SinogramLayout {
        &self.layout
    }
    /// The header.
    pub fn header(&self) -> &InterfileHeader {
        &self.header
    }
    /// Timing, radionuclide and injection, as the header states them (read when asked: a
    /// malformed date does not stop a reconstruction that does not need it).
    ///
    /// # Errors
    /// As [`PetAcquisition::from_header`].
    pub fn acquisition(&self) -> Result<PetAcquisition> {
        PetAcquisition::from_header(&self.header)
    }

    /// Streams the file, calling `each` for every coincidence within `window` (seconds from
    /// the start, `[start, end)`; `None`: all), a coincidence's time being the last time tag
    /// before it.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a window that is not `0 ≤ start < end` (finite start);
    /// [`Error::Io`]; [`Error::Format`] for a bin address beyond the layout (a corrupt or
    /// foreign file), naming its word.
    pub fn scan(
        &self,
        window: Option<(f64, f64)>,
        each: impl FnMut(Coincidence),
    ) -> Result<ListModeCounts> {
        Ok(self.scan_with_singles(window, each)?.0)
    }

    /// [`ListModeFile::scan`], and the singles reported within `window` (a report's time
    /// being the last time tag before it): `None` when there are none, or the header states
    /// no buckets.
    ///
    /// # Errors
    /// As [`ListModeFile::scan`].
    pub fn scan_with_singles(
        &self,
        window: Option<(f64, f64)>,
        mut each: impl FnMut(Coincidence),
    ) -> Result<(ListModeCounts, Option<BucketSingles>)> {
        check_window(window)?;
        let io = |source| Error::Io {
            path: self.data.clone(),
            source,
        };
        let mut file = std::fs::File::open(&self.data).map_err(io)?;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(self.offset)).map_err(io)?;
        let mut reader = std::io::BufReader::with_capacity(1 << 22, file);
        let bins = self.layout.len() as u32;
        let (tang, views) = (self.layout.tangential(), self.layout.views());
        let (start_ms, end_ms) = window.map_or((0.0, f64::INFINITY), |(a, b)| (a * 1e3, b * 1e3));
        let mut counts = ListModeCounts::default();
        let mut buf = vec![0u8; 1 << 22];
        let mut now = 0u32;
        let nb = self.buckets.map_or(0, |b| b.len());
        let (mut sums, mut reports) = (vec![0.0f64; nb], vec![0u32; nb]);
        let (mut skipped, mut first, mut last) = (0u64, None, 0u32);
        loop {
            let n = read_full(&mut reader, &mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            for chunk in buf[..n].chunks_exact(4) {
                let w = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                counts.words += 1;
                if w >> 31 == 0 {
                    let bin = w & 0x3fff_ffff;
                    if bin >= bins {
                        return Err(Error::Format {
                            path: self.data.clone(),
                            reason: format!(
                                "word {}: bin address {bin} beyond the {bins} span-1 bins the \
                                 header describes",
                                counts.words - 1
                            ),
                        });
                    }
                    let time = now as f64;
                    if time < start_ms || time >= end_ms {
                        counts.outside_window += 1;
                        continue;
                    }
                    let prompt = (w >> 30) & 1 == 1;
                    // PETLINK address → tomors' [view, plane, tangential] index.
                    let (t, rest) = (bin % tang, bin / tang);
                    let bin = self.layout.index(SinogramBin {
                        view: rest % views,
                        plane: rest / views,
                        tof: 0,
                        tangential: t,
                    }) as u32;
                    if prompt {
                        counts.prompts += 1;
                    } else {
                        counts.delayeds += 1;
                    }
                    each(Coincidence { bin, prompt });
                } else {
                    match (w >> 29) & 3 {
                        0 => {
                            counts.time_tags += 1;
                            now = w & 0x1fff_ffff;
                            counts.last_time_ms = now;
                        }
                        1 => {
                            counts.singles_tags += 1;
                            let time = now as f64;
                            if time < start_ms || time >= end_ms {
                                continue;
                            }
                            let bucket = ((w >> 19) & 0x3ff) as usize;
                            if bucket >= nb {
                                skipped += 1;
                                continue;
                            }
                            sums[bucket] += (w & 0x7_ffff) as f64 * self.singles_scale;
                            reports[bucket] += 1;
                            first.get_or_insert(now);
                            last = now;
                        }
                        _ => counts.other_tags += 1,
                    }
                }
            }
            if now as f64 >= end_ms {
                break;
            }
        }
        let singles = match (self.buckets, first) {
            (Some(buckets), Some(first)) => Some(BucketSingles {
                buckets,
                rates_cps: sums
                    .iter()
                    .zip(&reports)
                    .map(|(&s, &n)| (n > 0).then(|| s / n as f64))
                    .collect(),
                reports: reports.iter().map(|&n| n as u64).sum(),
                skipped,
                first_s: first as f64 / 1e3,
                last_s: last as f64 / 1e3,
            }),
            _ => None,
        };
        Ok((counts, singles))
    }

    /// Histograms prompts and delayeds within `window` into sinograms of `layout` (the file's
    /// scanner, any span, maximum ring difference, mashing and up to its tangential bins).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a layout of another scanner, with more tangential bins,
    /// or with TOF; as [`ListModeFile::scan`].
    pub fn histogram(
        &self,
        layout: &SinogramLayout,
        window: Option<(f64, f64)>,
    ) -> Result<Histograms> {
        check_window(window)?;
        let mapper = BinMapper::new(&self.layout, layout)?;
        let mut prompts = vec![0.0f32; layout.len()];
        let mut delayeds = vec![0.0f32; layout.len()];
        let n = self.layout.scanner().crystals_per_ring() as usize;
        let mut fans = vec![0.0f64; n * self.layout.scanner().rings() as usize];
        let mut outside = 0u64;
        let nb = self.buckets.map_or(0, |b| b.len());
        let mut bucket_prompts = vec![0.0f64; nb * nb];
        let (counts, singles) = self.scan_with_singles(window, |c| {
            let (bin, (a, b)) = mapper.map(c.bin);
            if let (true, Some(k)) = (c.prompt, &self.buckets) {
                bucket_prompts[k.bucket(a.0, a.1) * nb + k.bucket(b.0, b.1)] += 1.0;
            }
            if !c.prompt {
                fans[a.0 as usize * n + a.1 as usize] += 1.0;
                fans[b.0 as usize * n + b.1 as usize] += 1.0;
            }
            match bin {
                Some(i) if c.prompt => prompts[i] += 1.0,
                Some(i) => delayeds[i] += 1.0,
                None => outside += 1,
            }
        })?;
        let shape = IxDyn(&layout.shape());
        Ok(Histograms {
            prompts: ArrayD::from_shape_vec(shape.clone(), prompts).expect("layout shape"),
            delayeds: ArrayD::from_shape_vec(shape, delayeds).expect("layout shape"),
            delayed_fan_sums: fans,
            outside_layout: outside,
            counts,
            singles,
            bucket_prompts,
        })
    }

    /// The prompts within `window` as crystal pairs `[ring_a, crystal_a, ring_b, crystal_b]`.
    ///
    /// # Errors
    /// As [`ListModeFile::scan`].
    pub fn prompt_pairs(
        &self,
        window: Option<(f64, f64)>,
    ) -> Result<(Vec<[u32; 4]>, ListModeCounts)> {
        let mapper = BinMapper::new(&self.layout, &self.layout)?;
        let mut out = Vec::new();
        let counts = self.scan(window, |c| {
            if c.prompt {
                let (_, (a, b)) = mapper.map(c.bin);
                out.push([a.0, a.1, b.0, b.1]);
            }
        })?;
        Ok((out, counts))
    }
}

/// `read` until `buf` is full or the file ends; bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Span-1 bins of a scanner to the bins of another layout of it, and to crystal pairs.
struct BinMapper {
    /// Span-1 plane → (target plane or none, ring of crystal 1, ring of crystal 2).
    planes: Vec<(Option<u32>, u32, u32)>,
    source: SinogramLayout,
    target: SinogramLayout,
}

impl BinMapper {
    fn new(source: &SinogramLayout, target: &SinogramLayout) -> Result<Self> {
        if target.scanner() != source.scanner()
            || target.tangential() > source.tangential()
            || target.tof().is_some()
        {
            return Err(Error::InvalidArgument(format!(
                "a non-TOF layout of the {} with at most {} tangential bins was expected",
                source.scanner().name(),
                source.tangential()
            )));
        }
        let rings = source.scanner().rings();
        let mut planes = vec![(None, 0, 0); source.planes() as usize];
        for r1 in 0..rings {
            for r2 in 0..rings {
                if let Some(p) = source.plane_of(r1, r2) {
                    planes[p as usize] = (target.plane_of(r1, r2), r1, r2);
                }
            }
        }
        Ok(Self {
            planes,
            source: source.clone(),
            target: target.clone(),
        })
    }

    /// The target's flat index (if the bin is in it) and the crystal pair of span-1 bin `bin`.
    fn map(&self, bin: u32) -> (Option<usize>, CrystalPair) {
        let t = self.source.tangential();
        let (tang, rest) = (bin % t, bin / t);
        let planes = self.source.planes();
        let (view, plane) = (rest / planes, rest % planes);
        let (target_plane, r1, r2) = self.planes[plane as usize];
        let (c1, c2) = self.source.crystals_of(view, tang as i32 - t as i32 / 2);
        let shift = (t - self.target.tangential()) / 2;
        let index = target_plane.and_then(|p| {
            let tg = tang
                .checked_sub(shift)
                .filter(|&x| x < self.target.tangential())?;
            Some(self.target.index(SinogramBin {
                view: view / self.target.view_mashing(),
                plane: p,
                tof: 0,
                tangential: tg,
            }))
        });
        (index, ((r1, c1), (r2, c2)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mMR's 224 buckets as NiftyPET numbers them (`c / 18 + 28 · (r / 8)`, its crystal
    /// `c` one behind ours): 28 around, 8 along, 2 blocks each, starting after a gap.
    #[test]
    fn the_mmr_buckets_are_two_blocks_by_eight_rings() {
        let scanner = PetScanner::mmr();
        let b = SinglesBuckets::new(&scanner, 224).unwrap();
        assert_eq!(
            (
                b.transaxial,
                b.axial,
                b.crystals,
                b.rings,
                b.blocks,
                b.first_crystal
            ),
            (28, 8, 18, 8, 2, 1)
        );
        assert_eq!(b.len(), 224);
        for ring in [0, 7, 8, 63] {
            for crystal in 0..scanner.crystals_per_ring() {
                let niftypet = (crystal + 503) % 504 / 18 + 28 * (ring / 8);
                assert_eq!(b.bucket(ring, crystal), niftypet as usize);
            }
        }
        // A bucket holds two whole blocks and their gaps.
        assert!(scanner.is_gap(0) && scanner.is_gap(9) && scanner.is_gap(18));
        assert_eq!(
            (b.bucket(0, 1), b.bucket(0, 18), b.bucket(0, 19)),
            (0, 0, 1)
        );
        assert_eq!((b.bucket(0, 0), b.bucket(63, 0)), (27, 223));
        // Counts that do not divide the scanner give no layout.
        assert_eq!(SinglesBuckets::new(&scanner, 225), None);
        assert_eq!(SinglesBuckets::new(&scanner, 0), None);
    }
}
