//! The Joseph projector as a resident model on the CPU (PET and other line-integral models):
//! one lowered geometry per subset, host vectors in the roles of the GPU plan's buffers.

use super::em_state::{HostEm, host_model_common};
use super::{adjoint_project, forward_project, not_loaded};
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
    host_model_common!();
    fn view_len(&self) -> usize {
        let p = &self.lowered[0].params;
        (p.nz * p.n_cols) as usize
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
    fn memory_bytes(&self) -> u64 {
        let floats = self.image.len()
            + self.back.len()
            + self.proj.len()
            + self.factors.as_ref().map_or(0, Vec::len);
        4 * floats as u64 + self.em.as_ref().map_or(0, HostEm::bytes)
    }
}
