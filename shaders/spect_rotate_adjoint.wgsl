// Adjoint, last step (transpose of spect_rotate): every voxel gathers, from each view of the
// batch, the rotated-frame samples whose bilinear taps include it, with the very weights the
// forward step used, times the depth step and the attenuation factor. The 4 × 4 candidate
// samples around the voxel's position in the rotated frame hold every such sample (the
// frame is a rotation of the grid, so taps reach at most √2 samples away).
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
    let me = i32(y * p.nx + x);
    let pos = vec3<f32>(f32(x), f32(y), 1.0);
    var sum = 0.0;
    for (var b = 0u; b < p.batch_count; b++) {
        let v = views[p.batch_first + b];
        let kc = i32(floor(clamp(dot(v.inv_col.xyz, pos), -4.0, f32(p.n_cols) + 4.0)));
        let dc = i32(floor(clamp(dot(v.inv_depth.xyz, pos), -4.0, f32(p.n_depth) + 4.0)));
        for (var dk = -1; dk <= 2; dk++) {
            let k = kc + dk;
            if k < 0 || k >= i32(p.n_cols) {
                continue;
            }
            for (var dd = -1; dd <= 2; dd++) {
                let id = dc + dd;
                if id < 0 || id >= i32(p.n_depth) {
                    continue;
                }
                let t = bilinear_taps(spect_sample_x(v, u32(k), u32(id)), spect_sample_y(v, u32(k), u32(id)), p.nx, p.ny);
                var w = 0.0;
                for (var i = 0; i < 4; i++) {
                    if t.idx[i] == me {
                        w += t.w[i];
                    }
                }
                if w != 0.0 {
                    let o = frame_index(p, b, z, u32(id), u32(k));
                    var factor = p.step;
                    if p.has_attenuation != 0u {
                        factor = p.step * att[att_index(p, o)];
                    }
                    sum += w * (rot[o] * factor);
                }
            }
        }
    }
    let o = z * p.nx * p.ny + y * p.nx + x;
    if p.accumulate != 0u {
        image[o] += sum;
    } else {
        image[o] = sum;
    }
}
