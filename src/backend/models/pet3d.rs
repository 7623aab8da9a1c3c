//! The 3D PET stage sequences: `pet_forward` over sinogram bins or list-mode events, and its
//! transpose, on a whole data set a chunk at a time and the image a slab of slices at a time
//! ([`PetPlan`]), or resident per subset for EM ([`PetModel`]).
//!
//! The transpose sums terms of every size into each voxel, reproducibly, in one of two ways
//! ([`Pass`]). A device has no float atomics and no order among invocations: it runs
//! `pet_adjoint_max` → `pet_adjoint` → `fixed_to_float`, 64-bit fixed-point sums at a scale
//! per voxel from the largest term it receives, so the result does not depend on the order of
//! the atomic additions and every voxel keeps its precision. The host sums the same `f32`
//! terms in `f64` in line order in one walk (`cpu::pet_adjoint_ordered`), each thread owning
//! whole slices. Both are within an `f32` rounding of the exact sum of the terms.
//!
//! Slabs and chunks give the same bits as one piece: the forward sums each line slice by
//! slice in increasing z onto what it holds; a voxel's largest term, scale and integer sum do
//! not depend on the order or grouping of the lines, and the host's sums run in line order
//! across chunks.

use super::Engine;
use super::resident::{Core, Resident, Sequence, held_on_host};
use crate::backend::Stage;
use crate::backend::cpu;
use crate::backend::engine::Buf;
use crate::backend::layout::{PetEvent, PetParams};
use crate::error::Result;
use std::ops::Range;

/// What the PET stages read besides the image and the data: the parameters shared by every
/// dispatch and the line-of-response tables.
#[derive(Debug, Clone)]
pub(crate) struct PetTables {
    /// Grid, sampling and TOF; `len`, `first`, `n_views` and `bound_exp` are set per dispatch.
    pub base: PetParams,
    /// Per (view, tangential) or unmashed transaxial index: `[x₁, y₁, x₂, y₂]` mm.
    pub transaxial: Vec<[f32; 4]>,
    /// Per plane `[z₁, z₂, ring pairs, 0]`, or per ring `[z, z, 1, 0]` for events.
    pub axial: Vec<[f32; 4]>,
    /// List-mode events (empty for sinograms).
    pub events: Vec<PetEvent>,
    /// Samples per item: per view for sinograms (planes × TOF × tangential), 1 per event.
    pub item_len: usize,
    /// Items: views or events.
    pub items: usize,
    /// Largest weight one line gives one voxel (mm × bin weight).
    pub max_weight: f64,
}

/// `bound_exp` for a back-projection of `samples` lines: log2 of their number, rounded up. A
/// line gives a voxel at most one term (one tap per plane, each plane its own voxels), so no
/// voxel sums more terms than that.
fn bound_exp(samples: usize) -> i32 {
    (samples.max(1) as f64).log2().ceil() as i32
}

impl PetTables {
    /// Checks that every term `|data| × weight` of a back-projection of data whose largest
    /// magnitude is `max_abs` is a finite `f32`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] naming the largest value and the bound.
    pub fn check_terms(&self, max_abs: f32) -> Result<()> {
        let bound = f32::MAX as f64 / self.max_weight.max(1.0);
        if max_abs as f64 > bound {
            return Err(crate::Error::InvalidArgument(format!(
                "data up to {max_abs:e}: the back-projection needs |values| below {bound:.3e} \
                 (f32's largest value over the largest weight, {:.3} mm); scale the data down",
                self.max_weight
            )));
        }
        Ok(())
    }

    fn params(&self, first: usize, count: usize) -> PetParams {
        PetParams {
            first: first as u32,
            n_views: count as u32,
            len: (count * self.item_len) as u32,
            ..self.base
        }
    }

    fn image_len(&self) -> usize {
        (self.base.nx * self.base.ny * self.base.nz) as usize
    }

    fn slice_len(&self) -> usize {
        (self.base.nx * self.base.ny) as usize
    }
}

/// A pass of the back-projection over the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Each voxel's largest term (a device's first pass).
    Largest,
    /// The sums: fixed point on a device, `f64` in line order on the host.
    Sums,
}

/// The passes of a back-projection on `e`, in order (module docs).
fn passes(e: &Engine) -> &'static [Pass] {
    if e.is_host() {
        &[Pass::Sums]
    } else {
        &[Pass::Largest, Pass::Sums]
    }
}

/// The tables on an engine, with the back-projection's accumulator (two words per voxel:
/// fixed point on a device, an `f64` on the host) and, on a device, each voxel's largest term,
/// and the slab of slices the image and accumulator buffers hold (`PetParams::slab`).
#[derive(Debug)]
struct PetBufs {
    transaxial: Buf,
    axial: Buf,
    events: Buf,
    voxel_max: Buf,
    acc: Buf,
    slab: [u32; 4],
}

impl PetBufs {
    /// The tables on `engine` with an accumulator for `slices` slices, on the first slab of
    /// them; with `events_room`, a buffer for that many list-mode events, written later,
    /// instead of the whole event table.
    fn new(
        engine: &mut Engine,
        t: &PetTables,
        slices: usize,
        events_room: Option<usize>,
    ) -> Result<Self> {
        let words = std::mem::size_of::<PetEvent>() / 4;
        let events = match events_room {
            Some(n) => engine.zeros("list-mode events of one subset", n * words)?,
            None if t.events.is_empty() => engine.zeros("no events", words)?,
            None => engine.upload("list-mode events", &t.events)?,
        };
        Ok(Self {
            transaxial: engine.upload("transaxial LOR table", &t.transaxial)?,
            axial: engine.upload("axial LOR table", &t.axial)?,
            events,
            voxel_max: engine.zeros(
                "largest term per voxel",
                if engine.is_host() {
                    1
                } else {
                    slices * t.slice_len()
                },
            )?,
            acc: engine.zeros("back-projection sums", 2 * slices * t.slice_len())?,
            slab: [0, slices as u32, 0, 0],
        })
    }

    /// The dispatch parameters of items `first..first + count` on the current slab.
    fn params(&self, t: &PetTables, first: usize, count: usize) -> PetParams {
        PetParams {
            slab: self.slab,
            ..t.params(first, count)
        }
    }

    /// `out[0..count · item_len] ← A image` for items `first..first + count`.
    fn forward(
        &self,
        e: &mut Engine,
        t: &PetTables,
        first: usize,
        count: usize,
        image: Buf,
        out: Buf,
    ) -> Result<()> {
        let p = self.params(t, first, count);
        let bindings = [self.transaxial, self.axial, self.events, image, out];
        e.dispatch_linear(Stage::PetForward, &p, &bindings, p.len as usize)
    }

    /// Zeroes the accumulator and the largest terms.
    fn begin_adjoint(&self, e: &mut Engine) {
        e.clear(self.acc);
        e.clear(self.voxel_max);
    }

    /// One pass of `Aᵀ data` for items `first..first + count` ([`passes`]); on a device,
    /// `Stage::PetAdjoint` reads the largest terms once `Stage::PetAdjointMax` has seen every
    /// item; `total` lines make up the whole back-projection (they bound the terms a voxel sums
    /// in fixed point).
    #[allow(clippy::too_many_arguments)]
    fn adjoint_pass(
        &self,
        e: &mut Engine,
        t: &PetTables,
        pass: Pass,
        first: usize,
        count: usize,
        total: usize,
        data: Buf,
    ) -> Result<()> {
        let p = PetParams {
            bound_exp: bound_exp(total),
            ..self.params(t, first, count)
        };
        let (tables, acc) = ([self.transaxial, self.axial, self.events, data], self.acc);
        let ordered = |reads: &[&[u32]], out: &mut [u32]| {
            use bytemuck::cast_slice as r;
            let tables = (r(reads[0]), r(reads[1]), r(reads[2]));
            cpu::pet_adjoint_ordered(&p, tables, r(reads[3]), out);
        };
        if pass == Pass::Sums && e.on_host(&[&tables[..], &[acc]].concat(), ordered) {
            return Ok(());
        }
        let (stage, bindings) = match pass {
            Pass::Largest => (
                Stage::PetAdjointMax,
                [&tables[..], &[self.voxel_max]].concat(),
            ),
            Pass::Sums => (
                Stage::PetAdjoint,
                [&tables[..], &[self.voxel_max, acc]].concat(),
            ),
        };
        e.dispatch_linear(stage, &p, &bindings, p.len as usize)
    }

    /// `image ←` the accumulated back-projection of `total` samples (the current slab).
    fn finish(&self, e: &mut Engine, t: &PetTables, total: usize, image: Buf) -> Result<()> {
        let n = (self.slab[1] - self.slab[0]) as usize * t.slice_len();
        let to_float = |reads: &[&[u32]], out: &mut [u32]| {
            cpu::ordered_to_float(reads[0], bytemuck::cast_slice_mut(&mut out[..n]));
        };
        if e.on_host(&[self.acc, image], to_float) {
            return Ok(());
        }
        let p = PetParams {
            len: n as u32,
            bound_exp: bound_exp(total),
            slab: self.slab,
            ..t.base
        };
        e.dispatch_linear(
            Stage::FixedToFloat,
            &p,
            &[self.voxel_max, self.acc, image],
            n,
        )
    }
}

/// Forward projection and back-projection of a whole data set, a chunk of items at a time,
/// over the image a slab of slices at a time.
#[derive(Debug)]
pub(crate) struct PetPlan {
    engine: Engine,
    tables: PetTables,
    bufs: PetBufs,
    image: Buf,
    chunk: Buf,
    chunk_items: usize,
    slabs: Vec<Range<usize>>,
}

impl PetPlan {
    /// Buffers for `tables` on `engine`, none larger than `cap` bytes (nor than the device
    /// binds): slabs of as many slices as their fixed-point accumulator (8 bytes a voxel, and
    /// 4 for its largest term) allows.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] when one slice's accumulator or one item's data exceeds
    /// `cap`; [`crate::Error::Gpu`] when it exceeds what the device binds.
    pub fn new(mut engine: Engine, tables: PetTables, cap: u64) -> Result<Self> {
        let device = engine.max_binding();
        let slice_bytes = 8 * tables.slice_len() as u64;
        let item_bytes = 4 * tables.item_len as u64;
        if slice_bytes > cap.min(device) || item_bytes > cap.min(device) {
            let needs = format!(
                "the projector needs one image slice's accumulator ({slice_bytes} bytes) and one \
                 view's data ({item_bytes} bytes) per buffer"
            );
            // The caller's cap is a setting to raise; the device's binding limit is not.
            return Err(if cap <= device {
                crate::Error::InvalidArgument(format!(
                    "{needs}, but the buffer cap is {cap} bytes; raise it"
                ))
            } else {
                crate::Error::Gpu(format!(
                    "{needs}, but the device binds at most {device} bytes"
                ))
            });
        }
        let cap = cap.min(device);
        let nz = tables.base.nz as usize;
        let per = ((cap / slice_bytes) as usize).clamp(1, nz);
        let slabs: Vec<Range<usize>> = (0..nz).step_by(per).map(|z| z..(z + per).min(nz)).collect();
        let budget = engine.work_buffer_budget().min(cap);
        let chunk_items = ((budget / item_bytes.max(1)) as usize).clamp(1, tables.items.max(1));
        let bufs = PetBufs::new(&mut engine, &tables, per, None)?;
        let image = engine.zeros("image slab", per * tables.slice_len())?;
        let chunk = engine.zeros("data chunk", chunk_items * tables.item_len)?;
        Ok(Self {
            engine,
            tables,
            bufs,
            image,
            chunk,
            chunk_items,
            slabs,
        })
    }

    /// Bytes the plan's buffers hold.
    pub fn bytes(&self) -> u64 {
        self.engine.bytes()
    }

    fn chunks(&self) -> impl Iterator<Item = (usize, usize)> + use<> {
        let (items, step) = (self.tables.items, self.chunk_items);
        (0..items)
            .step_by(step)
            .map(move |f| (f, step.min(items - f)))
    }

    /// `data ← A image` (`image` of the grid, `data` of items × item length); with several
    /// slabs, each chunk of items is projected through every slab in turn.
    ///
    /// # Errors
    /// Device failures.
    pub fn forward(&mut self, image: &[f32], data: &mut [f32]) -> Result<()> {
        let (n, slice) = (self.tables.item_len, self.tables.slice_len());
        let one = self.slabs.len() == 1;
        if one {
            self.engine.write(self.image, 0, image)?;
        }
        for (first, count) in self.chunks() {
            for slab in &self.slabs {
                if !one {
                    let part = &image[slab.start * slice..slab.end * slice];
                    self.engine.write(self.image, 0, part)?;
                }
                self.bufs.slab = [slab.start as u32, slab.end as u32, 0, 0];
                self.bufs.forward(
                    &mut self.engine,
                    &self.tables,
                    first,
                    count,
                    self.image,
                    self.chunk,
                )?;
            }
            let out = &mut data[first * n..(first + count) * n];
            self.engine.read(self.chunk, 0, out)?;
        }
        Ok(())
    }

    /// `image ← Aᵀ data`; with several slabs, the data are back-projected into each in turn,
    /// each in the engine's passes over the chunks ([`passes`]).
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] when a term `|data| × weight` would not be a finite
    /// `f32` ([`PetTables::check_terms`]); device failures.
    pub fn adjoint(&mut self, data: &[f32], image: &mut [f32]) -> Result<()> {
        let (n, slice) = (self.tables.item_len, self.tables.slice_len());
        let max_abs = data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        self.tables.check_terms(max_abs)?;
        let one_chunk = self.chunks().count() == 1;
        for slab in &self.slabs {
            self.bufs.slab = [slab.start as u32, slab.end as u32, 0, 0];
            self.bufs.begin_adjoint(&mut self.engine);
            let passes = passes(&self.engine);
            for &pass in passes {
                for (first, count) in self.chunks() {
                    // One chunk of data stays on the device for every pass and slab.
                    if !one_chunk || (slab.start == 0 && pass == passes[0]) {
                        self.engine
                            .write(self.chunk, 0, &data[first * n..(first + count) * n])?;
                    }
                    let (e, t) = (&mut self.engine, &self.tables);
                    self.bufs
                        .adjoint_pass(e, t, pass, first, count, data.len(), self.chunk)?;
                }
            }
            self.bufs
                .finish(&mut self.engine, &self.tables, data.len(), self.image)?;
            let out = &mut image[slab.start * slice..slab.end * slice];
            self.engine.read(self.image, 0, out)?;
        }
        Ok(())
    }
}

/// The PET model resident for EM: tables in plan order, subsets as ranges of items.
#[derive(Debug)]
pub(crate) struct PetModel {
    tables: PetTables,
    bufs: PetBufs,
    /// List-mode events kept on the host (their table exceeds the plan's bound on resident
    /// bytes): `Some(subset)` whose events the buffer holds, `Some(None)` before the first.
    streamed: Option<Option<usize>>,
}

impl PetModel {
    /// A resident model of `tables` (items in plan order) split into `subsets`, with optional
    /// multiplicative factors (plan order) and, for list mode, the sensitivity image every
    /// subset uses a share of (else `Aᵀ` factors per subset). List-mode events whose table
    /// exceeds `max_resident_bytes`, or what the device binds, stay on the host and are
    /// written a subset at a time (as the core does with the EM inputs).
    ///
    /// # Errors
    /// [`crate::Error::Gpu`] when a buffer exceeds the device's limits.
    pub fn resident(
        engine: Engine,
        tables: PetTables,
        subsets: Vec<Range<usize>>,
        (factors, sensitivity): (Option<Vec<f32>>, Option<Vec<f32>>),
        max_resident_bytes: Option<u64>,
    ) -> Result<Resident<PetModel>> {
        let largest = subsets.iter().map(|r| r.len()).max().unwrap_or(1);
        let event_bytes = std::mem::size_of_val(tables.events.as_slice()) as u64;
        let streamed = held_on_host(&engine, (event_bytes, event_bytes), max_resident_bytes);
        let mut core = Core::new(
            engine,
            subsets,
            (tables.image_len(), tables.item_len),
            factors,
            max_resident_bytes,
        )?;
        core.set_sensitivity(sensitivity);
        let slices = tables.base.nz as usize;
        let room = streamed.then_some(largest);
        let bufs = PetBufs::new(&mut core.engine, &tables, slices, room)?;
        let streamed = streamed.then_some(None);
        Ok(Resident::new(
            core,
            PetModel {
                tables,
                bufs,
                streamed,
            },
        ))
    }

    /// The first item of `subset` as the dispatches see it: its place in the whole table, or
    /// 0 once its events are written to the buffer of one subset (written here when another
    /// subset's are there).
    fn first_item(&mut self, core: &mut Core, subset: usize) -> Result<usize> {
        let r = core.subsets[subset].clone();
        match self.streamed {
            None => Ok(r.start),
            Some(Some(s)) if s == subset => Ok(0),
            Some(_) => {
                core.engine
                    .write(self.bufs.events, 0, &self.tables.events[r])?;
                self.streamed = Some(Some(subset));
                Ok(0)
            }
        }
    }
}

impl Sequence for PetModel {
    fn forward(&mut self, core: &mut Core, subset: usize) -> Result<()> {
        let first = self.first_item(core, subset)?;
        let len = core.subsets[subset].len();
        self.bufs.forward(
            &mut core.engine,
            &self.tables,
            first,
            len,
            core.image,
            core.proj,
        )
    }
    fn adjoint(&mut self, core: &mut Core, subset: usize) -> Result<()> {
        let first = self.first_item(core, subset)?;
        let len = core.subsets[subset].len();
        let total = len * self.tables.item_len;
        let (e, t) = (&mut core.engine, &self.tables);
        self.bufs.begin_adjoint(e);
        for &pass in passes(e) {
            self.bufs
                .adjoint_pass(e, t, pass, first, len, total, core.proj)?;
        }
        self.bufs.finish(e, t, total, core.back)
    }
}
