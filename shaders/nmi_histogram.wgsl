// Joint histogram for normalised mutual information by partial-volume interpolation: every
// `stride`-th fixed voxel along each axis adds the eight trilinear weights of its position in
// the moving volume (m = b + A·t, A's columns one fixed step along z, y, x) to the bins
// (fixed bin, bin of that moving voxel). Voxels mapping outside the moving volume's centres add
// nothing. Positions are integers in units of 2^-frac voxel, so which voxel and which weights a
// sample gets are exact on every device (no rounding or fused multiply-add can move a sample
// across a voxel or volume edge). Weights are added as fixed-point integers (× `scale`) so the
// sums are exact and the result does not depend on the order of the atomic additions.
// Bins are bytes, four to a word. Grid: (ceil(len / 256), rows, 1), workgroups of 256.

@group(0) @binding(0) var<uniform> p: NmiParams;
@group(0) @binding(1) var<storage, read> fixed_bins: array<u32>;
@group(0) @binding(2) var<storage, read> moving_bins: array<u32>;
@group(0) @binding(3) var<storage, read_write> joint: array<atomic<u32>>;

fn byte(words_index: u32, which: u32) -> u32 {
    return (which >> (8u * (words_index % 4u))) & 0xffu;
}

fn moving_bin(i: u32) -> u32 {
    return byte(i, moving_bins[i / 4u]);
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if i >= p.len {
        return;
    }
    let stride = p.fixed.w;
    let sx = (p.fixed.z + stride - 1u) / stride;
    let sy = (p.fixed.y + stride - 1u) / stride;
    let ix = (i % sx) * stride;
    let iy = ((i / sx) % sy) * stride;
    let iz = (i / (sx * sy)) * stride;
    let flat = (iz * p.fixed.y + iy) * p.fixed.z + ix;
    let f = byte(flat, fixed_bins[flat / 4u]);
    let m = p.b.xyz + i32(iz) * p.col_z.xyz + i32(iy) * p.col_y.xyz + i32(ix) * p.col_x.xyz;
    let frac = vec3<u32>(p.frac);
    let limit = vec3<i32>(p.moving.xyz - vec3<u32>(1u)) << frac;
    if any(m < vec3<i32>(0)) || any(m > limit) {
        return;
    }
    let c = vec3<u32>(m >> frac);
    let w = ldexp(vec3<f32>(m & ((vec3<i32>(1) << frac) - vec3<i32>(1))), vec3<i32>(-i32(p.frac)));
    let n = p.moving.w;
    for (var corner = 0u; corner < 8u; corner++) {
        let d = vec3<u32>((corner >> 2u) & 1u, (corner >> 1u) & 1u, corner & 1u);
        let wz = select(1.0 - w.x, w.x, d.x == 1u);
        let wy = select(1.0 - w.y, w.y, d.y == 1u);
        let wx = select(1.0 - w.z, w.z, d.z == 1u);
        let weight = u32(round(wz * wy * wx * p.scale));
        if weight == 0u {
            continue;
        }
        let q = min(c + d, p.moving.xyz - vec3<u32>(1u));
        let mb = moving_bin((q.x * p.moving.y + q.y) * p.moving.z + q.z);
        atomicAdd(&joint[f * n + mb], weight);
    }
}
