// BSREM, image step (Ahn & Fessler 2003): a relaxed, preconditioned gradient step on the
// penalised likelihood of the subset,
//   x ← max(floor, x + α · (x / p) · (S · (Aₛᵀq − sₛ) − β · ∇U(x)))
// with q = y / ȳ (em_ratio), sₛ the subset's sensitivity image, p = Σₛ sₛ the whole data's
// (summed here in subset order), S the number of subsets and ∇U the prior's gradient at the
// image before this sub-iteration. Voxels no view sees (p ≤ 0) keep their value.
// Grid: (ceil(len / 256), 1, 1) with workgroups of 256, or folded into y when that is too many.

@group(0) @binding(0) var<uniform> p: BsremParams;
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
    var total = 0.0;
    for (var s = 0u; s < p.n_subsets; s++) {
        total += sensitivity[s * p.len + i];
    }
    if total > 0.0 {
        let x = image[i];
        let step = f32(p.n_subsets) * (back[i] - sensitivity[p.subset * p.len + i]) - p.beta * grad[i];
        image[i] = max(p.floor, x + p.alpha * (x / total) * step);
    }
}
