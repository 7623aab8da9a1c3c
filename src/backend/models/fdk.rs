//! FDK as a stage sequence: `fbp_filter` over chunks of weighted projections (rows filtered
//! along the columns), then `cone_backproject` slab by slab. Two ways, the same bits:
//!
//! - **resident**: the projections go to the device once, in segments of whole views, are
//!   filtered there in place, and every slab is back-projected from them (device memory: the
//!   projections, one slab and two chunks);
//! - **streamed**: each chunk is filtered and read back to the host copy, and each slab is
//!   then fed the band of detector rows it projects onto, a chunk of views at a time (device
//!   memory: one slab and two chunks, whatever the data).
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
    staging: Vec<f32>,
    /// Views per resident segment; 0 when the projections are streamed.
    segment_views: usize,
    /// Segments of the resident projections (made on first use, kept): buffer and views.
    resident: Vec<(Buf, Range<usize>)>,
}

impl FdkPlan {
    /// A plan on `engine` for `maps` (one per view), `base` (grid and detector; slab, chunk and
    /// band fields are set per dispatch) and the filter's `lags`, with every buffer at most
    /// `cap` bytes: `slab_slices` slices per slab and chunks of `cap` bytes of projections.
    /// Projections of at most `resident_bytes` stay on a device (never on the host, where the
    /// caller's copy already is in memory), in segments of as many whole views as a chunk
    /// holds; others are streamed.
    ///
    /// # Errors
    /// [`Error::Gpu`] when one detector row of one view, or one slice, exceeds `cap`.
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
            return Err(Error::Gpu(format!(
                "FDK needs one detector row ({} bytes) and one image slice ({} bytes) per buffer, but \
                 buffers are capped at {cap} bytes",
                n_cols * 4,
                slice * 4
            )));
        }
        let data_len = maps.len() * n_rows * n_cols;
        let chunk_len = ((cap / 4) as usize / n_cols * n_cols).min(data_len);
        let slab_len = slab_slices * slice;
        let segment_views = if engine.on_device() && (4 * data_len) as u64 <= resident_bytes {
            chunk_len / (n_rows * n_cols)
        } else {
            0
        };
        Ok(Self {
            maps: engine.upload("FDK view maps", maps)?,
            lags: engine.upload("filter lags", lags)?,
            ones: engine.upload("unit weights", &vec![1.0f32; n_cols])?,
            chunk: engine.zeros("projection chunk", chunk_len)?,
            filtered: engine.zeros("filtered chunk", chunk_len)?,
            slab: engine.zeros("image slab", slab_len)?,
            staging: vec![0.0; chunk_len],
            n_views: maps.len(),
            engine,
            base,
            chunk_len,
            slab_len,
            segment_views,
            resident: Vec::new(),
        })
    }

    /// Filters and back-projects weighted projections `weighted[view, row, col]` into
    /// `image[z, y, x]` (overwritten) slab by slab, calling `progress(slices_done,
    /// slices_total)` after each: resident when the plan keeps them, else streamed (the host
    /// copy is then filtered in place). Frees `weighted` as soon as the device holds them.
    ///
    /// # Errors
    /// Device failures.
    pub fn run(
        &mut self,
        mut weighted: Vec<f32>,
        slabs: &[Slab],
        image: &mut [f32],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        if self.segment_views > 0 {
            self.load(&weighted)?;
            drop(weighted);
            return self.backproject(None, slabs, image, progress);
        }
        self.filter(&mut weighted)?;
        self.backproject(Some(&weighted), slabs, image, progress)
    }

    /// Lines (detector rows of one view) the filter takes per dispatch.
    fn lines_per_pass(&self) -> usize {
        (self.chunk_len / self.base.n_cols as usize).min(self.engine.max_workgroups() as usize)
    }

    /// Sends weighted projections `data[view, row, col]` to the device and filters them there
    /// along the columns, into the resident segments.
    fn load(&mut self, data: &[f32]) -> Result<()> {
        let (n_rows, n_cols) = (self.base.n_rows as usize, self.base.n_cols as usize);
        let per = self.segment_views;
        if self.resident.is_empty() {
            for first in (0..self.n_views).step_by(per) {
                let views = first..(first + per).min(self.n_views);
                let buf = self
                    .engine
                    .zeros("resident projections", views.len() * n_rows * n_cols)?;
                self.resident.push((buf, views));
            }
        }
        let lines_per_pass = self.lines_per_pass();
        for (buf, views) in &self.resident {
            let lines = views.len() * n_rows;
            let base = views.start * n_rows;
            for first in (0..lines).step_by(lines_per_pass) {
                let count = lines_per_pass.min(lines - first);
                let part = &data[(base + first) * n_cols..(base + first + count) * n_cols];
                let bufs = self.filter_bufs();
                filter_lines(&mut self.engine, bufs, part, n_cols)?;
                self.engine
                    .copy(self.filtered, 0, *buf, first * n_cols, count * n_cols);
            }
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
        let per_chunk = self.lines_per_pass();
        for first in (0..lines).step_by(per_chunk) {
            let count = per_chunk.min(lines - first);
            let part = &mut data[first * n_cols..(first + count) * n_cols];
            let bufs = self.filter_bufs();
            filter_lines(&mut self.engine, bufs, part, n_cols)?;
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
            for v in 0..count {
                let src =
                    &filtered[((first + v) * n_rows + slab.rows.start) * n_cols..][..band * n_cols];
                self.staging[v * band * n_cols..(v + 1) * band * n_cols].copy_from_slice(src);
            }
            let p = ConeParams {
                nz: slab.slices.len() as u32,
                z0: slab.slices.start as u32,
                n_views: count as u32,
                first: first as u32,
                row0: slab.rows.start as u32,
                band_rows: band as u32,
                ..self.base
            };
            self.engine.write(self.chunk, 0, &self.staging[..len])?;
            let bindings = [self.maps, self.chunk, self.slab];
            self.engine
                .dispatch(Stage::ConeBackproject, &p, &bindings, [p.nx, p.ny, p.nz])?;
        }
        Ok(())
    }
}

/// Sends `lines` (rows of `n_cols`) to the chunk `bindings[2]` and records `fbp_filter` over
/// them into `bindings[3]`: the stage sees the lines as the rows of one view with unit weights.
fn filter_lines(
    engine: &mut Engine,
    bindings: [Buf; 4],
    lines: &[f32],
    n_cols: usize,
) -> Result<()> {
    engine.write(bindings[2], 0, lines)?;
    let p = Params {
        nx: 0,
        ny: 0,
        nz: (lines.len() / n_cols) as u32,
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
