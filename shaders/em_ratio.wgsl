// EM, data step for one subset: with multiplicative factors m (PET: attenuation ×
// normalisation; 1 otherwise) the model is ȳ = m·(A x) + b and the back-projected ratio is
// m · y / ȳ; it is written over the projections A x. The ratio y / ȳ is capped at
// EM_MAX_RATIO (STIR's divide_and_truncate rule, y / max(ȳ, y / 10⁴)): a bin or event that the
// image explains 10⁴ times too weakly (a TOF window that misses the object, ȳ → 0 or ≤ 0) pulls
// at most that hard, finite, and never a division by zero; y = 0 gives 0.
// Grid: (ceil(len / 256), 1, 1) with workgroups of 256, or folded into y when that is too many.

@group(0) @binding(0) var<uniform> p: EmParams;
@group(0) @binding(1) var<storage, read> measured: array<f32>;
@group(0) @binding(2) var<storage, read> background: array<f32>;
@group(0) @binding(3) var<storage, read> factors: array<f32>;
@group(0) @binding(4) var<storage, read_write> expected: array<f32>;

const EM_MAX_RATIO: f32 = 1e4;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if i >= p.len {
        return;
    }
    var f = 1.0;
    var denominator = expected[i];
    if p.has_factors != 0u {
        f = factors[p.offset + i];
        denominator = f * denominator;
    }
    if p.has_background != 0u {
        denominator += background[p.offset + i];
    }
    let y = measured[p.offset + i];
    var q = 0.0;
    if y > 0.0 {
        q = select(y / denominator, EM_MAX_RATIO, denominator * EM_MAX_RATIO <= y);
    }
    expected[i] = q * f;
}
