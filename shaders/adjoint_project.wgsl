// Exact adjoint of forward_project.wgsl as a gather: one invocation per voxel (x, y, z).
// Overwrites `image[z, y, x]` with the sum over the rays whose Joseph samples touch the voxel,
// each weighted exactly as the forward projection weighs that voxel.
// CPU twin: src/backend/cpu/adjoint_project.rs.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> views: array<View>;
@group(0) @binding(2) var<storage, read> col_dirs: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> sino: array<f32>;
@group(0) @binding(4) var<storage, read_write> image: array<f32>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ix = gid.x;
    let iy = gid.y;
    let z = gid.z;
    if ix >= p.nx || iy >= p.ny || z >= p.nz {
        return;
    }
    let x = vec2<f32>(p.ox + f32(ix) * p.dx, p.oy + f32(iy) * p.dy);
    let rho = max(p.dx, p.dy);
    let last_col = f32(p.n_cols) - 1.0;
    var acc = 0.0;
    for (var view = 0u; view < p.n_views; view++) {
        let v = views[view];
        let c = column_of(p, v, x);
        let reach = column_reach(p, v, x, rho) + 1.0;
        let lo = max(0.0, floor(c - reach));
        let hi = min(last_col, ceil(c + reach));
        if hi < lo {
            continue;
        }
        let row = (view * p.nz + z) * p.n_cols;
        for (var k = u32(lo); k <= u32(hi); k++) {
            let line = joseph_line(p, detector_ray(p, v, col_dirs[k], k));
            var i = iy;
            var other = i32(ix);
            if line.along_x {
                i = ix;
                other = i32(iy);
            }
            let f = line.f0 + f32(i) * line.fstep;
            let f_floor = floor(f);
            let frac = f - f_floor;
            let i0 = i32(f_floor);
            var w = 0.0;
            if other == i0 {
                w = 1.0 - frac;
            } else if other == i0 + 1 {
                w = frac;
            }
            acc += w * line.weight * sino[row + k];
        }
    }
    image[(z * p.ny + iy) * p.nx + ix] = acc;
}
