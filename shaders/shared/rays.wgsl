// Rays, Joseph lines and detector coordinates. CPU twin: src/backend/cpu/rays.rs.

struct Ray {
    origin: vec2<f32>,
    dir: vec2<f32>,
}

// The ray that ends in detector column k of view v (dir need not be unit length).
fn detector_ray(p: Params, v: View, col_dir: vec2<f32>, k: u32) -> Ray {
    let s = (f32(k) - p.col_center) * p.col_step;
    if p.kind == KIND_PARALLEL {
        return Ray(v.center + s * v.u, v.a);
    }
    if p.kind == KIND_FAN_FLAT {
        return Ray(v.a, v.center + s * v.u - v.a);
    }
    return Ray(v.a, col_dir.x * v.d + col_dir.y * v.u);
}

// A ray seen by Joseph's method: it steps along x (along_x) or y, one voxel column or row per
// step; at step i it crosses the other axis at fractional index f0 + i * fstep, and each step
// is `weight` mm long.
struct JosephLine {
    f0: f32,
    fstep: f32,
    weight: f32,
    along_x: bool,
}

fn joseph_line(p: Params, r: Ray) -> JosephLine {
    let ax = abs(r.dir.x);
    let ay = abs(r.dir.y);
    let len = sqrt(r.dir.x * r.dir.x + r.dir.y * r.dir.y);
    if ax >= ay {
        let slope = r.dir.y / r.dir.x;
        let f0 = (r.origin.y + (p.ox - r.origin.x) * slope - p.oy) / p.dy;
        return JosephLine(f0, p.dx * slope / p.dy, p.dx * len / ax, true);
    }
    let slope = r.dir.x / r.dir.y;
    let f0 = (r.origin.x + (p.oy - r.origin.y) * slope - p.ox) / p.dx;
    return JosephLine(f0, p.dy * slope / p.dx, p.dy * len / ay, false);
}

// Fan coordinates of point x: (t, L) = lateral offset along u and depth along d from the source.
fn fan_coords(v: View, x: vec2<f32>) -> vec2<f32> {
    let rel = x - v.a;
    return vec2<f32>(dot(rel, v.u), dot(rel, v.d));
}

// Fractional detector column that the ray through point x reaches.
fn column_of(p: Params, v: View, x: vec2<f32>) -> f32 {
    if p.kind == KIND_PARALLEL {
        return dot(x - v.center, v.u) / p.col_step + p.col_center;
    }
    let tl = fan_coords(v, x);
    if p.kind == KIND_FAN_FLAT {
        return p.src_to_det * tl.x / tl.y / p.col_step + p.col_center;
    }
    return atan_twin(tl.x / tl.y) / p.col_step + p.col_center;
}

// atan(x) in f32 by Cephes' atanf (range reduction to |x| ≤ tan(π/8), then a degree-9 odd
// polynomial; error ≈ 1e-7). Written out so that both backends evaluate the very same
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

// Bound (in columns) on how far from column_of(x) the rays through any point within rho mm of x land.
fn column_reach(p: Params, v: View, x: vec2<f32>, rho: f32) -> f32 {
    if p.kind == KIND_PARALLEL {
        return rho / p.col_step;
    }
    let tl = fan_coords(v, x);
    if p.kind == KIND_FAN_FLAT {
        return p.src_to_det * rho * (tl.y + abs(tl.x)) / (tl.y * (tl.y - rho)) / p.col_step;
    }
    return rho / (sqrt(tl.x * tl.x + tl.y * tl.y) - rho) / p.col_step;
}

// Filtered back-projection weight of point x in view v (fan-beam distance weighting).
fn fbp_weight(p: Params, v: View, x: vec2<f32>) -> f32 {
    if p.kind == KIND_PARALLEL {
        return 1.0;
    }
    let tl = fan_coords(v, x);
    if p.kind == KIND_FAN_FLAT {
        let r = p.src_to_center / tl.y;
        return r * r;
    }
    return 1.0 / (tl.x * tl.x + tl.y * tl.y);
}
