//! CPU twin of `shaders/shared/pet.wgsl`: lines of response, Joseph walks, TOF kernels and the
//! per-voxel fixed-point scale, with the shader's `f32` operations in the shader's order.

use crate::backend::layout::{PET_CONE, PET_LIST, PetParams};
use rayon::prelude::*;

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

/// Twin of `struct PetWalk`, without the TOF kernel's width and σ, which [`TofKernel`] holds.
pub(crate) struct Walk {
    pub q1: [f32; 3],
    pub d: [f32; 3],
    pub slope: [f32; 3],
    pub axis: usize,
    pub lo: i32,
    pub hi: i32,
    pub inside: [f32; 2],
    pub step: f32,
    pub tof_rate: f32,
    pub centre: f32,
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
    let mut centre = 0.0;
    let sigma = p.tof[1];
    if sigma > 0.0 {
        centre = 0.5 * length + (lor.tof as f32 - 0.5 * (p.n_tof - 1) as f32) * p.tof[0];
        let half_width = 0.5 * p.tof[0];
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
        slope: d.map(|v| v / da),
        axis,
        lo,
        hi,
        inside,
        step,
        tof_rate: length / da,
        centre,
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

/// The TOF kernel of `pet_taps` (the truncated, renormalised Gaussian integrated over a TOF
/// bin, `p.tof[3] · (erf(upper) − erf(lower))`) as a function of τ, the distance (mm) from the
/// bin's centre along the line, tabulated once per dispatch and interpolated linearly: one
/// lookup per tap in place of two `erf_twin`. It is 0 beyond ±(half width + T σ), where both
/// arguments are clamped alike. With a step of σ/360 the interpolation is within 1e-5 of the
/// kernel's peak plus 1e-6 (the f32 rounding of the erf pair itself; a test checks it):
/// about 1e-7 where the kernel is smooth (error ≤ step²/8 · max|g″|, |g″| ≤ peak/σ²), up to
/// 7e-6 beside the kinks at ±(T σ − half width), where the truncation sets in.
pub(crate) struct TofKernel {
    values: Vec<f32>,
    reach: f32,
    inv_step: f32,
}

impl TofKernel {
    /// Samples per σ.
    const PER_SIGMA: f32 = 360.0;

    /// The kernel of `p.tof`; `None` without TOF.
    pub(crate) fn new(p: &PetParams) -> Option<Self> {
        let sigma = p.tof[1];
        if sigma <= 0.0 {
            return None;
        }
        let half_width = 0.5 * p.tof[0];
        let reach = half_width + p.tof[2] * sigma;
        // 2·reach/σ ≤ 2·(bins + T) for any bin the stages form: far below this cap.
        let n = ((2.0 * reach / sigma * Self::PER_SIGMA).ceil() as usize).clamp(16, 1 << 22);
        let step = 2.0 * reach / n as f32;
        let mut values: Vec<f32> = (0..=n)
            .map(|j| tof_weight(p, half_width, sigma, -reach + j as f32 * step))
            .collect();
        values.push(0.0);
        Some(Self {
            values,
            reach,
            inv_step: 1.0 / step,
        })
    }

    /// The kernel at τ (mm).
    #[inline(always)]
    pub(crate) fn at(&self, tau: f32) -> f32 {
        let x = (tau + self.reach) * self.inv_step;
        let n = (self.values.len() - 2) as f32;
        if !(x >= 0.0 && x < n) {
            return 0.0;
        }
        let j = x as usize;
        let f = x - j as f32;
        let (a, b) = (self.values[j], self.values[j + 1]);
        a + f * (b - a)
    }
}

/// The kernel of `pet_taps` at τ (mm), as the shader computes it.
fn tof_weight(p: &PetParams, half_width: f32, sigma: f32, tau: f32) -> f32 {
    let s = 1.0 / (std::f32::consts::SQRT_2 * sigma);
    let lim = p.tof[2] * 0.707_106_77;
    let upper = ((half_width - tau) * s).clamp(-lim, lim);
    let lower = ((-half_width - tau) * s).clamp(-lim, lim);
    p.tof[3] * (erf_twin(upper) - erf_twin(lower))
}

/// `pet_taps` for the planes of one walk along axis `A` (`w.axis == A`), with the line's
/// constants hoisted out of the plane loop: the same taps and weights (the TOF kernel from
/// [`TofKernel`]). The lower tap of each of the two other axes is clamped to `n − 2`, so both
/// taps always exist (an axis of one voxel has stride 0 and weight 0 on its second tap), and
/// only the slab's z rows need a test.
pub(crate) struct Stepper<'k> {
    q1a: f32,
    q1b: f32,
    q1c: f32,
    slope_b: f32,
    slope_c: f32,
    inside: [f32; 2],
    step: f32,
    max_b: f32,
    max_c: f32,
    last_b: i32,
    last_c: i32,
    /// Voxel strides of the walk's axis and of the taps' two axes within the slab.
    stride: [isize; 3],
    /// Slab `z0..z1`; its rows are tested when the taps' second axis is z.
    z0: i32,
    z1: i32,
    tof: Option<(&'k TofKernel, f32, f32)>,
}

/// The four taps of one plane: the slab index of tap 0 (the others at `+ stride_b`,
/// `+ stride_c`, `+ both`), their weights, the slice of taps 0 and 1 (taps 2 and 3 lie on the
/// next one when the walk's second tap axis is z), and whether each of the two rows lies in
/// the slab.
pub(crate) struct Plane {
    pub base: isize,
    pub weight: [f32; 4],
    pub slice: i32,
    pub rows: [bool; 2],
}

impl<'k> Stepper<'k> {
    /// Offsets of taps 1, 2 and 3 from tap 0.
    #[inline(always)]
    pub(crate) fn offsets(&self) -> [isize; 4] {
        [
            0,
            self.stride[1],
            self.stride[2],
            self.stride[1] + self.stride[2],
        ]
    }

    /// The stepper of walk `w` along axis `A` for the slab `p.slab`.
    #[inline(always)]
    pub(crate) fn new<const A: usize>(p: &PetParams, w: &Walk, tof: Option<&'k TofKernel>) -> Self {
        debug_assert_eq!(w.axis, A);
        let (b, c) = other_axes(A);
        let n = [p.nx as i32, p.ny as i32, p.nz as i32];
        let voxel_stride = [1isize, n[0] as isize, n[0] as isize * n[1] as isize];
        let stride_of = |k: usize| {
            if n[k] > 1 || k == 2 {
                voxel_stride[k]
            } else {
                0
            }
        };
        Self {
            q1a: w.q1[A],
            q1b: w.q1[b],
            q1c: w.q1[c],
            slope_b: w.slope[b],
            slope_c: w.slope[c],
            inside: w.inside,
            step: w.step,
            max_b: (n[b] - 1) as f32,
            max_c: (n[c] - 1) as f32,
            last_b: (n[b] - 2).max(0),
            last_c: (n[c] - 2).max(0),
            stride: [voxel_stride[A], stride_of(b), stride_of(c)],
            z0: p.slab[0] as i32,
            z1: p.slab[1] as i32,
            tof: tof.map(|k| (k, w.tof_rate, w.centre)),
        }
    }

    /// The taps of plane `i`.
    #[inline(always)]
    pub(crate) fn plane<const A: usize>(&self, i: i32) -> Plane {
        let fi = i as f32;
        let t = fi - self.q1a;
        let covered = ((fi + 0.5).min(self.inside[1]) - (fi - 0.5).max(self.inside[0])).max(0.0);
        let mut weight = self.step * covered;
        if let Some((kernel, rate, centre)) = self.tof {
            weight *= kernel.at(t * rate - centre);
        }
        let pb = (self.q1b + t * self.slope_b).clamp(0.0, self.max_b);
        let pc = (self.q1c + t * self.slope_c).clamp(0.0, self.max_c);
        let ib = (pb as i32).min(self.last_b);
        let ic = (pc as i32).min(self.last_c);
        let tb = pb - ib as f32;
        let tc = pc - ic as f32;
        let (wc0, wc1) = (weight * (1.0 - tc), weight * tc);
        // Voxel (i, ib, ic) in (A, b, c) order; z relative to the slab.
        let z = match A {
            2 => i,
            _ => ic,
        };
        let base = i as isize * self.stride[0]
            + ib as isize * self.stride[1]
            + ic as isize * self.stride[2]
            - self.z0 as isize
                * (self.stride[0] * (A == 2) as isize + self.stride[2] * (A != 2) as isize);
        let rows = if A == 2 {
            [true, true]
        } else {
            [
                z >= self.z0 && z < self.z1,
                z + 1 >= self.z0 && z + 1 < self.z1,
            ]
        };
        Plane {
            base,
            weight: [wc0 * (1.0 - tb), wc0 * tb, wc1 * (1.0 - tb), wc1 * tb],
            slice: z,
            rows,
        }
    }
}

/// The two axes other than `a`, in x, y, z order.
#[inline(always)]
const fn other_axes(a: usize) -> (usize, usize) {
    match a {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    }
}

/// Calls `$run::<A>($args…)` for the walk's axis `A` (0, 1 or 2): one monomorphised loop per
/// axis ([`Stepper`]).
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
/// ([`fixed_term`] of `data[i]` and the tap's weight), in the shader's tap order.
#[inline(always)]
pub(crate) fn line_terms(
    p: &PetParams,
    tables: LineTables<'_>,
    tof: Option<&TofKernel>,
    data: &[f32],
    i: u32,
    f: impl FnMut(usize, f32),
) {
    let y = data[i as usize];
    if y == 0.0 {
        return;
    }
    let walk = pet_walk(p, &lor_of(p, i, tables.0, tables.1, tables.2));
    on_axis!(walk.axis, terms_on(p, &walk, tof, y, f));
}

/// [`line_terms`] for every line `0..p.len`, the lines in parallel (`f` from several threads at
/// once): the walk of the fixed-point twins, whose integer sums and maxima do not depend on
/// the order.
pub(crate) fn each_term(
    p: &PetParams,
    tables: LineTables<'_>,
    data: &[f32],
    f: impl Fn(usize, f32) + Sync,
) {
    let tof = TofKernel::new(p);
    (0..p.len).into_par_iter().for_each(|i| {
        line_terms(p, tables, tof.as_ref(), data, i, &f);
    });
}

/// [`line_terms`] along axis `A`.
#[inline(always)]
fn terms_on<const A: usize>(
    p: &PetParams,
    walk: &Walk,
    tof: Option<&TofKernel>,
    y: f32,
    mut f: impl FnMut(usize, f32),
) {
    let (first, last) = slab_planes(p, walk);
    let stepper = Stepper::new::<A>(p, walk, tof);
    let offsets = stepper.offsets();
    for plane in first..=last {
        let taps = stepper.plane::<A>(plane);
        for (k, offset) in offsets.iter().enumerate() {
            if taps.rows[k >> 1] {
                let c = fixed_term(y, taps.weight[k]);
                if c != 0.0 {
                    f((taps.base + offset) as usize, c);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The tabulated TOF kernel is within 1e-5 of its peak (plus 1e-6, the pair's own f32
    /// rounding) of the shader's erf pair at every τ (a dense grid, off the table's samples),
    /// for a bin narrower than σ, one as wide as a whole line's union of bins (the TOF
    /// sensitivity's), and a long truncation.
    #[test]
    fn tof_kernel_table_matches_the_erf_pair() {
        for (width, sigma, t) in [
            (18.0f32, 25.5f32, 3.0f32),
            (696.0, 25.5, 3.0),
            (2.0, 40.0, 5.0),
        ] {
            let norm = 0.5 / erf_twin(t * std::f32::consts::FRAC_1_SQRT_2);
            let p = PetParams {
                tof: [width, sigma, t, norm],
                ..bytemuck::Zeroable::zeroed()
            };
            let kernel = TofKernel::new(&p).unwrap();
            let reach = 0.5 * width + t * sigma;
            let peak = tof_weight(&p, 0.5 * width, sigma, 0.0);
            let mut worst = 0.0f32;
            for j in -20_011..=20_011 {
                let tau = 1.2 * reach * j as f32 / 20_011.0;
                let exact = tof_weight(&p, 0.5 * width, sigma, tau);
                worst = worst.max((kernel.at(tau) - exact).abs());
            }
            assert!(
                worst <= 1e-5 * peak + 1e-6,
                "{width} {sigma} {t}: {worst} of {peak}"
            );
        }
        let none = PetParams {
            tof: [0.0; 4],
            ..bytemuck::Zeroable::zeroed()
        };
        assert!(TofKernel::new(&none).is_none());
    }
}
