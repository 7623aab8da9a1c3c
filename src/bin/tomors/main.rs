//! The `tomors` command line: `demo` (the quick start), `fbp` and `osem` on `.npy` data,
//! `info`, `bench`, `dicom info`, `recon-spect` (SPECT-CT from DICOM).

mod dicom;
mod fuse_pet;
mod recon_spect;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use std::f64::consts::PI;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use tomors::phantom::EllipsoidPhantom;
use tomors::{
    Backend, Collimator, DetectorColumns, DetectorShape, FanBeam, Fbp, FilterWindow, Geometry,
    ImageGrid, Osem, ParallelBeam, PlanOptions, Projector, RampFilter, SpectGeometry,
    SpectProjector,
};

#[derive(Parser)]
#[command(
    name = "tomors",
    version,
    about = "Tomographic reconstruction on the GPU and the CPU"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Quick start: Shepp-Logan phantom → exact sinogram → forward projection and FBP on the
    /// best backend → PNG images and a table of timings and errors.
    Demo {
        /// Image size (pixels of 1 mm per side).
        #[arg(long, default_value_t = 512)]
        size: usize,
        /// Number of views over 180°.
        #[arg(long, default_value_t = 720)]
        views: usize,
        /// auto (GPU when present), gpu or cpu.
        #[arg(long, default_value = "auto")]
        backend: String,
        /// Filter window: ram-lak, shepp-logan, cosine, hamming, hann.
        #[arg(long, default_value = "ram-lak")]
        filter: String,
        /// Folder for the PNG images.
        #[arg(long, default_value = "tomors-demo")]
        out: PathBuf,
    },
    /// Filtered back-projection of a `.npy` sinogram `[views, cols]` or stack `[views, rows, cols]`.
    Fbp(FbpArgs),
    /// OSEM of a `.npy` SPECT projection stack `[views, rows, cols]` (counts), with attenuation
    /// and collimator response in the model.
    Osem(OsemArgs),
    /// Lists the GPU adapters wgpu finds, with their limits, and what `auto` would use.
    Info,
    /// DICOM tools.
    #[command(subcommand)]
    Dicom(DicomCommand),
    /// SPECT-CT from DICOM: an NM acquisition and its CT → attenuation-, scatter- and
    /// collimator-corrected OSEM, written as a DICOM series over the CT, NIfTI and a summary PNG.
    ReconSpect(recon_spect::ReconSpectArgs),
    /// A reconstructed PET series over its CT: SUV, placement, fused summary page.
    FusePet(fuse_pet::FusePetArgs),
    /// Times forward projection, adjoint and FBP at the standard sizes on each backend and
    /// prints a table (giga voxel-updates per second = voxels × views / time); `spect` and
    /// `pet` time OSEM of the emission benchmark cases.
    Bench {
        /// Cases: any of 256, 512, 1024, stack (512²×128), spect (128³ OSEM), pet (256² OSEM).
        #[arg(long, default_value = "256,512,1024,stack", value_delimiter = ',')]
        cases: Vec<String>,
        /// Backends: any of cpu, gpu (gpu is skipped when wgpu finds no adapter).
        #[arg(long, default_value = "cpu,gpu", value_delimiter = ',')]
        backends: Vec<String>,
        /// Operations: any of forward, adjoint, fbp.
        #[arg(long, default_value = "forward,adjoint,fbp", value_delimiter = ',')]
        ops: Vec<String>,
        /// Timed runs after one warm-up; the table shows the fastest.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
}

#[derive(Subcommand)]
enum DicomCommand {
    /// Prints what a DICOM folder or file holds: series, modality, sizes and grids; for NM
    /// projections the energy windows, views, angles, radius and collimator.
    Info {
        /// A folder (searched recursively) or a file.
        path: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum GeometryKind {
    Parallel,
    FanFlat,
    FanArc,
}

#[derive(clap::Args)]
struct FbpArgs {
    /// Input projections (.npy, any real dtype; converted to float32).
    input: PathBuf,
    /// Output image (.npy, float32); written atomically, never over the input.
    #[arg(short, long)]
    out: PathBuf,
    /// Also write the middle slice as an 8-bit PNG (min..max window).
    #[arg(long)]
    png: Option<PathBuf>,
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
    #[arg(long, default_value = "ram-lak")]
    filter: String,
    /// Cut-off as a fraction of Nyquist, (0, 1].
    #[arg(long, default_value_t = 1.0)]
    cutoff: f64,
    #[arg(long, default_value = "auto")]
    backend: String,
    /// Largest GPU buffer in MiB; stacks are processed in chunks of slices that fit.
    #[arg(long, default_value_t = tomors::backend::gpu::DEFAULT_MAX_CHUNK_BYTES >> 20)]
    max_chunk_mib: u64,
}

#[derive(clap::Args)]
struct OsemArgs {
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
    #[arg(long, default_value_t = 4)]
    iterations: usize,
    #[arg(long, default_value_t = 8)]
    subsets: usize,
    /// FWHM (mm) of a 3D Gaussian post-filter.
    #[arg(long)]
    post_filter_fwhm: Option<f64>,
    #[arg(long, default_value = "auto")]
    backend: String,
    /// Also write the middle slice as an 8-bit PNG (0..max window).
    #[arg(long)]
    png: Option<PathBuf>,
}

type CliResult<T> = Result<T, String>;

/// Mesa's drivers print "XDG_RUNTIME_DIR is invalid or not set" on every start when it is
/// unset (containers, CI, ssh without a login session). tomors draws nothing on a display, so a
/// private folder serves; it is removed on exit. Returns the folder made, if any.
fn private_runtime_dir() -> Option<std::path::PathBuf> {
    let usable =
        std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_dir());
    if usable {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("tomors-runtime-{}", std::process::id()));
    std::fs::create_dir(&dir).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).ok()?;
    }
    // SAFETY: called first thing in `main`, before any other thread exists.
    unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    Some(dir)
}

fn main() -> ExitCode {
    let runtime_dir = private_runtime_dir();
    let code = run();
    if let Some(dir) = runtime_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    code
}

fn run() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Demo {
            size,
            views,
            backend,
            filter,
            out,
        } => demo(size, views, &backend, &filter, &out),
        Command::Fbp(args) => fbp_command(&args),
        Command::Osem(args) => osem_command(&args),
        Command::Info => {
            info();
            Ok(())
        }
        Command::Dicom(DicomCommand::Info { path }) => dicom::info(&path),
        Command::ReconSpect(args) => recon_spect::run(&args),
        Command::FusePet(args) => fuse_pet::run(&args),
        Command::Bench {
            cases,
            backends,
            ops,
            repeat,
        } => bench(&cases, &backends, &ops, repeat),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn spinner(msg: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("valid template"),
    );
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(100));
    pb
}

fn timed<T>(msg: &str, f: impl FnOnce() -> CliResult<T>) -> CliResult<(T, f64)> {
    let pb = spinner(msg);
    let t = Instant::now();
    let r = f();
    let secs = t.elapsed().as_secs_f64();
    pb.finish_and_clear();
    r.map(|v| (v, secs))
}

fn demo(size: usize, views: usize, backend: &str, filter: &str, out: &Path) -> CliResult<()> {
    let backend: Backend = backend.parse().map_err(err)?;
    let filter = RampFilter::new(filter.parse::<FilterWindow>().map_err(err)?, 1.0).map_err(err)?;
    let grid = ImageGrid::new_2d([size, size], [1.0, 1.0]).map_err(err)?;
    let n_cols = ((size as f64) * std::f64::consts::SQRT_2).ceil() as usize | 1;
    let angles = (0..views).map(|i| i as f64 * PI / views as f64).collect();
    let geometry = ParallelBeam::new(angles, n_cols, 1.0).map_err(err)?;
    let radius = size as f64 / 2.0;
    let phantom = EllipsoidPhantom::shepp_logan(radius);
    let (truth, t_phantom) = timed("rasterising the phantom", || {
        phantom.rasterize(&grid, 4).map_err(err)
    })?;
    let geometry: Geometry = geometry.into();
    let (exact, t_exact) = timed("exact line integrals", || {
        phantom.line_integrals(&geometry, &grid).map_err(err)
    })?;
    let exact = exact.index_axis_move(Axis(1), 0);
    let (projector, t_plan) = timed("planning", || {
        Projector::new(geometry.clone(), grid.clone(), backend).map_err(err)
    })?;
    let truth2 = truth.index_axis(Axis(0), 0).to_owned().into_dyn();
    let (sino, t_fwd) = timed("forward projection", || {
        projector.forward(truth2.view()).map_err(err)
    })?;
    let (plan, t_fbp_plan) = timed("planning FBP", || Fbp::new(&projector, filter).map_err(err))?;
    let (rec, t_fbp) = timed("filtered back-projection", || {
        plan.reconstruct(exact.view()).map_err(err)
    })?;
    let (adj, t_adj) = timed("adjoint", || projector.adjoint(exact.view()).map_err(err))?;
    drop(adj);

    let fwd_err = rel_l2(sino.as_slice().unwrap(), exact.as_slice().unwrap());
    let rmse = rmse_in_circle(&rec, &truth2, &grid);
    std::fs::create_dir_all(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    write_png(&out.join("phantom.png"), truth2.view(), 0.0, 0.5)?;
    write_png(&out.join("sinogram.png"), exact.view(), 0.0, max(&exact))?;
    write_png(&out.join("fbp.png"), rec.view(), 0.0, 0.5)?;
    let diff = (&rec - &truth2).mapv(|v| v + 0.05);
    write_png(&out.join("fbp_error.png"), diff.view(), 0.0, 0.1)?;

    let gvox = (size * size * views) as f64 / 1e9;
    println!(
        "tomors demo: {size}×{size} modified Shepp-Logan (1 mm pixels), {views} views over 180°, {n_cols} bins of 1 mm"
    );
    println!("backend: {}\n", projector.backend());
    println!(
        "| step                       | time (s) | GVox-updates/s | accuracy                               |"
    );
    println!(
        "|----------------------------|---------:|---------------:|----------------------------------------|"
    );
    println!(
        "| phantom (4×4 supersampled) | {t_phantom:8.3} |                |                                        |"
    );
    println!(
        "| exact line integrals       | {t_exact:8.3} |                |                                        |"
    );
    println!(
        "| plan projector             | {t_plan:8.3} |                |                                        |"
    );
    println!(
        "| forward projection         | {t_fwd:8.3} | {:14.2} | rel. L2 vs exact {fwd_err:<21.4} |",
        gvox / t_fwd
    );
    println!(
        "| adjoint                    | {t_adj:8.3} | {:14.2} |                                        |",
        gvox / t_adj
    );
    println!(
        "| {:<26} | {t_fbp_plan:8.3} |                |                                        |",
        format!("plan FBP ({})", filter.window)
    );
    println!(
        "| FBP                        | {t_fbp:8.3} | {:14.2} | RMSE in circle {rmse:<23.4} |",
        gvox / t_fbp
    );
    println!(
        "\nimages: {}/{{phantom,sinogram,fbp,fbp_error}}.png (error shown ±0.05 around mid-grey)",
        out.display()
    );
    Ok(())
}

fn max(a: &ArrayD<f32>) -> f32 {
    a.iter().cloned().fold(f32::MIN, f32::max)
}

fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum();
    let den: f64 = b.iter().map(|&y| (y as f64).powi(2)).sum();
    (num / den).sqrt()
}

fn rmse_in_circle(rec: &ArrayD<f32>, truth: &ArrayD<f32>, grid: &ImageGrid) -> f64 {
    let [_, dy, dx] = grid.spacing();
    let [_, oy, ox] = grid.origin();
    let r = grid.inscribed_radius();
    let (mut sum, mut n) = (0.0, 0usize);
    for ((i, &a), &b) in rec.indexed_iter().zip(truth.iter()) {
        let (x, y) = (ox + i[1] as f64 * dx, oy + i[0] as f64 * dy);
        if x.hypot(y) <= r {
            sum += (a as f64 - b as f64).powi(2);
            n += 1;
        }
    }
    (sum / n as f64).sqrt()
}

/// Writes `path` atomically ([`tomors::io::write_atomically`]) through a buffered writer.
fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> CliResult<()>,
) -> CliResult<()> {
    tomors::io::write_atomically(path, |tmp| {
        let io = |source| tomors::Error::Io {
            path: tmp.to_path_buf(),
            source,
        };
        let mut w = std::io::BufWriter::new(std::fs::File::create(tmp).map_err(io)?);
        write(&mut w).map_err(|e| io(std::io::Error::other(e)))?;
        w.flush().map_err(io)
    })
    .map_err(|e| e.to_string())
}

/// An 8-bit greyscale PNG of a 2D array, `lo..hi` mapped to black..white.
fn write_png(path: &Path, a: ArrayViewD<'_, f32>, lo: f32, hi: f32) -> CliResult<()> {
    let (h, w) = (a.shape()[0], a.shape()[1]);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let pixels: Vec<u8> = a
        .iter()
        .map(|&v| (((v - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    write_atomic(path, |w_| {
        let mut enc = png::Encoder::new(w_, w as u32, h as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(&pixels).map_err(err)
    })
}

fn read_npy_f32(path: &Path) -> CliResult<ArrayD<f32>> {
    let open = || std::fs::File::open(path).map_err(|e| format!("opening {}: {e}", path.display()));
    if let Ok(a) = ArrayD::<f32>::read_npy(open()?) {
        return Ok(a);
    }
    if let Ok(a) = ArrayD::<f64>::read_npy(open()?) {
        return Ok(a.mapv(|v| v as f32));
    }
    if let Ok(a) = ArrayD::<i32>::read_npy(open()?) {
        return Ok(a.mapv(|v| v as f32));
    }
    ArrayD::<i16>::read_npy(open()?)
        .map(|a| a.mapv(|v| v as f32))
        .map_err(|e| {
            format!(
                "{}: not a float32/float64/int32/int16 .npy array in C order ({e})",
                path.display()
            )
        })
}

fn fbp_command(a: &FbpArgs) -> CliResult<()> {
    check_output(&a.out, &[&a.input])?;
    let data = read_npy_f32(&a.input)?;
    let (views, rows, cols) = match *data.shape() {
        [v, c] => (v, 1, c),
        [v, r, c] => (v, r, c),
        ref s => {
            return Err(format!(
                "{}: shape {s:?}; expected [views, cols] or [views, rows, cols]",
                a.input.display()
            ));
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
    let backend: Backend = a.backend.parse().map_err(err)?;
    let filter =
        RampFilter::new(a.filter.parse::<FilterWindow>().map_err(err)?, a.cutoff).map_err(err)?;
    let options = PlanOptions {
        backend,
        max_chunk_bytes: a.max_chunk_mib << 20,
    };
    let projector = Projector::with_options(geometry, grid, options).map_err(err)?;
    let plan = Fbp::new(&projector, filter).map_err(err)?;
    eprintln!(
        "FBP of {} ({views} views × {rows} rows × {cols} cols) on {}",
        a.input.display(),
        projector.backend()
    );
    if plan.device_bytes() > 0 {
        eprintln!(
            "GPU chunks of {} slices; the FBP plan holds {:.1} MiB of device memory",
            projector.chunk_slices(),
            plan.device_bytes() as f64 / (1 << 20) as f64
        );
    }
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

/// Refuses an output path that is one of the inputs.
fn check_output(out: &Path, inputs: &[&Path]) -> CliResult<()> {
    let out = std::fs::canonicalize(out).ok();
    for input in inputs {
        let input =
            std::fs::canonicalize(input).map_err(|e| format!("{}: {e}", input.display()))?;
        if out.as_ref() == Some(&input) {
            return Err(format!(
                "--out {} is an input file; refusing to overwrite it",
                input.display()
            ));
        }
    }
    Ok(())
}

fn osem_command(a: &OsemArgs) -> CliResult<()> {
    let mut inputs = vec![a.input.as_path()];
    inputs.extend(
        [&a.mu, &a.background, &a.orbit]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path),
    );
    check_output(&a.out, &inputs)?;
    let data = read_npy_f32(&a.input)?;
    let [views, rows, cols] = *data.shape() else {
        return Err(format!(
            "{}: shape {:?}; expected [views, rows, cols]",
            a.input.display(),
            data.shape()
        ));
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
    if a.collimator != "none" {
        geometry = geometry.with_collimator(Collimator::preset(&a.collimator).map_err(err)?);
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
    let backend: Backend = a.backend.parse().map_err(err)?;
    let projector = SpectProjector::new(geometry, grid, mu3, backend).map_err(err)?;
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

fn bench(cases: &[String], backends: &[String], ops: &[String], repeat: usize) -> CliResult<()> {
    use tomors::bench::BenchCase;
    let mut chosen = Vec::new();
    let (mut spect, mut pet) = (false, false);
    for c in cases {
        if c == "spect" || c == "pet" {
            spect |= c == "spect";
            pet |= c == "pet";
            continue;
        }
        chosen.push(
            match c.as_str() {
                "256" => BenchCase::new(256, 1, 360),
                "512" => BenchCase::new(512, 1, 720),
                "1024" => BenchCase::new(1024, 1, 1440),
                "stack" => BenchCase::new(512, 128, 720),
                other => {
                    return Err(format!(
                        "unknown case {other:?}; expected 256, 512, 1024, stack, spect or pet"
                    ));
                }
            }
            .map_err(err)?,
        );
    }
    for op in ops {
        if !["forward", "adjoint", "fbp"].contains(&op.as_str()) {
            return Err(format!(
                "unknown operation {op:?}; expected forward, adjoint or fbp"
            ));
        }
    }
    let mut list = Vec::new();
    for b in backends {
        match b.parse::<Backend>().map_err(err)? {
            Backend::Gpu if tomors::backend::gpu::GpuContext::shared().is_err() => {
                eprintln!("no GPU adapter: skipping the GPU")
            }
            Backend::Auto => return Err("name backends explicitly: cpu, gpu".into()),
            backend => list.push(backend),
        }
    }
    println!("| case | views | backend | operation | time (s) | GVox-updates/s |");
    println!("|---|---:|---|---|---:|---:|");
    for case in &chosen {
        let (image, data) = case.inputs().map_err(err)?;
        for &backend in &list {
            let p =
                Projector::new(case.geometry.clone(), case.grid.clone(), backend).map_err(err)?;
            let fbp = Fbp::new(&p, RampFilter::default()).map_err(err)?;
            for op in ops {
                let run = || -> CliResult<()> {
                    match op.as_str() {
                        "forward" => p.forward(image.view()).map(drop),
                        "adjoint" => p.adjoint(data.view()).map(drop),
                        _ => fbp.reconstruct(data.view()).map(drop),
                    }
                    .map_err(err)
                };
                let pb = spinner(&format!("{} {op} on {}", case.name, p.backend()));
                run()?;
                let mut best = f64::INFINITY;
                for _ in 0..repeat.max(1) {
                    let t = Instant::now();
                    run()?;
                    best = best.min(t.elapsed().as_secs_f64());
                }
                pb.finish_and_clear();
                println!(
                    "| {} | {} | {} | {op} | {best:.4} | {:.2} |",
                    case.name,
                    case.geometry.n_views(),
                    p.backend(),
                    case.voxel_updates() / best / 1e9
                );
            }
        }
    }
    if spect || pet {
        println!();
        println!("| case | backend | operation | time (s) | plan memory (MiB) |");
        println!("|---|---|---|---:|---:|");
    }
    if spect {
        bench_spect(&list, repeat)?;
    }
    if pet {
        bench_pet(&list, repeat)?;
    }
    Ok(())
}

/// Best of `repeat` runs of OSEM, with the plan's memory from its last iteration.
fn time_osem(
    model: &impl tomors::SystemModel,
    data: ndarray::ArrayViewD<'_, f32>,
    settings: &Osem<'_>,
    repeat: usize,
    label: &str,
) -> CliResult<(f64, f64)> {
    let mut best = f64::INFINITY;
    let mut bytes = 0;
    for _ in 0..repeat.max(1) {
        let pb = spinner(label);
        let t = Instant::now();
        settings
            .run_with(
                model,
                data.view(),
                Some(&mut |r: &tomors::recon::IterationReport<'_>| {
                    bytes = r.plan_bytes;
                    true
                }),
            )
            .map_err(err)?;
        best = best.min(t.elapsed().as_secs_f64());
        pb.finish_and_clear();
    }
    Ok((best, bytes as f64 / (1 << 20) as f64))
}

/// OSEM 4 iterations × 12 subsets of the PET 2D case (256², 256 views, attenuation) per backend.
fn bench_pet(backends: &[Backend], repeat: usize) -> CliResult<()> {
    let case = tomors::bench::PetBenchCase::new(256, 256).map_err(err)?;
    for &backend in backends {
        let p = tomors::PetProjector::new(
            case.geometry.clone(),
            case.grid.clone(),
            Some(case.mu.view()),
            None,
            backend,
        )
        .map_err(err)?;
        let data = p.forward(case.activity.view()).map_err(err)?;
        let (t, mib) = time_osem(
            &p,
            data.view(),
            &Osem::new(4, 12),
            repeat,
            &format!("PET OSEM 4×12 on {}", p.backend()),
        )?;
        println!(
            "| PET 2D 256² × 256 views, μ | {} | OSEM 4 it × 12 subsets | {t:.3} | {mib:.1} |",
            p.backend()
        );
    }
    Ok(())
}

/// OSEM 4 iterations × 8 subsets of the SPECT case (128³, 120 views, attenuation and LEHR
/// response) per backend: time, and the plan's memory.
fn bench_spect(backends: &[Backend], repeat: usize) -> CliResult<()> {
    let case = tomors::bench::SpectBenchCase::new(128, 120).map_err(err)?;
    for &backend in backends {
        let p = SpectProjector::new(
            case.geometry.clone(),
            case.grid.clone(),
            Some(case.mu.view()),
            backend,
        )
        .map_err(err)?;
        let pb = spinner(&format!("SPECT data on {}", p.backend()));
        let data = p.forward(case.activity.view().into_dyn()).map_err(err)?;
        pb.finish_and_clear();
        let (best, osem_mib) = time_osem(
            &p,
            data.view(),
            &Osem::new(4, 8),
            repeat,
            &format!("SPECT OSEM 4×8 on {}", p.backend()),
        )?;
        let t = Instant::now();
        p.forward(case.activity.view().into_dyn()).map_err(err)?;
        let t_forward = t.elapsed().as_secs_f64();
        let t = Instant::now();
        p.adjoint(data.view()).map_err(err)?;
        let t_adjoint = t.elapsed().as_secs_f64();
        let mib = p.memory_bytes() as f64 / (1 << 20) as f64;
        println!(
            "| SPECT 128³ × 120 views, μ + LEHR | {} | OSEM 4 it × 8 subsets | {best:.3} | {osem_mib:.1} |",
            p.backend()
        );
        println!(
            "| SPECT 128³ × 120 views, μ + LEHR | {} | forward (all views) | {t_forward:.3} | {mib:.1} |",
            p.backend()
        );
        println!(
            "| SPECT 128³ × 120 views, μ + LEHR | {} | adjoint (all views) | {t_adjoint:.3} | {mib:.1} |",
            p.backend()
        );
    }
    Ok(())
}

fn info() {
    let adapters = tomors::backend::gpu::GpuContext::adapters();
    if adapters.is_empty() {
        println!("no wgpu adapter found: every plan runs on the CPU");
    }
    for a in &adapters {
        println!("{} [{} / {}]", a.name, a.backend, a.device_type);
        println!(
            "  max storage binding {:>8} MiB, max buffer {:>8} MiB",
            a.max_storage_binding >> 20,
            a.max_buffer >> 20
        );
        println!(
            "  max workgroups/dim {:>8}, max invocations/workgroup {}",
            a.max_workgroups_per_dim, a.max_invocations
        );
    }
    let grid = ImageGrid::new_2d([4, 4], [1.0, 1.0]).expect("valid grid");
    let geometry = ParallelBeam::new(vec![0.0], 6, 1.0).expect("valid geometry");
    match Projector::new(geometry, grid, Backend::Auto) {
        Ok(p) => println!("backend=auto uses: {}", p.backend()),
        Err(e) => println!("backend=auto failed: {e}"),
    }
}
