//! FDK as a stage sequence: `fbp_filter` over chunks of weighted projections (rows filtered
//! along the columns), then `cone_backproject` slab by slab. Two ways, the same bits:
//!
//! - **resident**: the projections are weighted a chunk of views at a time straight into the
//!   engine's chunk buffer (in place on the host), filtered from there into segments of whole
//!   views that the plan keeps, and every slab is back-projected from them (engine memory: the
//!   filtered projections, one slab and one chunk; no weighted copy of the whole data);
//! - **streamed**: a weighted host copy of the whole data is filtered a chunk at a time and
//!   read back in place, and each slab is then fed the band of detector rows it projects
//!   onto, a chunk of views at a time (engine memory: one slab and two chunks, whatever the
//!   data).
//!
//! Every voxel adds its views in order onto what the slab holds, so the result does not
//! depend on the way, the slab or the chunk sizes, bit for bit.

use super::Engine;
use crate::backend::Stage;
use crate::backend::engine::Buf;
use crate::backend::layout::{ConeMap, ConeParams, Params};
use crate::error::{Error, Result};
use std::ops::Range;

/// One slab: its slices and the detector rows its voxels project onto.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slab {
    /// Slices `z0..z1` of the grid.
    pub slices: Range<usize>,
    /// Detector rows `r0..r1` (empty when the slab projects off the detector).
    pub rows: Range<usize>,
}

/// Buffers of an FDK plan.
#[derive(Debug)]
pub(crate) struct FdkPlan {
    engine: Engine,
    base: ConeParams,
    n_views: usize,
    maps: Buf,
    lags: Buf,
    ones: Buf,
    chunk: Buf,
    filtered: Buf,
    slab: Buf,
    chunk_len: usize,
    slab_len: usize,
    /// A device's uploads of a chunk go through it (it stays empty on the host).
    staging: Vec<f32>,
    /// Views per resident segment; 0 when the projections are streamed.
    segment_views: usize,
    /// Segments of the resident projections (made with the plan): buffer and views.
    resident: Vec<(Buf, Range<usize>)>,
}

impl FdkPlan {
    /// A plan on `engine` for `maps` (one per view), `base` (grid and detector; slab, chunk and
    /// band fields are set per dispatch) and the filter's `lags`, with every buffer at most
    /// `cap` bytes: `slab_slices` slices per slab and chunks of `cap` bytes of projections.
    /// Projections of at most `resident_bytes` stay in the engine (device or host memory), in
    /// segments of as many whole views as a chunk and one filter dispatch hold; others are
    /// streamed, and so are views larger than a chunk or with more rows than one dispatch takes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when one detector row of one view, or one slice, exceeds
    /// `cap` (the caller's buffer cap, whichever the backend); [`Error::Gpu`] when the device
    /// has no room for the buffers (the resident projections included).
    pub fn new(
        mut engine: Engine,
        base: ConeParams,
        maps: &[ConeMap],
        lags: &[f32],
        slab_slices: usize,
        cap: u64,
        resident_bytes: u64,
    ) -> Result<Self> {
        let (n_rows, n_cols) = (base.n_rows as usize, base.n_cols as usize);
        let slice = (base.nx * base.ny) as usize;
        if (n_cols * 4) as u64 > cap || (slice * 4) as u64 > cap {
            return Err(Error::InvalidArgument(format!(
                "FDK needs one detector row ({} bytes) and one image slice ({} bytes) per buffer, but \
                 the buffer cap (max_buffer_bytes, --max-buffer-mib) is {cap} bytes; raise it",
                n_cols * 4,
                slice * 4
            )));
        }
        let data_len = maps.len() * n_rows * n_cols;
        let chunk_len = ((cap / 4) as usize / n_cols * n_cols).min(data_len);
        let slab_len = slab_slices * slice;
        // Whole views that one filter dispatch takes.
        let segment_views = if (4 * data_len) as u64 <= resident_bytes {
            lines_per_pass(&engine, chunk_len, n_cols) / n_rows
        } else {
            0
        };
        let mut plan = Self {
            maps: engine.upload("FDK view maps", maps)?,
            lags: engine.upload("filter lags", lags)?,
            ones: engine.upload("unit weights", &vec![1.0f32; n_cols])?,
            chunk: engine.zeros("projection chunk", chunk_len)?,
            // Only streaming filters through it.
            filtered: engine.zeros(
                "filtered chunk",
                if segment_views > 0 { 1 } else { chunk_len },
            )?,
            slab: engine.zeros("image slab", slab_len)?,
            staging: Vec::new(),
            n_views: maps.len(),
            engine,
            base,
            chunk_len,
            slab_len,
            segment_views,
            resident: Vec::new(),
        };
        if plan.segment_views > 0 {
            let per = plan.segment_views;
            for first in (0..plan.n_views).step_by(per) {
                let views = first..(first + per).min(plan.n_views);
                let len = views.len() * n_rows * n_cols;
                let buf = plan.engine.zeros("resident projections", len)?;
                plan.resident.push((buf, views));
            }
        }
        Ok(plan)
    }

    /// Filters and back-projects the weighted projections into `image[z, y, x]` (overwritten)
    /// slab by slab, calling `progress(slices_done, slices_total)` after each: resident when
    /// the plan keeps them, else streamed. `weigh(views, out)` writes every value of the
    /// weighted projections `[view, row, col]` of `views` into `out`.
    ///
    /// # Errors
    /// Device failures.
    pub fn run(
        &mut self,
        weigh: &(dyn Fn(Range<usize>, &mut [f32]) + Sync),
        slabs: &[Slab],
        image: &mut [f32],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        if self.segment_views > 0 {
            self.load(weigh)?;
            return self.backproject(None, slabs, image, progress);
        }
        let view_len = (self.base.n_rows * self.base.n_cols) as usize;
        let mut weighted = vec![0.0f32; self.n_views * view_len];
        weigh(0..self.n_views, &mut weighted);
        self.filter(&mut weighted)?;
        self.backproject(Some(&weighted), slabs, image, progress)
    }

    /// Weighs the projections into the chunk buffer a segment at a time and filters them along
    /// the columns straight into the segment.
    fn load(&mut self, weigh: &(dyn Fn(Range<usize>, &mut [f32]) + Sync)) -> Result<()> {
        let (n_rows, n_cols) = (self.base.n_rows as usize, self.base.n_cols as usize);
        for (buf, views) in &self.resident {
            let len = views.len() * n_rows * n_cols;
            let fill = |out: &mut [f32]| weigh(views.clone(), out);
            self.engine
                .write_with(self.chunk, 0, len, &mut self.staging, fill)?;
            let bindings = [self.lags, self.ones, self.chunk, *buf];
            filter_lines(&mut self.engine, bindings, views.len() * n_rows, n_cols)?;
        }
        Ok(())
    }

    /// Bytes the plan's device buffers hold.
    pub fn bytes(&self) -> u64 {
        self.engine.bytes()
    }

    /// The filter's bindings: lags, unit weights, the chunk it reads, the one it writes.
    fn filter_bufs(&self) -> [Buf; 4] {
        [self.lags, self.ones, self.chunk, self.filtered]
    }

    /// Filters `data[view, row, col]` (weighted projections) along the columns, in place, with
    /// the plan's kernel.
    fn filter(&mut self, data: &mut [f32]) -> Result<()> {
        let n_cols = self.base.n_cols as usize;
        let lines = data.len() / n_cols;
        let per_chunk = lines_per_pass(&self.engine, self.chunk_len, n_cols);
        for first in (0..lines).step_by(per_chunk) {
            let count = per_chunk.min(lines - first);
            let part = &mut data[first * n_cols..(first + count) * n_cols];
            self.engine.write(self.chunk, 0, part)?;
            let bufs = self.filter_bufs();
            filter_lines(&mut self.engine, bufs, count, n_cols)?;
            self.engine.read(self.filtered, 0, part)?;
        }
        Ok(())
    }

    /// Back-projects filtered projections into `image[z, y, x]` (overwritten) slab by slab,
    /// calling `progress` after each: those [`FdkPlan::load`] left on the device when
    /// `filtered` is `None`, else `filtered[view, row, col]` from the host, each slab sent its
    /// band of rows a chunk of views at a time.
    fn backproject(
        &mut self,
        filtered: Option<&[f32]>,
        slabs: &[Slab],
        image: &mut [f32],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        let slice = (self.base.nx * self.base.ny) as usize;
        let total = image.len() / slice;
        for slab in slabs {
            debug_assert!(slab.slices.len() * slice <= self.slab_len);
            self.engine.clear(self.slab);
            if !slab.rows.is_empty() {
                match filtered {
                    None => self.add_resident(slab)?,
                    Some(f) => self.add_streamed(f, slab)?,
                }
            }
            let out = &mut image[slab.slices.start * slice..slab.slices.end * slice];
            self.engine.read(self.slab, 0, out)?;
            progress(slab.slices.end, total);
        }
        Ok(())
    }

    /// Records `cone_backproject` of every resident segment into `slab`.
    fn add_resident(&mut self, slab: &Slab) -> Result<()> {
        for (buf, views) in &self.resident {
            let p = ConeParams {
                nz: slab.slices.len() as u32,
                z0: slab.slices.start as u32,
                n_views: views.len() as u32,
                first: views.start as u32,
                row0: 0,
                band_rows: self.base.n_rows,
                ..self.base
            };
            let bindings = [self.maps, *buf, self.slab];
            self.engine
                .dispatch(Stage::ConeBackproject, &p, &bindings, [p.nx, p.ny, p.nz])?;
        }
        Ok(())
    }

    /// Sends `slab`'s band of rows of `filtered[view, row, col]` a chunk of views at a time,
    /// each back-projected into the slab.
    fn add_streamed(&mut self, filtered: &[f32], slab: &Slab) -> Result<()> {
        let (n_rows, n_cols) = (self.base.n_rows as usize, self.base.n_cols as usize);
        let band = slab.rows.len();
        let views_per_chunk = (self.chunk_len / (band * n_cols)).max(1);
        debug_assert!(band * n_cols <= self.chunk_len);
        for first in (0..self.n_views).step_by(views_per_chunk) {
            let count = views_per_chunk.min(self.n_views - first);
            let len = count * band * n_cols;
            let bands = |out: &mut [f32]| {
                for (v, dst) in out.chunks_exact_mut(band * n_cols).enumerate() {
                    let at = ((first + v) * n_rows + slab.rows.start) * n_cols;
                    dst.copy_from_slice(&filtered[at..][..band * n_cols]);
                }
            };
            self.engine
                .write_with(self.chunk, 0, len, &mut self.staging, bands)?;
            let p = ConeParams {
                nz: slab.slices.len() as u32,
                z0: slab.slices.start as u32,
                n_views: count as u32,
                first: first as u32,
                row0: slab.rows.start as u32,
                band_rows: band as u32,
                ..self.base
            };
            let bindings = [self.maps, self.chunk, self.slab];
            self.engine
                .dispatch(Stage::ConeBackproject, &p, &bindings, [p.nx, p.ny, p.nz])?;
        }
        Ok(())
    }
}

/// Lines (detector rows of one view) one `fbp_filter` dispatch takes from a chunk of
/// `chunk_len` values: a workgroup row per line.
fn lines_per_pass(engine: &Engine, chunk_len: usize, n_cols: usize) -> usize {
    (chunk_len / n_cols).min(engine.max_workgroups() as usize)
}

/// Records `fbp_filter` over the first `lines` rows of `n_cols` of the chunk `bindings[2]`
/// into `bindings[3]`: the stage sees the lines as the rows of one view with unit weights.
fn filter_lines(
    engine: &mut Engine,
    bindings: [Buf; 4],
    lines: usize,
    n_cols: usize,
) -> Result<()> {
    let p = Params {
        nx: 0,
        ny: 0,
        nz: lines as u32,
        n_views: 1,
        n_cols: n_cols as u32,
        kind: 0,
        _pad0: 0,
        _pad1: 0,
        dx: 0.0,
        dy: 0.0,
        col_center: 0.0,
        col_scale: 0.0,
        src_to_center: 0.0,
        _pad2: 0.0,
        _pad3: 0.0,
        _pad4: 0.0,
    };
    engine.dispatch(Stage::FbpFilter, &p, &bindings, [p.n_cols, 1, p.nz])
}
