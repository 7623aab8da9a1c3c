//! CPU twin of `shaders/shared/rays.wgsl`: rays, Joseph lines and detector coordinates.
//! Same names, same arithmetic, in `f32`.

use crate::backend::layout::{KIND_FAN_FLAT, KIND_PARALLEL, Params, ViewVectors};

type V2 = [f32; 2];

fn add(a: V2, b: V2) -> V2 {
    [a[0] + b[0], a[1] + b[1]]
}
fn sub(a: V2, b: V2) -> V2 {
    [a[0] - b[0], a[1] - b[1]]
}
fn scale(s: f32, a: V2) -> V2 {
    [s * a[0], s * a[1]]
}
fn dot(a: V2, b: V2) -> f32 {
    a[0] * b[0] + a[1] * b[1]
}

/// A ray: origin and direction (not necessarily unit length), mm.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ray {
    pub origin: V2,
    pub dir: V2,
}

/// The ray that ends in detector column `k` of view `v`.
#[inline]
pub(crate) fn detector_ray(p: &Params, v: &ViewVectors, col_dir: V2, k: u32) -> Ray {
    let s = (k as f32 - p.col_center) * p.col_step;
    if p.kind == KIND_PARALLEL {
        return Ray { origin: add(v.center, scale(s, v.u)), dir: v.a };
    }
    if p.kind == KIND_FAN_FLAT {
        return Ray { origin: v.a, dir: sub(add(v.center, scale(s, v.u)), v.a) };
    }
    Ray { origin: v.a, dir: add(scale(col_dir[0], v.d), scale(col_dir[1], v.u)) }
}

/// A ray seen by Joseph's method (see `rays.wgsl`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct JosephLine {
    pub f0: f32,
    pub fstep: f32,
    pub weight: f32,
    pub along_x: bool,
}

#[inline]
pub(crate) fn joseph_line(p: &Params, r: Ray) -> JosephLine {
    let ax = r.dir[0].abs();
    let ay = r.dir[1].abs();
    let len = (r.dir[0] * r.dir[0] + r.dir[1] * r.dir[1]).sqrt();
    if ax >= ay {
        let slope = r.dir[1] / r.dir[0];
        let f0 = (r.origin[1] + (p.ox - r.origin[0]) * slope - p.oy) / p.dy;
        return JosephLine { f0, fstep: p.dx * slope / p.dy, weight: p.dx * len / ax, along_x: true };
    }
    let slope = r.dir[0] / r.dir[1];
    let f0 = (r.origin[0] + (p.oy - r.origin[1]) * slope - p.ox) / p.dx;
    JosephLine { f0, fstep: p.dy * slope / p.dx, weight: p.dy * len / ay, along_x: false }
}

/// `(t, L)`: lateral offset along u and depth along d of point `x` from the source.
#[inline]
pub(crate) fn fan_coords(v: &ViewVectors, x: V2) -> V2 {
    let rel = sub(x, v.a);
    [dot(rel, v.u), dot(rel, v.d)]
}

/// Fractional detector column reached by the ray through point `x`.
#[inline]
pub(crate) fn column_of(p: &Params, v: &ViewVectors, x: V2) -> f32 {
    if p.kind == KIND_PARALLEL {
        return dot(sub(x, v.center), v.u) / p.col_step + p.col_center;
    }
    let tl = fan_coords(v, x);
    if p.kind == KIND_FAN_FLAT {
        return p.src_to_det * tl[0] / tl[1] / p.col_step + p.col_center;
    }
    atan_twin(tl[0] / tl[1]) / p.col_step + p.col_center
}

/// Twin of `atan_twin` in `rays.wgsl`: Cephes' atanf, the same operations in the same order.
#[inline]
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
    let r = (((8.053_744_5e-2 * z - 1.387_768_6e-1) * z + 1.997_771_1e-1) * z - 3.333_295e-1) * z * a + a + base;
    if x < 0.0 { -r } else { r }
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
}

/// Bound (columns) on how far from `column_of(x)` rays through points within `rho` mm of `x` land.
#[inline]
pub(crate) fn column_reach(p: &Params, v: &ViewVectors, x: V2, rho: f32) -> f32 {
    if p.kind == KIND_PARALLEL {
        return rho / p.col_step;
    }
    let tl = fan_coords(v, x);
    if p.kind == KIND_FAN_FLAT {
        return p.src_to_det * rho * (tl[1] + tl[0].abs()) / (tl[1] * (tl[1] - rho)) / p.col_step;
    }
    rho / ((tl[0] * tl[0] + tl[1] * tl[1]).sqrt() - rho) / p.col_step
}

/// Filtered back-projection weight of point `x` in view `v`.
#[inline]
pub(crate) fn fbp_weight(p: &Params, v: &ViewVectors, x: V2) -> f32 {
    if p.kind == KIND_PARALLEL {
        return 1.0;
    }
    let tl = fan_coords(v, x);
    if p.kind == KIND_FAN_FLAT {
        let r = p.src_to_center / tl[1];
        return r * r;
    }
    1.0 / (tl[0] * tl[0] + tl[1] * tl[1])
}
