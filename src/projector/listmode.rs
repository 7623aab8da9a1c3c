//! List-mode PET: events (crystal pairs, TOF bins) projected one by one along the same Joseph
//! lines of response as the sinogram model ([`crate::recon::lm_osem`] reconstructs them).

use super::pet3d::{Pet3dProjector, PetRunner, base_params, max_weight};
use crate::array::{check_input, non_negative_input};
use crate::backend::ActiveBackend;
use crate::backend::layout::{PET_LIST, PetEvent, PetParams};
use crate::backend::models::{PetModel, PetTables};
use crate::error::{Error, Result};
use crate::geometry::ImageGrid;
use crate::geometry::pet::{SinogramBin, SinogramLayout};
use crate::operator::{ModelPlan, SystemModel};
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use std::ops::Range;

/// Coincidence events of a scanner, each a crystal pair and a TOF bin, kept as the bins of an
/// unmashed layout they fall in (events outside the layout's ring differences or tangential
/// range are counted and dropped).
#[derive(Debug, Clone)]
pub struct ListModeEvents {
    layout: SinogramLayout,
    /// Per event: (unmashed view · tangential + tangential index, ring 1, ring 2, TOF bin).
    events: Vec<PetEvent>,
    /// Per event: its flat index in the layout.
    bins: Vec<usize>,
    outside: usize,
}

impl ListModeEvents {
    /// Events from crystal pairs `[ring_a, crystal_a, ring_b, crystal_b]` and, when the
    /// layout has TOF, one TOF bin each (measured from crystal a to crystal b).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a mashed layout, a crystal or TOF bin not on the
    /// scanner (naming the event), TOF bins without a TOF layout or of the wrong count.
    pub fn from_crystals(
        layout: &SinogramLayout,
        pairs: &[[u32; 4]],
        tof: Option<&[u32]>,
    ) -> Result<Self> {
        if layout.view_mashing() != 1 {
            return Err(Error::InvalidArgument(
                "list-mode events need an unmashed layout (view mashing 1)".into(),
            ));
        }
        match (layout.tof(), tof) {
            (None, Some(_)) => {
                return Err(Error::InvalidArgument(
                    "TOF bins were given but the layout has no TOF".into(),
                ));
            }
            (Some(_), None) => {
                return Err(Error::InvalidArgument(
                    "the layout has TOF: give every event its TOF bin".into(),
                ));
            }
            (_, Some(t)) if t.len() != pairs.len() => {
                return Err(Error::InvalidArgument(format!(
                    "{} TOF bins for {} events",
                    t.len(),
                    pairs.len()
                )));
            }
            _ => {}
        }
        let tang = layout.tangential();
        let mut events = Vec::with_capacity(pairs.len());
        let mut bins = Vec::with_capacity(pairs.len());
        let mut outside = 0;
        for (i, p) in pairs.iter().enumerate() {
            let k = tof.map_or(0, |t| t[i]);
            let bin = layout
                .bin((p[0], p[1]), (p[2], p[3]), k)
                .map_err(|e| Error::InvalidArgument(format!("event {i}: {e}")))?;
            let Some(bin) = bin else {
                outside += 1;
                continue;
            };
            // The pair as the layout orders it: rings of its first and second crystal.
            let (_, _, swapped) = layout.view_tangential(p[1], p[3]);
            let (r1, r2) = if swapped { (p[2], p[0]) } else { (p[0], p[2]) };
            events.push([bin.view * tang + bin.tangential, r1, r2, bin.tof]);
            bins.push(layout.index(bin));
        }
        Ok(Self {
            layout: layout.clone(),
            events,
            bins,
            outside,
        })
    }

    /// Every count of `sinogram` (whole numbers, the layout's shape) as that many events of
    /// its bin: list-mode data equivalent to a histogram.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`]; [`Error::InvalidArgument`] for a mashed or span > 1 layout,
    /// or values that are not whole counts ≥ 0.
    pub fn from_sinogram(layout: &SinogramLayout, sinogram: ArrayViewD<'_, f32>) -> Result<Self> {
        if layout.view_mashing() != 1 || layout.span() != 1 {
            return Err(Error::InvalidArgument(
                "events from a sinogram need span 1 and no mashing (one crystal pair per bin)"
                    .into(),
            ));
        }
        let counts = check_input("sinogram", sinogram, &layout.shape())?;
        let flat = counts.as_slice().expect("standard layout");
        let (planes, k, tang) = (layout.planes(), layout.tof_bins(), layout.tangential());
        let mut events = Vec::new();
        let mut bins = Vec::new();
        for (i, &c) in flat.iter().enumerate() {
            if c < 0.0 || c.fract() != 0.0 {
                return Err(Error::InvalidArgument(format!(
                    "sinogram bin {i} holds {c}: expected whole counts ≥ 0"
                )));
            }
            let tangential = (i % tang as usize) as u32;
            let tof = ((i / tang as usize) % k as usize) as u32;
            let plane = ((i / (tang * k) as usize) % planes as usize) as u32;
            let view = (i / (tang * k * planes) as usize) as u32;
            let (r1, r2) = layout.ring_pairs(plane)[0];
            let bin = SinogramBin {
                view,
                plane,
                tof,
                tangential,
            };
            debug_assert_eq!(layout.index(bin), i);
            for _ in 0..c as u64 {
                events.push([view * tang + tangential, r1, r2, tof]);
                bins.push(i);
            }
        }
        Ok(Self {
            layout: layout.clone(),
            events,
            bins,
            outside: 0,
        })
    }

    /// Events kept.
    pub fn len(&self) -> usize {
        self.events.len()
    }
    /// Whether no event was kept.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
    /// Events dropped because their pair lies outside the layout.
    pub fn outside_layout(&self) -> usize {
        self.outside
    }
    /// The layout the events' bins index.
    pub fn layout(&self) -> &SinogramLayout {
        &self.layout
    }
    /// Flat index of each event's bin in [`ListModeEvents::layout`].
    pub fn bins(&self) -> &[usize] {
        &self.bins
    }
}

/// The list-mode PET model: for every event `e`, `m_e · (A x)_e` with `A` the same Joseph
/// (TOF) line integral as [`Pet3dProjector`] gives its bin and `m_e` the bin's factors; the
/// sensitivity image is the sinogram model's `Aᵀ m` over every bin of the layout.
#[derive(Debug)]
pub struct ListModeProjector {
    events: ListModeEvents,
    grid: ImageGrid,
    active: ActiveBackend,
    run: PetRunner,
    sensitivity: Vec<f32>,
    background: Option<Vec<f32>>,
}

impl ListModeProjector {
    /// The model of `events` with the system model (grid, factors, backend) of `sinogram`.
    /// Computes the sensitivity image (a back-projection of every bin).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `sinogram`'s layout is not the events'; backend failures.
    pub fn new(events: ListModeEvents, sinogram: &Pet3dProjector) -> Result<Self> {
        let sensitivity = sinogram.sensitivity()?;
        Self::with_sensitivity(events, sinogram, sensitivity.view())
    }

    /// As [`ListModeProjector::new`] with a sensitivity image computed before
    /// ([`Pet3dProjector::sensitivity`] of the same model): frames of one acquisition share it.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `sinogram`'s layout is not the events';
    /// [`Error::ShapeMismatch`], [`Error::NonFinite`] or [`Error::InvalidArgument`] for a
    /// sensitivity image not of the grid's shape or negative.
    pub fn with_sensitivity(
        events: ListModeEvents,
        sinogram: &Pet3dProjector,
        sensitivity: ArrayViewD<'_, f32>,
    ) -> Result<Self> {
        if sinogram.layout() != events.layout() {
            return Err(Error::InvalidArgument(
                "the sinogram model's layout differs from the events' layout".into(),
            ));
        }
        let layout = events.layout();
        let grid = sinogram.grid().clone();
        let tof = layout.tof();
        let base = PetParams {
            mode: PET_LIST,
            n_tang: layout.tangential(),
            n_tof: layout.tof_bins(),
            ..base_params(&grid, tof)
        };
        let s = layout.scanner();
        let axial = (0..s.rings())
            .map(|r| {
                let z = s.ring_z(r) as f32;
                [z, z, 1.0, 0.0]
            })
            .collect();
        let tables = PetTables {
            base,
            transaxial: layout.transaxial_table(),
            axial,
            events: events.events.clone(),
            item_len: 1,
            items: events.len(),
            max_weight: max_weight(&grid, 1.0),
        };
        let factors = sinogram.factors().map(|f| {
            let f = f.as_slice().expect("standard layout").to_vec();
            events.bins.iter().map(|&b| f[b]).collect()
        });
        let sensitivity =
            non_negative_input("sensitivity image", sensitivity, &grid.array_shape())?;
        Ok(Self {
            events,
            grid,
            active: sinogram.backend().clone(),
            run: PetRunner::new(sinogram.device().clone(), tables, factors),
            sensitivity,
            background: None,
        })
    }

    /// The same model with an additive background (randoms + scatter, expected counts per bin
    /// of the layout, ≥ 0): each event gets its bin's value.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`], [`Error::NonFinite`] or [`Error::InvalidArgument`] (negative).
    pub fn with_background(mut self, background: ArrayViewD<'_, f32>) -> Result<Self> {
        let b = non_negative_input("background", background, &self.events.layout.shape())?;
        self.background = Some(self.events.bins.iter().map(|&i| b[i]).collect());
        Ok(self)
    }

    /// The events.
    pub fn events(&self) -> &ListModeEvents {
        &self.events
    }
    /// The sensitivity image `Aᵀ m` over every bin, `[nz, ny, nx]`.
    pub fn sensitivity(&self) -> ArrayD<f32> {
        ArrayD::from_shape_vec(IxDyn(&self.grid.array_shape()), self.sensitivity.clone())
            .expect("image shape")
    }
    /// Image shape.
    pub fn image_shape(&self) -> Vec<usize> {
        self.grid.array_shape()
    }
    /// Data shape: `[events, 1]` (one value per event).
    pub fn data_shape(&self) -> Vec<usize> {
        vec![self.events.len(), 1]
    }

    /// The additive background per event, if given.
    pub fn background(&self) -> Option<&[f32]> {
        self.background.as_deref()
    }

    fn forward_flat(&self, image: &[f32], out: &mut [f32]) -> Result<()> {
        self.run.forward_flat(image, out)
    }

    fn adjoint_flat(&self, data: &[f32], out: &mut [f32]) -> Result<()> {
        self.run.adjoint_flat(Some(data), out)
    }
}

super::linear_operator!(ListModeProjector);

impl SystemModel for ListModeProjector {
    fn image_shape(&self) -> Vec<usize> {
        self.grid.array_shape()
    }
    fn data_shape(&self) -> Vec<usize> {
        vec![self.events.len(), 1]
    }
    fn spacing(&self) -> [f64; 3] {
        self.grid.spacing()
    }
    fn backend(&self) -> &ActiveBackend {
        &self.active
    }
    fn expected(&self, image: ArrayViewD<'_, f32>) -> Result<ArrayD<f32>> {
        let image = check_input("image", image, &self.image_shape())?;
        let mut out = ArrayD::zeros(IxDyn(&self.data_shape()));
        let flat = out.as_slice_mut().expect("standard layout");
        self.forward_flat(image.as_slice().expect("standard layout"), flat)?;
        Ok(out)
    }
    fn plan(
        &self,
        order: &[usize],
        subsets: Vec<Range<usize>>,
        max_resident_bytes: Option<u64>,
    ) -> Result<ModelPlan> {
        let tables = PetTables {
            events: order.iter().map(|&e| self.run.tables.events[e]).collect(),
            ..self.run.tables.clone()
        };
        let factors = self
            .run
            .factors
            .as_ref()
            .map(|f| order.iter().map(|&e| f[e]).collect());
        let model = PetModel::resident(
            self.run.device.engine(),
            tables,
            subsets,
            (factors, Some(self.sensitivity.clone())),
            max_resident_bytes,
        )?;
        Ok(ModelPlan(Box::new(model)))
    }
}
