// Adjoint, first step (transpose of spect_blur_rows_sum): every depth plane receives the
// projection blurred along rows by that plane's kernel:
// blur[b, z, id, k] = Σ_j w(view, id, |j|) · proj[view, z + j, k].
// Grid: (ceil(n_cols / 64), n_depth, nz * batch_count).

@group(0) @binding(0) var<uniform> p: SpectParams;
@group(0) @binding(1) var<storage, read> kernel: array<f32>;
@group(0) @binding(2) var<storage, read> half_widths: array<u32>;
@group(0) @binding(3) var<storage, read> proj: array<f32>;
@group(0) @binding(4) var<storage, read_write> blur: array<f32>;

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
    let w = half_widths[2u * plane + 1u];
    let kb = plane * p.kernel_stride;
    let view_base = (p.batch_first + b - p.proj_first) * p.nz;
    var sum = kernel[kb] * proj[(view_base + z) * p.n_cols + k];
    for (var j = 1u; j <= w; j++) {
        let wj = kernel[kb + j];
        if z >= j {
            sum += wj * proj[(view_base + z - j) * p.n_cols + k];
        }
        if z + j < p.nz {
            sum += wj * proj[(view_base + z + j) * p.n_cols + k];
        }
    }
    blur[frame_index(p, b, z, id, k)] = sum;
}
