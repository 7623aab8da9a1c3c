// EM, image step: x ← x · Aᵀq / (s + β·∇U(x)) with s the subset's sensitivity image and
// ∇U the prior's gradient at the image before this sub-iteration (one-step-late MAP; β = 0 is
// plain EM, bit for bit). The denominator is kept ≥ s/100 so a strong prior cannot flip its
// sign. Voxels the subset does not see (s ≤ 0) keep their value.
// Grid: (ceil(len / 256), 1, 1) with workgroups of 256, or folded into y when that is too many.

@group(0) @binding(0) var<uniform> p: EmParams;
@group(0) @binding(1) var<storage, read> sensitivity: array<f32>;
@group(0) @binding(2) var<storage, read> back: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> image: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if i >= p.len {
        return;
    }
    let s = sensitivity[p.offset + i];
    if s > 0.0 {
        var denominator = s;
        if p.beta != 0.0 {
            denominator = max(s + p.beta * grad[i], 0.01 * s);
        }
        image[i] = image[i] * (back[i] / denominator);
    }
}
