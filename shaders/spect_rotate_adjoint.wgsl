// Adjoint, last step (transpose of spect_rotate): every voxel samples, from each view of the
// batch, the four frame samples of its cell (`frame_cell`) with the weights the forward step
// spread it with, times the depth step and the attenuation factor.
// Grid: (ceil(nx / 8), ceil(ny / 8), nz).

@group(0) @binding(0) var<uniform> p: SpectParams;
@group(0) @binding(1) var<storage, read> views: array<SpectView>;
@group(0) @binding(2) var<storage, read> att: array<f32>;
@group(0) @binding(3) var<storage, read> rot: array<f32>;
@group(0) @binding(4) var<storage, read_write> image: array<f32>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x = gid.x;
    let y = gid.y;
    let z = gid.z;
    if x >= p.nx || y >= p.ny || z >= p.nz {
        return;
    }
    var sum = 0.0;
    for (var b = 0u; b < p.batch_count; b++) {
        let c = frame_cell(views[p.batch_first + b], x, y, p.n_cols, p.n_depth);
        let ks = vec4<i32>(c.k0, c.k0 + 1, c.k0, c.k0 + 1);
        let ds = vec4<i32>(c.d0, c.d0, c.d0 + 1, c.d0 + 1);
        for (var i = 0; i < 4; i++) {
            if ks[i] < 0 || ks[i] >= i32(p.n_cols) || ds[i] < 0 || ds[i] >= i32(p.n_depth) {
                continue;
            }
            let o = frame_index(p, b, z, u32(ds[i]), u32(ks[i]));
            var factor = p.step;
            if p.has_attenuation != 0u {
                factor = p.step * att[att_index(p, o)];
            }
            sum += c.w[i] * (rot[o] * factor);
        }
    }
    let o = z * p.nx * p.ny + y * p.nx + x;
    if p.accumulate != 0u {
        image[o] += sum;
    } else {
        image[o] = sum;
    }
}
