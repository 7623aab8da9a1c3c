// 3D PET forward projection: out[i] ← Σ over the planes of line of response i of the image's
// bilinear taps × step (mm) × the bin's weight, times the TOF kernel integrated over the bin
// when p.tof.y (sigma) > 0. Lines are sinogram bins, list-mode events or cone-beam rays (see pet_lookup).
// The sum goes slice by slice in increasing z (each slice's taps in walk order, the walk turned
// so that z does not decrease), so an image held in slabs of slices (p.slab) is projected a
// slab at a time onto what `out` holds (from 0 for the slab starting at slice 0), with the
// same bits as in one piece.
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
    var total = 0.0;
    if p.slab.x > 0u {
        total = out[i];
    }
    // z grows with the plane index unless the walk runs along x or y against z.
    let rising = walk.axis == 2u || walk.d.z * walk.d[walk.axis] >= 0.0;
    var cur = -2;        // the slice summed in `here`; `next` holds slice cur + 1
    var here = 0.0;
    var next = 0.0;
    let planes = slab_planes(p, walk);
    for (var s = planes.x; s <= planes.y; s++) {
        let plane = select(planes.y - (s - planes.x), s, rising);
        let taps = pet_taps(p, walk, plane);
        // A plane's taps lie on slices taps.slice[0] and taps.slice[0] + 1.
        let low = taps.slice[0];
        if low == cur + 1 {
            total += here;
            here = next;
            next = 0.0;
            cur = low;
        } else if low > cur + 1 {
            total += here;
            total += next;
            here = 0.0;
            next = 0.0;
            cur = low;
        }
        for (var k = 0; k < 4; k++) {
            if taps.index[k] >= 0 {
                let v = image[taps.index[k]] * taps.weight[k];
                if taps.slice[k] == cur {
                    here += v;
                } else {
                    next += v;
                }
            }
        }
    }
    total += here;
    total += next;
    out[i] = total;
}
