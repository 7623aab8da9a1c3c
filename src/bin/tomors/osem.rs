//! `tomors osem`: SPECT OSEM of a `.npy` projection stack.

use super::common::{CliResult, check_output, err, read_npy_f32, write_atomic, write_png};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Axis;
use ndarray_npy::WriteNpyExt;
use std::path::PathBuf;
use std::time::Instant;
use tomors::{Backend, Collimator, ImageGrid, Osem, SpectGeometry, SpectProjector};

#[derive(clap::Args)]
pub struct OsemArgs {
    /// Projections `[views, rows, cols]` (.npy counts, any real dtype; converted to float32).
    input: PathBuf,
    /// Output image `[rows, cols, cols]` (.npy, float32); written atomically, never over an input.
    #[arg(short, long)]
    out: PathBuf,
    /// μ-map `[rows, cols, cols]` (.npy, 1/mm) on the reconstruction grid; none: no attenuation.
    #[arg(long)]
    mu: Option<PathBuf>,
    /// Additive background (scatter) `[views, rows, cols]` (.npy counts).
    #[arg(long)]
    background: Option<PathBuf>,
    /// Radius of rotation, mm (axis to collimator face).
    #[arg(long, conflicts_with = "orbit")]
    radius: Option<f64>,
    /// Radius of rotation per view (.npy of `views` values, mm) for non-circular orbits.
    #[arg(long)]
    orbit: Option<PathBuf>,
    /// Angle of the first view, degrees.
    #[arg(long, default_value_t = 0.0)]
    start_deg: f64,
    /// Arc covered by the views (uniformly spaced), degrees.
    #[arg(long, default_value_t = 360.0)]
    span_deg: f64,
    /// Detector bin size = image pixel size, mm.
    #[arg(long)]
    pixel: f64,
    /// Slice thickness = detector row spacing, mm (default: the pixel size).
    #[arg(long)]
    slice: Option<f64>,
    /// Collimator response: none, lehr, legp, megp or hegp.
    #[arg(long, default_value = "none")]
    collimator: String,
    /// OSEM iterations (passes over all subsets).
    #[arg(long, default_value_t = 4)]
    iterations: usize,
    /// Ordered subsets per iteration: interleaved views, 1 to the number of views.
    #[arg(long, default_value_t = 8)]
    subsets: usize,
    /// FWHM (mm) of a 3D Gaussian post-filter.
    #[arg(long)]
    post_filter_fwhm: Option<f64>,
    /// auto (GPU when present), gpu or cpu.
    #[arg(long, default_value = "auto")]
    backend: Backend,
    /// Also write the middle slice as an 8-bit PNG (0..max window).
    #[arg(long)]
    png: Option<PathBuf>,
}

pub fn run(a: &OsemArgs) -> CliResult<()> {
    let mut inputs = vec![a.input.as_path()];
    inputs.extend(
        [&a.mu, &a.background, &a.orbit]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path),
    );
    check_output("--out", &a.out, &inputs)?;
    if let Some(png) = &a.png {
        check_output("--png", png, &inputs)?;
    }
    let collimator = match a.collimator.as_str() {
        "none" => None,
        name => Some(Collimator::preset(name).map_err(err)?),
    };
    let data = read_npy_f32(&a.input)?;
    if data.iter().all(|&v| v == 0.0) {
        eprintln!(
            "warning: {} holds no counts (every value 0): the reconstruction is 0",
            a.input.display()
        );
    }
    let [views, rows, cols] = *data.shape() else {
        return Err(format!(
            "{}: shape {:?}; expected [views, rows, cols]",
            a.input.display(),
            data.shape()
        )
        .into());
    };
    let angles: Vec<f64> = (0..views)
        .map(|i| (a.start_deg + i as f64 * a.span_deg / views as f64).to_radians())
        .collect();
    let radii: Vec<f64> = match (&a.orbit, a.radius) {
        (Some(path), _) => read_npy_f32(path)?.iter().map(|&r| r as f64).collect(),
        (None, Some(r)) => vec![r; views],
        (None, None) => {
            return Err("give the radius of rotation: --radius MM or --orbit radii.npy".into());
        }
    };
    let mut geometry = SpectGeometry::with_orbit(angles, radii, cols, a.pixel).map_err(err)?;
    if let Some(c) = collimator {
        geometry = geometry.with_collimator(c);
    }
    let grid = ImageGrid::new_3d(
        [rows, cols, cols],
        [a.slice.unwrap_or(a.pixel), a.pixel, a.pixel],
    )
    .map_err(err)?;
    let mu = a.mu.as_ref().map(|p| read_npy_f32(p)).transpose()?;
    let mu3 = match &mu {
        Some(m) => Some(
            m.view()
                .into_dimensionality::<ndarray::Ix3>()
                .map_err(|_| {
                    format!(
                        "the μ-map has shape {:?}; expected [{rows}, {cols}, {cols}]",
                        m.shape()
                    )
                })?,
        ),
        None => None,
    };
    let background = a.background.as_ref().map(|p| read_npy_f32(p)).transpose()?;
    let projector = SpectProjector::new(geometry, grid, mu3, a.backend).map_err(err)?;
    eprintln!(
        "OSEM {} iterations × {} subsets of {} ({views} views × {rows} rows × {cols} cols) on {}{}{}",
        a.iterations,
        a.subsets,
        a.input.display(),
        projector.backend(),
        if mu.is_some() { ", attenuation" } else { "" },
        if a.collimator != "none" {
            format!(", {} response", a.collimator)
        } else {
            String::new()
        },
    );
    let settings = Osem {
        background: background.as_ref().map(|b| b.view()),
        post_filter_fwhm: a.post_filter_fwhm,
        ..Osem::new(a.iterations, a.subsets)
    };
    let pb = ProgressBar::new(a.iterations as u64);
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} iterations [{elapsed} < {eta}]")
            .expect("valid template"),
    );
    let t = Instant::now();
    let mut plan_bytes = 0;
    let mut progress = |r: &tomors::recon::IterationReport<'_>| {
        pb.set_position(r.iteration as u64);
        plan_bytes = r.plan_bytes;
        true
    };
    let image = settings
        .run_with(&projector, data.view(), Some(&mut progress))
        .map_err(err)?;
    pb.finish_and_clear();
    eprintln!(
        "reconstructed in {:.3} s; the plan held {:.1} MiB of {} memory",
        t.elapsed().as_secs_f64(),
        plan_bytes as f64 / (1 << 20) as f64,
        if projector.backend().kind() == "gpu" {
            "device"
        } else {
            "host"
        }
    );
    write_atomic(&a.out, |w| image.write_npy(w).map_err(err))?;
    if let Some(png) = &a.png {
        let mid = image.index_axis(Axis(0), rows / 2);
        let hi = mid.iter().cloned().fold(0.0, f32::max);
        write_png(png, mid.into_dyn(), 0.0, hi)?;
    }
    Ok(())
}
