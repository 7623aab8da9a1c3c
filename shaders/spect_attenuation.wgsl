// Attenuation factors of one batch of views: for every sample of the rotated frame, the
// fraction of photons emitted there that reach the camera, exp(-(Σ_{later samples} μ + μ/2)·step),
// walking each (z, col) line from the camera face (largest depth index) inwards.
// Grid: (ceil(n_cols / 64), nz, batch_count).

@group(0) @binding(0) var<uniform> p: SpectParams;
@group(0) @binding(1) var<storage, read> views: array<SpectView>;
@group(0) @binding(2) var<storage, read> mu: array<f32>;
@group(0) @binding(3) var<storage, read_write> att: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    let z = gid.y;
    let b = gid.z;
    if k >= p.n_cols || z >= p.nz || b >= p.batch_count {
        return;
    }
    let v = views[p.batch_first + b];
    let slice = z * p.nx * p.ny;
    var sum = 0.0;
    for (var j = 0u; j < p.n_depth; j++) {
        let id = p.n_depth - 1u - j;
        let t = bilinear_taps(spect_sample_x(v, k, id), spect_sample_y(v, k, id), p.nx, p.ny);
        var m = 0.0;
        for (var i = 0; i < 4; i++) {
            if t.idx[i] >= 0 {
                m += t.w[i] * mu[slice + u32(t.idx[i])];
            }
        }
        let half = 0.5 * m * p.step;
        att[att_index(p, frame_index(p, b, z, id, k))] = exp_neg(sum + half);
        sum += m * p.step;
    }
}
