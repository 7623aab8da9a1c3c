// FBP back-projection, pixel-driven: one invocation per voxel (x, y, z); linear interpolation
// on the detector and the fan-beam distance weight. Overwrites `image[z, y, x]`.
// CPU twin: src/backend/cpu/backproject_fbp.rs.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> views: array<View>;
@group(0) @binding(2) var<storage, read> filtered: array<f32>;
@group(0) @binding(3) var<storage, read_write> image: array<f32>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ix = gid.x;
    let iy = gid.y;
    let z = gid.z;
    if ix >= p.nx || iy >= p.ny || z >= p.nz {
        return;
    }
    let last = i32(p.n_cols) - 1;
    var acc = 0.0;
    for (var view = 0u; view < p.n_views; view++) {
        let v = views[view];
        let t = pixel_t(v, ix, iy);
        let l = pixel_l(v, ix, iy);
        let s = split_index(column_of(p, t, l), p.n_cols);
        let row = (view * p.nz + z) * p.n_cols;
        var val = 0.0;
        if s.i >= 0 && s.i <= last {
            val += (1.0 - s.frac) * filtered[row + u32(s.i)];
        }
        if s.i + 1 >= 0 && s.i + 1 <= last {
            val += s.frac * filtered[row + u32(s.i + 1)];
        }
        acc += fbp_weight(p, t, l) * val;
    }
    image[(z * p.ny + iy) * p.nx + ix] = acc;
}
