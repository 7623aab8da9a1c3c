//! CPU twin of `shaders/shared/rays.wgsl`: voxel-to-detector maps and index splitting.
//! Same names, same operations in the same order, in `f32`.

#[cfg(test)]
use crate::backend::layout::View;
use crate::backend::layout::{KIND_FAN_FLAT, KIND_PARALLEL, Line, Params};

/// `(floor(f), f − floor(f))` for `f` clamped to `[−2, n]`, by truncating a non-negative value.
#[inline(always)]
pub(crate) fn split_index(f: f32, n: u32) -> (i32, f32) {
    // max/min return the non-NaN operand, so g is a number in [0, n + 2] whatever f is.
    let g = f.max(-2.0).min(n as f32) + 2.0;
    debug_assert!((0.0..=n as f32 + 2.0).contains(&g));
    // SAFETY: g is finite and in [0, n + 2] with n < 2³¹, so it fits an i32 (a plain
    // truncating conversion, which vectorises, unlike the saturating `as`).
    let k: i32 = unsafe { g.to_int_unchecked() };
    (k - 2, g - k as f32)
}

/// The steps of a Joseph line whose crossing lies in `(−1, n_other)`, widened to whole steps
/// (outside them every sample is zero), as `forward_project.wgsl` computes them; `None` when
/// there are none.
#[inline(always)]
pub(crate) fn steps(
    line: &Line,
    n_step: u32,
    n_other: u32,
) -> Option<std::ops::RangeInclusive<u32>> {
    let mut lo = 0.0f32;
    let mut hi = n_step as f32 - 1.0;
    if line.fstep != 0.0 {
        let a = (-1.0 - line.f0) / line.fstep;
        let b = (n_other as f32 - line.f0) / line.fstep;
        lo = lo.max(a.min(b));
        hi = hi.min(a.max(b) + 1.0);
    } else if line.f0 <= -1.0 || line.f0 >= n_other as f32 {
        hi = -1.0;
    }
    (hi >= lo).then_some(lo as u32..=hi as u32)
}

/// The part of `coef·(ix, iy, 1)` that is constant along an image row.
#[inline(always)]
pub(crate) fn row_base(coef: &[f32; 4], iy: u32) -> f32 {
    coef[1] * iy as f32 + coef[2]
}

/// `coef·(ix, iy, 1)` from its row base: the shader's `pixel_t` / `pixel_l`.
#[inline(always)]
pub(crate) fn along_row(coef: &[f32; 4], base: f32, ix: u32) -> f32 {
    // Through i32: the same value for any index < 2³¹, and a conversion that vectorises.
    coef[0] * ix as i32 as f32 + base
}

#[cfg(test)] // The per-voxel gather, the adjoint's test oracle, needs it.
/// `t` of voxel `(ix, iy)` in view `v`.
#[inline(always)]
pub(crate) fn pixel_t(v: &View, ix: u32, iy: u32) -> f32 {
    along_row(&v.t_coef, row_base(&v.t_coef, iy), ix)
}

#[cfg(test)] // The per-voxel gather, the adjoint's test oracle, needs it.
/// `l` of voxel `(ix, iy)` in view `v`.
#[inline(always)]
pub(crate) fn pixel_l(v: &View, ix: u32, iy: u32) -> f32 {
    along_row(&v.l_coef, row_base(&v.l_coef, iy), ix)
}

/// Twin of `atan_twin` in `rays.wgsl`: Cephes' atanf, the same operations in the same order.
#[inline(always)]
pub(crate) fn atan_twin(x: f32) -> f32 {
    let mut a = x.abs();
    let mut base = 0.0f32;
    if a > 2.414_213_5 {
        base = std::f32::consts::FRAC_PI_2;
        a = -1.0 / a;
    } else if a > 0.414_213_57 {
        base = std::f32::consts::FRAC_PI_4;
        a = (a - 1.0) / (a + 1.0);
    }
    let z = a * a;
    let r =
        (((8.053_744_5e-2 * z - 1.387_768_6e-1) * z + 1.997_771_1e-1) * z - 3.333_295e-1) * z * a
            + a
            + base;
    if x < 0.0 { -r } else { r }
}

/// Fractional detector column reached by the ray through a voxel with coordinates `(t, l)`.
#[inline(always)]
pub(crate) fn column_of(p: &Params, t: f32, l: f32) -> f32 {
    if p.kind == KIND_PARALLEL {
        return t;
    }
    if p.kind == KIND_FAN_FLAT {
        return t / l * p.col_scale + p.col_center;
    }
    atan_twin(t / l) * p.col_scale + p.col_center
}

#[cfg(test)] // The per-voxel gather, the adjoint's test oracle, needs it.
/// Bound (columns) on how far from `column_of(t, l)` the rays that sample a voxel land: the
/// voxel is sampled from points less than one voxel away along x or y, within `rho` mm.
#[inline(always)]
pub(crate) fn column_reach(p: &Params, v: &View, t: f32, l: f32, rho: f32) -> f32 {
    if p.kind == KIND_PARALLEL {
        // t changes by |t_coef.x| per voxel along x and |t_coef.y| along y.
        return v.t_coef[0].abs().max(v.t_coef[1].abs());
    }
    if p.kind == KIND_FAN_FLAT {
        return rho * (l + t.abs()) / (l * (l - rho)) * p.col_scale;
    }
    rho / ((t * t + l * l).sqrt() - rho) * p.col_scale
}

/// Filtered back-projection weight (fan-beam distance weighting).
#[inline(always)]
pub(crate) fn fbp_weight(p: &Params, t: f32, l: f32) -> f32 {
    if p.kind == KIND_PARALLEL {
        return 1.0;
    }
    if p.kind == KIND_FAN_FLAT {
        let r = p.src_to_center / l;
        return r * r;
    }
    1.0 / (t * t + l * l)
}

#[cfg(test)]
mod tests {
    #[test]
    fn atan_twin_is_accurate() {
        let mut worst = 0.0f64;
        for i in -20_000..=20_000 {
            let x = i as f32 * 5e-4;
            let err = (super::atan_twin(x) as f64 - (x as f64).atan()).abs();
            worst = worst.max(err);
        }
        assert!(worst < 3e-7, "max error {worst:e}");
    }

    #[test]
    fn split_index_is_floor() {
        for &f in &[-1.75f32, -1.0, -0.25, 0.0, 0.5, 3.0, 7.999, 8.0] {
            let (i, frac) = super::split_index(f, 8);
            assert_eq!(i, f.floor() as i32, "{f}");
            assert!((frac - (f - f.floor())).abs() < 1e-6, "{f}");
        }
        assert_eq!(super::split_index(-50.0, 8).0, -2);
        assert_eq!(super::split_index(1e9, 8), (8, 0.0));
    }
}
