// Data shared bit-for-bit with the CPU twins.
// Keep in sync with src/backend/layout.rs (build.rs exports these sizes; the crate asserts them).

struct Params {
    nx: u32,
    ny: u32,
    nz: u32,
    n_views: u32,
    n_cols: u32,
    kind: u32,
    kernel_len: u32,
    _pad: u32,
    dx: f32,
    dy: f32,
    ox: f32,
    oy: f32,
    col_center: f32,
    col_step: f32,
    src_to_center: f32,
    src_to_det: f32,
}

struct View {
    a: vec2<f32>,
    center: vec2<f32>,
    u: vec2<f32>,
    d: vec2<f32>,
}

const KIND_PARALLEL: u32 = 0u;
const KIND_FAN_FLAT: u32 = 1u;
const KIND_FAN_ARC: u32 = 2u;
