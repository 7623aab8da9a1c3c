//! CPU twin of `shaders/shared/pet.wgsl`: lines of response, Joseph walks, TOF kernels and the
//! per-voxel fixed-point scale, with the shader's `f32` operations in the shader's order.

use crate::backend::layout::{PET_CONE, PET_LIST, PetParams};

/// Twin of `struct Lor`.
pub(crate) struct Lor {
    pub p1: [f32; 3],
    pub p2: [f32; 3],
    pub weight: f32,
    pub tof: u32,
}

/// Twin of `pet_lookup`.
#[inline]
pub(crate) fn pet_lookup(p: &PetParams, i: u32, e: [u32; 4]) -> [u32; 4] {
    if p.mode == PET_LIST {
        return e;
    }
    if p.mode == PET_CONE {
        let col = i % p.n_tang;
        let rest = i / p.n_tang;
        return [
            p.first + rest / p.n_planes,
            col,
            p.n_tang + rest % p.n_planes,
            0,
        ];
    }
    let tang = i % p.n_tang;
    let rest = i / p.n_tang;
    let k = rest % p.n_tof;
    let plane = (rest / p.n_tof) % p.n_planes;
    let view = p.first + rest / (p.n_tof * p.n_planes);
    [view * p.n_tang + tang, plane, plane, k]
}

/// Twin of `pet_lor`.
#[inline]
pub(crate) fn pet_lor(p: &PetParams, l: [u32; 4], t: [f32; 4], a1: [f32; 4], a2: [f32; 4]) -> Lor {
    Lor {
        p1: [t[0], t[1], a1[0]],
        p2: [t[2], t[3], a2[1]],
        weight: a1[2] * p.scale[3],
        tof: l[3],
    }
}

/// Twin of `cone_ray`.
#[inline]
pub(crate) fn cone_ray(
    p: &PetParams,
    v0: [f32; 4],
    v1: [f32; 4],
    v2: [f32; 4],
    col: [f32; 4],
    row: [f32; 4],
) -> Lor {
    let s = [v0[0], v0[1], v0[2]];
    let to_det = [v0[3], v1[0], v1[1]];
    let u = [v1[2], v1[3], v2[0]];
    let v = [v2[1], v2[2], v2[3]];
    let p2 = std::array::from_fn(|k| s[k] + (col[0] * to_det[k] + (col[1] * u[k] + row[0] * v[k])));
    Lor {
        p1: s,
        p2,
        weight: p.scale[3],
        tof: 0,
    }
}

/// The table entries of sample `i` and its line of response (the stages' common prologue).
#[inline]
pub(crate) fn lor_of(
    p: &PetParams,
    i: u32,
    transaxial: &[[f32; 4]],
    axial: &[[f32; 4]],
    events: &[[u32; 4]],
) -> Lor {
    let e = if p.mode == PET_LIST {
        events[(p.first + i) as usize]
    } else {
        [0; 4]
    };
    let l = pet_lookup(p, i, e);
    if p.mode == PET_CONE {
        let at = 3 * l[0] as usize;
        return cone_ray(
            p,
            transaxial[at],
            transaxial[at + 1],
            transaxial[at + 2],
            axial[l[1] as usize],
            axial[l[2] as usize],
        );
    }
    pet_lor(
        p,
        l,
        transaxial[l[0] as usize],
        axial[l[1] as usize],
        axial[l[2] as usize],
    )
}

/// Twin of `erf_twin`.
#[inline]
pub(crate) fn erf_twin(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = ((((1.061_405_4 * t - 1.453_152) * t + 1.421_413_8) * t - 0.284_496_74) * t
        + 0.254_829_6)
        * t;
    let r = 1.0 - poly * (-a * a).exp();
    if x < 0.0 { -r } else { r }
}

/// Twin of `struct PetWalk`.
pub(crate) struct Walk {
    pub q1: [f32; 3],
    pub d: [f32; 3],
    pub axis: usize,
    pub lo: i32,
    pub hi: i32,
    pub inside: [f32; 2],
    pub step: f32,
    pub length: f32,
    pub centre: f32,
    pub half_width: f32,
    pub sigma: f32,
}

/// Twin of `pet_walk`.
#[inline]
pub(crate) fn pet_walk(p: &PetParams, lor: &Lor) -> Walk {
    let q1: [f32; 3] = std::array::from_fn(|k| (lor.p1[k] - p.origin[k]) * p.inv_spacing[k]);
    let q2: [f32; 3] = std::array::from_fn(|k| (lor.p2[k] - p.origin[k]) * p.inv_spacing[k]);
    let d: [f32; 3] = std::array::from_fn(|k| q2[k] - q1[k]);
    let dm: [f32; 3] = std::array::from_fn(|k| lor.p2[k] - lor.p1[k]);
    let length = (dm[0] * dm[0] + dm[1] * dm[1] + dm[2] * dm[2]).sqrt();
    let ad = d.map(f32::abs);
    let axis = if ad[1] > ad[0] && ad[1] >= ad[2] {
        1
    } else if ad[2] > ad[0] && ad[2] > ad[1] {
        2
    } else {
        0
    };
    let n = [p.nx as f32, p.ny as f32, p.nz as f32];
    let (mut l_in, mut l_out) = (0.0f32, 1.0f32);
    for k in 0..3 {
        if d[k] == 0.0 {
            if q1[k] < -0.5 || q1[k] > n[k] - 0.5 {
                l_out = -1.0;
            }
        } else {
            let a = (-0.5 - q1[k]) / d[k];
            let b = (n[k] - 0.5 - q1[k]) / d[k];
            l_in = l_in.max(a.min(b));
            l_out = l_out.min(a.max(b));
        }
    }
    let da = d[axis];
    let u0 = q1[axis] + l_in * da;
    let u1 = q1[axis] + l_out * da;
    let inside = [u0.min(u1), u0.max(u1)];
    let (mut a_lo, mut a_hi) = (inside[0], inside[1]);
    let (mut centre, mut half_width) = (0.0, 0.0);
    let sigma = p.tof[1];
    if sigma > 0.0 {
        centre = 0.5 * length + (lor.tof as f32 - 0.5 * (p.n_tof - 1) as f32) * p.tof[0];
        half_width = 0.5 * p.tof[0];
        let reach = half_width + p.tof[2] * sigma;
        let b0 = q1[axis] + ((centre - reach) / length) * da;
        let b1 = q1[axis] + ((centre + reach) / length) * da;
        a_lo = a_lo.max(b0.min(b1) - 0.5);
        a_hi = a_hi.min(b0.max(b1) + 0.5);
    }
    let lo = (a_lo - 0.5).max(0.0).ceil() as i32;
    let mut hi = (a_hi + 0.5).min(n[axis] - 1.0).floor() as i32;
    if l_out <= l_in {
        hi = lo - 1;
    }
    let step = length / da.abs() * lor.weight;
    Walk {
        q1,
        d,
        axis,
        lo,
        hi,
        inside,
        step,
        length,
        centre,
        half_width,
        sigma,
    }
}

/// Twin of `slab_planes`: the planes `(first, last)` of walk `w` whose taps can lie in the
/// slab `p.slab`.
#[inline]
pub(crate) fn slab_planes(p: &PetParams, w: &Walk) -> (i32, i32) {
    let (z0, z1, nz) = (p.slab[0] as i32, p.slab[1] as i32, p.nz as i32);
    if z0 == 0 && z1 == nz {
        return (w.lo, w.hi);
    }
    if w.axis == 2 {
        return (w.lo.max(z0), w.hi.min(z1 - 1));
    }
    let (mut first, mut last) = (w.lo as f32, w.hi as f32);
    if w.d[2] == 0.0 {
        if (z0 > 0 && w.q1[2] < (z0 - 1) as f32 - 0.01) || (z1 < nz && w.q1[2] > z1 as f32 + 0.01) {
            last = first - 1.0;
        }
    } else {
        let k = w.d[w.axis] / w.d[2];
        if z0 > 0 {
            let at = w.q1[w.axis] + ((z0 - 1) as f32 - 0.01 - w.q1[2]) * k;
            if k > 0.0 {
                first = first.max(at.floor() - 1.0);
            } else {
                last = last.min(at.ceil() + 1.0);
            }
        }
        if z1 < nz {
            let at = w.q1[w.axis] + (z1 as f32 + 0.01 - w.q1[2]) * k;
            if k > 0.0 {
                last = last.min(at.ceil() + 1.0);
            } else {
                first = first.max(at.floor() - 1.0);
            }
        }
    }
    first = first.min(w.hi as f32 + 1.0);
    last = last.max(w.lo as f32 - 1.0);
    (first as i32, last as i32)
}

/// Twin of `struct PetTaps`: voxel index within the slab (−1: none), weight and slice of the
/// four taps.
pub(crate) struct Taps {
    pub index: [i32; 4],
    pub weight: [f32; 4],
    pub slice: [i32; 4],
}

/// Twin of `pet_taps`, for a walk along axis `A` (`w.axis == A`): the axis a constant, so each
/// of the three loops the callers pick ([`Walk::axis`]) indexes without run-time selects.
/// Always inlined: called once per plane of every line, its four taps then stay in registers.
#[inline(always)]
pub(crate) fn pet_taps<const A: usize>(p: &PetParams, w: &Walk, i: i32) -> Taps {
    debug_assert_eq!(w.axis, A);
    let fi = i as f32;
    let lambda = (fi - w.q1[A]) / w.d[A];
    let pos: [f32; 3] = std::array::from_fn(|k| w.q1[k] + lambda * w.d[k]);
    let covered = ((fi + 0.5).min(w.inside[1]) - (fi - 0.5).max(w.inside[0])).max(0.0);
    let mut weight = w.step * covered;
    if w.sigma > 0.0 {
        let tau = lambda * w.length - w.centre;
        let s = 1.0 / (std::f32::consts::SQRT_2 * w.sigma);
        let lim = p.tof[2] * 0.707_106_77;
        let upper = ((w.half_width - tau) * s).clamp(-lim, lim);
        let lower = ((-w.half_width - tau) * s).clamp(-lim, lim);
        weight *= p.tof[3] * (erf_twin(upper) - erf_twin(lower));
    }
    let b = if A == 0 { 1 } else { 0 };
    let c = if A == 2 { 1 } else { 2 };
    let n = [p.nx as i32, p.ny as i32, p.nz as i32];
    let pb = pos[b].clamp(0.0, (n[b] - 1) as f32);
    let pc = pos[c].clamp(0.0, (n[c] - 1) as f32);
    let fb = pb.floor();
    let fc = pc.floor();
    let tb = pb - fb;
    let tc = pc - fc;
    let (ib, ic) = (fb as i32, fc as i32);
    let mut out = Taps {
        index: [0; 4],
        weight: [0.0; 4],
        slice: [0; 4],
    };
    let (z0, z1) = (p.slab[0] as i32, p.slab[1] as i32);
    for k in 0..4 {
        let jb = ib + (k & 1);
        let jc = ic + (k >> 1);
        let wb = if k & 1 == 1 { tb } else { 1.0 - tb };
        let wc = if k >> 1 == 1 { tc } else { 1.0 - tc };
        let mut v = [0i32; 3];
        v[A] = i;
        v[b] = jb;
        v[c] = jc;
        let inside = jb < n[b] && jc < n[c] && v[2] >= z0 && v[2] < z1;
        out.index[k as usize] = if inside {
            ((v[2] - z0) * n[1] + v[1]) * n[0] + v[0]
        } else {
            -1
        };
        out.weight[k as usize] = weight * wb * wc;
        out.slice[k as usize] = v[2];
    }
    out
}

/// Calls `$run::<A>($args…)` for the walk's axis `A` (0, 1 or 2): one monomorphised loop per
/// axis ([`pet_taps`]).
macro_rules! on_axis {
    ($axis:expr, $run:ident($($arg:expr),* $(,)?)) => {
        match $axis {
            0 => $run::<0>($($arg),*),
            1 => $run::<1>($($arg),*),
            _ => $run::<2>($($arg),*),
        }
    };
}
pub(crate) use on_axis;

/// The line tables the 3D line stages read: transaxial, axial, list-mode events.
pub(crate) type LineTables<'a> = (&'a [[f32; 4]], &'a [[f32; 4]], &'a [[u32; 4]]);

/// The back-projection's walk of line `i` (the prologue and loop `pet_adjoint_max` and
/// `pet_adjoint` share): `f(voxel, term)` for every tap in the slab with a term ≠ 0
/// ([`fixed_term`] of `data[i]` and the tap's weight).
#[inline(always)]
pub(crate) fn line_terms(
    p: &PetParams,
    tables: LineTables<'_>,
    data: &[f32],
    i: u32,
    f: impl FnMut(usize, f32),
) {
    let y = data[i as usize];
    if y == 0.0 {
        return;
    }
    let walk = pet_walk(p, &lor_of(p, i, tables.0, tables.1, tables.2));
    on_axis!(walk.axis, terms_on(p, &walk, y, f));
}

/// [`line_terms`] along axis `A`.
#[inline(always)]
fn terms_on<const A: usize>(p: &PetParams, walk: &Walk, y: f32, mut f: impl FnMut(usize, f32)) {
    let (first, last) = slab_planes(p, walk);
    for plane in first..=last {
        let taps = pet_taps::<A>(p, walk, plane);
        for k in 0..4 {
            if taps.index[k] >= 0 {
                let c = fixed_term(y, taps.weight[k]);
                if c != 0.0 {
                    f(taps.index[k] as usize, c);
                }
            }
        }
    }
}

/// Twin of `fixed_term`: a tap's term `y · w`, 0 below the smallest normal `f32`.
#[inline(always)]
pub(crate) fn fixed_term(y: f32, w: f32) -> f32 {
    let c = y * w;
    if c.abs() < f32::MIN_POSITIVE { 0.0 } else { c }
}

/// Twin of `fixed_shift`: the exponent of a voxel's fixed-point scale from the bits of its
/// largest |term|.
#[inline(always)]
pub(crate) fn fixed_shift(max_bits: u32, bound_exp: i32) -> i32 {
    let e = (max_bits >> 23) as i32 - 126;
    61 - bound_exp - e
}

/// Twin of `pow2`.
#[inline(always)]
fn pow2(k: i32) -> f32 {
    f32::from_bits(((k + 127) as u32) << 23)
}

/// Twin of `times_pow2`: `v · 2^s` in two exact power-of-two factors.
#[inline(always)]
pub(crate) fn times_pow2(v: f32, s: i32) -> f32 {
    let h = s / 2;
    v * pow2(h) * pow2(s - h)
}
