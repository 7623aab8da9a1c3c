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
        let Some((frac, [b, col_z, col_y, col_x])) =
            fixed_point(map, self.fixed_shape, self.moving_shape)
        else {
            // The map spreads the fixed volume over more than 2²⁹ moving voxels (or is not
            // finite): no sample can be told from its neighbours, and none is counted.
            return Ok(vec![0.0; self.bins * self.bins]);
        };
        self.engine.clear(self.joint);
        let mut counts = vec![0u32; self.bins * self.bins];
        let params = NmiParams {
            b,
            col_z,
            col_y,
            col_x,
            fixed: [nz as u32, ny as u32, nx as u32, stride as u32],
            moving: [mz as u32, my as u32, mx as u32, self.bins as u32],
            len: len as u32,
            scale: scale as f32,
            frac,
            _pad: 0,
        };
        let bindings = [self.fixed, self.moving, self.joint];
        self.engine
            .dispatch_linear(Stage::NmiHistogram, &params, &bindings, len)?;
        self.engine.read(self.joint, 0, &mut counts)?;
        Ok(counts.into_iter().map(|w| w as f64 / scale).collect())
    }
}

/// Most fractional bits of a position: 23 keeps every fraction exact in `f32`.
const MAX_FRAC: i32 = 23;

/// `map` in integers of 2^-frac moving voxel (`b`, then the z, y and x columns), with `frac`
/// as large as keeps every partial sum of `b + A·t` over the fixed grid, and the moving
/// volume's last index, inside ±2³⁰ (so no `i32` sum can overflow, rounding included); `None`
/// when even whole voxels would not fit, or the map is not finite.
fn fixed_point(
    map: &IndexAffine,
    fixed_shape: [usize; 3],
    moving_shape: [usize; 3],
) -> Option<(u32, [[i32; 4]; 4])> {
    if map
        .b
        .iter()
        .chain(map.a.iter().flatten())
        .any(|v| !v.is_finite())
    {
        return None;
    }
    let extent = (0..3)
        .map(|k| {
            map.b[k].abs()
                + (0..3)
                    .map(|j| map.a[j][k].abs() * fixed_shape[j].saturating_sub(1) as f64)
                    .sum::<f64>()
        })
        .chain(moving_shape.iter().map(|&m| m as f64))
        .fold(0.0f64, f64::max);
    // One more voxel for the rounding of the coefficients (at most half a unit per term).
    let frac = (30 - (extent + 2.0).log2().ceil() as i32).min(MAX_FRAC);
    if frac < 0 {
        return None;
    }
    let unit = (frac as f64).exp2();
    let to_fixed = |v: [f64; 3]| {
        [0, 1, 2, 3].map(|k| {
            if k < 3 {
                (v[k] * unit).round() as i32
            } else {
                0
            }
        })
    };
    Some((
        frac as u32,
        [
            to_fixed(map.b),
            to_fixed(map.a[0]),
            to_fixed(map.a[1]),
            to_fixed(map.a[2]),
        ],
    ))
}
