// Single scatter, step 2: the sum over scatter points of every pair of downsampled detectors
// (a, b), a < b, added onto `pairs` (the host runs blocks of scatter points onto zeros and
// mirrors the matrix; b ≤ a is left alone); physics::pet_scatter
// documents the model, whose line factor L²/(cos′_a cos′_b) sss_interpolate applies:
//   Σ_ab = Σ_s w_s · g(θ) · cos_a cos_b / (r_a² r_b²)
//          · (E_sa e^(−M_sa − k(θ) M_sb) + E_sb e^(−M_sb − k(θ) M_sa))
// w_s = μ_s · V_s of scatter point s; (E, M) its integrals to each detector; θ the scattering
// angle; g(θ) = (dσ_KN/dΩ)(θ)/σ_KN(511 keV) · ε(E′)/ε(511 keV) and k(θ) = σ_KN(E′)/σ_KN(511)
// from the table (linear in cos θ); cos_a, cos_b the incidence of the scattered legs on the
// crystals. Pairs whose line a–b meets a crystal more obliquely than p.min_cos.x (no line of
// response of a layout comes near) are left alone.
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
    let da = detectors[a].xyz;
    let db = detectors[b].xyz;
    if b <= a || !sss_pair_seen(p, da, db) {
        return;
    }
    var sum = 0.0;
    for (var s = 0u; s < p.n_points; s++) {
        let pt = points[s];
        let o = sss_point(p, da, db, pt.xyz);
        let j = min(u32(o.u), p.n_table - 2u);
        let g = mix(table[j], table[j + 1u], o.u - f32(j));
        if g.x <= 0.0 {
            continue;
        }
        let ia = integrals[a * p.n_points + s];
        let ib = integrals[b * p.n_points + s];
        let legs = ia.x * exp(-ia.y - g.y * ib.y) + ib.x * exp(-ib.y - g.y * ia.y);
        sum += pt.w * g.x * o.geometry * legs;
    }
    pairs[i] += sum;
}
