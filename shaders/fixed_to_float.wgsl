// image[v] ← the 64-bit fixed-point sum of voxel v (pet_adjoint's words, low then high) as a
// float: (high · 2^32 + low) / 2^s with the voxel's own shift s (fixed_shift of voxel_max[v]),
// the integer evaluated in 16-bit pieces that convert exactly; results below the smallest
// normal float are 0 on both backends.
// Grid: (ceil(len / 256), 1, 1) with workgroups of 256, or folded into y when that is too many.

@group(0) @binding(0) var<uniform> p: PetParams;
@group(0) @binding(1) var<storage, read> voxel_max: array<u32>;
@group(0) @binding(2) var<storage, read> acc: array<u32>;
@group(0) @binding(3) var<storage, read_write> image: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if i >= p.len {
        return;
    }
    let lo = acc[2u * i];
    let hi = bitcast<i32>(acc[2u * i + 1u]);
    let v = (f32(hi) * 65536.0 + f32(lo >> 16u)) * 65536.0 + f32(lo & 0xffffu);
    let x = times_pow2(v, -fixed_shift(voxel_max[i], p.bound_exp));
    image[i] = select(x, 0.0, abs(x) < 1.1754944e-38);
}
