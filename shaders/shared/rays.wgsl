// Voxel-to-detector maps and index splitting. CPU twin: src/backend/cpu/rays.rs.

struct Split {
    i: i32,
    frac: f32,
}

// floor(f) and f - floor(f) for f clamped to [-2, n], by truncating a non-negative value:
// the same operations on every backend (no libm floor on the CPU).
fn split_index(f: f32, n: u32) -> Split {
    let g = min(max(f, -2.0), f32(n)) + 2.0;
    let k = u32(g);
    return Split(i32(k) - 2, g - f32(k));
}

fn pixel_t(v: View, ix: u32, iy: u32) -> f32 {
    return v.t_coef.x * f32(ix) + (v.t_coef.y * f32(iy) + v.t_coef.z);
}

fn pixel_l(v: View, ix: u32, iy: u32) -> f32 {
    return v.l_coef.x * f32(ix) + (v.l_coef.y * f32(iy) + v.l_coef.z);
}

// atan(x) in f32 by Cephes' atanf (range reduction to |x| <= tan(pi/8), then a degree-9 odd
// polynomial; error about 1e-7). Written out so that both backends evaluate the very same
// operations: the built-in atan2 differs between GPU drivers and the CPU's libm.
fn atan_twin(x: f32) -> f32 {
    var a = abs(x);
    var base = 0.0;
    if a > 2.414213562373095 {
        base = 1.5707963267948966;
        a = -1.0 / a;
    } else if a > 0.4142135623730950 {
        base = 0.7853981633974483;
        a = (a - 1.0) / (a + 1.0);
    }
    let z = a * a;
    let r = (((8.05374449538e-2 * z - 1.38776856032e-1) * z + 1.99777106478e-1) * z - 3.33329491539e-1) * z * a + a + base;
    return select(r, -r, x < 0.0);
}

// Fractional detector column reached by the ray through a voxel with coordinates (t, l).
fn column_of(p: Params, t: f32, l: f32) -> f32 {
    if p.kind == KIND_PARALLEL {
        return t;
    }
    if p.kind == KIND_FAN_FLAT {
        return t / l * p.col_scale + p.col_center;
    }
    return atan_twin(t / l) * p.col_scale + p.col_center;
}

// Bound (in columns) on how far from column_of(t, l) the rays that sample a voxel land: the
// voxel is sampled from points less than one voxel away along x or y, within rho mm.
fn column_reach(p: Params, v: View, t: f32, l: f32, rho: f32) -> f32 {
    if p.kind == KIND_PARALLEL {
        // t changes by |t_coef.x| per voxel along x and |t_coef.y| along y.
        return max(abs(v.t_coef.x), abs(v.t_coef.y));
    }
    if p.kind == KIND_FAN_FLAT {
        return rho * (l + abs(t)) / (l * (l - rho)) * p.col_scale;
    }
    return rho / (sqrt(t * t + l * l) - rho) * p.col_scale;
}

// Filtered back-projection weight (fan-beam distance weighting).
fn fbp_weight(p: Params, t: f32, l: f32) -> f32 {
    if p.kind == KIND_PARALLEL {
        return 1.0;
    }
    if p.kind == KIND_FAN_FLAT {
        let r = p.src_to_center / l;
        return r * r;
    }
    return 1.0 / (t * t + l * l);
}
