//! The registration cost's joint histogram as a stage sequence: `nmi_histogram` over every
//! `stride`-th voxel of a fixed volume, each adding the eight partial-volume weights of its
//! position in a moving volume, on the engine chosen when it was made.

use super::engine::{Buf, Engine};
use super::layout::NmiParams;
use super::{Device, Stage};
use crate::error::Result;
use crate::maths::IndexAffine;

/// Two volumes' bin indices, resident on an engine.
#[derive(Debug)]
pub(crate) struct JointHistogram {
    engine: Engine,
    fixed_shape: [usize; 3],
    moving_shape: [usize; 3],
    bins: usize,
    fixed: Buf,
    moving: Buf,
    joint: Buf,
}

/// Bytes four to a word (the last word zero-padded), as the stage reads them.
fn packed(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks(4)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u32, |w, (i, &b)| w | (b as u32) << (8 * i))
        })
        .collect()
}

impl JointHistogram {
    /// Keeps the bin indices (C order, each `< bins`) of both volumes on `device`.
    ///
    /// # Errors
    /// [`crate::error::Error::Gpu`] when a volume exceeds the device's binding limit.
    pub(crate) fn new(
        device: &Device,
        fixed: &[u8],
        fixed_shape: [usize; 3],
        moving: &[u8],
        moving_shape: [usize; 3],
        bins: usize,
    ) -> Result<Self> {
        let mut engine = device.engine();
        Ok(Self {
            fixed: engine.upload("fixed volume's bins", &packed(fixed))?,
            moving: engine.upload("moving volume's bins", &packed(moving))?,
            joint: engine.zeros("joint histogram", bins * bins)?,
            engine,
            fixed_shape,
            moving_shape,
            bins,
        })
    }

    /// The joint histogram `[fixed bin · bins + moving bin]` for the fixed-to-moving index map
    /// `map`, over every `stride`-th fixed voxel along each axis; weights in units of one
    /// voxel, rounded to a fixed-point step (at most 1/1024) so that the sums are exact.
    ///
    /// # Errors
    /// [`crate::error::Error::Gpu`] for device failures.
    pub(crate) fn joint(&mut self, map: &IndexAffine, stride: usize) -> Result<Vec<f64>> {
        let [nz, ny, nx] = self.fixed_shape;
        let len = nz.div_ceil(stride) * ny.div_ceil(stride) * nx.div_ceil(stride);
        // Exact u32 sums: no bin can pass 2³² even if every sample lands in it.
        let scale = (4.0e9 / len as f64).floor().clamp(1.0, 1024.0);
        let [mz, my, mx] = self.moving_shape;
        let [b, col_z, col_y, col_x] = map.gpu_columns();
        let params = NmiParams {
            b,
            col_z,
            col_y,
            col_x,
            fixed: [nz as u32, ny as u32, nx as u32, stride as u32],
            moving: [mz as u32, my as u32, mx as u32, self.bins as u32],
            len: len as u32,
            scale: scale as f32,
            _pad0: 0,
            _pad1: 0,
        };
        self.engine.clear(self.joint);
        let bindings = [self.fixed, self.moving, self.joint];
        self.engine
            .dispatch_linear(Stage::NmiHistogram, &params, &bindings, len)?;
        let mut counts = vec![0u32; self.bins * self.bins];
        self.engine.read(self.joint, 0, &mut counts)?;
        Ok(counts.into_iter().map(|w| w as f64 / scale).collect())
    }
}
