// Forward, last step: the response along detector rows (slices), then the sum over depth:
// proj[view, z, k] = Σ_id Σ_j w(view, id, |j|) · blur[b, z + j, id, k].
// Grid: (ceil(n_cols / 64), nz, batch_count).

@group(0) @binding(0) var<uniform> p: SpectParams;
@group(0) @binding(1) var<storage, read> kernel: array<f32>;
@group(0) @binding(2) var<storage, read> half_widths: array<u32>;
@group(0) @binding(3) var<storage, read> blur: array<f32>;
@group(0) @binding(4) var<storage, read_write> proj: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    let z = gid.y;
    let b = gid.z;
    if k >= p.n_cols || z >= p.nz || b >= p.batch_count {
        return;
    }
    var total = 0.0;
    for (var id = 0u; id < p.n_depth; id++) {
        let plane = (p.batch_first + b) * p.n_depth + id;
        let w = half_widths[2u * plane + 1u];
        let kb = plane * p.kernel_stride;
        var sum = kernel[kb] * blur[frame_index(p, b, z, id, k)];
        for (var j = 1u; j <= w; j++) {
            let wj = kernel[kb + j];
            if z >= j {
                sum += wj * blur[frame_index(p, b, z - j, id, k)];
            }
            if z + j < p.nz {
                sum += wj * blur[frame_index(p, b, z + j, id, k)];
            }
        }
        total += sum;
    }
    proj[((p.batch_first + b - p.proj_first) * p.nz + z) * p.n_cols + k] = total;
}
