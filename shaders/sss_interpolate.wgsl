// Single scatter, step 3: the scatter of every line of response of the layout: the sum over
// scatter points interpolated (linearly in the four coordinates: ring and crystal position of
// each end) from the full, symmetric matrix of the downsampled detectors, times the line's own
// factor L²/(cos′₁ cos′₂) = 4R²L⁴/c⁴ (L its length, c its chord in the transaxial plane, R the
// ring radius: both ends meet the cylinder at cos′ = c²/(2RL)) and its weight (crystal pairs
// it sums). The factor grows without bound towards tangent lines, so it is applied to each
// line, never interpolated. `lors[view · n_tang + t]` holds the continuous crystal positions
// (u₁, u₂) of its ends on the downsampled ring (periodic in n_crystals) and c²; `planes[plane]`
// the continuous ring positions (w₁, w₂) (clamped to the downsampled rings), the weight and
// the squared axial distance of the ends. With TOF, `pairs` holds n_tof bins per pair (the
// TOF axis of the layout, positions growing from end 1 to end 2): each invocation finds its
// line's 16 taps once and interpolates every TOF bin from them (one pair's bins lie together).
// Grid: linear over n_views · n_planes · n_tang lines, in the layout's order [view, plane, t];
// the output is [view, plane, tof, t].

@group(0) @binding(0) var<uniform> p: SssParams;
@group(0) @binding(1) var<storage, read> lors: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> planes: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> pairs: array<f32>;
@group(0) @binding(4) var<storage, read_write> scatter: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if i >= p.len {
        return;
    }
    let t = i % p.n_tang;
    let plane = (i / p.n_tang) % p.n_planes;
    let view = i / (p.n_tang * p.n_planes);
    let lor = lors[view * p.n_tang + t];
    let pl = planes[plane];
    // Lower corner and fraction along each coordinate: ring 1, crystal 1, ring 2, crystal 2.
    let x = vec4<f32>(pl.x, lor.x, pl.y, lor.y);
    let lo = floor(x);
    let f = x - lo;
    let n_rings = i32(p.n_rings);
    let n_crystals = i32(p.n_crystals);
    var w: array<f32, 16>;
    var first: array<u32, 16>;
    for (var k = 0; k < 16; k++) {
        let o = vec4<i32>(k & 1, (k >> 1u) & 1, (k >> 2u) & 1, (k >> 3u) & 1);
        w[k] = select(1.0 - f.x, f.x, o.x == 1) * select(1.0 - f.y, f.y, o.y == 1)
            * select(1.0 - f.z, f.z, o.z == 1) * select(1.0 - f.w, f.w, o.w == 1);
        let r1 = min(i32(lo.x) + o.x, n_rings - 1);
        let r2 = min(i32(lo.z) + o.z, n_rings - 1);
        let c1 = (i32(lo.y) + o.y) % n_crystals;
        let c2 = (i32(lo.w) + o.w) % n_crystals;
        let a = u32(r1 * n_crystals + c1);
        let b = u32(r2 * n_crystals + c2);
        first[k] = (a * p.n_detectors + b) * p.n_tof;
    }
    let c2 = lor.z;
    let l2 = c2 + pl.w;
    let factor = pl.z * (4.0 * p.step.y * p.step.y * l2 * l2 / (c2 * c2));
    let out = (view * p.n_planes + plane) * p.n_tof * p.n_tang + t;
    for (var bin = 0u; bin < p.n_tof; bin++) {
        var sum = 0.0;
        for (var k = 0; k < 16; k++) {
            sum += w[k] * pairs[first[k] + bin];
        }
        scatter[out + bin * p.n_tang] = sum * factor;
    }
}
