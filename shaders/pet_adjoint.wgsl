// 3D PET back-projection, the exact transpose of pet_forward: every line of response adds
// its terms (fixed_term: data[i] × a tap's weight) to the voxels as 64-bit fixed-point
// integers (two words per voxel, low then high), each voxel at its own scale 2^s from the
// largest |term| it receives (voxel_max, from pet_adjoint_max), so the sums do not depend on
// the order of the atomic additions (reruns are bit-identical) and no voxel's precision
// depends on what other voxels receive. fixed_to_float turns them back into floats.
// Grid: (ceil(len / 64), 1, 1) with workgroups of 64, or folded into y when that is too many.

@group(0) @binding(0) var<uniform> p: PetParams;
@group(0) @binding(1) var<storage, read> transaxial: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> axial: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> events: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> data: array<f32>;
@group(0) @binding(5) var<storage, read> voxel_max: array<u32>;
@group(0) @binding(6) var<storage, read_write> acc: array<atomic<u32>>;

// Adds round(v) (|v| < 2^62) to the 64-bit integer at voxel `voxel`.
fn add_fixed(voxel: i32, v: f32) {
    let r = round(v);
    let m = abs(r);
    let hi_f = floor(m * 2.3283064e-10);
    var lo = u32(m - hi_f * 4294967296.0);
    var hi = u32(hi_f);
    if r < 0.0 {
        lo = ~lo + 1u;
        hi = ~hi + select(0u, 1u, lo == 0u);
    }
    let at = 2u * u32(voxel);
    let old = atomicAdd(&acc[at], lo);
    let carry = select(0u, 1u, old + lo < old);
    atomicAdd(&acc[at + 1u], hi + carry);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 64u;
    if i >= p.len {
        return;
    }
    let y = data[i];
    if y == 0.0 {
        return;
    }
    var e = vec4<u32>(0u);
    if p.mode == PET_LIST {
        e = events[p.first + i];
    }
    let l = pet_lookup(p, i, e);
    var lor = pet_lor(p, l, transaxial[l.x], axial[l.y], axial[l.z]);
    if p.mode == PET_CONE {
        let at = 3u * l.x;
        lor = cone_ray(p, transaxial[at], transaxial[at + 1u], transaxial[at + 2u], axial[l.y], axial[l.z]);
    }
    let walk = pet_walk(p, lor);
    let planes = slab_planes(p, walk);
    for (var plane = planes.x; plane <= planes.y; plane++) {
        let taps = pet_taps(p, walk, plane);
        for (var k = 0; k < 4; k++) {
            let v = taps.index[k];
            if v >= 0 {
                let c = fixed_term(y, taps.weight[k]);
                if c != 0.0 {
                    add_fixed(v, times_pow2(c, fixed_shift(voxel_max[v], p.bound_exp)));
                }
            }
        }
    }
}
