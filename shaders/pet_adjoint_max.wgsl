// 3D PET back-projection, first pass: voxel_max[v] ← the largest |term| (fixed_term: data[i] ×
// a tap's weight) any line of response gives voxel v, as the bits of a non-negative float
// (they order like the values, so an integer atomicMax finds it in any order). pet_adjoint
// then scales each voxel's fixed-point sum by it, so a voxel that only small values reach
// keeps its precision beside one that huge values reach. Same walk as pet_adjoint.
// Grid: (ceil(len / 64), 1, 1) with workgroups of 64, or folded into y when that is too many.

@group(0) @binding(0) var<uniform> p: PetParams;
@group(0) @binding(1) var<storage, read> transaxial: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> axial: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> events: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> data: array<f32>;
@group(0) @binding(5) var<storage, read_write> voxel_max: array<atomic<u32>>;

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
            if taps.index[k] >= 0 {
                let bits = bitcast<u32>(abs(fixed_term(y, taps.weight[k])));
                // Most taps do not raise the maximum: read before the atomic.
                if bits > atomicLoad(&voxel_max[taps.index[k]]) {
                    atomicMax(&voxel_max[taps.index[k]], bits);
                }
            }
        }
    }
}
