// Single scatter, step 2: the sum over scatter points of every pair of downsampled detectors
// (a, b), a < b (the host mirrors the matrix; b ≤ a is written 0); physics::pet_scatter
// documents the model, whose line factor L²/(cos′_a cos′_b) sss_interpolate applies:
//   Σ_ab = Σ_s w_s · g(θ) · cos_a cos_b / (r_a² r_b²)
//          · (E_sa e^(−M_sa − k(θ) M_sb) + E_sb e^(−M_sb − k(θ) M_sa))
// w_s = μ_s · V_s of scatter point s; (E, M) its integrals to each detector; θ the scattering
// angle; g(θ) = (dσ_KN/dΩ)(θ)/σ_KN(511 keV) · ε(E′)/ε(511 keV) and k(θ) = σ_KN(E′)/σ_KN(511)
// from the table (linear in cos θ); cos_a, cos_b the incidence of the scattered legs on the
// crystals. Pairs whose line a–b meets a crystal more obliquely than p.min_cos.x (no line of
// response of a layout comes near) are 0.
// Grid: linear over n_detectors², index a · n_detectors + b.

@group(0) @binding(0) var<uniform> p: SssParams;
@group(0) @binding(1) var<storage, read> points: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> detectors: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> integrals: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> pairs: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if i >= p.len {
        return;
    }
    let a = i / p.n_detectors;
    let b = i % p.n_detectors;
    if b <= a {
        pairs[i] = 0.0;
        return;
    }
    let da = detectors[a].xyz;
    let db = detectors[b].xyz;
    // Outward unit normals of the crystals (radial, in-plane).
    let na = vec3<f32>(da.xy, 0.0) / p.step.y;
    let nb = vec3<f32>(db.xy, 0.0) / p.step.y;
    let ab = db - da;
    let l = sqrt(dot(ab, ab));
    let ca_line = -dot(ab, na) / l;
    let cb_line = dot(ab, nb) / l;
    if ca_line < p.min_cos.x || cb_line < p.min_cos.x {
        pairs[i] = 0.0;
        return;
    }
    let last = f32(p.n_table - 1u);
    var sum = 0.0;
    for (var s = 0u; s < p.n_points; s++) {
        let pt = points[s];
        let va = da - pt.xyz;
        let vb = db - pt.xyz;
        let ra2 = dot(va, va);
        let rb2 = dot(vb, vb);
        let ra = sqrt(ra2);
        let rb = sqrt(rb2);
        let cos_theta = -dot(va, vb) / (ra * rb);
        let u = clamp((cos_theta + 1.0) * 0.5 * last, 0.0, last);
        let j = min(u32(u), p.n_table - 2u);
        let f = u - f32(j);
        let g = mix(table[j], table[j + 1u], f);
        let cos_a = dot(va, na) / ra;
        let cos_b = dot(vb, nb) / rb;
        let ia = integrals[a * p.n_points + s];
        let ib = integrals[b * p.n_points + s];
        let legs = ia.x * exp(-ia.y - g.y * ib.y) + ib.x * exp(-ib.y - g.y * ia.y);
        sum += pt.w * g.x * cos_a * cos_b / (ra2 * rb2) * legs;
    }
    pairs[i] = sum;
}
