// Exact adjoint of forward_project.wgsl as a gather: one invocation per voxel (x, y, z).
// Overwrites `image[z, y, x]` with the sum over the rays whose Joseph samples touch the voxel,
// each weighted exactly as the forward projection weighs that voxel.
// CPU twin: src/backend/cpu/adjoint_project.rs.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> views: array<View>;
@group(0) @binding(2) var<storage, read> lines: array<Line>;
@group(0) @binding(3) var<storage, read> sino: array<f32>;
@group(0) @binding(4) var<storage, read_write> image: array<f32>;

// Candidate columns are widened by this much beyond the exact reach, to absorb the rounding
// difference between the voxel map and the ray lines (about 1e-4 columns).
const REACH_MARGIN: f32 = 0.01;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ix = gid.x;
    let iy = gid.y;
    let z = gid.z;
    if ix >= p.nx || iy >= p.ny || z >= p.nz {
        return;
    }
    let rho = max(p.dx, p.dy);
    let last_col = f32(p.n_cols) - 1.0;
    var acc = 0.0;
    for (var view = 0u; view < p.n_views; view++) {
        let v = views[view];
        let t = pixel_t(v, ix, iy);
        let l = pixel_l(v, ix, iy);
        let c = column_of(p, t, l);
        let reach = column_reach(p, v, t, l, rho) + REACH_MARGIN;
        if c + reach < 0.0 || c - reach > last_col {
            continue;
        }
        let lo = u32(max(c - reach, 0.0));
        let hi = min(u32(c + reach), p.n_cols - 1u);
        let row = (view * p.nz + z) * p.n_cols;
        var part = 0.0;
        for (var k = lo; k <= hi; k++) {
            let line = lines[view * p.n_cols + k];
            var i = iy;
            var other = i32(ix);
            var n_other = p.nx;
            if line.along_x > 0.5 {
                i = ix;
                other = i32(iy);
                n_other = p.ny;
            }
            let s = split_index(line.f0 + f32(i) * line.fstep, n_other);
            var w = 0.0;
            if other == s.i {
                w = 1.0 - s.frac;
            } else if other == s.i + 1 {
                w = s.frac;
            }
            part += w * line.weight * sino[row + k];
        }
        acc += part;
    }
    image[(z * p.ny + iy) * p.nx + ix] = acc;
}
