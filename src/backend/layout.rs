//! Data shared bit-for-bit between the WGSL shaders and their CPU twins.
//!
//! Keep in sync with `shaders/shared/layout.wgsl`; a compile-time assertion below checks the
//! sizes against what naga computes for the WGSL structs in `build.rs`.

use bytemuck::{Pod, Zeroable};

/// Detector kind tags, as in `layout.wgsl`.
pub const KIND_PARALLEL: u32 = 0;
/// Fan beam, flat detector.
pub const KIND_FAN_FLAT: u32 = 1;
/// Fan beam, arc (equiangular) detector.
pub const KIND_FAN_ARC: u32 = 2;

/// Uniform parameters of a projection, filtering or back-projection dispatch.
///
/// Keep in sync with `struct Params` in `shaders/shared/layout.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct Params {
    /// Grid columns (x).
    pub nx: u32,
    /// Grid rows (y).
    pub ny: u32,
    /// Slices in this dispatch (a chunk of the stack).
    pub nz: u32,
    /// Number of views.
    pub n_views: u32,
    /// Detector columns.
    pub n_cols: u32,
    /// One of the `KIND_*` tags.
    pub kind: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Pixel width along x (mm).
    pub dx: f32,
    /// Pixel height along y (mm).
    pub dy: f32,
    /// Fractional column index where the central ray (u = 0) lands (fan beam).
    pub col_center: f32,
    /// Columns per unit of the detector map: 1/du (parallel), D_sd/du (flat), 1/Δγ (arc).
    pub col_scale: f32,
    /// Source to rotation axis (mm, fan beam only).
    pub src_to_center: f32,
    /// Padding.
    pub _pad2: f32,
    /// Padding.
    pub _pad3: f32,
    /// Padding.
    pub _pad4: f32,
}

/// One view as the voxel-driven kernels see it: voxel `(ix, iy)` maps to
/// `t = t_coef·(ix, iy, 1)` and `l = l_coef·(ix, iy, 1)`. Parallel beam: `t` is the
/// fractional detector column. Fan beam: `t` (mm) is the offset along u and `l` (mm) the depth
/// along the central ray, both measured from the source.
///
/// Keep in sync with `struct View` in `shaders/shared/layout.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct View {
    /// Coefficients of `t` (x, y, constant, unused).
    pub t_coef: [f32; 4],
    /// Coefficients of `l` (x, y, constant, unused).
    pub l_coef: [f32; 4],
}

/// One ray in Joseph form: it steps along x (`along_x = 1`) or y (`0`), one voxel column or
/// row per step; at step `i` it crosses the other axis at fractional index `f0 + i·fstep`;
/// each step is `weight` mm long.
///
/// Keep in sync with `struct Line` in `shaders/shared/layout.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct Line {
    /// Crossing (fractional index) at step 0.
    pub f0: f32,
    /// Change of the crossing per step.
    pub fstep: f32,
    /// Step length in mm.
    pub weight: f32,
    /// 1.0 when the ray steps along x, 0.0 along y.
    pub along_x: f32,
}

const fn parse_usize(s: &str) -> usize {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut v = 0;
    while i < bytes.len() {
        v = v * 10 + (bytes[i] - b'0') as usize;
        i += 1;
    }
    v
}

// The Rust mirrors must have the WGSL sizes (exported by build.rs from layout.wgsl).
const _: () = assert!(std::mem::size_of::<Params>() == parse_usize(env!("TOMORS_WGSL_SIZE_PARAMS")));
const _: () = assert!(std::mem::size_of::<View>() == parse_usize(env!("TOMORS_WGSL_SIZE_VIEW")));
const _: () = assert!(std::mem::size_of::<Line>() == parse_usize(env!("TOMORS_WGSL_SIZE_LINE")));
