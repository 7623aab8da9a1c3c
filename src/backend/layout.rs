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
const _: () =
    assert!(std::mem::size_of::<Params>() == parse_usize(env!("TOMORS_WGSL_SIZE_PARAMS")));
const _: () = assert!(std::mem::size_of::<View>() == parse_usize(env!("TOMORS_WGSL_SIZE_VIEW")));
const _: () = assert!(std::mem::size_of::<Line>() == parse_usize(env!("TOMORS_WGSL_SIZE_LINE")));

/// Uniform parameters of the SPECT stages (one dispatch works on a batch of views).
///
/// Keep in sync with `struct SpectParams` in `shaders/shared/spect.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct SpectParams {
    /// Grid columns (x).
    pub nx: u32,
    /// Grid rows (y).
    pub ny: u32,
    /// Slices (= detector rows).
    pub nz: u32,
    /// Detector columns.
    pub n_cols: u32,
    /// Depth samples of the rotated frame.
    pub n_depth: u32,
    /// Views of the plan.
    pub n_views: u32,
    /// Entries per half-kernel in the kernel tables (`k_max + 1`).
    pub kernel_stride: u32,
    /// 1 when a μ-map is modelled.
    pub has_attenuation: u32,
    /// First view (plan order) of this batch.
    pub batch_first: u32,
    /// Views in this batch.
    pub batch_count: u32,
    /// Plan-order view stored first in the projection buffer.
    pub proj_first: u32,
    /// 1 when the adjoint adds to its output instead of overwriting it.
    pub accumulate: u32,
    /// Depth step, mm (= pixel size).
    pub step: f32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

/// One SPECT view: sample `(k, id)` of the rotated frame (column `k`, depth sample `id`) sits
/// at fractional image index `origin.xy + k·origin.zw + id·depth.xy`; the inverse map gives
/// `k = inv_col·(fx, fy, 1)` and `id = inv_depth·(fx, fy, 1)`.
///
/// Keep in sync with `struct SpectView` in `shaders/shared/spect.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct SpectView {
    /// Fractional index (x, y) of sample (0, 0), then its change per column.
    pub origin: [f32; 4],
    /// Change of the fractional index per depth sample (x, y, unused, unused).
    pub depth: [f32; 4],
    /// Coefficients of the column from (fx, fy, 1).
    pub inv_col: [f32; 4],
    /// Coefficients of the depth sample from (fx, fy, 1).
    pub inv_depth: [f32; 4],
}

/// Uniform parameters of the element-wise EM stages.
///
/// Keep in sync with `struct EmParams` in `shaders/shared/spect.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct EmParams {
    /// Elements to process.
    pub len: u32,
    /// Offset of the first element in the long operand (measured data, sensitivity images).
    pub offset: u32,
    /// 1 when an additive background is present.
    pub has_background: u32,
    /// 1 when the model has multiplicative factors per projection sample (PET).
    pub has_factors: u32,
    /// Prior weight β of one-step-late MAP (0: plain EM).
    pub beta: f32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

impl EmParams {
    /// Parameters for `len` elements from `offset`.
    pub fn new(
        len: usize,
        offset: usize,
        has_background: bool,
        has_factors: bool,
        beta: f32,
    ) -> Self {
        Self {
            len: len as u32,
            offset: offset as u32,
            has_background: has_background as u32,
            has_factors: has_factors as u32,
            beta,
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
        }
    }
}

/// Uniform parameters of `prior_gradient`.
///
/// Keep in sync with `struct PriorParams` in `shaders/shared/spect.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct PriorParams {
    /// Grid columns (x).
    pub nx: u32,
    /// Grid rows (y).
    pub ny: u32,
    /// Slices.
    pub nz: u32,
    /// 0: quadratic, 1: relative difference.
    pub kind: u32,
    /// γ of the relative-difference prior.
    pub gamma: f32,
    /// Padding.
    pub _pad0: f32,
    /// Padding.
    pub _pad1: f32,
    /// Padding.
    pub _pad2: f32,
    /// Neighbour weights, index `(dz + 1)·9 + (dy + 1)·3 + dx + 1`, four per vector.
    pub weights: [[f32; 4]; 7],
}

const _: () = assert!(
    std::mem::size_of::<SpectParams>() == parse_usize(env!("TOMORS_WGSL_SIZE_SPECTPARAMS"))
);
const _: () =
    assert!(std::mem::size_of::<SpectView>() == parse_usize(env!("TOMORS_WGSL_SIZE_SPECTVIEW")));
const _: () =
    assert!(std::mem::size_of::<EmParams>() == parse_usize(env!("TOMORS_WGSL_SIZE_EMPARAMS")));
const _: () = assert!(
    std::mem::size_of::<PriorParams>() == parse_usize(env!("TOMORS_WGSL_SIZE_PRIORPARAMS"))
);

/// Uniform parameters of `shaders/resample.wgsl`.
///
/// Keep in sync with `struct ResampleParams` in `shaders/shared/layout.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct ResampleParams {
    /// Source index (z, y, x, unused) of target index (0, 0, 0).
    pub b: [f32; 4],
    /// Source-index steps per target z, y and x step.
    pub col_z: [f32; 4],
    /// See `col_z`.
    pub col_y: [f32; 4],
    /// See `col_z`.
    pub col_x: [f32; 4],
    /// Slab shape (nz, ny, nx) and its first slice in the target.
    pub slab: [u32; 4],
    /// Full source shape (sz, sy, sx, unused).
    pub source: [u32; 4],
    /// Bound block's shape (bz, by, bx, unused).
    pub block: [u32; 4],
    /// Bound block's first source index (z, y, x, unused).
    pub block_origin: [u32; 4],
    /// Samples per target voxel along z, y, x (unused).
    pub samples: [u32; 4],
    /// Value of samples beyond the source.
    pub outside: f32,
    /// Target voxels in the slab.
    pub len: u32,
    /// Padding.
    pub _pad: [u32; 2],
}

/// Uniform parameters of `shaders/nmi_histogram.wgsl`.
///
/// Keep in sync with `struct NmiParams` in `shaders/shared/layout.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct NmiParams {
    /// Moving index (z, y, x, unused) of fixed index (0, 0, 0).
    pub b: [f32; 4],
    /// Moving-index steps per fixed z, y and x step.
    pub col_z: [f32; 4],
    /// See `col_z`.
    pub col_y: [f32; 4],
    /// See `col_z`.
    pub col_x: [f32; 4],
    /// Fixed shape (nz, ny, nx) and the sampling stride.
    pub fixed: [u32; 4],
    /// Moving shape (mz, my, mx) and the bins per volume.
    pub moving: [u32; 4],
    /// Sampled fixed voxels.
    pub len: u32,
    /// Fixed-point scale of the weights.
    pub scale: f32,
    /// Padding.
    pub _pad: [u32; 2],
}

const _: () = assert!(
    std::mem::size_of::<ResampleParams>() == parse_usize(env!("TOMORS_WGSL_SIZE_RESAMPLEPARAMS"))
);
const _: () =
    assert!(std::mem::size_of::<NmiParams>() == parse_usize(env!("TOMORS_WGSL_SIZE_NMIPARAMS")));
