// The collimator-detector response along detector columns: each depth plane of the rotated
// frame is convolved with its own symmetric Gaussian (zero outside the detector). Symmetric,
// so the same stage serves the forward model and its adjoint.
// Grid: (ceil(n_cols / 64), n_depth, nz * batch_count).

@group(0) @binding(0) var<uniform> p: SpectParams;
@group(0) @binding(1) var<storage, read> kernel: array<f32>;
@group(0) @binding(2) var<storage, read> half_widths: array<u32>;
@group(0) @binding(3) var<storage, read> src: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    let id = gid.y;
    let z = gid.z % p.nz;
    let b = gid.z / p.nz;
    if k >= p.n_cols || id >= p.n_depth || b >= p.batch_count {
        return;
    }
    let plane = (p.batch_first + b) * p.n_depth + id;
    let w = half_widths[2u * plane];
    let kb = plane * p.kernel_stride;
    let row = frame_index(p, b, z, id, 0u);
    var sum = kernel[kb] * src[row + k];
    for (var j = 1u; j <= w; j++) {
        let wj = kernel[kb + j];
        if k >= j {
            sum += wj * src[row + k - j];
        }
        if k + j < p.n_cols {
            sum += wj * src[row + k + j];
        }
    }
    dst[row + k] = sum;
}
