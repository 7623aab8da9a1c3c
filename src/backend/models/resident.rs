//! A model resident on its engine between calls (see [`ResidentModel`]): the image, the
//! back-projection and one subset's projections, and, once the measured data are loaded, the
//! EM state. The model-specific forward and adjoint sequences come from a [`Sequence`]; every
//! other step (buffer I/O, sensitivity, `em_ratio`, `prior_gradient`, `em_update`,
//! `bsrem_update`) is written here once.

use super::Engine;
use crate::backend::Stage;
use crate::backend::engine::Buf;
use crate::backend::layout::{BsremParams, EmParams, PriorParams};
use crate::backend::resident::ResidentModel;
use crate::error::{Error, Result};
use std::ops::Range;

/// The buffers every resident model has.
#[derive(Debug)]
pub(crate) struct Core {
    pub engine: Engine,
    pub subsets: Vec<Range<usize>>,
    pub image_len: usize,
    pub view_len: usize,
    pub image: Buf,
    pub back: Buf,
    pub proj: Buf,
    /// Multiplicative factors per projection sample (plan order), host copy (PET).
    factors: Option<Vec<f32>>,
    /// Bytes the data-sized EM inputs may take on the engine (`None`: no bound).
    max_resident_bytes: Option<u64>,
    /// A sensitivity image every subset takes `1/subsets` of, instead of `A_sᵀ m` (list
    /// mode: the back-projection of every line of response the scanner has); the engine then
    /// holds that one share, not one image per subset.
    sensitivity: Option<Vec<f32>>,
    em: Option<Em>,
}

/// EM state on the engine: measured data, background and factors (a one-word placeholder
/// when absent), one sensitivity image per subset, the prior's gradient.
#[derive(Debug)]
struct Em {
    measured: Buf,
    background: Option<Buf>,
    factors: Option<Buf>,
    /// `None`: the three above hold the whole data (plan order). `Some`: they hold one
    /// subset's share, written from these host copies before each ratio (the factors' host
    /// copy is the core's).
    streamed: Option<(Vec<f32>, Option<Vec<f32>>)>,
    placeholder: Buf,
    sensitivity: Buf,
    grad: Buf,
}

/// A model's own stage sequences.
pub(crate) trait Sequence: Send + std::fmt::Debug {
    /// Projections of `subset` ← A_subset · image.
    fn forward(&mut self, core: &mut Core, subset: usize) -> Result<()>;
    /// Back-projection ← A_subsetᵀ · projections of `subset`.
    fn adjoint(&mut self, core: &mut Core, subset: usize) -> Result<()>;
    /// Bytes of backend memory the sequence holds outside the core's engine (plans of its
    /// own).
    fn memory_bytes(&self) -> u64 {
        0
    }
}

/// A [`Sequence`] with its [`Core`]: a complete [`ResidentModel`].
#[derive(Debug)]
pub(crate) struct Resident<S> {
    core: Core,
    sequence: S,
}

/// Whether data-sized arrays of `total` bytes, the largest `largest`, stay in host memory and
/// go to `engine` a subset at a time: beyond the plan's `max_resident_bytes`, or where one
/// array is more than the engine binds (10⁸ list-mode events). The EM inputs and the
/// list-mode events decide by this one rule.
pub(crate) fn held_on_host(
    engine: &Engine,
    (total, largest): (u64, u64),
    max_resident_bytes: Option<u64>,
) -> bool {
    max_resident_bytes.is_some_and(|cap| total > cap) || largest > engine.max_binding()
}

fn not_loaded() -> Error {
    Error::InvalidArgument("EM step before the measured data were loaded".into())
}

impl Core {
    /// Image, back-projection and largest-subset projection buffers on `engine`; the EM inputs
    /// loaded later stay within `max_resident_bytes` (see
    /// [`ResidentModel::load_measured`]).
    ///
    /// # Errors
    /// [`Error::Gpu`] when a buffer exceeds the device's binding limit or memory.
    pub fn new(
        mut engine: Engine,
        subsets: Vec<Range<usize>>,
        (image_len, view_len): (usize, usize),
        factors: Option<Vec<f32>>,
        max_resident_bytes: Option<u64>,
    ) -> Result<Self> {
        let largest = subsets.iter().map(|r| r.len()).max().unwrap_or(1);
        let image = engine.zeros("image", image_len)?;
        let back = engine.zeros("back-projection", image_len)?;
        let proj = engine.zeros("projections of one subset", largest * view_len)?;
        Ok(Self {
            engine,
            subsets,
            image_len,
            view_len,
            image,
            back,
            proj,
            factors,
            max_resident_bytes,
            sensitivity: None,
            em: None,
        })
    }

    /// Uses `image` (shared equally by the subsets) as the sensitivity instead of `A_sᵀ m`.
    pub fn set_sensitivity(&mut self, image: Option<Vec<f32>>) {
        self.sensitivity = image;
    }

    /// Sensitivity images held: one per subset, or the one share of a given image.
    fn sensitivity_images(&self) -> usize {
        if self.sensitivity.is_some() {
            1
        } else {
            self.subsets.len()
        }
    }

    fn subset_len(&self, subset: usize) -> usize {
        self.subsets[subset].len() * self.view_len
    }

    fn em(&self) -> Result<&Em> {
        self.em.as_ref().ok_or_else(not_loaded)
    }
}

impl<S: Sequence> Resident<S> {
    pub fn new(core: Core, sequence: S) -> Self {
        Self { core, sequence }
    }
}

impl<S: Sequence> ResidentModel for Resident<S> {
    fn write_image(&mut self, x: &[f32]) -> Result<()> {
        self.core.engine.write(self.core.image, 0, x)
    }
    fn read_image(&mut self, out: &mut [f32]) -> Result<()> {
        self.core.engine.read(self.core.image, 0, out)
    }
    fn read_back(&mut self, out: &mut [f32]) -> Result<()> {
        self.core.engine.read(self.core.back, 0, out)
    }
    fn write_projections(&mut self, subset: usize, data: &[f32]) -> Result<()> {
        debug_assert_eq!(data.len(), self.core.subset_len(subset));
        self.core.engine.write(self.core.proj, 0, data)
    }
    fn read_projections(&mut self, subset: usize, out: &mut [f32]) -> Result<()> {
        debug_assert_eq!(out.len(), self.core.subset_len(subset));
        self.core.engine.read(self.core.proj, 0, out)
    }
    fn forward(&mut self, subset: usize) -> Result<()> {
        self.sequence.forward(&mut self.core, subset)
    }
    fn adjoint(&mut self, subset: usize) -> Result<()> {
        self.sequence.adjoint(&mut self.core, subset)
    }
    fn load_measured(&mut self, measured: Vec<f32>, background: Option<Vec<f32>>) -> Result<()> {
        let c = &mut self.core;
        let arrays = 1 + background.is_some() as u64 + c.factors.is_some() as u64;
        let one = 4 * measured.len() as u64;
        let streamed = held_on_host(&c.engine, (one * arrays, one), c.max_resident_bytes);
        let largest = c.subsets.iter().map(|r| r.len()).max().unwrap_or(1) * c.view_len;
        let sensitivity_len = c.sensitivity_images() * c.image_len;
        let e = &mut c.engine;
        let mut place = |what: &str, whole: &[f32]| {
            if streamed {
                e.zeros(what, largest)
            } else {
                e.upload(what, whole)
            }
        };
        let em = Em {
            measured: place("measured data", &measured)?,
            background: background
                .as_deref()
                .map(|b| place("background", b))
                .transpose()?,
            factors: c
                .factors
                .as_deref()
                .map(|f| place("multiplicative factors", f))
                .transpose()?,
            streamed: streamed.then_some((measured, background)),
            placeholder: e.zeros("absent input", 1)?,
            sensitivity: e.zeros("sensitivity images", sensitivity_len)?,
            grad: e.zeros("prior gradient", c.image_len)?,
        };
        c.em = Some(em);
        Ok(())
    }
    fn sensitivity(&mut self, subset: usize) -> Result<()> {
        if let Some(s) = &self.core.sensitivity {
            let share = 1.0 / self.core.subsets.len() as f32;
            let part: Vec<f32> = s.iter().map(|v| v * share).collect();
            let c = &mut self.core;
            let slot = c.em()?.sensitivity;
            c.engine.write(c.back, 0, &part)?;
            return c.engine.write(slot, 0, &part);
        }
        let range = self.core.subsets[subset].start * self.core.view_len
            ..self.core.subsets[subset].end * self.core.view_len;
        let weights = match &self.core.factors {
            Some(f) => f[range].to_vec(),
            None => vec![1.0; range.len()],
        };
        self.write_projections(subset, &weights)?;
        self.adjoint(subset)?;
        let c = &mut self.core;
        let sensitivity = c.em()?.sensitivity;
        c.engine
            .copy(c.back, 0, sensitivity, subset * c.image_len, c.image_len);
        Ok(())
    }
    fn em_ratio(&mut self, subset: usize) -> Result<()> {
        let c = &mut self.core;
        let (mut offset, len) = (c.subsets[subset].start * c.view_len, c.subset_len(subset));
        let em = c.em.as_ref().ok_or_else(not_loaded)?;
        if let Some((measured, background)) = &em.streamed {
            let share = offset..offset + len;
            c.engine.write(em.measured, 0, &measured[share.clone()])?;
            if let (Some(host), Some(buf)) = (background, em.background) {
                c.engine.write(buf, 0, &host[share.clone()])?;
            }
            if let (Some(host), Some(buf)) = (&c.factors, em.factors) {
                c.engine.write(buf, 0, &host[share])?;
            }
            offset = 0;
        }
        let p = EmParams::new(
            len,
            offset,
            em.background.is_some(),
            em.factors.is_some(),
            0.0,
        );
        let bindings = [
            em.measured,
            em.background.unwrap_or(em.placeholder),
            em.factors.unwrap_or(em.placeholder),
            c.proj,
        ];
        c.engine.dispatch_linear(Stage::EmRatio, &p, &bindings, len)
    }
    fn prior_gradient(&mut self, params: &PriorParams) -> Result<()> {
        let c = &mut self.core;
        let grad = c.em()?.grad;
        let voxels = [params.nx, params.ny, params.nz];
        c.engine
            .dispatch(Stage::PriorGradient, params, &[c.image, grad], voxels)
    }
    fn em_update(&mut self, subset: usize, beta: f32) -> Result<()> {
        let c = &mut self.core;
        let em = c.em()?;
        let n = c.image_len;
        let slot = if c.sensitivity.is_some() { 0 } else { subset };
        let p = EmParams::new(n, slot * n, false, false, beta);
        let bindings = [em.sensitivity, c.back, em.grad, c.image];
        c.engine.dispatch_linear(Stage::EmUpdate, &p, &bindings, n)
    }
    fn bsrem_update(&mut self, subset: usize, alpha: f32, beta: f32, floor: f32) -> Result<()> {
        let c = &mut self.core;
        if c.sensitivity.is_some() {
            return Err(Error::InvalidArgument(
                "BSREM needs each subset's own sensitivity image; a list-mode model shares one \
                 (use list-mode OSEM)"
                    .into(),
            ));
        }
        let em = c.em()?;
        let n = c.image_len;
        let p = BsremParams {
            len: n as u32,
            subset: subset as u32,
            n_subsets: c.subsets.len() as u32,
            _pad0: 0,
            alpha,
            beta,
            floor,
            _pad1: 0.0,
        };
        let bindings = [em.sensitivity, c.back, em.grad, c.image];
        c.engine
            .dispatch_linear(Stage::BsremUpdate, &p, &bindings, n)
    }
    fn memory_bytes(&self) -> u64 {
        self.core.engine.bytes() + self.sequence.memory_bytes()
    }
}
