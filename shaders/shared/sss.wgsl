// Single scatter simulation (sss_integrals, sss_pairs, sss_interpolate; with TOF sss_nodes and
// sss_pairs_tof in place of sss_pairs): the Watson/Ollinger model on coarse images and a
// downsampled ring of detectors (physics::pet_scatter).
struct SssParams {
    nx: u32,                // coarse image columns, rows, slices
    ny: u32,
    nz: u32,
    n_points: u32,          // scatter points
    n_detectors: u32,       // downsampled detectors, ring-major (n_rings · n_crystals)
    n_rings: u32,
    n_crystals: u32,
    n_table: u32,           // entries of the angular table over cos θ ∈ [−1, 1]
    n_views: u32,           // sss_interpolate: views, planes, tangential bins of the layout
    n_planes: u32,
    n_tang: u32,
    len: u32,               // invocations of this dispatch
    n_tof: u32,             // TOF bins (1 without TOF)
    n_fine: u32,            // sss_pairs_tof: points of the fine TOF grid (at most SSS_FINE)
    fine_first: f32,        // sss_pairs_tof: position of fine point 0 along the line, mm
    fine_step: f32,         // sss_pairs_tof: spacing of the fine points, mm
    origin: vec4<f32>,      // centre of coarse voxel (0, 0, 0): x, y, z (mm), 0
    inv_spacing: vec4<f32>, // 1 / coarse voxel size: x, y, z (1/mm), 0
    step: vec4<f32>,        // sample step along a leg (mm), effective ring radius (mm), 0, 0
    min_cos: vec4<f32>,     // smallest cos of incidence of a pair's line on its crystals, 0, 0, 0
}

// The eight trilinear taps of the coarse image at index position q (x, y, z): voxel index or
// −1 outside the image, and weight.
struct SssTaps {
    idx: array<i32, 8>,
    w: array<f32, 8>,
}

fn sss_taps(p: SssParams, q: vec3<f32>) -> SssTaps {
    var t: SssTaps;
    let f = floor(q);
    let r = q - f;
    let i0 = vec3<i32>(f);
    for (var k = 0; k < 8; k++) {
        let o = vec3<i32>(k & 1, (k >> 1u) & 1, (k >> 2u) & 1);
        let i = i0 + o;
        let w = select(1.0 - r.x, r.x, o.x == 1) * select(1.0 - r.y, r.y, o.y == 1)
            * select(1.0 - r.z, r.z, o.z == 1);
        t.w[k] = w;
        t.idx[k] = -1;
        if i.x >= 0 && i.y >= 0 && i.z >= 0 && i.x < i32(p.nx) && i.y < i32(p.ny) && i.z < i32(p.nz) {
            t.idx[k] = (i.z * i32(p.ny) + i.y) * i32(p.nx) + i.x;
        }
    }
    return t;
}

// Segments of a leg's emission profile (sss_nodes), each written as two nodes.
const SSS_SEGMENTS: u32 = 3u;
// Nodes per leg (sss_nodes writes them, sss_pairs_tof reads them).
const SSS_NODES: u32 = 6u;
// Points of sss_pairs_tof's fine TOF grid at most.
const SSS_FINE: u32 = 128u;

// A leg from scatter point s to detector d in the coarse image's index space: q(l) = q0 + l·dq
// for l ∈ [0, 1]; it leaves the image box at l_out (clamped to [0, 1]); `samples` midpoints of
// equal steps of h mm cover [0, l_out].
struct SssLeg {
    q0: vec3<f32>,
    dq: vec3<f32>,
    l_out: f32,
    samples: u32,
    h: f32,
}

fn sss_leg(p: SssParams, s: vec3<f32>, d: vec3<f32>) -> SssLeg {
    var leg: SssLeg;
    leg.q0 = (s - p.origin.xyz) * p.inv_spacing.xyz;
    leg.dq = (d - s) * p.inv_spacing.xyz;
    let n = vec3<f32>(f32(p.nx), f32(p.ny), f32(p.nz));
    var l_out = 1.0;
    for (var k = 0u; k < 3u; k++) {
        if leg.dq[k] != 0.0 {
            l_out = min(l_out, max((-0.5 - leg.q0[k]) / leg.dq[k], (n[k] - 0.5 - leg.q0[k]) / leg.dq[k]));
        }
    }
    leg.l_out = max(l_out, 0.0);
    let length = sqrt(dot(d - s, d - s)) * leg.l_out;
    leg.samples = max(u32(ceil(length / p.step.x)), 1u);
    leg.h = length / f32(leg.samples);
    return leg;
}

// Position of sample j of a leg in index space.
fn sss_sample(leg: SssLeg, j: u32) -> vec3<f32> {
    return leg.q0 + leg.l_out * ((f32(j) + 0.5) / f32(leg.samples)) * leg.dq;
}

// Outward unit normal of a crystal of the downsampled ring (radial, in-plane; p.step.y is the
// ring's radius).
fn sss_normal(p: SssParams, d: vec3<f32>) -> vec3<f32> {
    return vec3<f32>(d.xy, 0.0) / p.step.y;
}

// Whether the line between detectors da and db meets both crystals less obliquely than
// p.min_cos.x (pairs that fail it are 0: no line of response of a layout comes near).
fn sss_pair_seen(p: SssParams, da: vec3<f32>, db: vec3<f32>) -> bool {
    let ab = db - da;
    let l = sqrt(dot(ab, ab));
    return -dot(ab, sss_normal(p, da)) / l >= p.min_cos.x && dot(ab, sss_normal(p, db)) / l >= p.min_cos.x;
}

// The geometry of scatter point `s` for the pair (da, db): the position u of cos θ in the
// angular table of n_table entries over [−1, 1], cos_a cos_b / (r_a² r_b²) (the scattered
// legs' incidence on the crystals over their squared lengths), and the distances r_a, r_b (mm).
struct SssPoint {
    u: f32,
    geometry: f32,
    ra: f32,
    rb: f32,
}

fn sss_point(p: SssParams, da: vec3<f32>, db: vec3<f32>, s: vec3<f32>) -> SssPoint {
    var o: SssPoint;
    let va = da - s;
    let vb = db - s;
    let ra2 = dot(va, va);
    let rb2 = dot(vb, vb);
    o.ra = sqrt(ra2);
    o.rb = sqrt(rb2);
    let cos_theta = -dot(va, vb) / (o.ra * o.rb);
    let last = f32(p.n_table - 1u);
    o.u = clamp((cos_theta + 1.0) * 0.5 * last, 0.0, last);
    let cos_a = dot(va, sss_normal(p, da)) / o.ra;
    let cos_b = dot(vb, sss_normal(p, db)) / o.rb;
    o.geometry = cos_a * cos_b / (ra2 * rb2);
    return o;
}
