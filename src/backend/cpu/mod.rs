//! The CPU twins of the WGSL stages: `shaders/<stage>.wgsl` ↔ `<stage>.rs`, same name, same
//! binding order, same arithmetic, with rayon in place of the dispatch grid (`build.rs` fails
//! the build when a stage has no twin). `shared/` mirrors `shaders/shared/`. They are the
//! fallback backend and the reference the GPU results are compared against.
//!
//! The engine's host side calls them all through [`run`]; nothing else here is a model. One
//! step the host does its own way beside its twin: the 3D PET back-projection's sums
//! ([`pet_adjoint_ordered`], [`ordered_to_float`]; see `pet_adjoint.rs`).

mod adjoint_project;
mod backproject_fbp;
mod bsrem_update;
mod cone_backproject;
mod em_ratio;
mod em_update;
mod fbp_filter;
mod fixed_to_float;
mod forward_project;
mod nmi_histogram;
mod pet_adjoint;
mod pet_adjoint_max;
mod pet_forward;
mod prior_gradient;
mod resample;
pub(crate) mod shared;
mod spect_attenuation;
mod spect_blur_cols;
mod spect_blur_rows_sum;
mod spect_rotate;
mod spect_rotate_adjoint;
mod spect_spread_rows;
mod sss_integrals;
mod sss_interpolate;
mod sss_nodes;
mod sss_pairs;
mod sss_pairs_tof;

pub(crate) use adjoint_project::adjoint_project;
pub(crate) use backproject_fbp::backproject_fbp;
pub(crate) use bsrem_update::bsrem_update;
pub(crate) use cone_backproject::cone_backproject;
pub(crate) use em_ratio::em_ratio;
pub(crate) use em_update::em_update;
pub(crate) use fbp_filter::fbp_filter;
pub(crate) use fixed_to_float::fixed_to_float;
pub(crate) use forward_project::forward_project;
pub(crate) use nmi_histogram::nmi_histogram;
pub(crate) use pet_adjoint::{ordered_to_float, pet_adjoint, pet_adjoint_ordered};
pub(crate) use pet_adjoint_max::pet_adjoint_max;
pub(crate) use pet_forward::pet_forward;
pub(crate) use prior_gradient::prior_gradient;
pub(crate) use resample::resample;
pub(crate) use spect_attenuation::spect_attenuation;
pub(crate) use spect_blur_cols::spect_blur_cols;
pub(crate) use spect_blur_rows_sum::spect_blur_rows_sum;
pub(crate) use spect_rotate::spect_rotate;
pub(crate) use spect_rotate_adjoint::spect_rotate_adjoint;
pub(crate) use spect_spread_rows::spect_spread_rows;
pub(crate) use sss_integrals::sss_integrals;
pub(crate) use sss_interpolate::sss_interpolate;
pub(crate) use sss_nodes::sss_nodes;
pub(crate) use sss_pairs::sss_pairs;
pub(crate) use sss_pairs_tof::sss_pairs_tof;

use crate::backend::Stage;
use bytemuck::{cast_slice as r, cast_slice_mut as w, from_bytes};

/// Runs the twin of `stage`, every twin through one signature shape: the stage's parameter
/// struct (`params`, its bytes), the buffers it reads in binding order (`reads`), and the one
/// it writes (`out`), all as 4-byte words. This is what the host engine calls for a dispatch.
pub(crate) fn run(stage: Stage, params: &[u8], reads: &[&[u32]], out: &mut [u32]) {
    let p = params;
    match stage {
        Stage::AdjointProject => {
            adjoint_project(from_bytes(p), r(reads[0]), r(reads[1]), r(reads[2]), w(out))
        }
        Stage::BackprojectFbp => backproject_fbp(from_bytes(p), r(reads[0]), r(reads[1]), w(out)),
        Stage::BsremUpdate => {
            bsrem_update(from_bytes(p), r(reads[0]), r(reads[1]), r(reads[2]), w(out))
        }
        Stage::ConeBackproject => cone_backproject(from_bytes(p), r(reads[0]), r(reads[1]), w(out)),
        Stage::EmRatio => em_ratio(from_bytes(p), r(reads[0]), r(reads[1]), r(reads[2]), w(out)),
        Stage::EmUpdate => em_update(from_bytes(p), r(reads[0]), r(reads[1]), r(reads[2]), w(out)),
        Stage::FbpFilter => {
            fbp_filter(from_bytes(p), r(reads[0]), r(reads[1]), r(reads[2]), w(out))
        }
        Stage::FixedToFloat => fixed_to_float(from_bytes(p), reads[0], reads[1], w(out)),
        Stage::ForwardProject => forward_project(from_bytes(p), r(reads[0]), r(reads[1]), w(out)),
        Stage::NmiHistogram => nmi_histogram(from_bytes(p), reads[0], reads[1], out),
        Stage::PetAdjoint => pet_adjoint(
            from_bytes(p),
            r(reads[0]),
            r(reads[1]),
            r(reads[2]),
            r(reads[3]),
            reads[4],
            out,
        ),
        Stage::PetAdjointMax => pet_adjoint_max(
            from_bytes(p),
            r(reads[0]),
            r(reads[1]),
            r(reads[2]),
            r(reads[3]),
            out,
        ),
        Stage::PetForward => pet_forward(
            from_bytes(p),
            r(reads[0]),
            r(reads[1]),
            r(reads[2]),
            r(reads[3]),
            w(out),
        ),
        Stage::PriorGradient => prior_gradient(from_bytes(p), r(reads[0]), w(out)),
        Stage::Resample => resample(from_bytes(p), r(reads[0]), w(out)),
        Stage::SpectAttenuation => {
            spect_attenuation(from_bytes(p), r(reads[0]), r(reads[1]), w(out))
        }
        Stage::SpectBlurCols => {
            spect_blur_cols(from_bytes(p), r(reads[0]), reads[1], r(reads[2]), w(out))
        }
        Stage::SpectBlurRowsSum => {
            spect_blur_rows_sum(from_bytes(p), r(reads[0]), reads[1], r(reads[2]), w(out))
        }
        Stage::SpectRotate => {
            spect_rotate(from_bytes(p), r(reads[0]), r(reads[1]), r(reads[2]), w(out))
        }
        Stage::SpectRotateAdjoint => {
            spect_rotate_adjoint(from_bytes(p), r(reads[0]), r(reads[1]), r(reads[2]), w(out))
        }
        Stage::SpectSpreadRows => {
            spect_spread_rows(from_bytes(p), r(reads[0]), reads[1], r(reads[2]), w(out))
        }
        Stage::SssIntegrals => sss_integrals(
            from_bytes(p),
            r(reads[0]),
            r(reads[1]),
            r(reads[2]),
            r(reads[3]),
            w(out),
        ),
        Stage::SssInterpolate => {
            sss_interpolate(from_bytes(p), r(reads[0]), r(reads[1]), r(reads[2]), w(out))
        }
        Stage::SssNodes => sss_nodes(from_bytes(p), r(reads[0]), r(reads[1]), r(reads[2]), w(out)),
        Stage::SssPairsTof => sss_pairs_tof(
            from_bytes(p),
            r(reads[0]),
            r(reads[1]),
            r(reads[2]),
            r(reads[3]),
            r(reads[4]),
            r(reads[5]),
            w(out),
        ),
        Stage::SssPairs => sss_pairs(
            from_bytes(p),
            r(reads[0]),
            r(reads[1]),
            r(reads[2]),
            r(reads[3]),
            w(out),
        ),
    }
}
