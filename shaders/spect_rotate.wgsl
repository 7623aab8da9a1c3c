// Forward, step 1: moves the image onto the rotated frame of each view of the batch, times
// the depth step and the attenuation factor. Every voxel is spread over the four frame
// samples of its cell (`frame_cell`) with weights that sum to 1, so each view keeps every
// voxel's counts; each sample gathers the voxels whose cells hold it. Those lie in the 4 × 4
// voxels around the sample's position in the image (the frame is a rotation of the grid, so
// a cell reaches at most √2 voxels away).
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
    let xc = i32(floor(clamp(spect_sample_x(v, k, id), -4.0, f32(p.nx) + 4.0)));
    let yc = i32(floor(clamp(spect_sample_y(v, k, id), -4.0, f32(p.ny) + 4.0)));
    let slice = z * p.nx * p.ny;
    var value = 0.0;
    for (var dy = -1; dy <= 2; dy++) {
        let y = yc + dy;
        if y < 0 || y >= i32(p.ny) {
            continue;
        }
        for (var dx = -1; dx <= 2; dx++) {
            let x = xc + dx;
            if x < 0 || x >= i32(p.nx) {
                continue;
            }
            let c = frame_cell(v, u32(x), u32(y), p.n_cols, p.n_depth);
            let ks = vec4<i32>(c.k0, c.k0 + 1, c.k0, c.k0 + 1);
            let ds = vec4<i32>(c.d0, c.d0, c.d0 + 1, c.d0 + 1);
            var w = 0.0;
            for (var i = 0; i < 4; i++) {
                if ks[i] == i32(k) && ds[i] == i32(id) {
                    w += c.w[i];
                }
            }
            if w != 0.0 {
                value += w * image[slice + u32(y) * p.nx + u32(x)];
            }
        }
    }
    let o = frame_index(p, b, z, id, k);
    var factor = p.step;
    if p.has_attenuation != 0u {
        factor = p.step * att[att_index(p, o)];
    }
    rot[o] = value * factor;
}
