// 3D PET lines of response and cone-beam CT rays, Joseph's method between their end points,
// time-of-flight kernels and 64-bit fixed-point accumulation with a scale per voxel. CPU twin: src/backend/cpu/shared/pet.rs.

// Parameters of the PET stages (pet_forward, pet_adjoint_max, pet_adjoint, fixed_to_float).
struct PetParams {
    nx: u32,
    ny: u32,
    nz: u32,
    mode: u32,          // 0: sinogram bins, 1: list-mode events, 2: cone-beam rays
    n_tang: u32,        // sinogram: tangential bins; cone beam: detector columns
    n_planes: u32,      // sinogram: planes; cone beam: detector rows
    n_views: u32,       // sinogram, cone beam: views of this dispatch
    n_tof: u32,         // TOF bins per line of response (1: none)
    len: u32,           // samples of this dispatch (bins or events; voxels for fixed_to_float)
    first: u32,         // list mode: first event; sinogram, cone beam: first view
    bound_exp: i32,     // log2 of a bound on the terms one voxel receives (lines of the back-projection)
    _pad0: u32,
    origin: vec4<f32>,      // centre of voxel (0, 0, 0), mm: x, y, z, 0
    inv_spacing: vec4<f32>, // 1 / voxel size (x, y, z), 1/mm
    scale: vec4<f32>,       // voxel size (x, y, z), mm; w: weight of every line (view mashing)
    tof: vec4<f32>,         // TOF bin width (mm), sigma (mm), truncation T (sigmas), 1 / (2 erf(T/√2))
    slab: vec4<u32>,        // slices z0..z1 the image (or accumulator) buffer holds; 0, 0
}

const PET_SINOGRAM: u32 = 0u;
const PET_LIST: u32 = 1u;
const PET_CONE: u32 = 2u;

// A line of response: end points (mm), the weight of its bin (ring pairs × mashed views) and
// its TOF bin.
struct Lor {
    p1: vec3<f32>,
    p2: vec3<f32>,
    weight: f32,
    tof: u32,
}

// Table entries of sample `i` of a dispatch, (transaxial entry, axial entry of end 1, axial
// entry of end 2, TOF bin): sinogram bin `i` in `[view, plane, tof, tangential]` order, or
// the event `e` itself (transaxial index, ring 1, ring 2, TOF bin); for a cone-beam pixel `i`
// in `[view, row, col]` order (view, column entry, row entry, 0), see cone_ray.
fn pet_lookup(p: PetParams, i: u32, e: vec4<u32>) -> vec4<u32> {
    if p.mode == PET_LIST {
        return e;
    }
    if p.mode == PET_CONE {
        let col = i % p.n_tang;
        let rest = i / p.n_tang;
        return vec4<u32>(p.first + rest / p.n_planes, col, p.n_tang + rest % p.n_planes, 0u);
    }
    let tang = i % p.n_tang;
    let rest = i / p.n_tang;
    let k = rest % p.n_tof;
    let plane = (rest / p.n_tof) % p.n_planes;
    let view = p.first + rest / (p.n_tof * p.n_planes);
    return vec4<u32>(view * p.n_tang + tang, plane, plane, k);
}

// The line of response of table entries `l`: `t` the transaxial entry (x1, y1, x2, y2), `a1`
// and `a2` the axial entries of its ends (z1, z2, ring pairs, 0): per plane for sinograms,
// per ring (z, z, 1, 0) for events.
fn pet_lor(p: PetParams, l: vec4<u32>, t: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>) -> Lor {
    return Lor(vec3<f32>(t.x, t.y, a1.x), vec3<f32>(t.z, t.w, a2.y), a1.z * p.scale.w, l.w);
}

// The cone-beam ray of a pixel, from the source to the pixel's centre: `v0..v2` the view's
// vectors (source xyz, detector − source xyz, column step xyz, row step xyz, packed), `col`
// the column's (a, b, 0, 0) and `row` the row's (c, 0, 0, 0): the pixel sits at
// source + a·(detector − source) + b·u + c·v (flat or cylindrical detectors alike).
fn cone_ray(p: PetParams, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, col: vec4<f32>, row: vec4<f32>) -> Lor {
    let s = v0.xyz;
    let to_det = vec3<f32>(v0.w, v1.x, v1.y);
    let u = vec3<f32>(v1.z, v1.w, v2.x);
    let v = v2.yzw;
    let end = s + (col.x * to_det + (col.y * u + row.x * v));
    return Lor(s, end, p.scale.w, 0u);
}

// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7), the same operations on
// both backends.
fn erf_twin(x: f32) -> f32 {
    let a = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
    let r = 1.0 - poly * exp(-a * a);
    return select(r, -r, x < 0.0);
}

// A line of response walked by Joseph's method: it steps one voxel along its dominant axis
// (in voxel units) from plane `lo` to plane `hi`; at plane i it is at q1 + (i − q1[axis])·slope
// (voxel-index coordinates, slope = d / d[axis], a multiply per plane where a division was). Each step is `step` mm of line times the bin's weight,
// times the fraction of the step [i − ½, i + ½] that lies inside the grid's box (the line is
// inside it for axis coordinates `inside.x … inside.y`), so an image of ones projects to the
// exact chord length. TOF: `centre` is the TOF bin's centre from p1 along the line (mm),
// `length` the line's length (mm), `sigma` 0 without TOF.
struct PetWalk {
    q1: vec3<f32>,
    d: vec3<f32>,
    slope: vec3<f32>,   // d / d[axis]: the line's step per plane
    axis: u32,
    lo: i32,
    hi: i32,
    inside: vec2<f32>,
    step: f32,
    length: f32,
    tof_rate: f32,      // length / d[axis]: mm along the line per plane
    centre: f32,
    half_width: f32,
    sigma: f32,
}

fn pet_walk(p: PetParams, lor: Lor) -> PetWalk {
    let q1 = (lor.p1 - p.origin.xyz) * p.inv_spacing.xyz;
    let q2 = (lor.p2 - p.origin.xyz) * p.inv_spacing.xyz;
    let d = q2 - q1;
    let dm = lor.p2 - lor.p1;
    let length = sqrt(dot(dm, dm));
    let ad = abs(d);
    var axis = 0u;
    if ad.y > ad.x && ad.y >= ad.z {
        axis = 1u;
    } else if ad.z > ad.x && ad.z > ad.y {
        axis = 2u;
    }
    let n = vec3<f32>(f32(p.nx), f32(p.ny), f32(p.nz));
    // Where the line is inside the box [−½, n − ½] on every axis (slab method, λ along p1 → p2).
    var l_in = 0.0;
    var l_out = 1.0;
    for (var k = 0u; k < 3u; k++) {
        if d[k] == 0.0 {
            if q1[k] < -0.5 || q1[k] > n[k] - 0.5 {
                l_out = -1.0;
            }
        } else {
            let a = (-0.5 - q1[k]) / d[k];
            let b = (n[k] - 0.5 - q1[k]) / d[k];
            l_in = max(l_in, min(a, b));
            l_out = min(l_out, max(a, b));
        }
    }
    let da = d[axis];
    let u0 = q1[axis] + l_in * da;
    let u1 = q1[axis] + l_out * da;
    let inside = vec2<f32>(min(u0, u1), max(u0, u1));
    var a_lo = inside.x;
    var a_hi = inside.y;
    var centre = 0.0;
    var half_width = 0.0;
    let sigma = p.tof.y;
    if sigma > 0.0 {
        // Only planes within the TOF bin ± truncation contribute.
        centre = 0.5 * length + (f32(lor.tof) - 0.5 * f32(p.n_tof - 1u)) * p.tof.x;
        half_width = 0.5 * p.tof.x;
        let reach = half_width + p.tof.z * sigma;
        let b0 = q1[axis] + ((centre - reach) / length) * da;
        let b1 = q1[axis] + ((centre + reach) / length) * da;
        a_lo = max(a_lo, min(b0, b1) - 0.5);
        a_hi = min(a_hi, max(b0, b1) + 0.5);
    }
    var lo = i32(ceil(max(a_lo - 0.5, 0.0)));
    var hi = i32(floor(min(a_hi + 0.5, n[axis] - 1.0)));
    if l_out <= l_in {
        hi = lo - 1;
    }
    let step = length / abs(da) * lor.weight;
    return PetWalk(q1, d, d / da, axis, lo, hi, inside, step, length, length / da, centre, half_width, sigma);
}

// Voxels and weights of plane `i` of a walk: the bilinear taps in the two other axes, at the
// line's position clamped to the outermost voxel centres (the image is constant from there to
// the box's faces), each times the step, the fraction of the step inside the box and, with
// TOF, the Gaussian integrated over the TOF bin at that point. Index −1: no voxel.
// The planes of walk w whose taps can lie in the slab p.slab, as (first, last): every plane
// for the whole grid; else those whose z lies in [z0 − 1, z1) (a plane's taps reach z + 1;
// the grid's ends are open, where positions are clamped), widened by a hundredth of a slice
// and then by a plane, so that rounding never drops one. Planes outside add nothing anyway.
fn slab_planes(p: PetParams, w: PetWalk) -> vec2<i32> {
    let z0 = i32(p.slab.x);
    let z1 = i32(p.slab.y);
    if z0 == 0 && z1 == i32(p.nz) {
        return vec2<i32>(w.lo, w.hi);
    }
    if w.axis == 2u {
        return vec2<i32>(max(w.lo, z0), min(w.hi, z1 - 1));
    }
    var first = f32(w.lo);
    var last = f32(w.hi);
    if w.d.z == 0.0 {
        if (z0 > 0 && w.q1.z < f32(z0 - 1) - 0.01) || (z1 < i32(p.nz) && w.q1.z > f32(z1) + 0.01) {
            last = first - 1.0;
        }
    } else {
        // Plane of z: q1[axis] + (z − q1.z) · k.
        let k = w.d[w.axis] / w.d.z;
        if z0 > 0 {
            let at = w.q1[w.axis] + (f32(z0 - 1) - 0.01 - w.q1.z) * k;
            if k > 0.0 {
                first = max(first, floor(at) - 1.0);
            } else {
                last = min(last, ceil(at) + 1.0);
            }
        }
        if z1 < i32(p.nz) {
            let at = w.q1[w.axis] + (f32(z1) + 0.01 - w.q1.z) * k;
            if k > 0.0 {
                last = min(last, ceil(at) + 1.0);
            } else {
                first = max(first, floor(at) - 1.0);
            }
        }
    }
    first = min(first, f32(w.hi) + 1.0);
    last = max(last, f32(w.lo) - 1.0);
    return vec2<i32>(i32(first), i32(last));
}

// The four taps of one plane: voxel index within the slab (−1: none, outside the grid or
// the slab), weight, and slice (z) of each.
struct PetTaps {
    index: vec4<i32>,
    weight: vec4<f32>,
    slice: vec4<i32>,
}

fn pet_taps(p: PetParams, w: PetWalk, i: i32) -> PetTaps {
    let fi = f32(i);
    let t = fi - w.q1[w.axis];
    let pos = w.q1 + t * w.slope;
    let covered = max(min(fi + 0.5, w.inside.y) - max(fi - 0.5, w.inside.x), 0.0);
    var weight = w.step * covered;
    if w.sigma > 0.0 {
        // The Gaussian truncated at ±p.tof.z sigmas and renormalised (p.tof.w = 1 / (2 erf(T/√2))),
        // integrated over the bin: the bins of a line telescope to its non-TOF weight.
        let tau = t * w.tof_rate - w.centre;
        let s = 1.0 / (1.4142135 * w.sigma);
        let lim = p.tof.z * 0.70710677;
        let upper = clamp((w.half_width - tau) * s, -lim, lim);
        let lower = clamp((-w.half_width - tau) * s, -lim, lim);
        weight *= p.tof.w * (erf_twin(upper) - erf_twin(lower));
    }
    // The two other axes, in x, y, z order.
    let b = select(0u, 1u, w.axis == 0u);
    let c = select(2u, 1u, w.axis == 2u);
    let n = vec3<i32>(i32(p.nx), i32(p.ny), i32(p.nz));
    let pb = clamp(pos[b], 0.0, f32(n[b] - 1));
    let pc = clamp(pos[c], 0.0, f32(n[c] - 1));
    let fb = floor(pb);
    let fc = floor(pc);
    let tb = pb - fb;
    let tc = pc - fc;
    let ib = i32(fb);
    let ic = i32(fc);
    var out: PetTaps;
    for (var k = 0; k < 4; k++) {
        let jb = ib + (k & 1);
        let jc = ic + (k >> 1);
        let wb = select(1.0 - tb, tb, (k & 1) == 1);
        let wc = select(1.0 - tc, tc, (k >> 1) == 1);
        var v = vec3<i32>(0, 0, 0);
        v[w.axis] = i;
        v[b] = jb;
        v[c] = jc;
        let inside = jb < n[b] && jc < n[c] && v.z >= i32(p.slab.x) && v.z < i32(p.slab.y);
        out.index[k] = select(-1, ((v.z - i32(p.slab.x)) * n.y + v.y) * n.x + v.x, inside);
        out.weight[k] = weight * wb * wc;
        out.slice[k] = v.z;
    }
    return out;
}

// 64-bit fixed point with a scale of its own per voxel. pet_adjoint_max finds, for every
// voxel, the largest |term| it receives (term: data × tap weight, fixed_term); pet_adjoint adds
// each term × 2^s rounded to an integer, s = fixed_shift of that voxel's largest term, so every
// integer added is below 2^(61 − bound_exp) and a sum of 2^bound_exp of them below 2^61, while
// each voxel keeps 61 − bound_exp bits below its own largest term, whatever the others receive.

// A tap's term as both passes form it: 0 below the smallest normal f32 (devices may flush
// such values; both backends drop them alike).
fn fixed_term(y: f32, w: f32) -> f32 {
    let c = y * w;
    return select(c, 0.0, abs(c) < 1.1754944e-38);
}

// The exponent s of a voxel's scale 2^s, from the bits of its largest |term| (a non-negative
// finite float, 0 when it received none): that term is below 2^e, e = its exponent + 1.
fn fixed_shift(max_bits: u32, bound_exp: i32) -> i32 {
    let e = i32(max_bits >> 23u) - 126;
    return 61 - bound_exp - e;
}

// 2^k for −126 ≤ k ≤ 127.
fn pow2(k: i32) -> f32 {
    return bitcast<f32>(u32(k + 127) << 23u);
}

// v × 2^s in two exact power-of-two factors (|s| ≤ 252), the first never overflowing for the
// shifts fixed_shift gives; exact whenever the result is a normal float.
fn times_pow2(v: f32, s: i32) -> f32 {
    let h = s / 2;
    return v * pow2(h) * pow2(s - h);
}
