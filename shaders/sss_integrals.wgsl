// Single scatter, step 1: for every (detector d, scatter point s), the integrals of the
// activity λ and of μ (511 keV) along the leg from s to d, sampled trilinearly on the coarse
// images at `step` intervals from s to where the leg leaves the image box:
// integrals[d, s] = (∫λ dl, ∫μ dl) (image value × mm).
// Grid: linear over n_detectors · n_points, index d · n_points + s.

@group(0) @binding(0) var<uniform> p: SssParams;
@group(0) @binding(1) var<storage, read> activity: array<f32>;
@group(0) @binding(2) var<storage, read> mu: array<f32>;
@group(0) @binding(3) var<storage, read> points: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> detectors: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> integrals: array<vec2<f32>>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if i >= p.len {
        return;
    }
    let s = points[i % p.n_points].xyz;
    let d = detectors[i / p.n_points].xyz;
    // In index space: q(l) = q0 + l · dq, l ∈ [0, 1] from s to d.
    let q0 = (s - p.origin.xyz) * p.inv_spacing.xyz;
    let dq = (d - s) * p.inv_spacing.xyz;
    let n = vec3<f32>(f32(p.nx), f32(p.ny), f32(p.nz));
    var l_out = 1.0;
    for (var k = 0u; k < 3u; k++) {
        if dq[k] != 0.0 {
            l_out = min(l_out, max((-0.5 - q0[k]) / dq[k], (n[k] - 0.5 - q0[k]) / dq[k]));
        }
    }
    let length = sqrt(dot(d - s, d - s)) * max(l_out, 0.0);
    let samples = max(u32(ceil(length / p.step.x)), 1u);
    let h = length / f32(samples);
    var e = 0.0;
    var m = 0.0;
    for (var j = 0u; j < samples; j++) {
        let l = max(l_out, 0.0) * ((f32(j) + 0.5) / f32(samples));
        let t = sss_taps(p, q0 + l * dq);
        for (var k = 0; k < 8; k++) {
            if t.idx[k] >= 0 {
                e += t.w[k] * activity[t.idx[k]];
                m += t.w[k] * mu[t.idx[k]];
            }
        }
    }
    integrals[i] = vec2<f32>(e * h, m * h);
}
