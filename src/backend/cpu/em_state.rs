//! The EM buffers shared by every resident CPU model (the host twin of `gpu/em.rs`).

use super::{em_ratio, em_update, prior_gradient};
use crate::backend::layout::{EmParams, PriorParams};

/// Measured data, background, factors (plan order), one sensitivity image per subset and the
/// prior's gradient.
#[derive(Debug)]
pub(crate) struct HostEm {
    measured: Vec<f32>,
    background: Option<Vec<f32>>,
    factors: Option<Vec<f32>>,
    sensitivity: Vec<f32>,
    grad: Vec<f32>,
    image_len: usize,
}

impl HostEm {
    /// Copies the inputs and allocates `n_subsets` sensitivity images of `image_len` voxels.
    pub fn new(
        measured: &[f32],
        background: Option<&[f32]>,
        factors: Option<&[f32]>,
        n_subsets: usize,
        image_len: usize,
    ) -> Self {
        Self {
            measured: measured.to_vec(),
            background: background.map(<[f32]>::to_vec),
            factors: factors.map(<[f32]>::to_vec),
            sensitivity: vec![0.0; n_subsets * image_len],
            grad: vec![0.0; image_len],
            image_len,
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        let opt = |v: &Option<Vec<f32>>| v.as_ref().map_or(0, Vec::len);
        4 * (self.measured.len()
            + opt(&self.background)
            + opt(&self.factors)
            + self.sensitivity.len()
            + self.grad.len()) as u64
    }

    /// Keeps `back` as the sensitivity image of `subset`.
    pub fn keep_sensitivity(&mut self, back: &[f32], subset: usize) {
        let n = self.image_len;
        self.sensitivity[subset * n..(subset + 1) * n].copy_from_slice(back);
    }

    /// `em_ratio` over `len` projection samples whose measured data start at `offset`.
    pub fn ratio(&self, proj: &mut [f32], offset: usize, len: usize) {
        let p = EmParams::new(
            len,
            offset,
            self.background.is_some(),
            self.factors.is_some(),
            0.0,
        );
        em_ratio(
            &p,
            &self.measured,
            self.background.as_deref().unwrap_or(&[]),
            self.factors.as_deref().unwrap_or(&[]),
            proj,
        );
    }

    /// `prior_gradient` of `image`.
    pub fn prior_gradient(&mut self, params: &PriorParams, image: &[f32]) {
        prior_gradient(params, image, &mut self.grad);
    }

    /// `em_update` of `image` with the sensitivity image of `subset`.
    pub fn update(&self, image: &mut [f32], back: &[f32], subset: usize, beta: f32) {
        let p = EmParams::new(self.image_len, subset * self.image_len, false, false, beta);
        em_update(&p, &self.sensitivity, back, &self.grad, image);
    }
}

/// The [`ResidentModel`](crate::backend::resident::ResidentModel) methods every host model
/// implements the same way over its fields `image`, `back`, `proj`, `subsets` and `em:
/// Option<HostEm>` (and its `subset_len`): buffer I/O and the element-wise EM steps.
macro_rules! host_model_common {
    () => {
        fn image_len(&self) -> usize {
            self.image.len()
        }
        fn write_image(&mut self, x: &[f32]) -> Result<()> {
            self.image.copy_from_slice(x);
            Ok(())
        }
        fn read_image(&mut self, out: &mut [f32]) -> Result<()> {
            out.copy_from_slice(&self.image);
            Ok(())
        }
        fn read_back(&mut self, out: &mut [f32]) -> Result<()> {
            out.copy_from_slice(&self.back);
            Ok(())
        }
        fn write_projections(&mut self, subset: usize, data: &[f32]) -> Result<()> {
            let len = self.subset_len(subset);
            self.proj[..len].copy_from_slice(data);
            Ok(())
        }
        fn read_projections(&mut self, subset: usize, out: &mut [f32]) -> Result<()> {
            let len = self.subset_len(subset);
            out.copy_from_slice(&self.proj[..len]);
            Ok(())
        }
        fn em_ratio(&mut self, subset: usize) -> Result<()> {
            let (offset, len) = (
                self.subsets[subset].start * self.view_len(),
                self.subset_len(subset),
            );
            let em = self
                .em
                .as_ref()
                .ok_or_else(crate::backend::cpu::not_loaded)?;
            em.ratio(&mut self.proj, offset, len);
            Ok(())
        }
        fn prior_gradient(&mut self, params: &crate::backend::layout::PriorParams) -> Result<()> {
            let em = self
                .em
                .as_mut()
                .ok_or_else(crate::backend::cpu::not_loaded)?;
            em.prior_gradient(params, &self.image);
            Ok(())
        }
        fn em_update(&mut self, subset: usize, beta: f32) -> Result<()> {
            let em = self
                .em
                .as_ref()
                .ok_or_else(crate::backend::cpu::not_loaded)?;
            em.update(&mut self.image, &self.back, subset, beta);
            Ok(())
        }
    };
}
pub(crate) use host_model_common;
