//! The EM buffers shared by every resident CPU model (the host twin of `gpu/em.rs`).

use super::em::{em_ratio, em_update, prior_gradient};
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
