//! Rigid registration by normalised mutual information, for CT to emission (or any pair of
//! volumes in patient coordinates) whose hardware registration is off.
//!
//! The cost is the normalised mutual information `NMI = (H(F) + H(M)) / H(F, M)` (Studholme
//! et al. 1999) of the fixed volume `F` and the moving volume `M` sampled at the moved fixed
//! voxels, over the voxels where both are defined. The joint histogram is built by
//! partial-volume interpolation (Maes et al. 1997): each fixed voxel adds the eight trilinear
//! weights of its moving position to the bins of those eight moving voxels, which makes the
//! cost smooth in the motion, so sub-voxel motions are found. A pattern search (Hooke–Jeeves
//! steps, halved until 0.05 mm and 0.03°) maximises it, first on every second fixed voxel, then
//! on all. The histogram is the `nmi_histogram` stage, on the GPU when the backend chosen has
//! one (each evaluation one dispatch and a 4 KB read-back), else its rayon twin; the weights
//! are summed in fixed point, so both give the same histogram whatever the order of addition.
//!
//! A moving volume much finer than the fixed one (a 0.98 mm CT against a 4.4 mm emission grid)
//! is first averaged, in its own frame, to half the fixed spacing.

use ndarray::{Array3, ArrayView3};
use rayon::prelude::*;
use std::cell::RefCell;

use super::resample::{IndexAffine, Resampling, resample};
use super::rigid::Rigid;
use crate::backend::Backend;
use crate::backend::nmi::JointHistogram;
use crate::error::{Error, Result, check_finite};
use crate::geometry::PatientGrid;

/// Settings of [`register_rigid`].
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationOptions {
    /// Histogram bins per volume (8–256).
    pub bins: usize,
    /// Values of the fixed volume mapped onto the bins (clamped outside); `None`: its 0.5th
    /// to 99.5th percentiles.
    pub fixed_range: Option<(f32, f32)>,
    /// As `fixed_range`, for the moving volume (e.g. `(-1000.0, 1500.0)` for a CT in HU).
    pub moving_range: Option<(f32, f32)>,
    /// Where the search starts (default: no motion about the fixed grid's centre).
    pub start: Option<Rigid>,
    /// Largest translation searched along each axis from the start, mm.
    pub max_translation: f64,
    /// Largest rotation searched about each axis from the start, radians.
    pub max_rotation: f64,
    /// Where the cost is evaluated (default: the GPU when there is one). The GPU sums the
    /// histogram's weights in fixed point (1/1024 of a voxel for up to 4 million samples), so
    /// its NMI agrees with the CPU's to about 1e-6.
    pub backend: Backend,
}

impl Default for RegistrationOptions {
    fn default() -> Self {
        Self {
            bins: 32,
            fixed_range: None,
            moving_range: None,
            start: None,
            max_translation: 40.0,
            max_rotation: 20f64.to_radians(),
            backend: Backend::Auto,
        }
    }
}

/// What [`register_rigid`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// The motion `T`: the moving volume's value at `T(p)` belongs at fixed position `p`;
    /// `T.move_grid(fixed_grid)` is the fixed grid as placed in the moving volume's frame.
    pub transform: Rigid,
    /// NMI (1 to 2) at the start and at the result, on all fixed voxels.
    pub nmi_start: f64,
    /// See `nmi_start`.
    pub nmi: f64,
    /// Cost evaluations made.
    pub evaluations: usize,
}

/// Finds the rigid motion that best aligns `moving` (on `moving_grid`) to `fixed` (on
/// `fixed_grid`) by normalised mutual information (see the module docs).
///
/// # Errors
/// [`Error::ShapeMismatch`] for volumes not of their grids' shapes; [`Error::NonFinite`] for
/// NaN or infinite values; [`Error::InvalidArgument`] for bad options, a constant volume, or
/// volumes that do not overlap at the start.
pub fn register_rigid(
    fixed: ArrayView3<'_, f32>,
    fixed_grid: &PatientGrid,
    moving: ArrayView3<'_, f32>,
    moving_grid: &PatientGrid,
    options: &RegistrationOptions,
) -> Result<Registration> {
    for (what, v, g) in [
        ("fixed volume", &fixed, fixed_grid),
        ("moving volume", &moving, moving_grid),
    ] {
        if v.shape() != g.shape {
            return Err(Error::ShapeMismatch {
                what,
                expected: g.shape.to_vec(),
                got: v.shape().to_vec(),
            });
        }
        check_finite(what, v.as_standard_layout().as_slice().expect("standard"))?;
    }
    check_options(options)?;
    let (moving, moving_grid) = coarsen_to(moving, moving_grid, fixed_grid.spacing)?;
    let bins = options.bins;
    let fixed_bins = Binned::new(fixed, options.fixed_range, bins, "fixed volume")?;
    let moving_bins = Binned::new(moving.view(), options.moving_range, bins, "moving volume")?;
    let histogram = JointHistogram::new(
        &crate::backend::Device::resolve(options.backend)?,
        &fixed_bins.bins,
        fixed_bins.shape,
        &moving_bins.bins,
        moving_bins.shape,
        bins,
    )?;
    let cost = Cost {
        fixed_grid,
        moving_grid: &moving_grid,
        bins,
        histogram: RefCell::new(histogram),
    };
    let start = options
        .start
        .unwrap_or_else(|| Rigid::identity(fixed_grid.centre()));
    let nmi_start = cost.nmi(&start, 1)?.ok_or_else(|| {
        Error::InvalidArgument(
            "the fixed and moving volumes do not overlap at the start of the registration".into(),
        )
    })?;
    let mut search = PatternSearch {
        cost: &cost,
        start,
        max_translation: options.max_translation,
        max_rotation: options.max_rotation,
        evaluations: 1,
    };
    // Coarse: every second fixed voxel, steps 8 mm → 0.5 mm; fine: all, 1 mm → 0.05 mm.
    let coarse = search.run(start, 2, 8.0, 0.5)?;
    let transform = search.run(coarse, 1, 1.0, 0.05)?;
    let nmi = cost.nmi(&transform, 1)?.unwrap_or(nmi_start);
    Ok(Registration {
        transform,
        nmi_start,
        nmi,
        evaluations: search.evaluations,
    })
}

fn check_options(o: &RegistrationOptions) -> Result<()> {
    if !(8..=256).contains(&o.bins) {
        return Err(Error::InvalidArgument(format!(
            "{} histogram bins; expected 8 to 256",
            o.bins
        )));
    }
    for (what, range) in [("fixed", o.fixed_range), ("moving", o.moving_range)] {
        if let Some((lo, hi)) = range
            && !(lo.is_finite() && hi.is_finite() && lo < hi)
        {
            return Err(Error::InvalidArgument(format!(
                "{what} intensity range ({lo}, {hi}); expected finite values with low < high"
            )));
        }
    }
    let ok = |v: f64| v.is_finite() && v >= 0.0;
    if !(ok(o.max_translation) && ok(o.max_rotation)) {
        return Err(Error::InvalidArgument(format!(
            "search limits {} mm and {} rad; expected finite values ≥ 0",
            o.max_translation, o.max_rotation
        )));
    }
    Ok(())
}

/// `moving` averaged, in its own frame, to at most half of `spacing` (unchanged when it is
/// not finer than that).
fn coarsen_to(
    moving: ArrayView3<'_, f32>,
    grid: &PatientGrid,
    spacing: [f64; 3],
) -> Result<(Array3<f32>, PatientGrid)> {
    let target = spacing.map(|s| s / 2.0);
    let finest = (0..3)
        .map(|k| target[k] / grid.spacing[k])
        .fold(f64::MAX, f64::min);
    if finest <= 1.5 {
        return Ok((moving.to_owned(), grid.clone()));
    }
    let step = [0, 1, 2].map(|k| target[k].max(grid.spacing[k]));
    let extent = [0, 1, 2].map(|k| grid.spacing[k] * (grid.shape[k] - 1) as f64);
    let shape = [0, 1, 2].map(|k| (extent[k] / step[k]).floor() as usize + 1);
    // Same axes; the coarse grid is centred on the fine one.
    let half = [0, 1, 2].map(|k| (extent[k] - step[k] * (shape[k] - 1) as f64) / 2.0);
    let origin = grid.position([
        half[0] / grid.spacing[0],
        half[1] / grid.spacing[1],
        half[2] / grid.spacing[2],
    ]);
    let coarse = PatientGrid::new(shape, step, origin, grid.axes)?;
    let outside = moving.iter().copied().fold(f32::INFINITY, f32::min);
    let data = resample(
        moving,
        grid,
        &coarse,
        outside,
        Resampling::Average,
        Backend::Cpu,
    )?;
    Ok((data, coarse))
}

/// A volume reduced to histogram bin indices.
struct Binned {
    bins: Vec<u8>,
    shape: [usize; 3],
}

impl Binned {
    fn new(
        v: ArrayView3<'_, f32>,
        range: Option<(f32, f32)>,
        n: usize,
        what: &str,
    ) -> Result<Self> {
        let v = v.as_standard_layout();
        let values = v.as_slice().expect("standard layout");
        let (lo, hi) = match range {
            Some(r) => r,
            None => percentiles(values),
        };
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
            return Err(Error::InvalidArgument(format!(
                "the {what} is constant (or nearly): mutual information cannot align it"
            )));
        }
        let scale = n as f32 / (hi - lo);
        let bins = values
            .par_iter()
            .map(|&x| (((x - lo) * scale).floor().max(0.0) as usize).min(n - 1) as u8)
            .collect();
        let s = v.shape();
        Ok(Self {
            bins,
            shape: [s[0], s[1], s[2]],
        })
    }
}

/// The 0.5th and 99.5th percentiles of `values` (from at most ~1M of them, evenly strided).
fn percentiles(values: &[f32]) -> (f32, f32) {
    let stride = (values.len() / 1_000_000).max(1);
    let mut sample: Vec<f32> = values.iter().step_by(stride).copied().collect();
    sample.sort_unstable_by(f32::total_cmp);
    let at = |q: f64| sample[((sample.len() - 1) as f64 * q).round() as usize];
    (at(0.005), at(0.995))
}

struct Cost<'a> {
    fixed_grid: &'a PatientGrid,
    moving_grid: &'a PatientGrid,
    bins: usize,
    /// Both volumes' bins, on the backend the registration runs on.
    histogram: RefCell<JointHistogram>,
}

impl Cost<'_> {
    /// NMI with the motion `t`, on every `stride`-th fixed voxel along each axis; `None` when
    /// no sampled voxel falls inside the moving volume.
    ///
    /// # Errors
    /// GPU failures.
    fn nmi(&self, t: &Rigid, stride: usize) -> Result<Option<f64>> {
        let map = IndexAffine::between(self.moving_grid, self.fixed_grid, |p| t.apply(p));
        let joint = self.histogram.borrow_mut().joint(&map, stride)?;
        Ok(normalised_mutual_information(&joint, self.bins))
    }
}

/// `(H(F) + H(M)) / H(F, M)` of a joint histogram `[f · n + m]`; `None` when it is empty.
fn normalised_mutual_information(joint: &[f64], n: usize) -> Option<f64> {
    let total: f64 = joint.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let entropy = |p: &mut dyn Iterator<Item = f64>| -> f64 {
        p.filter(|&v| v > 0.0)
            .map(|v| {
                let q = v / total;
                -q * q.ln()
            })
            .sum()
    };
    let hf = entropy(&mut (0..n).map(|f| joint[f * n..(f + 1) * n].iter().sum()));
    let hm = entropy(&mut (0..n).map(|m| (0..n).map(|f| joint[f * n + m]).sum()));
    let hj = entropy(&mut joint.iter().copied());
    Some(if hj > 0.0 { (hf + hm) / hj } else { 1.0 })
}

/// Derivative-free maximisation of the NMI over the six parameters of a [`Rigid`].
struct PatternSearch<'a> {
    cost: &'a Cost<'a>,
    start: Rigid,
    max_translation: f64,
    max_rotation: f64,
    evaluations: usize,
}

/// Lever arm (mm) that converts a translation step into a rotation step: a rotation by
/// `step / LEVER` radians moves points 100 mm from the centre by `step`.
const LEVER: f64 = 100.0;

impl PatternSearch<'_> {
    fn params(t: &Rigid) -> [f64; 6] {
        let [x, y, z] = t.translation;
        let [a, b, g] = t.angles;
        [x, y, z, a, b, g]
    }

    fn rigid(&self, p: [f64; 6]) -> Rigid {
        Rigid {
            translation: [p[0], p[1], p[2]],
            angles: [p[3], p[4], p[5]],
            centre: self.start.centre,
        }
    }

    fn within_limits(&self, p: &[f64; 6]) -> bool {
        let s = Self::params(&self.start);
        (0..3).all(|k| (p[k] - s[k]).abs() <= self.max_translation)
            && (3..6).all(|k| (p[k] - s[k]).abs() <= self.max_rotation)
    }

    fn value(&mut self, p: [f64; 6], stride: usize) -> Result<f64> {
        self.evaluations += 1;
        Ok(self
            .cost
            .nmi(&self.rigid(p), stride)?
            .unwrap_or(f64::NEG_INFINITY))
    }

    /// Coordinate steps of `step` mm (and `step / LEVER` rad), each improvement followed by
    /// a repeat of the same move (Hooke–Jeeves), halving the step until below `finest`.
    fn run(&mut self, from: Rigid, stride: usize, mut step: f64, finest: f64) -> Result<Rigid> {
        let mut p = Self::params(&from);
        let mut best = self.value(p, stride)?;
        while step >= finest {
            let mut improved = true;
            while improved {
                improved = false;
                for k in 0..6 {
                    let delta = if k < 3 { step } else { step / LEVER };
                    for sign in [1.0, -1.0] {
                        let mut q = p;
                        q[k] += sign * delta;
                        if !self.within_limits(&q) {
                            continue;
                        }
                        let v = self.value(q, stride)?;
                        if v > best {
                            (p, best, improved) = (q, v, true);
                            // Keep going while the same move pays.
                            loop {
                                let mut r = p;
                                r[k] += sign * delta;
                                if !self.within_limits(&r) {
                                    break;
                                }
                                let v = self.value(r, stride)?;
                                if v <= best {
                                    break;
                                }
                                (p, best) = (r, v);
                            }
                            break;
                        }
                    }
                }
            }
            step /= 2.0;
        }
        Ok(self.rigid(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth, asymmetric blob volume.
    fn blobs(grid: &PatientGrid, shift: [f64; 3]) -> Array3<f32> {
        let [nz, ny, nx] = grid.shape;
        Array3::from_shape_fn((nz, ny, nx), |(z, y, x)| {
            let p = grid.position([z as f64, y as f64, x as f64]);
            let g = |c: [f64; 3], s: f64| {
                let d2: f64 = (0..3).map(|k| (p[k] - c[k] - shift[k]).powi(2)).sum();
                (-d2 / (2.0 * s * s)).exp()
            };
            (100.0 * g([0.0, 0.0, 0.0], 18.0)
                + 60.0 * g([14.0, -8.0, 6.0], 6.0)
                + 80.0 * g([-10.0, 12.0, -9.0], 4.0)) as f32
        })
    }

    #[test]
    fn finds_a_known_shift_and_rotation() {
        let grid = PatientGrid::axis_aligned([40, 40, 40], [2.0; 3], [-39.0; 3]).unwrap();
        let fixed = blobs(&grid, [0.0; 3]);
        let truth = Rigid {
            angles: [0.0, 0.0, 4f64.to_radians()],
            translation: [5.0, -3.0, 2.0],
            centre: grid.centre(),
        };
        // The same object, placed by the moved grid: moving(truth(p)) = fixed(p).
        let moving_grid = truth.move_grid(&grid);
        let found = register_rigid(
            fixed.view(),
            &grid,
            fixed.view(),
            &moving_grid,
            &RegistrationOptions::default(),
        )
        .unwrap();
        let (mm, rad) = found.transform.difference(&truth, &grid);
        assert!(mm < 0.5 && rad.to_degrees() < 0.3, "{mm} mm, {rad} rad");
        assert!(found.nmi > found.nmi_start);
    }

    #[test]
    #[ignore = "GPU: needs a wgpu adapter; run with --include-ignored"]
    fn gpu_cost_matches_the_cpu() {
        let grid = PatientGrid::axis_aligned([40, 40, 40], [2.0; 3], [-39.0; 3]).unwrap();
        let fixed = blobs(&grid, [0.0; 3]);
        let moving = blobs(&grid, [3.0, -2.0, 1.0]);
        let [f, m] = [&fixed, &moving].map(|v| Binned::new(v.view(), None, 32, "volume").unwrap());
        let cost = |backend| Cost {
            fixed_grid: &grid,
            moving_grid: &grid,
            bins: 32,
            histogram: RefCell::new(
                JointHistogram::new(
                    &crate::backend::Device::resolve(backend).unwrap(),
                    &f.bins,
                    f.shape,
                    &m.bins,
                    m.shape,
                    32,
                )
                .unwrap(),
            ),
        };
        let (on_cpu, on_gpu) = (cost(Backend::Cpu), cost(Backend::Gpu));
        let motions = [
            Rigid::identity(grid.centre()),
            Rigid {
                angles: [0.05, -0.1, 0.2],
                translation: [2.5, -1.25, 3.0],
                centre: grid.centre(),
            },
        ];
        for stride in [1, 2] {
            for t in &motions {
                let c = on_cpu.nmi(t, stride).unwrap().unwrap();
                let g = on_gpu.nmi(t, stride).unwrap().unwrap();
                assert!((g - c).abs() < 1e-5, "GPU {g} against CPU {c}");
            }
        }
        // And a whole registration on the GPU finds what the CPU finds.
        let truth = motions[1];
        let moved = truth.move_grid(&grid);
        let options = |backend| RegistrationOptions {
            backend,
            ..RegistrationOptions::default()
        };
        let on = |backend| {
            register_rigid(fixed.view(), &grid, fixed.view(), &moved, &options(backend)).unwrap()
        };
        let (a, b) = (on(Backend::Cpu), on(Backend::Gpu));
        let (mm, rad) = a.transform.difference(&b.transform, &grid);
        assert!(mm < 0.2 && rad < 0.002, "{mm} mm, {rad} rad apart");
    }

    #[test]
    fn refuses_bad_input() {
        let grid = PatientGrid::axis_aligned([8, 8, 8], [2.0; 3], [0.0; 3]).unwrap();
        let v = blobs(&grid, [8.0; 3]);
        let o = RegistrationOptions::default();
        let flat = Array3::<f32>::ones((8, 8, 8));
        assert!(register_rigid(flat.view(), &grid, v.view(), &grid, &o).is_err());
        let far = PatientGrid::axis_aligned([8, 8, 8], [2.0; 3], [500.0; 3]).unwrap();
        assert!(register_rigid(v.view(), &grid, v.view(), &far, &o).is_err());
        let bins = RegistrationOptions {
            bins: 2,
            ..RegistrationOptions::default()
        };
        assert!(register_rigid(v.view(), &grid, v.view(), &grid, &bins).is_err());
        let mut nan = v.clone();
        nan[[1, 1, 1]] = f32::NAN;
        assert!(register_rigid(nan.view(), &grid, v.view(), &grid, &o).is_err());
    }
}
