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

// The leading 12 significant bits of each component (sign and exponent kept): times a voxel
// index below 4096 (12 bits), the product is exact.
fn leading(m: vec4<f32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(bitcast<vec4<u32>>(m) & vec4<u32>(0xfffff000u));
}

// m.x x + m.y y + m.z z + m.w, the same on every device and in the CPU twin: the coefficients'
// leading bits give exact products, so whether a compiler fuses those multiply-adds (NVIDIA's
// does, lavapipe's does not) cannot change a bit; only the small remainder's terms can differ,
// by an ulp of the remainder, which moves the sum's rounding in a rare case.
fn affine(m: vec4<f32>, x: f32, y: f32, z: f32) -> f32 {
    let h = leading(m);
    let l = m - h;
    let exact = h.x * x + (h.y * y + (h.z * z + h.w));
    return exact + (l.x * x + (l.y * y + (l.z * z + l.w)));
}

// 1 / c correctly rounded, as the CPU twin divides: a device's division may be off by about an
// ulp (NVIDIA's is), so one Newton step r + r (1 − c r) follows, its residual from the leading
// and trailing bits of c and r (exact products, fused or not) and 1 − c_h r_h exact as both lie
// near 1. Where the division was correctly rounded, the step leaves it.
fn recip(c: f32) -> f32 {
    let r = 1.0 / c;
    let h = leading(vec4<f32>(c, r, 0.0, 0.0));
    let l = vec2<f32>(c, r) - h.xy;
    let e = (((1.0 - h.x * h.y) - h.x * l.y) - l.x * h.y) - l.x * l.y;
    return r + r * e;
}

// The filtered sample of chunk view `v` at detector row `r`, column `q`; 0 outside the band and
// the detector.
fn tap(v: u32, r: i32, q: i32) -> f32 {
    if r < i32(p.row0) || r >= i32(p.row0 + p.band_rows) || q < 0 || q >= i32(p.n_cols) {
        return 0.0;
    }
    return filtered[(v * p.band_rows + u32(r - i32(p.row0))) * p.n_cols + u32(q)];
}

// a + t (b − a) as one fused multiply-add. Fused where the CPU twin fuses (the row at z, the
// interpolations, the sum), so that a device honouring fma gives the twin's numbers.
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    return fma(t, b - a, a);
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
    var acc = image[at];
    for (var v = 0u; v < p.n_views; v++) {
        let m = maps[p.first + v];
        let a = affine(m.a, x, y, z);
        let c = affine(m.c, x, y, z);
        // The row is taken as its value at slice 0 plus z times its change per slice, so that
        // a line of voxels along z shares everything but the last step.
        let b = affine(m.b, x, y, 0.0);
        var col = 0.0;
        var row_at = 0.0;
        var row_dz = 0.0;
        var w = 0.0;
        if p.kind == CONE_FLAT {
            let inv = recip(c);
            col = a * inv;
            row_at = b * inv;
            row_dz = m.b.z * inv;
            w = inv * inv;
        } else {
            let r2 = a * a + c * c;
            let div = sqrt(r2);
            col = atan_twin(a / c) * p.col_scale + p.col_center;
            row_at = b / div * p.row_scale + p.row_center;
            row_dz = m.b.z / div * p.row_scale;
            w = 1.0 / r2;
        }
        let sc = split_index(col, p.n_cols);
        let sr = split_index(fma(z, row_dz, row_at), p.n_rows);
        // Between the two columns first, then between the two rows.
        let c0 = lerp(tap(v, sr.i, sc.i), tap(v, sr.i, sc.i + 1), sc.frac);
        let c1 = lerp(tap(v, sr.i + 1, sc.i), tap(v, sr.i + 1, sc.i + 1), sc.frac);
        acc = fma(w, lerp(c0, c1, sr.frac), acc);
    }
    image[at] = acc;
}
