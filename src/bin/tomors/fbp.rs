//! `tomors fbp`: filtered back-projection of a `.npy` sinogram or stack.

use super::common::{CliResult, check_output, err, read_npy_f32, write_atomic, write_png};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{ArrayD, Axis, IxDyn};
use ndarray_npy::WriteNpyExt;
use std::path::PathBuf;
use std::time::Instant;
use tomors::{
    Backend, DetectorColumns, DetectorShape, FanBeam, Fbp, FilterWindow, Geometry, ImageGrid,
    ParallelBeam, PlanOptions, Projector, RampFilter,
};

#[derive(Clone, Copy, ValueEnum)]
enum GeometryKind {
    Parallel,
    FanFlat,
    FanArc,
}

#[derive(clap::Args)]
pub struct FbpArgs {
    /// Input projections (.npy, any real dtype; converted to float32).
    input: PathBuf,
    /// Output image (.npy, float32); written atomically, never over the input.
    #[arg(short, long)]
    out: PathBuf,
    /// Also write the middle slice as an 8-bit PNG (min..max window).
    #[arg(long)]
    png: Option<PathBuf>,
    /// Parallel beam, or a fan beam onto a flat or an arc (equiangular) detector.
    #[arg(long, value_enum, default_value = "parallel")]
    geometry: GeometryKind,
    /// Angle of the first view, degrees.
    #[arg(long, default_value_t = 0.0)]
    start_deg: f64,
    /// Arc covered by the views (uniformly spaced, last view one step short of it), degrees.
    #[arg(long)]
    span_deg: Option<f64>,
    /// Detector column spacing, mm (arc length for fan-arc).
    #[arg(long, default_value_t = 1.0)]
    col_spacing: f64,
    /// Detector shift along u, mm.
    #[arg(long, default_value_t = 0.0)]
    col_offset: f64,
    /// Fan beam: source to rotation axis, mm.
    #[arg(long)]
    source_to_center: Option<f64>,
    /// Fan beam: source to detector, mm.
    #[arg(long)]
    source_to_detector: Option<f64>,
    /// Image pixels per side (default: the number of detector columns).
    #[arg(long)]
    size: Option<usize>,
    /// Pixel size, mm.
    #[arg(long, default_value_t = 1.0)]
    pixel: f64,
    /// Slice spacing for stacks, mm (also the detector row spacing).
    #[arg(long, default_value_t = 1.0)]
    slice: f64,
    /// Filter window: ram-lak, shepp-logan, cosine, hamming or hann.
    #[arg(long, default_value = "ram-lak")]
    filter: FilterWindow,
    /// Cut-off as a fraction of Nyquist, (0, 1].
    #[arg(long, default_value_t = 1.0)]
    cutoff: f64,
    /// auto (GPU when present), gpu or cpu.
    #[arg(long, default_value = "auto")]
    backend: Backend,
    /// Largest chunk buffer in MiB (either backend); stacks are processed in chunks of slices that fit.
    #[arg(long, default_value_t = tomors::projector::DEFAULT_MAX_CHUNK_BYTES >> 20)]
    max_chunk_mib: u64,
}

pub fn run(a: &FbpArgs) -> CliResult<()> {
    let filter = RampFilter::new(a.filter, a.cutoff).map_err(err)?;
    check_output("--out", &a.out, &[&a.input])?;
    if let Some(png) = &a.png {
        check_output("--png", png, &[&a.input])?;
    }
    let data = read_npy_f32(&a.input)?;
    let (views, rows, cols) = match *data.shape() {
        [v, c] => (v, 1, c),
        [v, r, c] => (v, r, c),
        ref s => {
            return Err(format!(
                "{}: shape {s:?}; expected [views, cols] or [views, rows, cols]",
                a.input.display()
            )
            .into());
        }
    };
    let default_span = match a.geometry {
        GeometryKind::Parallel => 180.0,
        _ => 360.0,
    };
    let span = a.span_deg.unwrap_or(default_span).to_radians();
    let angles: Vec<f64> = (0..views)
        .map(|i| a.start_deg.to_radians() + i as f64 * span / views as f64)
        .collect();
    let columns = DetectorColumns {
        n_cols: cols,
        spacing: a.col_spacing,
        offset: a.col_offset,
    };
    let geometry: Geometry = match a.geometry {
        GeometryKind::Parallel => ParallelBeam::with_detector(angles, columns, rows, a.slice)
            .map_err(err)?
            .into(),
        kind => {
            let dso = a
                .source_to_center
                .ok_or("fan beams need --source-to-center (mm)")?;
            let dsd = a
                .source_to_detector
                .ok_or("fan beams need --source-to-detector (mm)")?;
            let shape = if matches!(kind, GeometryKind::FanArc) {
                DetectorShape::Arc
            } else {
                DetectorShape::Flat
            };
            FanBeam::with_rows(angles, columns, rows, a.slice, dso, dsd, shape)
                .map_err(err)?
                .into()
        }
    };
    let n = a.size.unwrap_or(cols);
    let grid = if data.ndim() == 2 {
        ImageGrid::new_2d([n, n], [a.pixel, a.pixel])
    } else {
        ImageGrid::new_3d([rows, n, n], [a.slice, a.pixel, a.pixel])
    }
    .map_err(err)?;
    let options = PlanOptions {
        backend: a.backend,
        max_chunk_bytes: a.max_chunk_mib << 20,
    };
    let projector = Projector::with_options(geometry, grid, options).map_err(err)?;
    let plan = Fbp::new(&projector, filter).map_err(err)?;
    eprintln!(
        "FBP of {} ({views} views × {rows} rows × {cols} cols) on {}",
        a.input.display(),
        projector.backend()
    );
    eprintln!(
        "chunks of {} slices; the FBP plan holds {:.1} MiB",
        projector.chunk_slices(),
        plan.device_bytes() as f64 / (1 << 20) as f64
    );
    let pb = ProgressBar::new(rows as u64);
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} slices [{elapsed} < {eta}]")
            .expect("valid template"),
    );
    let mut image = ArrayD::<f32>::zeros(IxDyn(&projector.image_shape()));
    let t = Instant::now();
    plan.reconstruct_with_progress(data.view(), image.view_mut(), &mut |done, _| {
        pb.set_position(done as u64)
    })
    .map_err(err)?;
    pb.finish_and_clear();
    eprintln!("reconstructed in {:.3} s", t.elapsed().as_secs_f64());
    write_atomic(&a.out, |w| image.write_npy(w).map_err(err))?;
    if let Some(png) = &a.png {
        let mid = if image.ndim() == 3 {
            image.index_axis(Axis(0), rows / 2).into_dyn()
        } else {
            image.view()
        };
        let lo = mid.iter().cloned().fold(f32::MAX, f32::min);
        let hi = mid.iter().cloned().fold(f32::MIN, f32::max);
        write_png(png, mid, lo, hi)?;
    }
    Ok(())
}
