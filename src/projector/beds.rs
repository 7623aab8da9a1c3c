//! Several beds of one SPECT acquisition as one system model over one image: what a joint
//! whole-body reconstruction runs on.
//!
//! The image `vol[z, y, x]` spans every bed along the slice axis; bed `b` sees the slices
//! `first_slice_b .. first_slice_b + nz_b` of it through its own [`SpectProjector`] (its
//! orbit, collimator response and μ-map). The data are the beds' projections one after the
//! other, `[Σ_b views_b, rows, cols]`, so in an ordered-subsets reconstruction each subset
//! (views `v mod S`) holds views of every bed and every sub-iteration updates the whole
//! volume, the overlap from both beds' data at once.
//!
//! A bed may count only some of its detector rows ([`SpectBed::rows_used`]): a matrix is often
//! longer than the camera's field of view, and the rows beyond it hold stray counts, not
//! projections of the image. Rows not used are a 0 factor on the data (`A = M [A_0; A_1; …]`,
//! `M` diagonal 0/1), as PET's multiplicative factors are.

use super::SpectProjector;
use crate::backend::ActiveBackend;
use crate::backend::models::{Core, Resident, Sequence};
use crate::backend::resident::ResidentModel;
use crate::error::{Error, Result};
use crate::operator::{LinearOperator, ModelPlan, SystemModel, check_lengths};
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use std::ops::Range;

/// One bed of a [`SpectBeds`] model.
#[derive(Debug)]
pub struct SpectBed {
    /// The bed's own model, over its slices of the shared image.
    pub projector: SpectProjector,
    /// The shared image's slice that is the bed's slice 0.
    pub first_slice: usize,
    /// Which of the bed's detector rows count (one flag per row; `None`: all of them).
    pub rows_used: Option<Vec<bool>>,
}

/// The beds of one acquisition as one [`SystemModel`] and [`LinearOperator`] (see the module
/// docs): image `[nz, ny, nx]`, data `[Σ views, rows, cols]`, beds in the order given.
#[derive(Debug)]
pub struct SpectBeds {
    beds: Vec<SpectBed>,
    /// `[nz, ny, nx]` of the shared image.
    shape: [usize; 3],
    /// The first view of each bed in the data.
    view_offsets: Vec<usize>,
    /// `[views, rows, cols]` of the whole data.
    data_shape: [usize; 3],
    /// The 0/1 factor of every data sample (C order), when some bed leaves rows out.
    factors: Option<Vec<f32>>,
}

impl SpectBeds {
    /// The beds over an image of `nz` slices.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for no bed, beds on different backends, of other slice sizes,
    /// voxel sizes, detector rows or columns, a bed reaching past slice `nz`, a row flag list of
    /// the wrong length or using no row, or a slice no bed sees.
    pub fn new(beds: Vec<SpectBed>, nz: usize) -> Result<Self> {
        let first = beds.first().ok_or_else(|| {
            Error::InvalidArgument("no beds; a multi-bed model needs at least one".into())
        })?;
        let [_, ny, nx] = first.projector.grid().shape();
        let spacing = first.projector.grid().spacing();
        let [_, rows, cols] =
            <[usize; 3]>::try_from(first.projector.data_shape()).expect("SPECT data are 3D");
        let mut covered = vec![false; nz];
        let mut view_offsets = Vec::with_capacity(beds.len());
        let mut views = 0;
        for (b, bed) in beds.iter().enumerate() {
            let p = &bed.projector;
            let [bz, by, bx] = p.grid().shape();
            let [v, r, c] = <[usize; 3]>::try_from(p.data_shape()).expect("SPECT data are 3D");
            let same_spacing = p
                .grid()
                .spacing()
                .iter()
                .zip(&spacing)
                .all(|(a, s)| (a - s).abs() <= 1e-9 * s);
            if [by, bx] != [ny, nx] || !same_spacing || [r, c] != [rows, cols] {
                return Err(Error::InvalidArgument(format!(
                    "bed {b}: slices {by}x{bx} of {:?} mm and data rows x cols {r}x{c}; bed 0 has \
                     {ny}x{nx} of {spacing:?} mm and {rows}x{cols}: the beds of one model must \
                     share slice size, voxel size and detector",
                    p.grid().spacing()
                )));
            }
            if p.backend() != first.projector.backend() {
                return Err(Error::InvalidArgument(format!(
                    "bed {b} runs on {:?}, bed 0 on {:?}; plan every bed on one backend",
                    p.backend(),
                    first.projector.backend()
                )));
            }
            if bed.first_slice + bz > nz {
                return Err(Error::InvalidArgument(format!(
                    "bed {b} covers slices {}..{} of an image of {nz} slices",
                    bed.first_slice,
                    bed.first_slice + bz
                )));
            }
            if let Some(used) = &bed.rows_used
                && (used.len() != r || !used.iter().any(|&u| u))
            {
                return Err(Error::InvalidArgument(format!(
                    "bed {b}: {} row flags of which {} set; expected one per detector row ({r}), \
                     at least one set",
                    used.len(),
                    used.iter().filter(|&&u| u).count()
                )));
            }
            covered[bed.first_slice..bed.first_slice + bz].fill(true);
            view_offsets.push(views);
            views += v;
        }
        if let Some(k) = covered.iter().position(|&c| !c) {
            return Err(Error::InvalidArgument(format!(
                "slice {k} of the {nz} lies in no bed; the beds must cover the image"
            )));
        }
        let factors = beds.iter().any(|b| b.rows_used.is_some()).then(|| {
            let mut f = Vec::with_capacity(views * rows * cols);
            for bed in &beds {
                let v = bed.projector.data_shape()[0];
                for _ in 0..v {
                    for r in 0..rows {
                        let used = bed.rows_used.as_ref().is_none_or(|u| u[r]);
                        f.extend(std::iter::repeat_n(used as u8 as f32, cols));
                    }
                }
            }
            f
        });
        Ok(Self {
            beds,
            shape: [nz, ny, nx],
            view_offsets,
            data_shape: [views, rows, cols],
            factors,
        })
    }

    /// The beds, in data order.
    pub fn beds(&self) -> &[SpectBed] {
        &self.beds
    }

    /// The 0/1 factor of every data sample (`[views, rows, cols]`, C order) when some bed
    /// leaves rows out.
    pub fn factors(&self) -> Option<&[f32]> {
        self.factors.as_deref()
    }

    /// Samples per slice of the image, and per view of the data.
    fn lens(&self) -> (usize, usize) {
        (
            self.shape[1] * self.shape[2],
            self.data_shape[1] * self.data_shape[2],
        )
    }

    /// Bed `b`'s part of the image (flat range) and of the data.
    fn ranges(&self, b: usize) -> (Range<usize>, Range<usize>) {
        let (slice, view) = self.lens();
        let bed = &self.beds[b];
        let [bz, ..] = bed.projector.grid().shape();
        let views = bed.projector.data_shape()[0];
        let v0 = self.view_offsets[b];
        (
            bed.first_slice * slice..(bed.first_slice + bz) * slice,
            v0 * view..(v0 + views) * view,
        )
    }
}

impl LinearOperator for SpectBeds {
    fn in_shape(&self) -> Vec<usize> {
        self.shape.to_vec()
    }
    fn out_shape(&self) -> Vec<usize> {
        self.data_shape.to_vec()
    }
    fn forward_into(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        check_lengths(&self.shape, &self.data_shape, x.len(), out.len(), true)?;
        for (b, bed) in self.beds.iter().enumerate() {
            let (image, data) = self.ranges(b);
            LinearOperator::forward_into(&bed.projector, &x[image], &mut out[data])?;
        }
        if let Some(f) = &self.factors {
            out.iter_mut().zip(f).for_each(|(o, f)| *o *= f);
        }
        Ok(())
    }
    fn adjoint_into(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        check_lengths(&self.shape, &self.data_shape, y.len(), out.len(), false)?;
        out.fill(0.0);
        for (b, bed) in self.beds.iter().enumerate() {
            let (image, data) = self.ranges(b);
            let y_b: Vec<f32> = match &self.factors {
                Some(f) => y[data.clone()]
                    .iter()
                    .zip(&f[data])
                    .map(|(y, f)| y * f)
                    .collect(),
                None => y[data].to_vec(),
            };
            let mut back = vec![0.0f32; image.len()];
            LinearOperator::adjoint_into(&bed.projector, &y_b, &mut back)?;
            out[image].iter_mut().zip(&back).for_each(|(o, b)| *o += b);
        }
        Ok(())
    }
}

impl SystemModel for SpectBeds {
    fn image_shape(&self) -> Vec<usize> {
        self.shape.to_vec()
    }
    fn data_shape(&self) -> Vec<usize> {
        self.data_shape.to_vec()
    }
    fn spacing(&self) -> [f64; 3] {
        self.beds[0].projector.grid().spacing()
    }
    fn backend(&self) -> &ActiveBackend {
        self.beds[0].projector.backend()
    }
    fn expected(&self, image: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let image = crate::array::check_input("image", image, &self.shape)?;
        let mut out = vec![0.0f32; self.data_shape.iter().product()];
        self.forward_into(image.as_slice().expect("standard layout"), &mut out)?;
        Ok(ArrayD::from_shape_vec(IxDyn(&self.data_shape), out).expect("data shape"))
    }
    fn plan(&self, order: &[usize], subsets: Vec<Range<usize>>) -> Result<ModelPlan> {
        let (_, view_len) = self.lens();
        // Each bed's views in plan order, its subsets, and where each lies in the joint subset.
        let mut parts: Vec<BedPart> = Vec::with_capacity(self.beds.len());
        let mut plans = Vec::with_capacity(self.beds.len());
        for (b, bed) in self.beds.iter().enumerate() {
            let (image, _) = self.ranges(b);
            let (v0, nv) = (self.view_offsets[b], bed.projector.data_shape()[0]);
            let mut bed_order = Vec::new();
            let mut bed_subsets = Vec::new();
            let mut places = Vec::with_capacity(subsets.len());
            for range in &subsets {
                let start = bed_order.len();
                let mut positions = Vec::new();
                for (position, &v) in order[range.clone()].iter().enumerate() {
                    if (v0..v0 + nv).contains(&v) {
                        bed_order.push(v - v0);
                        positions.push(position);
                    }
                }
                places.push((!positions.is_empty()).then(|| {
                    bed_subsets.push(start..bed_order.len());
                    (bed_subsets.len() - 1, positions)
                }));
            }
            plans.push(bed.projector.plan(&bed_order, bed_subsets)?.0);
            parts.push(BedPart { image, places });
        }
        let factors = self.factors.as_ref().map(|f| {
            order
                .iter()
                .flat_map(|&v| f[v * view_len..(v + 1) * view_len].iter().copied())
                .collect()
        });
        let engine = self.beds[0].projector.device().engine();
        let image_len = self.shape.iter().product();
        let core = Core::new(engine, subsets, image_len, view_len, factors)?;
        let sequence = BedsSequence {
            plans,
            parts,
            image: vec![0.0; image_len],
        };
        Ok(ModelPlan(Box::new(Resident::new(core, sequence))))
    }
}

/// Where one bed's plan sits in the joint plan.
#[derive(Debug)]
struct BedPart {
    /// The bed's slices of the shared image (flat range).
    image: Range<usize>,
    /// Per joint subset: the bed's subset in its own plan and the positions of its views in
    /// the joint subset, or `None` when the joint subset has none of its views.
    places: Vec<Option<(usize, Vec<usize>)>>,
}

/// The joint model's stage sequence: the shared image, back-projection and projections live in
/// the joint plan's buffers; each bed's resident plan is given its slices and its views and
/// runs its own stages. (Between the plans the buffers pass through host memory: on a GPU,
/// about 2 × image + 2 × subset projections per sub-iteration.)
#[derive(Debug)]
struct BedsSequence {
    plans: Vec<Box<dyn ResidentModel>>,
    parts: Vec<BedPart>,
    /// Host copy of the shared image or back-projection.
    image: Vec<f32>,
}

impl Sequence for BedsSequence {
    fn forward(&mut self, core: &mut Core, subset: usize) -> Result<()> {
        let view_len = core.view_len;
        core.engine.read(core.image, 0, &mut self.image)?;
        let mut joint = vec![0.0f32; core.subsets[subset].len() * view_len];
        for (plan, part) in self.plans.iter_mut().zip(&self.parts) {
            let Some((bed_subset, positions)) = &part.places[subset] else {
                continue;
            };
            plan.write_image(&self.image[part.image.clone()])?;
            plan.forward(*bed_subset)?;
            let mut proj = vec![0.0f32; positions.len() * view_len];
            plan.read_projections(*bed_subset, &mut proj)?;
            for (i, &p) in positions.iter().enumerate() {
                joint[p * view_len..(p + 1) * view_len]
                    .copy_from_slice(&proj[i * view_len..(i + 1) * view_len]);
            }
        }
        core.engine.write(core.proj, 0, &joint)
    }

    fn adjoint(&mut self, core: &mut Core, subset: usize) -> Result<()> {
        let view_len = core.view_len;
        let mut joint = vec![0.0f32; core.subsets[subset].len() * view_len];
        core.engine.read(core.proj, 0, &mut joint)?;
        self.image.fill(0.0);
        for (plan, part) in self.plans.iter_mut().zip(&self.parts) {
            let Some((bed_subset, positions)) = &part.places[subset] else {
                continue;
            };
            let mut proj = Vec::with_capacity(positions.len() * view_len);
            for &p in positions {
                proj.extend_from_slice(&joint[p * view_len..(p + 1) * view_len]);
            }
            plan.write_projections(*bed_subset, &proj)?;
            plan.adjoint(*bed_subset)?;
            let mut back = vec![0.0f32; part.image.len()];
            plan.read_back(&mut back)?;
            self.image[part.image.clone()]
                .iter_mut()
                .zip(&back)
                .for_each(|(o, b)| *o += b);
        }
        core.engine.write(core.back, 0, &self.image)
    }

    fn memory_bytes(&self) -> u64 {
        self.plans.iter().map(|p| p.memory_bytes()).sum()
    }
}
