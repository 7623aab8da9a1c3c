//! The GPU twin of [`crate::fusion::resample`]: the target in z-slabs, each bound with the
//! block of source voxels its samples can touch, so that device memory follows the slab, not
//! the (possibly 200 MB) source.

use ndarray::{Array3, ArrayView3, s};

use super::GpuContext;
use super::buffers::{
    bind_group, check_binding, dispatch, init_storage, linear_grid, readback, storage,
    submit_and_read, uniform,
};
use crate::backend::layout::ResampleParams;
use crate::error::{Error, Result};
use crate::fusion::IndexAffine;

/// Device memory one slab may bind (source block and output), bytes.
const SLAB_BUDGET: u64 = 256 << 20;

/// Resamples `source` (shape `source.dim()`) onto a target of `shape` through `map`, with
/// `per_axis` samples per target voxel along z, y, x.
///
/// # Errors
/// [`Error::Gpu`] for device failures or a single target slice whose source block exceeds the
/// device's binding limit.
pub(crate) fn resample_gpu(
    ctx: &GpuContext,
    source: ArrayView3<'_, f32>,
    shape: [usize; 3],
    map: &IndexAffine,
    per_axis: [usize; 3],
    outside: f32,
) -> Result<Array3<f32>> {
    resample_in_slabs(ctx, source, shape, map, per_axis, outside, SLAB_BUDGET)
}

/// [`resample_gpu`] with slabs binding at most `budget` bytes.
fn resample_in_slabs(
    ctx: &GpuContext,
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
    let limit = ctx.max_binding().min(budget);
    let mut z0 = 0;
    while z0 < nz {
        // The largest slab from z0 whose source block and output fit.
        let mut slab = nz - z0;
        let (origin, size) = loop {
            let (origin, size) = block_of(map, full, [z0, slab], [ny, nx]);
            let bytes = 4 * (size.iter().product::<usize>() + slab * ny * nx) as u64;
            if bytes <= limit || slab == 1 {
                check_binding(ctx, "resampling source block", bytes)?;
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
        let len = slab * ny * nx;
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
            len: len as u32,
            _pad: [0; 2],
        };
        let uniform = uniform::<ResampleParams>(ctx, "resample params");
        ctx.queue
            .write_buffer(&uniform, 0, bytemuck::bytes_of(&params));
        let input = init_storage(
            ctx,
            "resample source block",
            block.as_slice().expect("standard layout"),
        );
        let output = storage(ctx, "resampled slab", 4 * len as u64);
        let pipeline = &ctx.pipelines.resample;
        let group = bind_group(ctx, pipeline, &[&uniform, &input, &output]);
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        dispatch(&mut encoder, pipeline, &group, linear_grid(ctx, len));
        let back = readback(ctx, 4 * len as u64);
        let target = out
            .slice_mut(s![z0..z0 + slab, .., ..])
            .into_slice()
            .ok_or_else(|| Error::Gpu("resampled slab is not contiguous".into()))?;
        submit_and_read(ctx, encoder, &output, &back, len, |v| {
            target.copy_from_slice(&v[..len])
        })?;
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

    #[test]
    fn slabs_of_any_size_give_the_same_result() {
        if std::env::var("TOMORS_SKIP_GPU_TESTS").is_ok_and(|v| v == "1") {
            return;
        }
        let ctx = GpuContext::shared().expect("a wgpu adapter (TOMORS_SKIP_GPU_TESTS=1 skips)");
        let source = Array3::from_shape_fn((20, 24, 28), |(z, y, x)| {
            ((z * 7 + y * 3 + x) % 11) as f32 + 0.25 * z as f32
        });
        // A rotated, scaled map that reaches beyond the source on some sides.
        let map = IndexAffine {
            b: [-1.5, 2.0, -2.0],
            a: [[1.3, 0.2, 0.0], [0.0, 0.9, 0.4], [0.1, -0.3, 1.1]],
        };
        let run = |budget| {
            resample_in_slabs(
                &ctx,
                source.view(),
                [18, 20, 22],
                &map,
                [2, 1, 3],
                -7.0,
                budget,
            )
            .unwrap()
        };
        let (whole, sliced) = (run(u64::MAX), run(4096));
        assert_eq!(whole, sliced);
        assert!(whole.iter().any(|&v| v == -7.0) && whole.iter().any(|&v| v > 0.0));
    }
}
