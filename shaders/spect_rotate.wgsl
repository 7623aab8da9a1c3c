// Forward, step 1: resamples the image onto the rotated frame of each view of the batch
// (bilinear), times the depth step and the attenuation factor.
// Grid: (ceil(n_cols / 64), n_depth, nz * batch_count).

@group(0) @binding(0) var<uniform> p: SpectParams;
@group(0) @binding(1) var<storage, read> views: array<SpectView>;
@group(0) @binding(2) var<storage, read> image: array<f32>;
@group(0) @binding(3) var<storage, read> att: array<f32>;
@group(0) @binding(4) var<storage, read_write> rot: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    let id = gid.y;
    let z = gid.z % p.nz;
    let b = gid.z / p.nz;
    if k >= p.n_cols || id >= p.n_depth || b >= p.batch_count {
        return;
    }
    let v = views[p.batch_first + b];
    let t = bilinear_taps(spect_sample_x(v, k, id), spect_sample_y(v, k, id), p.nx, p.ny);
    let slice = z * p.nx * p.ny;
    var value = 0.0;
    for (var i = 0; i < 4; i++) {
        if t.idx[i] >= 0 {
            value += t.w[i] * image[slice + u32(t.idx[i])];
        }
    }
    let o = frame_index(p, b, z, id, k);
    var factor = p.step;
    if p.has_attenuation != 0u {
        factor = p.step * att[att_index(p, o)];
    }
    rot[o] = value * factor;
}
