// Single scatter simulation (sss_integrals, sss_pairs, sss_interpolate): the Watson/Ollinger
// model on coarse images and a downsampled ring of detectors (physics::pet_scatter).
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
