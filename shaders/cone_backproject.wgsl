// FDK back-projection, voxel-driven: one invocation per voxel (x, y, z) of a slab adds, view
// after view in order, the bilinear sample of the filtered projections where the ray from the
// source through the voxel meets the detector, times the FDK distance weight (flat: 1/w²;
// cylindrical: 1/(t² + l²)). Accumulates onto `image` (the slab), so a volume streamed through
// chunks of views sums exactly as in one pass. Samples beyond the detector are 0.
// CPU twin: src/backend/cpu/cone_backproject.rs.

@group(0) @binding(0) var<uniform> p: ConeParams;
@group(0) @binding(1) var<storage, read> maps: array<ConeMap>;
@group(0) @binding(2) var<storage, read> filtered: array<f32>;
@group(0) @binding(3) var<storage, read_write> image: array<f32>;

fn affine(m: vec4<f32>, x: f32, y: f32, z: f32) -> f32 {
    return m.x * x + (m.y * y + (m.z * z + m.w));
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ix = gid.x;
    let iy = gid.y;
    let iz = gid.z;
    if ix >= p.nx || iy >= p.ny || iz >= p.nz {
        return;
    }
    let x = f32(ix);
    let y = f32(iy);
    let z = f32(p.z0 + iz);
    let at = (iz * p.ny + iy) * p.nx + ix;
    let last_col = i32(p.n_cols) - 1;
    let lo_row = i32(p.row0);
    let hi_row = i32(p.row0 + p.band_rows) - 1;
    var acc = image[at];
    for (var v = 0u; v < p.n_views; v++) {
        let m = maps[p.first + v];
        let a = affine(m.a, x, y, z);
        let b = affine(m.b, x, y, z);
        let c = affine(m.c, x, y, z);
        var col = 0.0;
        var row = 0.0;
        var w = 0.0;
        if p.kind == CONE_FLAT {
            let inv = 1.0 / c;
            col = a * inv;
            row = b * inv;
            w = inv * inv;
        } else {
            let r2 = a * a + c * c;
            col = atan_twin(a / c) * p.col_scale + p.col_center;
            row = b / sqrt(r2) * p.row_scale + p.row_center;
            w = 1.0 / r2;
        }
        let sc = split_index(col, p.n_cols);
        let sr = split_index(row, p.n_rows);
        let base = v * p.band_rows;
        var val = 0.0;
        for (var k = 0; k < 4; k++) {
            let r = sr.i + (k >> 1);
            let q = sc.i + (k & 1);
            if r >= lo_row && r <= hi_row && q >= 0 && q <= last_col {
                let wr = select(1.0 - sr.frac, sr.frac, (k >> 1) == 1);
                let wq = select(1.0 - sc.frac, sc.frac, (k & 1) == 1);
                val += wr * wq * filtered[(base + u32(r - lo_row)) * p.n_cols + u32(q)];
            }
        }
        acc += w * val;
    }
    image[at] = acc;
}
