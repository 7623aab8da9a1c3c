//! The Joseph projector as a resident model on the CPU (PET and other line-integral models):
//! one lowered geometry per subset, host vectors in the roles of the GPU plan's buffers.

use super::em_state::HostEm;
use super::{adjoint_project, forward_project, not_loaded};
use crate::backend::layout::PriorParams;
use crate::backend::resident::ResidentModel;
use crate::error::Result;
use crate::geometry::Lowered;
use std::ops::Range;

/// Buffers of a Joseph model on the host.
#[derive(Debug)]
pub(crate) struct JosephCpu {
    subsets: Vec<Range<usize>>,
    lowered: Vec<Lowered>,
    factors: Option<Vec<f32>>,
    image: Vec<f32>,
    back: Vec<f32>,
    proj: Vec<f32>,
    em: Option<HostEm>,
}

impl JosephCpu {
    /// A model with one lowered geometry per subset (views in plan order) and optional
    /// multiplicative factors for the whole data (plan order).
    pub fn new(
        lowered: Vec<Lowered>,
        subsets: Vec<Range<usize>>,
        factors: Option<Vec<f32>>,
    ) -> Self {
        let p = lowered[0].params;
        let image_len = (p.nx * p.ny * p.nz) as usize;
        let view_len = (p.nz * p.n_cols) as usize;
        let largest = subsets.iter().map(|r| r.len()).max().unwrap_or(1);
        Self {
            subsets,
            lowered,
            factors,
            image: vec![0.0; image_len],
            back: vec![0.0; image_len],
            proj: vec![0.0; largest * view_len],
            em: None,
        }
    }

    fn subset_len(&self, subset: usize) -> usize {
        self.subsets[subset].len() * self.view_len()
    }
}

impl ResidentModel for JosephCpu {
    fn image_len(&self) -> usize {
        self.image.len()
    }
    fn view_len(&self) -> usize {
        let p = &self.lowered[0].params;
        (p.nz * p.n_cols) as usize
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
    fn forward(&mut self, subset: usize) -> Result<()> {
        let l = &self.lowered[subset];
        let len = self.subset_len(subset);
        forward_project(&l.params, &l.lines, &self.image, &mut self.proj[..len]);
        Ok(())
    }
    fn adjoint(&mut self, subset: usize) -> Result<()> {
        let l = &self.lowered[subset];
        let len = self.subset_len(subset);
        adjoint_project(
            &l.params,
            &l.views,
            &l.lines,
            &self.proj[..len],
            &mut self.back,
        );
        Ok(())
    }
    fn load_measured(&mut self, measured: &[f32], background: Option<&[f32]>) -> Result<()> {
        self.em = Some(HostEm::new(
            measured,
            background,
            self.factors.as_deref(),
            self.subsets.len(),
            self.image.len(),
        ));
        Ok(())
    }
    fn sensitivity(&mut self, subset: usize) -> Result<()> {
        let range = self.subsets[subset].start * self.view_len()
            ..self.subsets[subset].end * self.view_len();
        let weights = match &self.factors {
            Some(f) => f[range].to_vec(),
            None => vec![1.0; range.len()],
        };
        self.write_projections(subset, &weights)?;
        self.adjoint(subset)?;
        let em = self.em.as_mut().ok_or_else(not_loaded)?;
        em.keep_sensitivity(&self.back, subset);
        Ok(())
    }
    fn em_ratio(&mut self, subset: usize) -> Result<()> {
        let (offset, len) = (
            self.subsets[subset].start * self.view_len(),
            self.subset_len(subset),
        );
        let em = self.em.as_ref().ok_or_else(not_loaded)?;
        em.ratio(&mut self.proj, offset, len);
        Ok(())
    }
    fn prior_gradient(&mut self, params: &PriorParams) -> Result<()> {
        let em = self.em.as_mut().ok_or_else(not_loaded)?;
        em.prior_gradient(params, &self.image);
        Ok(())
    }
    fn em_update(&mut self, subset: usize, beta: f32) -> Result<()> {
        let em = self.em.as_ref().ok_or_else(not_loaded)?;
        em.update(&mut self.image, &self.back, subset, beta);
        Ok(())
    }
    fn memory_bytes(&self) -> u64 {
        let floats = self.image.len()
            + self.back.len()
            + self.proj.len()
            + self.factors.as_ref().map_or(0, Vec::len);
        4 * floats as u64 + self.em.as_ref().map_or(0, HostEm::bytes)
    }
}
