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

/// Uniform parameters of a projection or back-projection dispatch.
///
/// Lengths in mm, `col_step` in mm (parallel, flat) or radians (arc).
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
    /// Length of the filter kernel (FBP filtering only; 0 otherwise).
    pub kernel_len: u32,
    /// Padding to 16 bytes.
    pub _pad: u32,
    /// Pixel width along x (mm).
    pub dx: f32,
    /// Pixel height along y (mm).
    pub dy: f32,
    /// x of the centre of column 0 (mm).
    pub ox: f32,
    /// y of the centre of row 0 (mm).
    pub oy: f32,
    /// Fractional column index where the central ray (u = 0) lands.
    pub col_center: f32,
    /// Column step: mm at the detector, or radians for an arc.
    pub col_step: f32,
    /// Source to rotation axis (mm, fan beam only).
    pub src_to_center: f32,
    /// Source to detector (mm, fan beam only).
    pub src_to_det: f32,
}

/// One view lowered to vectors in the axial plane (mm, x then y).
///
/// Keep in sync with `struct View` in `shaders/shared/layout.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct ViewVectors {
    /// Parallel: ray direction `d(θ)`. Fan: source position `S(β)`.
    pub a: [f32; 2],
    /// Point of the detector where `u = 0` (parallel: the rotation axis).
    pub center: [f32; 2],
    /// Unit detector axis `u(θ)`.
    pub u: [f32; 2],
    /// Unit central-ray direction `d(θ)`.
    pub d: [f32; 2],
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
const _: () = assert!(std::mem::size_of::<ViewVectors>() == parse_usize(env!("TOMORS_WGSL_SIZE_VIEW")));
