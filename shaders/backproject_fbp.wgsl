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
    let x = vec2<f32>(p.ox + f32(ix) * p.dx, p.oy + f32(iy) * p.dy);
    let n = i32(p.n_cols);
    var acc = 0.0;
    for (var view = 0u; view < p.n_views; view++) {
        let v = views[view];
        let c = column_of(p, v, x);
        let c_floor = floor(c);
        let frac = c - c_floor;
        let k0 = i32(clamp(c_floor, -2.0, f32(n)));
        let row = (view * p.nz + z) * p.n_cols;
        var val = 0.0;
        if k0 >= 0 && k0 < n {
            val += (1.0 - frac) * filtered[row + u32(k0)];
        }
        if k0 + 1 >= 0 && k0 + 1 < n {
            val += frac * filtered[row + u32(k0 + 1)];
        }
        acc += fbp_weight(p, v, x) * val;
    }
    image[(z * p.ny + iy) * p.nx + ix] = acc;
}
