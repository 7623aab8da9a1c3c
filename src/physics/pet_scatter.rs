//! Scatter in 3D PET: single scatter simulation (SSS) and its scaling to the data's tails.
//!
//! ## The model (Watson 2000; Ollinger 1996), in the projector's units
//! A photon pair is emitted on the line from a scatter point S to detector A; one photon
//! reaches A at 511 keV, the other Compton-scatters at S by angle θ into detector B with
//! energy `E′ = 511 / (2 − cos θ)` keV. Summed over scatter points S (volume `V_S`, linear
//! attenuation `μ_S`), the expected scatter of the line A–B is
//!
//! ```text
//! s_AB = L²/(cos′_A cos′_B) · Σ_S μ_S V_S · g(θ) · cos_A cos_B / (R_SA² R_SB²)
//!        · ( E_SA · exp(−M_SA − k(θ) M_SB) + E_SB · exp(−M_SB − k(θ) M_SA) )
//! g(θ) = (dσ_KN/dΩ)(θ) / σ_KN(511) · ε(E′) / ε(511),    k(θ) = σ_KN(E′) / σ_KN(511)
//! ```
//!
//! `E_SA = ∫λ dl` and `M_SA = ∫μ dl` (511 keV) along S → A; `R` the distances, `cos_A` the
//! incidence of the scattered leg on crystal A, `cos′`, `L` those of the line A–B itself;
//! `σ_KN` the Klein–Nishina cross-sections; `ε(E)` the probability of counting a photon of
//! energy `E` ([`EnergyWindow::efficiency`]). The crystal areas and the emission's `2/4π`
//! cancel against those of the true coincidences, so `s_AB` is in the units of the
//! projector's line integrals `∫λ dl` ([`crate::Pet3dProjector`]): it is the scatter as the
//! model's trues would count it, and becomes counts through the same normalisation factors.
//!
//! ## Approximations (each documented where it is made)
//! - Single scatter only; multiple scatter, scatter from activity outside the image and
//!   scatter in the detectors are left to the tail fit's scale ([`fit_tails`]).
//! - Scattering angles whose photons the window counts with less than a billionth of the
//!   chance at the most likely angle are skipped (`NEGLIGIBLE_G`).
//! - Compton scatter only, with the electrons at rest (Klein–Nishina); attenuation of a
//!   scattered photon scales with the Klein–Nishina total cross-section (`k(θ)`), as water's
//!   does within 2 % down to 150 keV (photoelectric absorption and Rayleigh scatter neglected).
//! - The activity and μ on a coarse grid ([`SingleScatterOptions::voxel_mm`]), one scatter
//!   point per cell of `point_stride³` coarse voxels holding any μ above
//!   [`SingleScatterOptions::mu_threshold`], placed at a random (seeded) position in its cell,
//!   weighted by the cell's ∫μ dV.
//! - Detectors on a downsampled scanner ([`SingleScatterOptions::rings`],
//!   [`SingleScatterOptions::crystals`]) on the effective radius, the layout's lines of
//!   response interpolated linearly in the four coordinates (ring and angle of each end), so
//!   any span and view mashing (the sum over scatter points is interpolated; the factor
//!   `L²/(cos′_A cos′_B)`, which grows without bound towards tangent lines, is each line's
//!   own); crystals as points (no depth of interaction, no block
//!   structure: efficiencies come in through the normalisation).
//! - Time of flight (Watson 2007): a pair emitted on the leg S → A at distance `x` from S
//!   arrives with the path difference of an emission at `c − x` from the midpoint of A–B
//!   towards B, `c = (R_SA − R_SB)/2` (on the leg to B, at `c + x`), so each TOF bin weighs the
//!   emission along the legs by its kernel (the projector's truncated Gaussian,
//!   [`TOF_TRUNCATION_SIGMAS`]). The emission along a leg is compressed into 3 runs of equal
//!   length between its first and last active samples, each replaced by two point masses at
//!   its mean distance ± its standard deviation (its emission, mean and variance kept), and
//!   the masses are spread linearly onto 128 points along the line spanning every bin's
//!   kernel, weighed by each bin's kernel at the end: the TOF profile of each pair is right
//!   in its sum (the non-TOF result wherever the bins cover the line with 3σ to spare), mean
//!   and width, and smoothed at finer scales than a run's spread. The layout's lines take the
//!   interpolated profile of the downsampled pairs about them, whose midpoints lie a few mm
//!   apart along the line.
//!
//! ## Tail fitting
//! [`fit_tails`] scales the simulated scatter (with the normalisation applied) to the prompts
//! minus randoms in the tails: bins whose line of response misses the object (attenuation
//! factor above a threshold, eroded along the tangential axis so that the object's blurred
//! edge stays out). One scale per axial position (the planes of all segments whose mean axial
//! position is the same, as single-slice rebinning would sum them), fitted by Poisson maximum
//! likelihood (least squares weighted by the model's variance), bounded about the global scale
//! and smoothed along the axis.

use ndarray::{Array3, ArrayD, ArrayView3, ArrayViewD, IxDyn};

use crate::backend::layout::SssParams;
use crate::backend::sss::{SSS_FINE, SssInputs, single_scatter as run_stages};
use crate::backend::{Backend, Device};
use crate::error::{Error, Result};
use crate::geometry::ImageGrid;
use crate::geometry::pet::{EnergyWindow, SinogramLayout, TofBins};
use crate::operator::SplitMix64;
use crate::projector::TOF_TRUNCATION_SIGMAS;

/// Entries of the angular table over cos θ ∈ [−1, 1] (linear interpolation: g varies by less
/// than 1e-4 of its peak between entries).
const TABLE_ENTRIES: usize = 2049;

/// Settings of [`single_scatter`].
#[derive(Debug, Clone, PartialEq)]
pub struct SingleScatterOptions {
    /// Coarse voxel size `[dz, dy, dx]`, mm, rounded to a whole number of image voxels
    /// (default `[16, 12, 12]`).
    pub voxel_mm: [f64; 3],
    /// Coarse voxels per scatter-point cell along each axis (default 1).
    pub point_stride: usize,
    /// μ above which a cell holds scatter points, 1/mm (default 0.001, STIR's 0.01/cm).
    pub mu_threshold: f64,
    /// Rings of the downsampled scanner (default: one per 32 mm of axial length and one
    /// more, at least 2, at most the scanner's).
    pub rings: Option<u32>,
    /// Crystals per ring of the downsampled scanner (default 64, at most the scanner's). The
    /// scatter in the tails falls steeply with the line's distance from the object, and the
    /// interpolation between downsampled crystals overestimates it where they lie far apart
    /// (on the Monte Carlo of `tests/pet_scatter.rs`, the outermost tails by 2.0× with 24
    /// crystals, 1.2× with 48, 1.07× with 64, 0.99× with 96).
    pub crystals: Option<u32>,
    /// Seed of the scatter points' positions in their cells.
    pub seed: u64,
}

impl Default for SingleScatterOptions {
    fn default() -> Self {
        Self {
            voxel_mm: [16.0, 12.0, 12.0],
            point_stride: 1,
            mu_threshold: 0.001,
            rings: None,
            crystals: None,
            seed: 1,
        }
    }
}

/// A single scatter simulation.
#[derive(Debug, Clone)]
pub struct SingleScatter {
    /// The scatter of every bin of the layout (`[views, planes, tangential]`, or with TOF
    /// `[views, planes, tof, tangential]`), in the projector's units, without normalisation.
    pub sinogram: ArrayD<f32>,
    /// Scatter points used.
    pub points: usize,
    /// Downsampled rings and crystals per ring.
    pub detectors: [u32; 2],
}

/// Klein–Nishina total cross-section at `energy_kev`, in units of πr_e² · 2 (only ratios are
/// used).
fn klein_nishina_total(energy_kev: f64) -> f64 {
    let a = energy_kev / 511.0;
    let l = (1.0 + 2.0 * a).ln();
    (1.0 + a) / (a * a) * (2.0 * (1.0 + a) / (1.0 + 2.0 * a) - l / a) + l / (2.0 * a)
        - (1.0 + 3.0 * a) / ((1.0 + 2.0 * a) * (1.0 + 2.0 * a))
}

/// Klein–Nishina differential cross-section of a 511 keV photon at `cos θ`, per steradian, in
/// the units of [`klein_nishina_total`].
fn klein_nishina_511(cos_theta: f64) -> f64 {
    let p = 1.0 / (2.0 - cos_theta);
    // (r_e²/2) P² (P + 1/P − sin²θ), with σ in units of 2π r_e².
    p * p * (p + 1.0 / p - (1.0 - cos_theta * cos_theta)) / (4.0 * std::f64::consts::PI)
}

/// Below this fraction of its peak, `g` is set to 0 in the angular table and the pair stages
/// skip the scatter point (photons counted with less than a billionth of the chance of the
/// most likely angle: with the mMR's window, every angle above 76°).
const NEGLIGIBLE_G: f64 = 1e-9;

/// The angular table `(g, k)` of the model (module docs) over cos θ ∈ [−1, 1].
fn angular_table(window: &EnergyWindow) -> Vec<[f32; 2]> {
    let sigma_511 = klein_nishina_total(511.0);
    let eps_511 = window.efficiency(511.0);
    let table: Vec<[f64; 2]> = (0..TABLE_ENTRIES)
        .map(|j| {
            let c = -1.0 + 2.0 * j as f64 / (TABLE_ENTRIES - 1) as f64;
            let e = 511.0 / (2.0 - c);
            let g = klein_nishina_511(c) / sigma_511 * window.efficiency(e) / eps_511;
            [g, klein_nishina_total(e) / sigma_511]
        })
        .collect();
    let peak = table.iter().fold(0.0f64, |m, t| m.max(t[0]));
    table
        .iter()
        .map(|&[g, k]| {
            let g = if g < NEGLIGIBLE_G * peak { 0.0 } else { g };
            [g as f32, k as f32]
        })
        .collect()
}

/// The fine grid of positions along a line of response that the TOF simulation spreads each
/// leg's emission onto (`[first, step]`, mm from the midpoint towards the second crystal;
/// [`SSS_FINE`] points spanning every TOF bin's truncated kernel), and each bin's kernel at
/// those points (`[bins, SSS_FINE]`): the projector's ([`TOF_TRUNCATION_SIGMAS`]), the
/// probability that a pair emitted there is counted in the bin.
fn tof_kernel(tof: &TofBins) -> ([f64; 2], Vec<f32>) {
    let sigma = tof.sigma_mm();
    let truncation = TOF_TRUNCATION_SIGMAS as f64;
    let half = 0.5 * tof.width_mm;
    let first = tof.centre_mm(0) - half - truncation * sigma;
    let last = tof.centre_mm(tof.count - 1) + half + truncation * sigma;
    let step = (last - first) / (SSS_FINE - 1) as f64;
    let norm = 0.5 / libm::erf(truncation / std::f64::consts::SQRT_2);
    let lim = truncation / std::f64::consts::SQRT_2;
    let s = 1.0 / (std::f64::consts::SQRT_2 * sigma);
    let mut kernel = Vec::with_capacity(tof.count as usize * SSS_FINE);
    for k in 0..tof.count {
        let centre = tof.centre_mm(k);
        for f in 0..SSS_FINE {
            let tau = first + f as f64 * step - centre;
            let upper = ((half - tau) * s).clamp(-lim, lim);
            let lower = ((-half - tau) * s).clamp(-lim, lim);
            kernel.push((norm * (libm::erf(upper) - libm::erf(lower))) as f32);
        }
    }
    ([first, step], kernel)
}

/// Block averages of `image` over `f` voxels per axis (blocks cut short at the far ends
/// average the voxels they hold).
fn block_mean(image: ArrayView3<'_, f32>, f: [usize; 3]) -> Array3<f32> {
    let (nz, ny, nx) = image.dim();
    let shape = [nz.div_ceil(f[0]), ny.div_ceil(f[1]), nx.div_ceil(f[2])];
    let mut sum = Array3::<f64>::zeros(shape);
    let mut count = Array3::<f64>::zeros(shape);
    for ((z, y, x), &v) in image.indexed_iter() {
        let i = (z / f[0], y / f[1], x / f[2]);
        sum[i] += v as f64;
        count[i] += 1.0;
    }
    ndarray::Zip::from(&sum)
        .and(&count)
        .map_collect(|&s, &c| (s / c) as f32)
}

/// Checks that `image` (named `what`) lies on `grid` and holds finite values ≥ 0.
fn check_image(what: &'static str, image: &ArrayView3<'_, f32>, grid: &ImageGrid) -> Result<()> {
    let [nz, ny, nx] = grid.shape();
    if image.dim() != (nz, ny, nx) {
        return Err(Error::ShapeMismatch {
            what,
            expected: vec![nz, ny, nx],
            got: image.shape().to_vec(),
        });
    }
    if let Some(v) = image.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return Err(Error::InvalidArgument(format!(
            "{what} holds {v}; expected finite values ≥ 0"
        )));
    }
    Ok(())
}

/// Simulates the single scatter of every line of response of `layout` from the activity
/// `activity` (any units: the result is in the same units times mm) and the μ-map `mu`
/// (1/mm at 511 keV), both `[nz, ny, nx]` on `grid` (scanner coordinates), on `backend`.
/// The model and its approximations are in the module docs.
///
/// With TOF, each TOF bin of the layout gets its own scatter (module docs).
///
/// # Errors
/// [`Error::ShapeMismatch`] for images not on the grid; [`Error::InvalidArgument`] for
/// negative or non-finite values, a μ-map with nothing above the threshold, or settings out of
/// range; backend failures.
pub fn single_scatter(
    layout: &SinogramLayout,
    grid: &ImageGrid,
    activity: ArrayView3<'_, f32>,
    mu: ArrayView3<'_, f32>,
    options: &SingleScatterOptions,
    backend: Backend,
) -> Result<SingleScatter> {
    check_image("activity image", &activity, grid)?;
    check_image("μ-map", &mu, grid)?;
    if !(options.mu_threshold.is_finite() && options.mu_threshold >= 0.0)
        || options.point_stride == 0
        || options
            .voxel_mm
            .iter()
            .any(|v| !(v.is_finite() && *v > 0.0))
    {
        return Err(Error::InvalidArgument(format!(
            "single scatter settings {options:?}: expected voxel sizes > 0 mm, a point stride \
             ≥ 1 and a μ threshold ≥ 0"
        )));
    }
    let scanner = layout.scanner();
    let rings = options
        .rings
        .unwrap_or_else(|| ((scanner.axial_length_mm() / 32.0).ceil() as u32 + 1).max(2))
        .min(scanner.rings());
    let crystals = options
        .crystals
        .unwrap_or(64)
        .min(scanner.crystals_per_ring());
    if rings == 0 || crystals < 4 || rings as u64 * crystals as u64 > 16384 {
        return Err(Error::InvalidArgument(format!(
            "downsampled scanner of {rings} rings × {crystals} crystals; expected ≥ 1 ring, ≥ 4 \
             crystals and at most 16384 detectors"
        )));
    }

    // Coarse images: block means over whole image voxels.
    let spacing = grid.spacing();
    let f: [usize; 3] =
        std::array::from_fn(|k| (options.voxel_mm[k] / spacing[k]).round().max(1.0) as usize);
    let act = block_mean(activity, f);
    let mu_c = block_mean(mu, f);
    let (cz, cy, cx) = act.dim();
    let coarse: [f64; 3] = std::array::from_fn(|k| spacing[k] * f[k] as f64);
    let origin = grid.origin();
    let coarse_origin: [f64; 3] =
        std::array::from_fn(|k| origin[k] + (f[k] as f64 - 1.0) / 2.0 * spacing[k]);
    // (z, y, x) index → position (x, y, z) mm.
    let position = |i: [f64; 3]| -> [f64; 3] {
        [
            coarse_origin[2] + i[2] * coarse[2],
            coarse_origin[1] + i[1] * coarse[1],
            coarse_origin[0] + i[0] * coarse[0],
        ]
    };

    // Scatter points: one per cell of stride³ coarse voxels that holds μ above the threshold.
    let st = options.point_stride;
    let voxel_volume = coarse.iter().product::<f64>();
    let mut rng = SplitMix64(options.seed);
    let mut points = Vec::new();
    for z0 in (0..cz).step_by(st) {
        for y0 in (0..cy).step_by(st) {
            for x0 in (0..cx).step_by(st) {
                let (mut mass, mut max) = (0.0f64, 0.0f32);
                let (z1, y1, x1) = ((z0 + st).min(cz), (y0 + st).min(cy), (x0 + st).min(cx));
                for z in z0..z1 {
                    for y in y0..y1 {
                        for x in x0..x1 {
                            let m = mu_c[(z, y, x)];
                            mass += m as f64 * voxel_volume;
                            max = max.max(m);
                        }
                    }
                }
                if max as f64 <= options.mu_threshold {
                    continue;
                }
                // A random position in the cell (index space: −½ … n − ½ of its voxels).
                let mut at = |lo: usize, hi: usize| {
                    lo as f64 - 0.5 + (hi - lo) as f64 * rng.next_f32() as f64
                };
                let p = position([at(z0, z1), at(y0, y1), at(x0, x1)]);
                points.push([p[0] as f32, p[1] as f32, p[2] as f32, mass as f32]);
            }
        }
    }
    if points.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "the μ-map holds no value above {} /mm: nothing scatters (is it in 1/mm?)",
            options.mu_threshold
        )));
    }

    // Downsampled detectors on the effective radius, spanning the rings' axial extent.
    let radius = scanner.effective_radius_mm();
    let (z_first, z_last) = (scanner.ring_z(0), scanner.ring_z(scanner.rings() - 1));
    let ring_step = if rings > 1 {
        (z_last - z_first) / (rings - 1) as f64
    } else {
        0.0
    };
    let mut detectors = Vec::with_capacity((rings * crystals) as usize);
    for r in 0..rings {
        let z = if rings > 1 {
            z_first + r as f64 * ring_step
        } else {
            0.5 * (z_first + z_last)
        };
        for c in 0..crystals {
            let psi = std::f64::consts::TAU * c as f64 / crystals as f64 + scanner.view_offset();
            detectors.push([
                (radius * psi.sin()) as f32,
                (-radius * psi.cos()) as f32,
                z as f32,
                0.0,
            ]);
        }
    }

    // The layout's lines of response in the downsampled detectors' coordinates.
    let n = scanner.crystals_per_ring() as f64;
    let to_u = |c: u32| c as f64 * crystals as f64 / n;
    let half = layout.tangential() as i32 / 2;
    let m = layout.view_mashing();
    let transaxial = layout.transaxial_table();
    let mut lors = Vec::with_capacity(transaxial.len());
    for view in 0..layout.views() {
        for i in 0..layout.tangential() as i32 {
            let mut ends = [0.0f64; 2];
            let mut first = [0.0f64; 2];
            for j in 0..m {
                let (c1, c2) = layout.crystals_of(view * m + j, i - half);
                for (k, c) in [c1, c2].into_iter().enumerate() {
                    let u = to_u(c);
                    if j == 0 {
                        first[k] = u;
                    }
                    // Unwrapped next to the first view's position.
                    let wrapped = u - crystals as f64 * ((u - first[k]) / crystals as f64).round();
                    ends[k] += wrapped;
                }
            }
            let wrap = |u: f64| (u / m as f64).rem_euclid(crystals as f64) as f32;
            let u = [wrap(ends[0]), wrap(ends[1])];
            // rem_euclid can round up to the period itself.
            let fix = |v: f32| if v >= crystals as f32 { 0.0 } else { v };
            let [x1, y1, x2, y2] = transaxial[(view * layout.tangential()) as usize + i as usize];
            let chord2 = (x2 - x1) * (x2 - x1) + (y2 - y1) * (y2 - y1);
            lors.push([fix(u[0]), fix(u[1]), chord2, 0.0]);
        }
    }
    let to_w = |z: f32| -> f32 {
        if rings > 1 {
            (((z as f64 - z_first) / ring_step).clamp(0.0, (rings - 1) as f64)) as f32
        } else {
            0.0
        }
    };
    let planes: Vec<[f32; 4]> = layout
        .plane_table()
        .iter()
        .map(|t| {
            [
                to_w(t[0]),
                to_w(t[1]),
                t[2] * m as f32,
                (t[1] - t[0]) * (t[1] - t[0]),
            ]
        })
        .collect();

    let table = angular_table(&scanner.energy_window());
    let params = SssParams {
        nx: cx as u32,
        ny: cy as u32,
        nz: cz as u32,
        n_points: points.len() as u32,
        n_detectors: rings * crystals,
        n_rings: rings,
        n_crystals: crystals,
        n_table: TABLE_ENTRIES as u32,
        n_views: layout.views(),
        n_planes: layout.planes(),
        n_tang: layout.tangential(),
        len: 0,
        n_tof: layout.tof_bins(),
        n_fine: 0,
        fine_first: 0.0,
        fine_step: 0.0,
        origin: [
            coarse_origin[2] as f32,
            coarse_origin[1] as f32,
            coarse_origin[0] as f32,
            0.0,
        ],
        inv_spacing: [
            (1.0 / coarse[2]) as f32,
            (1.0 / coarse[1]) as f32,
            (1.0 / coarse[0]) as f32,
            0.0,
        ],
        step: [
            (0.5 * coarse.iter().cloned().fold(f64::INFINITY, f64::min)) as f32,
            radius as f32,
            0.0,
            0.0,
        ],
        min_cos: [0.02, 0.0, 0.0, 0.0],
    };
    let (params, kernel) = match layout.tof() {
        Some(tof) => {
            let (fine, kernel) = tof_kernel(&tof);
            (
                SssParams {
                    n_fine: SSS_FINE as u32,
                    fine_first: fine[0] as f32,
                    fine_step: fine[1] as f32,
                    ..params
                },
                Some(kernel),
            )
        }
        None => (params, None),
    };
    let act = act.as_standard_layout();
    let mu_c = mu_c.as_standard_layout();
    let device = Device::resolve(backend)?;
    let sinogram = run_stages(
        &device,
        &SssInputs {
            params,
            activity: act.as_slice().expect("standard layout"),
            mu: mu_c.as_slice().expect("standard layout"),
            points: &points,
            detectors: &detectors,
            table: &table,
            kernel: kernel.as_deref(),
            lors: &lors,
            planes: &planes,
        },
    )?;
    let shape = layout.shape();
    Ok(SingleScatter {
        sinogram: ArrayD::from_shape_vec(IxDyn(&shape), sinogram).expect("layout shape"),
        points: points.len(),
        detectors: [rings, crystals],
    })
}

/// Settings of [`fit_tails`].
#[derive(Debug, Clone, PartialEq)]
pub struct TailFitOptions {
    /// Bins whose attenuation factor `exp(−∫μ)` is at least this are tails (default 0.99).
    pub attenuation_threshold: f64,
    /// Tangential bins taken off each tail next to the object (default 2): the object's
    /// blurred edge is not scatter.
    pub margin: u32,
    /// Each axial position's scale is kept within `[global / bound, global · bound]`
    /// (default 3).
    pub bound: f64,
    /// Axial positions averaged either side of each (default 2).
    pub smoothing: usize,
    /// Prompts in an axial position's tails below which it takes the global scale
    /// (default 100).
    pub min_counts: f64,
}

impl Default for TailFitOptions {
    fn default() -> Self {
        Self {
            attenuation_threshold: 0.99,
            margin: 2,
            bound: 3.0,
            smoothing: 2,
            min_counts: 100.0,
        }
    }
}

/// Scatter scaled to the tails of the data ([`fit_tails`]).
#[derive(Debug, Clone)]
pub struct TailFit {
    /// The scaled scatter, counts in the data's layout.
    pub scatter: ArrayD<f32>,
    /// Scale per axial position (half-ring steps from the first ring), as applied.
    pub scales: Vec<f64>,
    /// The one scale fitted to all tails.
    pub global_scale: f64,
    /// Bins in the tails.
    pub tail_bins: usize,
    /// Prompts, randoms and fitted scatter summed over the tails.
    pub tail_prompts: f64,
    /// See `tail_prompts`.
    pub tail_randoms: f64,
    /// See `tail_prompts`.
    pub tail_scatter: f64,
    /// Per tangential bin, summed over views and planes: prompts − randoms, and the fitted
    /// scatter (the tail fit as a profile: the two meet at the edges, outside the object).
    pub profile: Vec<[f64; 2]>,
}

/// Poisson maximum-likelihood scale `a` of `a · s + r` for counts `y` (sums over the bins
/// given as `(y, s, r)` triples), from the moment estimate, by the EM fixed point.
fn ml_scale(bins: &[(f64, f64, f64)]) -> Option<f64> {
    let (sy, ss, sr) = bins
        .iter()
        .fold((0.0, 0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    if ss <= 0.0 || sy <= 0.0 {
        return None;
    }
    let mut a = ((sy - sr) / ss).max(1e-3 * sy / ss);
    for _ in 0..200 {
        let g: f64 = bins
            .iter()
            .filter(|b| b.0 > 0.0)
            .map(|&(y, s, r)| y * s / (a * s + r))
            .sum();
        let next = a * g / ss;
        let done = (next - a).abs() <= 1e-9 * a;
        a = next;
        if done {
            break;
        }
    }
    Some(a)
}

/// The axial position of each plane of `layout` (half-ring steps from the first ring: the
/// planes of all segments whose mean axial position is the same share one), and how many
/// positions there are.
fn axial_positions(layout: &SinogramLayout) -> (Vec<usize>, usize) {
    let scanner = layout.scanner();
    let z_first = scanner.ring_z(0);
    let positions = 2 * scanner.rings() as usize - 1;
    let position_of = layout
        .plane_table()
        .iter()
        .map(|p| {
            let mid = 0.5 * (p[0] as f64 + p[1] as f64);
            (((mid - z_first) / (0.5 * scanner.ring_spacing_mm()))
                .round()
                .max(0.0) as usize)
                .min(positions - 1)
        })
        .collect();
    (position_of, positions)
}

/// `data` of a TOF layout (`[views, planes, tof, tangential]`) summed over its TOF bins.
fn sum_tof(data: ArrayViewD<'_, f32>) -> ArrayD<f32> {
    data.sum_axis(ndarray::Axis(2))
}

/// The tails of the data in `layout` (with TOF: of their sums over the TOF bins).
fn tails_of(
    layout: &SinogramLayout,
    prompts: ArrayViewD<'_, f32>,
    randoms: Option<ArrayViewD<'_, f32>>,
    scatter: ArrayViewD<'_, f32>,
    attenuation: ArrayViewD<'_, f32>,
    options: &TailFitOptions,
) -> Result<Tails> {
    if layout.tof().is_none() {
        return Tails::new(layout, prompts, randoms, scatter, attenuation, options);
    }
    layout.check_shape("prompts", prompts.shape())?;
    layout.check_shape("scatter", scatter.shape())?;
    if let Some(r) = &randoms {
        layout.check_shape("randoms", r.shape())?;
    }
    let r = randoms.map(sum_tof);
    Tails::new(
        &layout.clone().without_tof(),
        sum_tof(prompts).view(),
        r.as_ref().map(|r| r.view()),
        sum_tof(scatter).view(),
        attenuation,
        options,
    )
}

/// A fit to the tails of `layout`'s data: with TOF, its scatter (the TOF sums') replaced by
/// `scatter` with every TOF bin scaled as its line of response.
fn timed(layout: &SinogramLayout, mut fit: TailFit, scatter: ArrayViewD<'_, f32>) -> TailFit {
    if layout.tof().is_none() {
        return fit;
    }
    let (position_of, _) = axial_positions(layout);
    let mut out = scatter.to_owned();
    for (plane, mut block) in out.axis_iter_mut(ndarray::Axis(1)).enumerate() {
        let scale = fit.scales[position_of[plane]];
        block.mapv_inplace(|v| (v as f64 * scale) as f32);
    }
    fit.scatter = out;
    fit
}

/// The data of a tail fit in the layout's flat order: prompts, simulated scatter (with the
/// normalisation), randoms, the tail mask, and each plane's axial position.
struct Tails {
    y: Vec<f32>,
    s: Vec<f32>,
    r: Option<Vec<f32>>,
    tail: Vec<bool>,
    position_of: Vec<usize>,
    positions: usize,
    planes: usize,
    nt: usize,
    shape: Vec<usize>,
}

impl Tails {
    fn new(
        layout: &SinogramLayout,
        prompts: ArrayViewD<'_, f32>,
        randoms: Option<ArrayViewD<'_, f32>>,
        scatter: ArrayViewD<'_, f32>,
        attenuation: ArrayViewD<'_, f32>,
        options: &TailFitOptions,
    ) -> Result<Self> {
        layout.check_shape("prompts", prompts.shape())?;
        layout.check_shape("scatter", scatter.shape())?;
        layout.check_shape("attenuation factors", attenuation.shape())?;
        if let Some(r) = &randoms {
            layout.check_shape("randoms", r.shape())?;
        }
        if !(options.bound >= 1.0
            && options.attenuation_threshold > 0.0
            && options.attenuation_threshold <= 1.0)
        {
            return Err(Error::InvalidArgument(format!(
                "tail fit settings {options:?}: expected a bound ≥ 1 and a threshold in (0, 1]"
            )));
        }
        let flat = |a: ArrayViewD<'_, f32>| a.iter().copied().collect::<Vec<f32>>();
        let (y, s, att) = (flat(prompts), flat(scatter), flat(attenuation));
        let r = randoms.map(flat);
        let (planes, nt) = (layout.planes() as usize, layout.tangential() as usize);

        // The tail mask, row by row (one view and plane): bins whose neighbours within the
        // margin all lie above the threshold (NaN, where no factor is known, never does).
        let mut tail = vec![false; y.len()];
        let margin = options.margin as usize;
        for (row, mask) in att.chunks_exact(nt).zip(tail.chunks_exact_mut(nt)) {
            for (t, m) in mask.iter_mut().enumerate() {
                let lo = t.saturating_sub(margin);
                let hi = (t + margin).min(nt - 1);
                *m = row[lo..=hi]
                    .iter()
                    .all(|&a| a as f64 >= options.attenuation_threshold);
            }
        }

        let (position_of, positions) = axial_positions(layout);
        Ok(Self {
            y,
            s,
            r,
            tail,
            position_of,
            positions,
            planes,
            nt,
            shape: layout.shape(),
        })
    }

    fn plane(&self, i: usize) -> usize {
        (i / self.nt) % self.planes
    }

    /// The scales per axial position (bounded, smoothed) and the global one.
    fn fit(&self, options: &TailFitOptions) -> Result<(Vec<f64>, f64)> {
        let mut by_position: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); self.positions];
        for (i, &is_tail) in self.tail.iter().enumerate() {
            if is_tail && self.s[i] > 0.0 {
                let ri = self.r.as_ref().map_or(0.0, |r| r[i] as f64);
                by_position[self.position_of[self.plane(i)]].push((
                    self.y[i] as f64,
                    self.s[i] as f64,
                    ri,
                ));
            }
        }
        let all: Vec<(f64, f64, f64)> = by_position.iter().flatten().copied().collect();
        let global = ml_scale(&all).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "no tails to fit the scatter to: {} bins outside the object (attenuation factor \
                 ≥ {}, {} bins in from its edge) with {} prompts; does the object fill the \
                 field of view, or is the μ-map misplaced?",
                all.len(),
                options.attenuation_threshold,
                options.margin,
                all.iter().map(|b| b.0).sum::<f64>()
            ))
        })?;
        let raw: Vec<f64> = by_position
            .iter()
            .map(|bins| {
                let counts: f64 = bins.iter().map(|b| b.0).sum();
                let a = if counts >= options.min_counts {
                    ml_scale(bins).unwrap_or(global)
                } else {
                    global
                };
                a.clamp(global / options.bound, global * options.bound)
            })
            .collect();
        let h = options.smoothing;
        let n = self.positions;
        let scales = (0..n)
            .map(|k| {
                let (lo, hi) = (k.saturating_sub(h), (k + h).min(n - 1));
                raw[lo..=hi].iter().sum::<f64>() / (hi - lo + 1) as f64
            })
            .collect();
        Ok((scales, global))
    }

    /// The scatter scaled by `scales`, with the tail sums and the profile.
    fn apply(&self, scales: Vec<f64>, global: f64) -> TailFit {
        let mut out = vec![0.0f32; self.y.len()];
        let mut profile = vec![[0.0f64; 2]; self.nt];
        let (mut tail_bins, mut tp, mut tr, mut ts) = (0usize, 0.0, 0.0, 0.0);
        for (i, o) in out.iter_mut().enumerate() {
            let v = self.s[i] as f64 * scales[self.position_of[self.plane(i)]];
            *o = v as f32;
            let ri = self.r.as_ref().map_or(0.0, |r| r[i] as f64);
            profile[i % self.nt][0] += self.y[i] as f64 - ri;
            profile[i % self.nt][1] += v;
            if self.tail[i] {
                tail_bins += 1;
                tp += self.y[i] as f64;
                tr += ri;
                ts += v;
            }
        }
        TailFit {
            scatter: ArrayD::from_shape_vec(IxDyn(&self.shape), out).expect("layout shape"),
            scales,
            global_scale: global,
            tail_bins,
            tail_prompts: tp,
            tail_randoms: tr,
            tail_scatter: ts,
            profile,
        }
    }
}

/// Scales `scatter` (the simulated scatter with the normalisation factors applied, in the
/// layout of `prompts`) to the prompts minus `randoms` in the tails (see the module docs):
/// one scale per axial position, Poisson maximum likelihood, bounded and smoothed.
/// `attenuation` holds each bin's attenuation factor (same layout; NaN where unknown: not a
/// tail). With TOF, `attenuation` holds one factor per line of response (the layout without
/// TOF), the fit is made on the data and the scatter summed over their TOF bins (the sums,
/// tail sums and profile of the result are of those), and every TOF bin of a line takes the
/// line's scale.
///
/// # Errors
/// [`Error::ShapeMismatch`] for arrays not in the layout; [`Error::InvalidArgument`] for bad
/// settings, or data without tails (the object fills the field of view, or the tails hold no
/// counts).
pub fn fit_tails(
    layout: &SinogramLayout,
    prompts: ArrayViewD<'_, f32>,
    randoms: Option<ArrayViewD<'_, f32>>,
    scatter: ArrayViewD<'_, f32>,
    attenuation: ArrayViewD<'_, f32>,
    options: &TailFitOptions,
) -> Result<TailFit> {
    let tails = tails_of(
        layout,
        prompts,
        randoms,
        scatter.view(),
        attenuation,
        options,
    )?;
    let (scales, global) = tails.fit(options)?;
    Ok(timed(layout, tails.apply(scales, global), scatter))
}

/// As [`fit_tails`] with the scales of `fit` (per axial position: a fit to another layout of
/// the same scanner, e.g. the data rebinned into one segment) instead of fitted ones.
///
/// TOF layouts as in [`fit_tails`].
///
/// # Errors
/// As [`fit_tails`]; [`Error::InvalidArgument`] when `fit` holds another number of axial
/// positions.
pub fn apply_tail_fit(
    layout: &SinogramLayout,
    prompts: ArrayViewD<'_, f32>,
    randoms: Option<ArrayViewD<'_, f32>>,
    scatter: ArrayViewD<'_, f32>,
    attenuation: ArrayViewD<'_, f32>,
    options: &TailFitOptions,
    fit: &TailFit,
) -> Result<TailFit> {
    let tails = tails_of(
        layout,
        prompts,
        randoms,
        scatter.view(),
        attenuation,
        options,
    )?;
    if fit.scales.len() != tails.positions {
        return Err(Error::InvalidArgument(format!(
            "a tail fit of {} axial positions for a scanner of {}",
            fit.scales.len(),
            tails.positions
        )));
    }
    Ok(timed(
        layout,
        tails.apply(fit.scales.clone(), fit.global_scale),
        scatter,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without the window's efficiency, g integrates over the sphere to 1: the differential
    /// cross-section over the total; k is 1 at θ = 0 and grows as the energy falls.
    #[test]
    fn the_klein_nishina_table_is_normalised() {
        let n = 200_000;
        let sigma = klein_nishina_total(511.0);
        let integral: f64 = (0..n)
            .map(|j| {
                let c = -1.0 + 2.0 * (j as f64 + 0.5) / n as f64;
                klein_nishina_511(c) / sigma * std::f64::consts::TAU * (2.0 / n as f64)
            })
            .sum();
        assert!((integral - 1.0).abs() < 1e-9, "{integral}");
        let open = EnergyWindow::new(0.0, 10_000.0, 0.01).unwrap();
        let table = angular_table(&open);
        assert!((table[TABLE_ENTRIES - 1][1] - 1.0).abs() < 1e-6);
        // Backscattered (170 keV) in water: μ/ρ ≈ 0.145 cm²/g against 0.0969 at 511 keV (NIST
        // XCOM, Compton and photoelectric): 1.50.
        assert!((table[0][1] - 1.50).abs() < 0.03, "{}", table[0][1]);
        // Backscatter (170 keV) lies far below the mMR's window: not counted.
        let mmr = EnergyWindow::new(430.0, 610.0, 0.145).unwrap();
        let t = angular_table(&mmr);
        assert!(t[0][0] == 0.0 && t[TABLE_ENTRIES - 1][0] > 0.0);
        // Skipped from 76° on (cos θ = 0.24), kept up to there.
        let at = |c: f64| t[((c + 1.0) / 2.0 * (TABLE_ENTRIES - 1) as f64).round() as usize][0];
        assert!(at(0.2) == 0.0 && at(0.3) > 0.0, "{} {}", at(0.2), at(0.3));
        assert!(
            (mmr.efficiency(511.0) - 0.993).abs() < 0.005,
            "{}",
            mmr.efficiency(511.0)
        );
    }

    /// The ML scale recovers a known scale with randoms, and is the ratio of sums without.
    #[test]
    fn the_tail_scale_is_the_poisson_ml_estimate() {
        let bins: Vec<(f64, f64, f64)> = (0..50)
            .map(|i| {
                let s = 1.0 + (i % 7) as f64;
                let r = 0.5 + (i % 3) as f64;
                (2.5 * s + r, s, r)
            })
            .collect();
        assert!((ml_scale(&bins).unwrap() - 2.5).abs() < 1e-6);
        let plain = [(3.0, 1.0, 0.0), (5.0, 2.0, 0.0)];
        assert!((ml_scale(&plain).unwrap() - 8.0 / 3.0).abs() < 1e-9);
        assert_eq!(ml_scale(&[(0.0, 1.0, 0.0)]), None);
    }
}
