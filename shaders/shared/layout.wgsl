// Data shared bit-for-bit with the CPU twins.
// Keep in sync with src/backend/layout.rs (build.rs exports these sizes; the crate asserts them).

struct Params {
    nx: u32,
    ny: u32,
    nz: u32,
    n_views: u32,
    n_cols: u32,
    kind: u32,
    _pad0: u32,
    _pad1: u32,
    dx: f32,
    dy: f32,
    col_center: f32,
    col_scale: f32,
    src_to_center: f32,
    _pad2: f32,
    _pad3: f32,
    _pad4: f32,
}

// Per view, voxel (ix, iy) maps to t = dot(t_coef.xyz, (ix, iy, 1)) and l = dot(l_coef.xyz, (ix, iy, 1)):
// parallel beam: t is the fractional detector column; fan beam: t is the lateral offset (mm)
// along u and l the depth (mm) along the central ray, both from the source.
struct View {
    t_coef: vec4<f32>,
    l_coef: vec4<f32>,
}

// One ray in Joseph form: it steps along x (along_x = 1) or y (0), one voxel column or row per
// step; at step i it crosses the other axis at fractional index f0 + i * fstep; each step is
// `weight` mm long.
struct Line {
    f0: f32,
    fstep: f32,
    weight: f32,
    along_x: f32,
}

const KIND_PARALLEL: u32 = 0u;
const KIND_FAN_FLAT: u32 = 1u;
const KIND_FAN_ARC: u32 = 2u;

// Parameters of resample.wgsl (fusion::resample on the GPU).
struct ResampleParams {
    b: vec4<f32>,            // source index (z, y, x) of target index (0, 0, 0)
    col_z: vec4<f32>,        // source-index step per target z
    col_y: vec4<f32>,
    col_x: vec4<f32>,
    slab: vec4<u32>,         // slab (nz, ny, nx), first slab slice z0
    source: vec4<u32>,       // full source (sz, sy, sx), unused
    block: vec4<u32>,        // block (bz, by, bx), unused
    block_origin: vec4<u32>, // block's first source index (z, y, x), unused
    samples: vec4<u32>,      // (kz, ky, kx), unused
    outside: f32,
    len: u32,
    _pad0: u32,
    _pad1: u32,
}

// Parameters of nmi_histogram.wgsl (the registration cost).
struct NmiParams {
    b: vec4<i32>,       // moving index of fixed (0, 0, 0), in units of 2^-frac
    col_z: vec4<i32>,   // moving-index steps per fixed z, y, x step, in units of 2^-frac
    col_y: vec4<i32>,
    col_x: vec4<i32>,
    fixed: vec4<u32>,   // (nz, ny, nx, stride)
    moving: vec4<u32>,  // (mz, my, mx, bins)
    len: u32,           // sampled fixed voxels
    scale: f32,
    frac: u32,          // fractional bits of the positions
    _pad: u32,
}
