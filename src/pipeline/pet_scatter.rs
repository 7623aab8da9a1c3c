//! The scatter estimation loop of 3D PET, as STIR's `ScatterEstimation` runs it: reconstruct
//! without scatter, simulate single scatter from that image and the μ-map
//! ([`single_scatter`]), scale it to the data's tails ([`fit_tails`]), reconstruct again with
//! randoms and scatter as the background, and repeat a few times. The loop runs on the data
//! rebinned into one segment of every ring difference (single-slice rebinning, STIR's
//! `run_in_2d`): its reconstructions only feed the simulation, and cost a fraction of the full
//! layout's (the mMR at span 11: 127 planes instead of 837). Each simulation runs in the data's
//! own layout and is summed into the loop's for the fit, so that the last fit's scales (one
//! per axial position) apply to the last simulation as it is. TOF data run the loop on their
//! sums over the TOF bins (the loop's images only feed the simulation, which needs no TOF),
//! and only the last simulation is made with TOF, in the data's layout: its TOF sums are what
//! the last fit sees, and each TOF bin takes its line's scale.

use ndarray::{ArrayD, ArrayView3, ArrayViewD, Axis, Ix3, IxDyn};

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::geometry::pet::SinogramLayout;
use crate::physics::pet_scatter::{
    SingleScatterOptions, TailFit, TailFitOptions, apply_tail_fit, fit_tails, single_scatter,
};
use crate::projector::Pet3dProjector;
use crate::recon::Osem;

/// Settings of [`estimate_scatter`].
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterEstimationOptions {
    /// Simulations (each followed by a reconstruction but the last; default 3).
    pub iterations: usize,
    /// OSEM iterations of each reconstruction in the loop (default 1).
    pub osem_iterations: usize,
    /// OSEM subsets in the loop.
    pub subsets: usize,
    /// Run the loop on the data rebinned into one segment (default true; see the module docs).
    pub rebinned_loop: bool,
    /// The simulation's settings.
    pub simulation: SingleScatterOptions,
    /// The tail fit's settings.
    pub tails: TailFitOptions,
}

impl ScatterEstimationOptions {
    /// The defaults with `subsets` OSEM subsets.
    pub fn new(subsets: usize) -> Self {
        Self {
            iterations: 3,
            osem_iterations: 1,
            subsets,
            rebinned_loop: true,
            simulation: SingleScatterOptions::default(),
            tails: TailFitOptions::default(),
        }
    }
}

/// A scatter estimate.
#[derive(Debug, Clone)]
pub struct ScatterEstimate {
    /// The fit in the data's layout: its `scatter` is the estimate, counts (the background to
    /// add to the randoms); its scales (from the loop's last fit), tail sums and profile.
    pub fit: TailFit,
    /// Scatter over prompts minus randoms, summed over the layout.
    pub scatter_fraction: f64,
    /// Total scatter after each simulation of the loop, in the loop's layout (its
    /// convergence).
    pub totals: Vec<f64>,
    /// Scatter points and downsampled detectors (rings, crystals) of the simulation.
    pub points: usize,
    /// See `points`.
    pub detectors: [u32; 2],
}

/// `data` (`[views, planes, tangential]` of one layout) summed into the `planes` planes `map`
/// names, each plane `p` times `weights[p]` when given.
fn rebin(
    data: ArrayViewD<'_, f32>,
    map: &[u32],
    planes: usize,
    weights: Option<&[f32]>,
) -> ArrayD<f32> {
    let (v, _, t) = (data.shape()[0], data.shape()[1], data.shape()[2]);
    let mut out = ArrayD::<f32>::zeros(IxDyn(&[v, planes, t]));
    for (p, &q) in map.iter().enumerate() {
        let w = weights.map_or(1.0, |w| w[p]);
        out.index_axis_mut(Axis(1), q as usize)
            .scaled_add(w, &data.index_axis(Axis(1), p));
    }
    out
}

/// Attenuation factors of `model` (its factors over the normalisation; NaN where the
/// normalisation is 0, which no tail mask admits).
fn attenuation_of(
    model: &Pet3dProjector,
    normalisation: Option<ArrayViewD<'_, f32>>,
) -> ArrayD<f32> {
    let mut f = model
        .factors()
        .unwrap_or_else(|| ArrayD::ones(IxDyn(&model.layout().shape())));
    if let Some(n) = normalisation {
        f.zip_mut_with(&n, |a, &n| *a = if n > 0.0 { *a / n } else { f32::NAN });
    }
    f
}

/// Estimates the scatter in `prompts` (the layout of `model`, which holds the attenuation from
/// `mu` and the normalisation factors `normalisation`, one per line of response; `None`:
/// ones) by the loop of the module docs, with `randoms` as the additive term; the first
/// reconstruction starts from `x0` (default: ones). `progress` is called after each
/// simulation with (done, of).
///
/// With TOF, `prompts` and `randoms` hold the TOF axis and the estimate's scatter too; the
/// loop runs on their TOF sums (module docs).
///
/// # Errors
/// [`Error::InvalidArgument`] for zero iterations or subsets, or data without tails; shape
/// errors; backend failures.
#[allow(clippy::too_many_arguments)]
pub fn estimate_scatter(
    model: &Pet3dProjector,
    prompts: ArrayViewD<'_, f32>,
    randoms: Option<ArrayViewD<'_, f32>>,
    mu: ArrayView3<'_, f32>,
    normalisation: Option<ArrayViewD<'_, f32>>,
    x0: Option<ArrayViewD<'_, f32>>,
    options: &ScatterEstimationOptions,
    backend: Backend,
    mut progress: Option<&mut dyn FnMut(usize, usize)>,
) -> Result<ScatterEstimate> {
    if options.iterations == 0 || options.osem_iterations == 0 || options.subsets == 0 {
        return Err(Error::InvalidArgument(format!(
            "scatter estimation of {} simulations with {} OSEM iterations × {} subsets; \
             expected each ≥ 1",
            options.iterations, options.osem_iterations, options.subsets
        )));
    }
    let layout = model.layout();
    let grid = model.grid();
    layout.check_shape("prompts", prompts.shape())?;
    if let Some(n) = &normalisation {
        layout
            .clone()
            .without_tof()
            .check_shape("normalisation", n.shape())?;
    }
    if let Some(r) = &randoms {
        layout.check_shape("randoms", r.shape())?;
    }
    // The data without TOF: summed over their TOF bins, with a model of the same lines.
    let tof = layout.tof().is_some();
    let flat_layout = layout.clone().without_tof();
    let untimed = if tof {
        let mut m = Pet3dProjector::new(flat_layout.clone(), grid.clone(), backend)?
            .with_attenuation(mu.into_dyn())?;
        if let Some(n) = &normalisation {
            m = m.with_normalisation(n.view())?;
        }
        let sum = |a: &ArrayViewD<'_, f32>| a.sum_axis(Axis(2));
        Some((m, sum(&prompts), randoms.as_ref().map(sum)))
    } else {
        None
    };
    let (flat_model, flat_prompts, flat_randoms) = match &untimed {
        Some((m, y, r)) => (m, y.view(), r.as_ref().map(|r| r.view())),
        None => (model, prompts.view(), randoms.clone()),
    };
    let single_segment = layout.segments().len() == 1;
    // The loop's layout, model, prompts, randoms and normalisation: the data rebinned into one
    // segment, or the caller's (without TOF).
    let rebinned = if options.rebinned_loop && !single_segment {
        let d = layout.max_ring_difference();
        let reduced = SinogramLayout::new(
            flat_layout.scanner().clone(),
            layout.tangential(),
            2 * d + 1,
            d,
            layout.view_mashing(),
        )?
        .without_tof();
        let map = flat_layout.plane_map(&reduced)?;
        let planes = reduced.planes() as usize;
        // A rebinned bin's normalisation: its lines' factors weighted by their crystal pairs.
        let table = layout.plane_table();
        let mut pairs = vec![0.0f32; planes];
        for (p, &q) in map.iter().enumerate() {
            pairs[q as usize] += table[p][2];
        }
        let weights: Vec<f32> = table.iter().map(|t| t[2]).collect();
        let norm = normalisation.as_ref().map(|n| {
            let mut r = rebin(n.view(), &map, planes, Some(&weights));
            for (q, mut plane) in r.axis_iter_mut(Axis(1)).enumerate() {
                plane.mapv_inplace(|v| v / pairs[q]);
            }
            r
        });
        let mut m = Pet3dProjector::new(reduced.clone(), grid.clone(), backend)?
            .with_attenuation(mu.into_dyn())?;
        if let Some(n) = &norm {
            m = m.with_normalisation(n.view())?;
        }
        let y = rebin(flat_prompts.view(), &map, planes, None);
        let r = flat_randoms
            .as_ref()
            .map(|r| rebin(r.view(), &map, planes, None));
        Some((reduced, m, y, r, norm, map))
    } else {
        None
    };
    let (loop_layout, loop_model, y, r, n) = match &rebinned {
        Some((l, m, y, r, n, _)) => (
            l,
            m,
            y.view(),
            r.as_ref().map(|r| r.view()),
            n.as_ref().map(|n| n.view()),
        ),
        None => (
            &flat_layout,
            flat_model,
            flat_prompts.view(),
            flat_randoms.clone(),
            normalisation.clone(),
        ),
    };
    let attenuation = attenuation_of(loop_model, n);
    let reconstruct = |x0: Option<ArrayViewD<'_, f32>>, background: Option<ArrayViewD<'_, f32>>| {
        Osem {
            background,
            x0,
            ..Osem::new(options.osem_iterations, options.subsets)
        }
        .run(loop_model, y.view())
    };
    let mut image = reconstruct(x0, r.clone())?;
    let mut totals = Vec::with_capacity(options.iterations);
    let mut last = None;
    for k in 0..options.iterations {
        // Simulated in the data's layout with its normalisation (counts), then summed into
        // the loop's: the fit there holds for the data's layout as it is. With TOF only the
        // last simulation has it.
        let x = image.view().into_dimensionality::<Ix3>().expect("3D image");
        let last_one = k + 1 == options.iterations;
        let sim_layout = if last_one { layout } else { &flat_layout };
        let sim = single_scatter(sim_layout, grid, x, mu, &options.simulation, backend)?;
        let mut full = sim.sinogram;
        if let Some(n) = &normalisation {
            if tof && last_one {
                full.axis_iter_mut(Axis(2))
                    .for_each(|mut bin| bin.zip_mut_with(n, |s, n| *s *= n));
            } else {
                full.zip_mut_with(n, |s, n| *s *= n);
            }
        }
        let untimed = (tof && last_one).then(|| full.sum_axis(Axis(2)));
        let flat = untimed.as_ref().map_or(full.view(), |u| u.view());
        let summed = rebinned
            .as_ref()
            .map(|(l, _, _, _, _, map)| rebin(flat.view(), map, l.planes() as usize, None));
        let fit = fit_tails(
            loop_layout,
            y.view(),
            r.clone(),
            summed.as_ref().map_or(flat.view(), |s| s.view()),
            attenuation.view(),
            &options.tails,
        )?;
        totals.push(fit.scatter.iter().map(|&v| v as f64).sum());
        if let Some(p) = progress.as_deref_mut() {
            p(k + 1, options.iterations);
        }
        if k + 1 < options.iterations {
            let background = match &r {
                Some(r) => &fit.scatter + r,
                None => fit.scatter.clone(),
            };
            image = reconstruct(Some(image.view()), Some(background.view()))?;
        }
        last = Some((fit, full, sim.points, sim.detectors));
    }
    let (fit, full, points, detectors) = last.expect("one simulation at least");
    // The last simulation in the data's own layout, scaled by the loop's last fit.
    let fit = if rebinned.is_some() || tof {
        let attenuation = attenuation_of(flat_model, normalisation.clone());
        apply_tail_fit(
            layout,
            prompts.view(),
            randoms.clone(),
            full.view(),
            attenuation.view(),
            &options.tails,
            &fit,
        )?
    } else {
        fit
    };
    let total: f64 = fit.scatter.iter().map(|&v| v as f64).sum();
    let trues_and_scatter: f64 = match &randoms {
        Some(r) => prompts
            .iter()
            .zip(r.iter())
            .map(|(&y, &r)| y as f64 - r as f64)
            .sum(),
        None => prompts.iter().map(|&y| y as f64).sum(),
    };
    Ok(ScatterEstimate {
        scatter_fraction: total / trues_and_scatter,
        fit,
        totals,
        points,
        detectors,
    })
}
