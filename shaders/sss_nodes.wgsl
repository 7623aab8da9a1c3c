// Single scatter with TOF, step 1b: for every (detector d, scatter point s), the emission along
// the leg from s to d as SSS_NODES point masses at distances from s, for sss_pairs_tof. The
// leg is sampled as sss_integrals samples it; the samples from the first to the last with
// activity are cut into SSS_SEGMENTS runs of equal length, and each run is written as two
// nodes of half its emission at its mean distance ± its standard deviation (a sample standing
// for h mm adds h²/12), so that each run keeps its emission, mean and variance:
// nodes[(d · n_points + s) · SSS_NODES + 2g + {0, 1}] = (∫λ dl over run g / 2, distance (mm)).
// A leg without activity is all zeros.
// Grid: linear over n_detectors · n_points, index d · n_points + s.

@group(0) @binding(0) var<uniform> p: SssParams;
@group(0) @binding(1) var<storage, read> activity: array<f32>;
@group(0) @binding(2) var<storage, read> points: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> detectors: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> nodes: array<vec2<f32>>;

fn emission(t: SssTaps) -> f32 {
    var v = 0.0;
    for (var k = 0; k < 8; k++) {
        if t.idx[k] >= 0 {
            v += t.w[k] * activity[t.idx[k]];
        }
    }
    return v;
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if i >= p.len {
        return;
    }
    let leg = sss_leg(p, points[i % p.n_points].xyz, detectors[i / p.n_points].xyz);
    var first = leg.samples;
    var last = 0u;
    for (var j = 0u; j < leg.samples; j++) {
        if emission(sss_taps(p, sss_sample(leg, j))) > 0.0 {
            first = min(first, j);
            last = j;
        }
    }
    // Sums per run: emission, and its first and second moments about the first sample.
    var m: array<vec3<f32>, SSS_SEGMENTS>;
    for (var g = 0u; g < SSS_SEGMENTS; g++) {
        m[g] = vec3<f32>(0.0);
    }
    if first < leg.samples {
        let span = f32(last - first + 1u);
        for (var j = first; j <= last; j++) {
            let v = emission(sss_taps(p, sss_sample(leg, j)));
            let x = f32(j - first) * leg.h;
            let g = min(u32(f32(j - first) * f32(SSS_SEGMENTS) / span), SSS_SEGMENTS - 1u);
            m[g] += vec3<f32>(v, v * x, v * x * x);
        }
    }
    let origin = (f32(first) + 0.5) * leg.h;
    for (var g = 0u; g < SSS_SEGMENTS; g++) {
        var lo = vec2<f32>(0.0);
        var hi = vec2<f32>(0.0);
        if m[g].x > 0.0 {
            let mean = m[g].y / m[g].x;
            let spread = sqrt(max(m[g].z / m[g].x - mean * mean, 0.0) + leg.h * leg.h / 12.0);
            let half = 0.5 * m[g].x * leg.h;
            lo = vec2<f32>(half, origin + mean - spread);
            hi = vec2<f32>(half, origin + mean + spread);
        }
        nodes[i * SSS_NODES + 2u * g] = lo;
        nodes[i * SSS_NODES + 2u * g + 1u] = hi;
    }
}
