// Single scatter, step 1: for every (detector d, scatter point s), the integrals of the
// activity λ and of μ (511 keV) along the leg from s to d, sampled trilinearly on the coarse
// images at `step` intervals from s to where the leg leaves the image box (sss_leg):
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
    let leg = sss_leg(p, points[i % p.n_points].xyz, detectors[i / p.n_points].xyz);
    var e = 0.0;
    var m = 0.0;
    for (var j = 0u; j < leg.samples; j++) {
        let t = sss_taps(p, sss_sample(leg, j));
        for (var k = 0; k < 8; k++) {
            if t.idx[k] >= 0 {
                e += t.w[k] * activity[t.idx[k]];
                m += t.w[k] * mu[t.idx[k]];
            }
        }
    }
    integrals[i] = vec2<f32>(e * leg.h, m * leg.h);
}
