//! Resampling a volume through an index map, on either backend: the target in z-slabs, each
//! run by the `resample` stage on the block of source voxels its samples can touch, so that
//! device memory follows the slab, not the (possibly 200 MB) source. On the CPU the whole
//! target is one slab.

use ndarray::{Array3, ArrayView3, s};

use super::engine::Engine;
use super::layout::ResampleParams;
use super::{Device, Stage};
use crate::error::{Error, Result};
use crate::maths::IndexAffine;

/// Device memory one slab may bind (source block and output), bytes.
const SLAB_BUDGET: u64 = 256 << 20;

/// Resamples `source` onto a target of `shape` (`[z, y, x]`) through `map` (target index →
/// source index), with `per_axis` samples per target voxel along z, y, x averaged; samples
/// beyond the outermost source centres take `outside`. Runs on `device`.
///
/// # Errors
/// [`Error::Gpu`] for device failures or a single target slice whose source block exceeds the
/// device's binding limit.
pub(crate) fn resample(
    device: &Device,
    source: ArrayView3<'_, f32>,
    shape: [usize; 3],
    map: &IndexAffine,
    per_axis: [usize; 3],
    outside: f32,
) -> Result<Array3<f32>> {
    let mut engine = device.engine();
    // The host takes the whole target at once; a device, slabs within its binding limit.
    let budget = match engine.max_binding() {
        u64::MAX => u64::MAX,
        limit => limit.min(SLAB_BUDGET),
    };
    resample_in_slabs(&mut engine, source, shape, map, per_axis, outside, budget)
}

/// [`resample`] with slabs binding at most `budget` bytes.
fn resample_in_slabs(
    engine: &mut Engine,
    source: ArrayView3<'_, f32>,
    shape: [usize; 3],
    map: &IndexAffine,
    per_axis: [usize; 3],
    outside: f32,
    budget: u64,
) -> Result<Array3<f32>> {
    let (sz, sy, sx) = source.dim();
    let full = [sz, sy, sx];
    let [nz, ny, nx] = shape;
    let mut out = Array3::<f32>::zeros((nz, ny, nx));
    let mut z0 = 0;
    while z0 < nz {
        // The largest slab from z0 whose source block and output fit.
        let mut slab = nz - z0;
        let (origin, size) = loop {
            let (origin, size) = block_of(map, full, [z0, slab], [ny, nx]);
            let bytes = 4 * (size.iter().product::<usize>() + slab * ny * nx) as u64;
            if bytes <= budget || slab == 1 {
                break (origin, size);
            }
            slab = slab.div_ceil(2);
        };
        let block = source
            .slice(s![
                origin[0]..origin[0] + size[0],
                origin[1]..origin[1] + size[1],
                origin[2]..origin[2] + size[2]
            ])
            .as_standard_layout()
            .into_owned();
        let block = block.as_slice().expect("standard layout");
        let u = |v: [usize; 3]| [v[0] as u32, v[1] as u32, v[2] as u32, 0];
        let [b, col_z, col_y, col_x] = map.gpu_columns();
        let params = ResampleParams {
            b,
            col_z,
            col_y,
            col_x,
            slab: [slab as u32, ny as u32, nx as u32, z0 as u32],
            source: u(full),
            block: u(size),
            block_origin: u(origin),
            samples: u(per_axis),
            outside,
            len: (slab * ny * nx) as u32,
            _pad0: 0,
            _pad1: 0,
        };
        let target = out
            .slice_mut(s![z0..z0 + slab, .., ..])
            .into_slice()
            .ok_or_else(|| Error::Gpu("resampled slab is not contiguous".into()))?;
        let len = slab * ny * nx;
        let input = engine.upload("resampling source block", block)?;
        let output = engine.zeros("resampled slab", len)?;
        engine.dispatch_linear(Stage::Resample, &params, &[input, output], len)?;
        engine.read(output, 0, target)?;
        engine.release(input);
        engine.release(output);
        z0 += slab;
    }
    Ok(out)
}

/// First source index and shape of the block the samples of target slices
/// `z0 .. z0 + slab` can touch (their corners' bounding box, one voxel of margin), clamped to
/// the source.
fn block_of(
    map: &IndexAffine,
    source: [usize; 3],
    [z0, slab]: [usize; 2],
    [ny, nx]: [usize; 2],
) -> ([usize; 3], [usize; 3]) {
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for corner in 0..8 {
        let t = [
            if corner & 4 == 0 {
                z0 as f64 - 0.5
            } else {
                (z0 + slab) as f64 - 0.5
            },
            if corner & 2 == 0 {
                -0.5
            } else {
                ny as f64 - 0.5
            },
            if corner & 1 == 0 {
                -0.5
            } else {
                nx as f64 - 0.5
            },
        ];
        let m = map.at(t);
        for k in 0..3 {
            lo[k] = lo[k].min(m[k]);
            hi[k] = hi[k].max(m[k]);
        }
    }
    let mut origin = [0; 3];
    let mut size = [1; 3];
    for k in 0..3 {
        let n = source[k] as f64;
        let first = (lo[k].floor() - 1.0).clamp(0.0, n - 1.0) as usize;
        let last = (hi[k].ceil() + 1.0).clamp(0.0, n - 1.0) as usize;
        origin[k] = first;
        size[k] = last.max(first) - first + 1;
    }
    (origin, size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::test_support::gpu_context;

    fn source() -> Array3<f32> {
        Array3::from_shape_fn((20, 24, 28), |(z, y, x)| {
            ((z * 7 + y * 3 + x) % 11) as f32 + 0.25 * z as f32
        })
    }

    /// A rotated, scaled map that reaches beyond the source on some sides.
    const MAP: IndexAffine = IndexAffine {
        b: [-1.5, 2.0, -2.0],
        a: [[1.3, 0.2, 0.0], [0.0, 0.9, 0.4], [0.1, -0.3, 1.1]],
    };

    fn run(
        device: Option<std::sync::Arc<crate::backend::gpu::GpuContext>>,
        budget: u64,
    ) -> Array3<f32> {
        let src = source();
        resample_in_slabs(
            &mut Engine::new(device),
            src.view(),
            [18, 20, 22],
            &MAP,
            [2, 1, 3],
            -7.0,
            budget,
        )
        .unwrap()
    }

    #[test]
    fn slabs_of_any_size_give_the_same_result_on_the_cpu() {
        let (whole, sliced) = (run(None, u64::MAX), run(None, 4096));
        assert_eq!(whole, sliced);
        assert!(whole.iter().any(|&v| v == -7.0) && whole.iter().any(|&v| v > 0.0));
    }

    #[test]
    #[ignore = "GPU: needs a wgpu adapter; run with --include-ignored"]
    fn the_gpu_gives_the_cpu_numbers_in_slabs_of_any_size() {
        let ctx = gpu_context();
        let cpu = run(None, u64::MAX);
        let (whole, sliced) = (run(Some(ctx.clone()), u64::MAX), run(Some(ctx), 4096));
        assert_eq!(whole, sliced);
        let worst = cpu
            .iter()
            .zip(&whole)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "GPU differs from the CPU twin by {worst}");
    }
}
