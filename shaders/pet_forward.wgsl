// 3D PET forward projection: out[i] ← Σ over the planes of line of response i of the image's
// bilinear taps × step (mm) × the bin's weight, times the TOF kernel integrated over the bin
// when p.tof.y (sigma) > 0. Lines are sinogram bins, list-mode events or cone-beam rays (see pet_lookup).
// Grid: (ceil(len / 64), 1, 1) with workgroups of 64, or folded into y when that is too many.

@group(0) @binding(0) var<uniform> p: PetParams;
@group(0) @binding(1) var<storage, read> transaxial: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> axial: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> events: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> image: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 64u;
    if i >= p.len {
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
    var sum = 0.0;
    for (var plane = walk.lo; plane <= walk.hi; plane++) {
        let taps = pet_taps(p, walk, plane);
        for (var k = 0; k < 4; k++) {
            if taps.index[k] >= 0 {
                sum += image[taps.index[k]] * taps.weight[k];
            }
        }
    }
    out[i] = sum;
}
