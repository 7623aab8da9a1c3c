//! The scatter estimation loop of 3D PET, as STIR's `ScatterEstimation` runs it: reconstruct
//! without scatter, simulate single scatter from that image and the μ-map
//! ([`single_scatter`]), scale it to the data's tails ([`fit_tails`]), reconstruct again with
//! randoms and scatter as the background, and repeat a few times; the last estimate is the
//! scatter background of the final reconstruction.

use ndarray::{ArrayView3, ArrayViewD, Ix3};

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::physics::pet_scatter::{
    SingleScatterOptions, TailFit, TailFitOptions, fit_tails, single_scatter,
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
            simulation: SingleScatterOptions::default(),
            tails: TailFitOptions::default(),
        }
    }
}

/// A scatter estimate.
#[derive(Debug, Clone)]
pub struct ScatterEstimate {
    /// The last tail fit: its `scatter` is the estimate, counts in the data's layout (the
    /// background to add to the randoms); its scales, tail sums and profile.
    pub fit: TailFit,
    /// Scatter over prompts minus randoms, summed over the layout.
    pub scatter_fraction: f64,
    /// Total scatter after each simulation (the loop's convergence).
    pub totals: Vec<f64>,
    /// Scatter points and downsampled detectors (rings, crystals) of the simulation.
    pub points: usize,
    /// See `points`.
    pub detectors: [u32; 2],
}

/// Estimates the scatter in `prompts` (the layout of `model`, which holds the attenuation and
/// normalisation factors) by the loop of the module docs. `mu` is the μ-map of the model's
/// attenuation (1/mm, on its grid), `normalisation` the model's normalisation factors per
/// line of response (`None`: ones), `randoms` the randoms estimate; the first reconstruction
/// starts from `x0` (default: ones). `progress` is called after each simulation with
/// (done, of).
///
/// # Errors
/// [`Error::InvalidArgument`] for zero iterations or subsets, a TOF layout, or data without
/// tails; shape errors; backend failures.
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
    let attenuation = Pet3dProjector::new(layout.clone(), grid.clone(), backend)?
        .with_attenuation(mu.into_dyn())?
        .factors()
        .expect("attenuation factors");
    let reconstruct = |x0: Option<ArrayViewD<'_, f32>>, background: Option<ArrayViewD<'_, f32>>| {
        Osem {
            background,
            x0,
            ..Osem::new(options.osem_iterations, options.subsets)
        }
        .run(model, prompts.view())
    };
    let mut image = reconstruct(x0, randoms.clone())?;
    let mut totals = Vec::with_capacity(options.iterations);
    let mut last = None;
    for k in 0..options.iterations {
        let x = image.view().into_dimensionality::<Ix3>().expect("3D image");
        let sim = single_scatter(layout, grid, x, mu, &options.simulation, backend)?;
        let mut s = sim.sinogram;
        if let Some(n) = &normalisation {
            layout.check_shape("normalisation", n.shape())?;
            s.zip_mut_with(n, |s, n| *s *= n);
        }
        let fit = fit_tails(
            layout,
            prompts.view(),
            randoms.clone(),
            s.view(),
            attenuation.view(),
            &options.tails,
        )?;
        totals.push(fit.scatter.iter().map(|&v| v as f64).sum());
        if let Some(p) = progress.as_deref_mut() {
            p(k + 1, options.iterations);
        }
        if k + 1 < options.iterations {
            let background = match &randoms {
                Some(r) => &fit.scatter + r,
                None => fit.scatter.clone(),
            };
            image = reconstruct(Some(image.view()), Some(background.view()))?;
        }
        last = Some((fit, sim.points, sim.detectors));
    }
    let (fit, points, detectors) = last.expect("one simulation at least");
    let trues_and_scatter: f64 = match &randoms {
        Some(r) => prompts
            .iter()
            .zip(r.iter())
            .map(|(&y, &r)| y as f64 - r as f64)
            .sum(),
        None => prompts.iter().map(|&y| y as f64).sum(),
    };
    Ok(ScatterEstimate {
        scatter_fraction: totals.last().copied().unwrap_or(0.0) / trues_and_scatter,
        fit,
        totals,
        points,
        detectors,
    })
}
