// SPECT and EM data shared bit-for-bit with the CPU twins.
// Keep in sync with src/backend/layout.rs (build.rs exports these sizes; the crate asserts them).
//
// Rotated-frame buffers (att, rot, blur) are [batch view][z][depth][col]; projection buffers
// are [view - proj_first][z][col]; images [z][y][x].

struct SpectParams {
    nx: u32,
    ny: u32,
    nz: u32,
    n_cols: u32,
    n_depth: u32,
    n_views: u32,
    kernel_stride: u32,
    has_attenuation: u32,
    batch_first: u32,
    batch_count: u32,
    proj_first: u32,
    accumulate: u32,
    step: f32,
    att_first: u32,
    _pad1: u32,
    _pad2: u32,
}

// Sample (k, id) sits at fractional index origin.xy + k * origin.zw + id * depth.xy.
struct SpectView {
    origin: vec4<f32>,
    depth: vec4<f32>,
    inv_col: vec4<f32>,
    inv_depth: vec4<f32>,
}

struct EmParams {
    len: u32,
    offset: u32,
    has_background: u32,
    has_factors: u32,
    beta: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// BSREM's image step for subset `subset` of `n_subsets`: relaxation `alpha`, prior weight
// `beta`, lower bound `floor` of the image.
struct BsremParams {
    len: u32,
    subset: u32,
    n_subsets: u32,
    _pad0: u32,
    alpha: f32,
    beta: f32,
    floor: f32,
    _pad1: f32,
}

// Prior kind (0 quadratic, 1 relative difference), its γ, and the 27 neighbour weights
// (index (dz + 1)·9 + (dy + 1)·3 + dx + 1; the centre's is unused) packed four to a vector.
struct PriorParams {
    nx: u32,
    ny: u32,
    nz: u32,
    kind: u32,
    gamma: f32,
    _pad0: f32,
    _pad1: f32,
    _pad2: f32,
    weights: array<vec4<f32>, 7>,
}

// The four bilinear taps of fractional index (fx, fy) on an nx × ny slice: flat indices
// (-1 when outside the slice) and weights.
struct Taps {
    idx: vec4<i32>,
    w: vec4<f32>,
}

fn spect_sample_x(v: SpectView, k: u32, id: u32) -> f32 {
    return v.origin.x + f32(k) * v.origin.z + f32(id) * v.depth.x;
}

fn spect_sample_y(v: SpectView, k: u32, id: u32) -> f32 {
    return v.origin.y + f32(k) * v.origin.w + f32(id) * v.depth.y;
}

fn bilinear_taps(fx: f32, fy: f32, nx: u32, ny: u32) -> Taps {
    // Clamping keeps far-away samples outside without overflowing the integer conversion.
    let cx = clamp(fx, -2.0, f32(nx) + 1.0);
    let cy = clamp(fy, -2.0, f32(ny) + 1.0);
    // floor of a value ≥ -2 by truncation, exactly as the CPU twin computes it.
    let x0 = i32(cx + 2.0) - 2;
    let y0 = i32(cy + 2.0) - 2;
    let ax = cx - f32(x0);
    let ay = cy - f32(y0);
    var t: Taps;
    t.w = vec4<f32>((1.0 - ax) * (1.0 - ay), ax * (1.0 - ay), (1.0 - ax) * ay, ax * ay);
    let xs = vec4<i32>(x0, x0 + 1, x0, x0 + 1);
    let ys = vec4<i32>(y0, y0, y0 + 1, y0 + 1);
    for (var i = 0; i < 4; i++) {
        let inside = xs[i] >= 0 && xs[i] < i32(nx) && ys[i] >= 0 && ys[i] < i32(ny);
        t.idx[i] = select(-1, ys[i] * i32(nx) + xs[i], inside);
    }
    return t;
}

// Voxel (x, y)'s cell of a view's rotated frame: the four frame samples around its position,
// (k0, d0), (k0 + 1, d0), (k0, d0 + 1), (k0 + 1, d0 + 1) as (column, depth), and their bilinear
// weights, which sum to 1, so the rotation keeps every voxel's counts. The forward rotation
// spreads each voxel into its cell, the adjoint samples the frame at the voxel: one set of
// weights for both.
struct FrameCell {
    k0: i32,
    d0: i32,
    w: vec4<f32>,
}

fn frame_cell(v: SpectView, x: u32, y: u32, n_cols: u32, n_depth: u32) -> FrameCell {
    let fx = f32(x);
    let fy = f32(y);
    // Clamping keeps far-away cells outside without overflowing the integer conversion.
    let kf = clamp(v.inv_col.x * fx + v.inv_col.y * fy + v.inv_col.z, -2.0, f32(n_cols) + 1.0);
    let df = clamp(v.inv_depth.x * fx + v.inv_depth.y * fy + v.inv_depth.z, -2.0, f32(n_depth) + 1.0);
    // floor of a value ≥ -2 by truncation, exactly as the CPU twin computes it.
    let k0 = i32(kf + 2.0) - 2;
    let d0 = i32(df + 2.0) - 2;
    let a = kf - f32(k0);
    let b = df - f32(d0);
    return FrameCell(k0, d0, vec4<f32>((1.0 - a) * (1.0 - b), a * (1.0 - b), (1.0 - a) * b, a * b));
}

// exp(-y) for y >= 0 (clamped at 80), Cephes expf's range reduction and polynomial, written
// out so that the CPU twin computes the same operations (and vectorises them).
fn exp_neg(y_in: f32) -> f32 {
    let y = min(y_in, 80.0);
    let k = i32(y * 1.44269504088896341 + 0.5);
    let kf = f32(k);
    let r = (kf * 0.693359375 - y) + kf * -2.12194440e-4;
    var p = 1.9875691500e-4;
    p = p * r + 1.3981999507e-3;
    p = p * r + 8.3334519073e-3;
    p = p * r + 4.1665795894e-2;
    p = p * r + 1.6666665459e-1;
    p = p * r + 0.5;
    p = p * (r * r) + r + 1.0;
    return p * bitcast<f32>(u32(127 - k) << 23u);
}

// Index in the attenuation buffer of element `o` of this batch's rotated frame: the buffer
// holds the factors of several views, this batch's from view slot `att_first` on.
fn att_index(p: SpectParams, o: u32) -> u32 {
    return p.att_first * p.nz * p.n_depth * p.n_cols + o;
}

// Index of element (b, z, id, k) of a rotated-frame buffer.
fn frame_index(p: SpectParams, b: u32, z: u32, id: u32, k: u32) -> u32 {
    return ((b * p.nz + z) * p.n_depth + id) * p.n_cols + k;
}
