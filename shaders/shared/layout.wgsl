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
