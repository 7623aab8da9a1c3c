//! Several beds of one SPECT acquisition as one system model over one image: what a joint
//! whole-body reconstruction runs on.
//!
//! The image `vol[z, y, x]` spans every bed along the slice axis; bed `b`'s slices lie from
//! slice `offset_b` of it on, and it sees them through its own [`SpectProjector`] (its orbit,
//! collimator response and μ-map). Beds whose slices fall between the image's (a table
//! travel that is not a whole number of slices) take each slice by linear interpolation
//! between the two image slices around it, and give back to both by the transposed weights. The data are the beds' projections one after the
//! other, `[Σ_b views_b, rows, cols]`, so in an ordered-subsets reconstruction each subset
//! (views `v mod S`) holds views of every bed and every sub-iteration updates the whole
//! volume, the overlap from both beds' data at once.
//!
//! A bed may count only some of its detector rows ([`SpectBed::rows_used`]): a matrix is often
//! longer than the camera's field of view, and the rows beyond it hold stray counts, not
//! projections of the image; and a bed may count more or fewer photons per unit of the image
//! than another ([`SpectBed::scale`]: another time per view, decay between the beds). Both are
//! factors on the data, `A = M [A_0; A_1; …]` with `M` diagonal (the bed's scale, 0 in a row
//! left out), applied as PET's multiplicative factors are.

use super::SpectProjector;
use crate::backend::ActiveBackend;
use crate::backend::models::{Core, Resident, Sequence};
use crate::backend::resident::ResidentModel;
use crate::error::{Error, Result};
use crate::operator::{LinearOperator, ModelPlan, SystemModel, check_lengths};
use ndarray::{Array3, ArrayD, ArrayView3, ArrayViewD, IxDyn};
use std::ops::Range;

/// One bed of a [`SpectBeds`] model.
#[derive(Debug)]
pub struct SpectBed {
    /// The bed's own model, over its slices of the shared image.
    pub projector: SpectProjector,
    /// Where the bed's slice 0 lies in the shared image, in slices (≥ 0; fractional when the
    /// bed's slices fall between the image's).
    pub offset: f64,
    /// Which of the bed's detector rows count (one flag per row; `None`: all of them).
    pub rows_used: Option<Vec<bool>>,
    /// The bed's counts per unit of the shared image relative to the others' (finite, > 0):
    /// its projections are multiplied by it. 1 for beds acquired alike; e.g. the ratio of
    /// times per view, or of the decay since a common reference time.
    pub scale: f32,
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
    /// The factor of every data sample (C order), when some bed leaves rows out or is scaled.
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
            let place = Place::of(bed.offset, bz);
            if !(bed.offset.is_finite() && bed.offset >= 0.0) || place.reach() > nz {
                return Err(Error::InvalidArgument(format!(
                    "bed {b} at slice offset {} covers slices {}..{} of an image of {nz} slices",
                    bed.offset,
                    place.first,
                    place.reach()
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
            if !(bed.scale.is_finite() && bed.scale > 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "bed {b}: scale {}; expected a finite value > 0",
                    bed.scale
                )));
            }
            covered[place.first..place.reach()].fill(true);
            view_offsets.push(views);
            views += v;
        }
        if let Some(k) = covered.iter().position(|&c| !c) {
            return Err(Error::InvalidArgument(format!(
                "slice {k} of the {nz} lies in no bed; the beds must cover the image"
            )));
        }
        let plain = |b: &SpectBed| b.rows_used.is_none() && b.scale == 1.0;
        let factors = (!beds.iter().all(plain)).then(|| {
            let mut f = Vec::with_capacity(views * rows * cols);
            for bed in &beds {
                let v = bed.projector.data_shape()[0];
                for _ in 0..v {
                    for r in 0..rows {
                        let used = bed.rows_used.as_ref().is_none_or(|u| u[r]);
                        f.extend(std::iter::repeat_n(
                            if used { bed.scale } else { 0.0 },
                            cols,
                        ));
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

    /// The factor of every data sample (`[views, rows, cols]`, C order: the bed's scale, 0 in
    /// rows left out) when some bed leaves rows out or has a scale other than 1.
    pub fn factors(&self) -> Option<&[f32]> {
        self.factors.as_deref()
    }

    /// Which slices of the shared image the counted rows measure: slice `k` is measured when,
    /// for some bed, at least half of what the bed reads of it (its slices' interpolation
    /// weights on `k`) comes through rows it counts ([`SpectBed::rows_used`]). A slice that
    /// only uncounted rows look at is still in the model (its activity reaches counted rows
    /// through the collimator's blur), but that is all the data say of it: a reconstruction
    /// piles there whatever the counted rows do not explain, so its values are not a
    /// measurement. `[nz]`.
    pub fn measured_slices(&self) -> Vec<bool> {
        let mut measured = vec![false; self.shape[0]];
        for bed in &self.beds {
            let rows: Vec<f32> = (0..bed.projector.grid().shape()[0])
                .map(|r| f32::from(bed.rows_used.as_ref().is_none_or(|u| u[r])))
                .collect();
            mark_measured(&rows, bed.offset, &mut measured);
        }
        measured
    }

    /// What bed `b` sees of `image` (`[nz, ny, nx]` of the shared image): its slices,
    /// interpolated where they fall between the image's, `[nz_b, ny, nx]`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for no bed `b`; [`Error::ShapeMismatch`] for another image
    /// shape; [`Error::NonFinite`].
    pub fn bed_image(&self, b: usize, image: ArrayView3<'_, f32>) -> Result<Array3<f32>> {
        if b >= self.beds.len() {
            return Err(Error::InvalidArgument(format!(
                "bed {b} of a model of {} beds",
                self.beds.len()
            )));
        }
        let image = crate::array::check_input("image", image.into_dyn(), &self.shape)?;
        let (place, _) = self.place(b);
        let (slice, _) = self.lens();
        let out = place.gather(image.as_slice().expect("standard layout"), slice);
        Ok(
            Array3::from_shape_vec((place.slices, self.shape[1], self.shape[2]), out)
                .expect("bed shape"),
        )
    }

    /// Samples per slice of the image, and per view of the data.
    fn lens(&self) -> (usize, usize) {
        (
            self.shape[1] * self.shape[2],
            self.data_shape[1] * self.data_shape[2],
        )
    }

    /// Where bed `b` lies in the image, and its part of the data (flat range).
    fn place(&self, b: usize) -> (Place, Range<usize>) {
        let (_, view) = self.lens();
        let bed = &self.beds[b];
        let views = bed.projector.data_shape()[0];
        let v0 = self.view_offsets[b];
        (
            Place::of(bed.offset, bed.projector.grid().shape()[0]),
            v0 * view..(v0 + views) * view,
        )
    }
}

/// Marks in `measured` (one flag per slice of a shared image) the slices a bed with slice 0 at
/// image slice `offset` (≥ 0) measures: those where at least half of what the bed reads of
/// the slice (its slices' interpolation weights on it) comes through its rows, each row
/// weighted by `rows` (in [0, 1]; one per bed slice). Slices already marked stay marked. The
/// rule of [`SpectBeds::measured_slices`] and of a stitch of separately reconstructed beds.
pub(crate) fn mark_measured(rows: &[f32], offset: f64, measured: &mut [bool]) {
    let place = Place::of(offset, rows.len());
    let (a, b) = (1.0 - place.t, place.t);
    for (k, m) in measured.iter_mut().enumerate() {
        // Bed slice s reads image slices first + s (weight a) and first + s + 1 (b).
        let (mut read, mut counted) = (0.0f32, 0.0f32);
        for (s, w) in [
            (k.checked_sub(place.first), a),
            (k.checked_sub(place.first + 1), b),
        ] {
            if let Some(s) = s.filter(|&s| s < place.slices && w > 0.0) {
                read += w;
                counted += w * rows[s];
            }
        }
        *m |= read > 0.0 && counted >= 0.5 * read;
    }
}

/// A bed's slices in the shared image: bed slice `j` is `(1 − t) · image[first + j] +
/// t · image[first + j + 1]`.
#[derive(Debug, Clone, Copy)]
struct Place {
    first: usize,
    t: f32,
    /// The bed's slices.
    slices: usize,
}

impl Place {
    /// Bed slice 0 at image slice `offset` (≥ 0); a fraction within 1e-6 of a whole slice
    /// counts as none.
    fn of(offset: f64, slices: usize) -> Self {
        let whole = offset.round();
        let (first, t) = if (offset - whole).abs() < 1e-6 {
            (whole, 0.0)
        } else {
            (offset.floor(), offset - offset.floor())
        };
        Self {
            first: first.max(0.0) as usize,
            t: t as f32,
            slices,
        }
    }

    /// One past the last image slice the bed reads.
    fn reach(&self) -> usize {
        self.first + self.slices + usize::from(self.t > 0.0)
    }

    /// The bed's image from the shared `image` (`slice` samples per slice).
    fn gather(&self, image: &[f32], slice: usize) -> Vec<f32> {
        let lo = &image[self.first * slice..(self.first + self.slices) * slice];
        if self.t == 0.0 {
            return lo.to_vec();
        }
        let hi = &image[(self.first + 1) * slice..(self.first + 1 + self.slices) * slice];
        let (a, b) = (1.0 - self.t, self.t);
        lo.iter().zip(hi).map(|(l, h)| a * l + b * h).collect()
    }

    /// Adds the transpose of [`Place::gather`] of the bed's `back` into the shared `image`.
    fn scatter_add(&self, back: &[f32], image: &mut [f32], slice: usize) {
        let lo = self.first * slice;
        let (a, b) = (1.0 - self.t, self.t);
        if self.t == 0.0 {
            image[lo..lo + back.len()]
                .iter_mut()
                .zip(back)
                .for_each(|(o, v)| *o += v);
            return;
        }
        image[lo..lo + back.len()]
            .iter_mut()
            .zip(back)
            .for_each(|(o, v)| *o += a * v);
        image[lo + slice..lo + slice + back.len()]
            .iter_mut()
            .zip(back)
            .for_each(|(o, v)| *o += b * v);
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
        let (slice, _) = self.lens();
        for (b, bed) in self.beds.iter().enumerate() {
            let (place, data) = self.place(b);
            let image = place.gather(x, slice);
            LinearOperator::forward_into(&bed.projector, &image, &mut out[data])?;
        }
        if let Some(f) = &self.factors {
            out.iter_mut().zip(f).for_each(|(o, f)| *o *= f);
        }
        Ok(())
    }
    fn adjoint_into(&self, y: &[f32], out: &mut [f32]) -> Result<()> {
        check_lengths(&self.shape, &self.data_shape, y.len(), out.len(), false)?;
        out.fill(0.0);
        let (slice, _) = self.lens();
        for (b, bed) in self.beds.iter().enumerate() {
            let (place, data) = self.place(b);
            // Weighted by the factors when there are any; otherwise the data as given.
            let weighted: Vec<f32>;
            let y_b: &[f32] = match &self.factors {
                Some(f) => {
                    weighted = y[data.clone()]
                        .iter()
                        .zip(&f[data])
                        .map(|(y, f)| y * f)
                        .collect();
                    &weighted
                }
                None => &y[data],
            };
            let mut back = vec![0.0f32; place.slices * slice];
            LinearOperator::adjoint_into(&bed.projector, y_b, &mut back)?;
            place.scatter_add(&back, out, slice);
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
    fn plan(
        &self,
        order: &[usize],
        subsets: Vec<Range<usize>>,
        max_resident_bytes: Option<u64>,
    ) -> Result<ModelPlan> {
        let (slice, view_len) = self.lens();
        // Each bed's views in plan order, its subsets, and where each lies in the joint subset.
        let mut parts: Vec<BedPart> = Vec::with_capacity(self.beds.len());
        let mut plans = Vec::with_capacity(self.beds.len());
        for (b, bed) in self.beds.iter().enumerate() {
            let (place, _) = self.place(b);
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
            plans.push(
                bed.projector
                    .plan(&bed_order, bed_subsets, max_resident_bytes)?
                    .0,
            );
            parts.push(BedPart { place, places });
        }
        let factors = self.factors.as_ref().map(|f| {
            order
                .iter()
                .flat_map(|&v| f[v * view_len..(v + 1) * view_len].iter().copied())
                .collect()
        });
        let engine = self.beds[0].projector.device().engine();
        let image_len = self.shape.iter().product();
        let core = Core::new(
            engine,
            subsets,
            (image_len, view_len),
            factors,
            max_resident_bytes,
        )?;
        let sequence = BedsSequence {
            plans,
            parts,
            image: vec![0.0; image_len],
            slice,
        };
        Ok(ModelPlan(Box::new(Resident::new(core, sequence))))
    }
}

/// Where one bed's plan sits in the joint plan.
#[derive(Debug)]
struct BedPart {
    /// Where the bed's slices lie in the shared image.
    place: Place,
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
    /// Samples per slice.
    slice: usize,
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
            plan.write_image(&part.place.gather(&self.image, self.slice))?;
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
            let mut back = vec![0.0f32; part.place.slices * self.slice];
            plan.read_back(&mut back)?;
            part.place.scatter_add(&back, &mut self.image, self.slice);
        }
        core.engine.write(core.back, 0, &self.image)
    }

    fn memory_bytes(&self) -> u64 {
        self.plans.iter().map(|p| p.memory_bytes()).sum()
    }
}
