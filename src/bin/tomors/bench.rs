//! `tomors bench`: timings of the standard cases on each backend, as one Markdown table, and
//! with `--json FILE` as a machine-readable document for benchmark harnesses and dashboards.
//!
//! # The JSON document (`"schema": 1`; keys are stable, new ones may be added)
//! - `schema` (1), `tomors` (the crate's version), `unix_time` (seconds, when the run began),
//!   `command` (the arguments).
//! - `machine`: `os`, `arch`, `cpu` (model name, or null), `threads` (rayon's),
//!   `memory_bytes` (or null).
//! - `adapters`: what wgpu finds, each `name`, `api` (Vulkan, Metal, …), `device_type`.
//! - `results`: one object per case × backend × operation:
//!   - `case` (a stable id: `parallel-256`, `parallel-512`, `parallel-1024`,
//!     `parallel-512x128`, `spect-nema-128`, `pet2d-nema-256`, `pet3d-mmr-span11`,
//!     `pet3d-mmr-span1`, `pet3d-tof`, `pet3d-mmr-listmode`, `pet3d-mmr-8-rings`,
//!     `pet3d-mmr-8-rings-tof`, `pet3d-mmr-sss`, `pet3d-mmr-tof-sss`, `cbct-256`,
//!     `cbct-512`) and
//!     `description`;
//!   - `backend` (`cpu` or `gpu`) and `device` (threads, or the adapter);
//!   - `operation`: `forward`, `adjoint`, `fbp`, `fdk`, `osem`, `lm-osem`,
//!     `single-scatter`;
//!   - `image` and `data`: the array shapes (`[z, y, x]`, `[views, rows, cols]`, …);
//!   - `repeat`, `seconds` (the fastest of `repeat` timed runs after a warm-up, end to end:
//!     uploads and downloads included), `kernel_seconds` (the shaders alone, by wgpu timestamp
//!     queries; null on the CPU or where the adapter cannot time passes) and `kernel_stages`
//!     (the same per stage: `stage`, `passes`, `seconds`; null likewise);
//!   - `iterations`, `subsets`, `seconds_per_iteration` (iterative operations; else null);
//!   - `gvoxel_updates_per_second`: voxels × views (× iterations) / seconds, 10⁹ per second;
//!     null where not defined (list mode);
//!   - `plan_memory_bytes`: backend memory held by the plan (emission cases; else null);
//!   - `accuracy`: against the analytic truth, or null (adjoints): `reference` (what was
//!     compared), `relative_l2` (‖result − truth‖ / ‖truth‖), `rmse` (in the result's units),
//!     and for the SPECT NEMA case `sphere_recovery` (mean recovery of the 10–37 mm spheres)
//!     and `background_recovery`.

use super::common::{CliResult, err, spinner};
use ndarray::ArrayD;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;
use tomors::backend::KernelTimes;
use tomors::{Backend, Fbp, Osem, Projector, RampFilter, SpectProjector};

/// Which cases, backends and operations to time.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Cases: any of 256, 512, 1024, stack (512²×128), spect (128³ OSEM), pet (256² OSEM),
    /// mmr11, mmr1 (3D PET on the mMR, span 11 or 1), tof (generic TOF scanner), lm (list-mode
    /// OSEM per million mMR events), mmr8 and mmr8tof (8 mMR rings, span 1, 344² × 15: the
    /// comparison with parallelproj), sss (single scatter simulation of the NEMA phantom in
    /// the mMR's span-11 layout), ssstof (the same with 13 TOF bins), cbct256 (256³ from 360 × 512²), cbct512 (512³ from
    /// 512 × 512²); for cone beam, fbp is FDK.
    #[arg(
        long,
        default_value = "256,512,1024,stack",
        value_delimiter = ',',
        value_parser = ["256", "512", "1024", "stack", "spect", "pet", "mmr11", "mmr1", "tof", "lm", "mmr8", "mmr8tof", "sss", "ssstof", "cbct256", "cbct512"]
    )]
    cases: Vec<String>,
    /// Backends: any of cpu, gpu (gpu is skipped when wgpu finds no adapter).
    #[arg(long, default_value = "cpu,gpu", value_delimiter = ',', value_parser = ["cpu", "gpu"])]
    backends: Vec<String>,
    /// Operations: any of forward, adjoint, fbp.
    #[arg(
        long,
        default_value = "forward,adjoint,fbp",
        value_delimiter = ',',
        value_parser = ["forward", "adjoint", "fbp"]
    )]
    ops: Vec<String>,
    /// Timed runs after one warm-up; the table shows the fastest.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Cone beam: largest buffer in MiB for the projector pair and FDK (smaller volumes and
    /// projections go through slabs and chunks that fit); default: the device's binding limit
    /// for the pair, 256 MiB for FDK.
    #[arg(long)]
    max_buffer_mib: Option<u64>,
    /// Also write the results as JSON (schema in `tomors bench --help`'s module docs and the
    /// README), atomically.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// Accuracy against the analytic truth.
#[derive(Serialize, Default)]
struct Accuracy {
    reference: &'static str,
    relative_l2: f64,
    rmse: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sphere_recovery: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    background_recovery: Option<f64>,
}

impl Accuracy {
    fn of(reference: &'static str, result: &ArrayD<f32>, truth: &ArrayD<f32>) -> Self {
        let (mut d2, mut t2) = (0.0f64, 0.0f64);
        for (&r, &t) in result.iter().zip(truth.iter()) {
            d2 += (r as f64 - t as f64).powi(2);
            t2 += (t as f64).powi(2);
        }
        Accuracy {
            reference,
            relative_l2: (d2 / t2).sqrt(),
            rmse: (d2 / truth.len().max(1) as f64).sqrt(),
            ..Default::default()
        }
    }
}

/// Device time of one stage's passes in a timed run.
#[derive(Serialize)]
struct StageSeconds {
    stage: &'static str,
    passes: u64,
    seconds: f64,
}

/// One measurement: a row of the table and a result of the JSON document.
#[derive(Serialize)]
struct Row {
    case: &'static str,
    description: String,
    backend: &'static str,
    device: String,
    operation: &'static str,
    image: Vec<usize>,
    data: Vec<usize>,
    repeat: usize,
    seconds: f64,
    kernel_seconds: Option<f64>,
    kernel_stages: Option<Vec<StageSeconds>>,
    iterations: Option<usize>,
    subsets: Option<usize>,
    seconds_per_iteration: Option<f64>,
    gvoxel_updates_per_second: Option<f64>,
    plan_memory_bytes: Option<u64>,
    accuracy: Option<Accuracy>,
}

impl Row {
    /// One application of an operator: `updates` voxel updates (`None`: not defined) in
    /// `seconds`.
    fn single(
        case: &'static str,
        description: String,
        device: &tomors::ActiveBackend,
        operation: &'static str,
        (image, data): (Vec<usize>, Vec<usize>),
        (repeat, seconds, kernel): (usize, f64, Option<KernelTimes>),
        updates: Option<f64>,
    ) -> Row {
        Row {
            case,
            description,
            backend: kind(device),
            device: device.to_string(),
            operation,
            image,
            data,
            repeat,
            seconds,
            kernel_seconds: kernel.as_ref().map(KernelTimes::total),
            kernel_stages: kernel.map(|k| {
                k.stages
                    .iter()
                    .map(|s| StageSeconds {
                        stage: s.stage,
                        passes: s.passes,
                        seconds: s.seconds,
                    })
                    .collect()
            }),
            iterations: None,
            subsets: None,
            seconds_per_iteration: None,
            gvoxel_updates_per_second: updates.map(|u| u / seconds / 1e9),
            plan_memory_bytes: None,
            accuracy: None,
        }
    }
}

/// The rows so far; each is printed as it comes.
struct Rows(Vec<Row>);

impl Rows {
    fn header() {
        println!(
            "| case | backend | operation | time (s) | per iteration (s) | GVox-updates/s | plan (MiB) | kernel (s) | rel. L2 to truth |"
        );
        println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
    }

    fn push(&mut self, r: Row) {
        let opt =
            |v: Option<f64>, digits: usize| v.map_or(String::new(), |v| format!("{v:.digits$}"));
        println!(
            "| {} | {} | {} | {:.4} | {} | {} | {} | {} | {} |",
            r.description,
            r.device,
            r.operation,
            r.seconds,
            opt(r.seconds_per_iteration, 4),
            opt(r.gvoxel_updates_per_second, 2),
            opt(r.plan_memory_bytes.map(|b| b as f64 / (1 << 20) as f64), 1),
            opt(r.kernel_seconds, 4),
            opt(r.accuracy.as_ref().map(|a| a.relative_l2), 4),
        );
        self.0.push(r);
    }
}

fn kind(b: &tomors::ActiveBackend) -> &'static str {
    match b {
        tomors::ActiveBackend::Cpu => "cpu",
        _ => "gpu",
    }
}

pub fn run(a: &BenchArgs) -> CliResult<()> {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (cases, ops, repeat) = (&a.cases, &a.ops, a.repeat);
    for op in ops {
        if !["forward", "adjoint", "fbp"].contains(&op.as_str()) {
            return Err(
                format!("unknown operation {op:?}; expected forward, adjoint or fbp").into(),
            );
        }
    }
    let mut list = Vec::new();
    // The parser accepts only "cpu" and "gpu" here.
    for b in &a.backends {
        let backend: Backend = b.parse().map_err(err)?;
        if backend.is_available() {
            list.push(backend);
        } else {
            eprintln!("no adapter for {backend}: skipping it");
        }
    }
    let mut rows = Rows(Vec::new());
    Rows::header();
    for c in cases {
        match c.as_str() {
            "256" => bench_parallel(256, 1, 360, &list, ops, repeat, &mut rows)?,
            "512" => bench_parallel(512, 1, 720, &list, ops, repeat, &mut rows)?,
            "1024" => bench_parallel(1024, 1, 1440, &list, ops, repeat, &mut rows)?,
            "stack" => bench_parallel(512, 128, 720, &list, ops, repeat, &mut rows)?,
            "spect" => bench_spect(&list, repeat, &mut rows)?,
            "pet" => bench_pet(&list, repeat, &mut rows)?,
            "mmr11" | "mmr1" | "tof" | "lm" | "mmr8" | "mmr8tof" | "sss" | "ssstof" => {
                bench_pet3d(c, &list, repeat, &mut rows)?
            }
            "cbct256" => bench_cone(256, &list, ops, repeat, a.max_buffer_mib, &mut rows)?,
            "cbct512" => bench_cone(512, &list, ops, repeat, a.max_buffer_mib, &mut rows)?,
            other => return Err(format!("unknown case {other:?}").into()),
        }
    }
    if let Some(path) = &a.json {
        let doc = serde_json::json!({
            "schema": 1,
            "tomors": env!("CARGO_PKG_VERSION"),
            "unix_time": started,
            "command": std::env::args().skip(1).collect::<Vec<_>>(),
            "machine": machine(),
            "adapters": tomors::backend::adapters().iter().map(|a| serde_json::json!({
                "name": a.name,
                "api": a.backend.to_string(),
                "device_type": a.device_type.to_string(),
            })).collect::<Vec<_>>(),
            "results": rows.0,
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        tomors::io::write_atomically(path, |p| {
            std::fs::write(p, text).map_err(|source| tomors::Error::Io {
                path: p.to_path_buf(),
                source,
            })
        })
        .map_err(err)?;
        eprintln!("results written to {}", path.display());
    }
    Ok(())
}

/// The machine: OS, architecture, CPU model and memory (from /proc on Linux, else null).
fn machine() -> serde_json::Value {
    let proc = |file: &str, key: &str| -> Option<String> {
        std::fs::read_to_string(file).ok()?.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    let memory = proc("/proc/meminfo", "MemTotal")
        .and_then(|v| v.trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024);
    serde_json::json!({
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "cpu": proc("/proc/cpuinfo", "model name"),
        "threads": rayon::current_num_threads(),
        "memory_bytes": memory,
    })
}

/// Parallel beam: forward, adjoint and FBP of the Shepp-Logan phantom, against its rasterised
/// image (FBP) and exact line integrals (forward).
fn bench_parallel(
    n: usize,
    slices: usize,
    views: usize,
    backends: &[Backend],
    ops: &[String],
    repeat: usize,
    rows: &mut Rows,
) -> CliResult<()> {
    let case = tomors::bench::BenchCase::new(n, slices, views).map_err(err)?;
    let id = match (n, slices) {
        (256, 1) => "parallel-256",
        (512, 1) => "parallel-512",
        (1024, 1) => "parallel-1024",
        _ => "parallel-512x128",
    };
    let (image, data) = case.inputs().map_err(err)?;
    for &backend in backends {
        let p = Projector::new(case.geometry.clone(), case.grid.clone(), backend).map_err(err)?;
        let fbp = Fbp::new(&p, RampFilter::default()).map_err(err)?;
        for op in ops {
            let run = || -> tomors::Result<ArrayD<f32>> {
                match op.as_str() {
                    "forward" => p.forward(image.view()),
                    "adjoint" => p.adjoint(data.view()),
                    _ => fbp.reconstruct(data.view()),
                }
            };
            let label = format!("{} {op} on {}", case.name, p.backend());
            let (accuracy, seconds, kernel) = time_operator(
                run,
                op,
                &label,
                [
                    ("exact line integrals", &data),
                    ("rasterised phantom", &image),
                ],
                repeat,
                backend,
            )?;
            let operation = match op.as_str() {
                "forward" => "forward",
                "adjoint" => "adjoint",
                _ => "fbp",
            };
            rows.push(Row {
                accuracy,
                ..Row::single(
                    id,
                    format!("parallel {} × {} views", case.name, views),
                    &p.backend(),
                    operation,
                    (image.shape().to_vec(), data.shape().to_vec()),
                    (repeat, seconds, kernel),
                    Some(case.voxel_updates()),
                )
            });
        }
    }
    Ok(())
}

/// Cone beam: forward, adjoint and FDK of the whole data set, voxel updates per second.
fn bench_cone(
    n: usize,
    backends: &[Backend],
    ops: &[String],
    repeat: usize,
    max_buffer_mib: Option<u64>,
    rows: &mut Rows,
) -> CliResult<()> {
    use tomors::bench::ConeBenchCase;
    let c = ConeBenchCase::new(n, if n <= 256 { 360 } else { 512 }).map_err(err)?;
    let pb = spinner(&format!("{} data", c.name));
    let (image, data) = c.inputs().map_err(err)?;
    pb.finish_and_clear();
    for &backend in backends {
        let mut p =
            tomors::ConeProjector::new(c.cone.clone(), c.grid.clone(), backend).map_err(err)?;
        let mut options = tomors::FdkOptions::default();
        if let Some(mib) = max_buffer_mib {
            p = p.with_max_buffer_bytes(mib << 20).map_err(err)?;
            options.max_buffer_bytes = mib << 20;
        }
        let fdk = tomors::Fdk::with_options(&p, options).map_err(err)?;
        for op in ops {
            let run = || -> tomors::Result<ArrayD<f32>> {
                match op.as_str() {
                    "forward" => p.forward(image.view()),
                    "adjoint" => p.adjoint(data.view()),
                    _ => fdk.reconstruct(data.view()),
                }
            };
            let label = format!("{} {op} on {}", c.name, p.backend());
            let (accuracy, seconds, kernel) = time_operator(
                run,
                op,
                &label,
                [
                    ("exact cone-beam line integrals", &data),
                    ("rasterised 3D Shepp-Logan", &image),
                ],
                repeat,
                backend,
            )?;
            let operation = match op.as_str() {
                "forward" => "forward",
                "adjoint" => "adjoint",
                _ => "fdk",
            };
            rows.push(Row {
                accuracy,
                ..Row::single(
                    if n <= 256 { "cbct-256" } else { "cbct-512" },
                    c.name.clone(),
                    p.backend(),
                    operation,
                    (image.shape().to_vec(), data.shape().to_vec()),
                    (repeat, seconds, kernel),
                    Some(c.voxel_updates()),
                )
            });
        }
    }
    Ok(())
}

/// Times one operation: a warm-up run whose result gives the accuracy (`forward` against
/// `truths[0]`, the reconstruction `fbp` against `truths[1]`; none for `adjoint`), then the
/// best of `repeat` runs and the shaders' time of one more.
fn time_operator(
    run: impl Fn() -> tomors::Result<ArrayD<f32>>,
    op: &str,
    label: &str,
    truths: [(&'static str, &ArrayD<f32>); 2],
    repeat: usize,
    backend: Backend,
) -> CliResult<(Option<Accuracy>, f64, Option<KernelTimes>)> {
    let pb = spinner(label);
    let first = run().map_err(err)?;
    pb.finish_and_clear();
    let accuracy = match op {
        "forward" => Some(Accuracy::of(truths[0].0, &first, truths[0].1)),
        "fbp" => Some(Accuracy::of(truths[1].0, &first, truths[1].1)),
        _ => None,
    };
    drop(first);
    let timed = || run().map(drop).map_err(err);
    let seconds = best_of(repeat, label, timed)?;
    Ok((accuracy, seconds, kernel_times(backend, timed)?))
}

/// Device time of the shaders in one more run of `f` (wgpu timestamp queries, per stage,
/// summed over its passes) on a GPU that can time its passes, else `None`. The time of each
/// stage is written to stderr too.
fn kernel_times(
    backend: Backend,
    f: impl FnOnce() -> CliResult<()>,
) -> CliResult<Option<KernelTimes>> {
    if backend != Backend::Gpu {
        return Ok(None);
    }
    let (ran, times) = tomors::backend::time_kernels(f);
    ran?;
    let Some(times) = times else {
        return Ok(None);
    };
    let split: Vec<String> = times
        .stages
        .iter()
        .map(|s| format!("{} {:.4} s / {} passes", s.stage, s.seconds, s.passes))
        .collect();
    eprintln!("kernel time by stage: {}", split.join(", "));
    Ok(Some(times))
}

/// Best of `repeat` runs of `f`, seconds.
fn best_of(repeat: usize, label: &str, mut f: impl FnMut() -> CliResult<()>) -> CliResult<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..repeat.max(1) {
        let pb = spinner(label);
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
        pb.finish_and_clear();
    }
    Ok(best)
}

/// An iterative reconstruction's row: `seconds` for `iterations`, voxel updates one forward
/// and one back-projection of every view per iteration (`None`: not defined).
#[allow(clippy::too_many_arguments)]
fn iterative_row(
    case: &'static str,
    description: String,
    device: &tomors::ActiveBackend,
    operation: &'static str,
    (image, data): (Vec<usize>, Vec<usize>),
    (iterations, subsets): (usize, usize),
    (repeat, seconds, kernel): (usize, f64, Option<KernelTimes>),
    (updates_per_iteration, plan_memory_bytes): (Option<f64>, Option<u64>),
    accuracy: Option<Accuracy>,
) -> Row {
    Row {
        iterations: Some(iterations),
        subsets: Some(subsets),
        seconds_per_iteration: Some(seconds / iterations as f64),
        plan_memory_bytes,
        accuracy,
        ..Row::single(
            case,
            description,
            device,
            operation,
            (image, data),
            (repeat, seconds, kernel),
            updates_per_iteration.map(|u| u * iterations as f64),
        )
    }
}

/// 3D PET: forward and adjoint of the whole sinogram (with attenuation factors), OSEM 1
/// iteration × 21 subsets (sensitivity included); `lm`: list-mode OSEM of one million mMR
/// events drawn from the span-11 data, one iteration × 10 subsets, the sensitivity image
/// given (computed once per acquisition).
fn bench_pet3d(case: &str, backends: &[Backend], repeat: usize, rows: &mut Rows) -> CliResult<()> {
    use tomors::bench::Pet3dBenchCase;
    let (c, id) = match case {
        "mmr1" => (Pet3dBenchCase::mmr(1), "pet3d-mmr-span1"),
        "tof" => (Pet3dBenchCase::generic_tof(), "pet3d-tof"),
        "lm" => (Pet3dBenchCase::mmr(11), "pet3d-mmr-listmode"),
        "mmr8" => (Pet3dBenchCase::mmr_8_rings(false), "pet3d-mmr-8-rings"),
        "mmr8tof" => (Pet3dBenchCase::mmr_8_rings(true), "pet3d-mmr-8-rings-tof"),
        "sss" => (Pet3dBenchCase::mmr(11), "pet3d-mmr-sss"),
        "ssstof" => (Pet3dBenchCase::mmr_tof(11), "pet3d-mmr-tof-sss"),
        _ => (Pet3dBenchCase::mmr(11), "pet3d-mmr-span11"),
    };
    let c = c.map_err(err)?;
    if case == "sss" || case == "ssstof" {
        return bench_sss(&c, id, backends, repeat, rows);
    }
    for &backend in backends {
        let pb = spinner(&format!("{} model on {backend}", c.name));
        let p = tomors::Pet3dProjector::new(c.layout.clone(), c.grid.clone(), backend)
            .and_then(|p| p.with_attenuation(c.mu.view()))
            .map_err(err)?;
        pb.finish_and_clear();
        // The data's own forward projection is the warm-up.
        let pb = spinner("forward");
        let data = p.forward(c.activity.view()).map_err(err)?;
        pb.finish_and_clear();
        let who = p.backend();
        let shapes = (c.activity.shape().to_vec(), data.shape().to_vec());
        if case == "lm" {
            bench_lm(&c, &p, &data, repeat, rows)?;
            continue;
        }
        let plain = |operation: &'static str, seconds: f64, kernel: Option<KernelTimes>| {
            Row::single(
                id,
                format!("{} {:?}", c.name, c.layout.shape()),
                who,
                operation,
                shapes.clone(),
                (repeat, seconds, kernel),
                None,
            )
        };
        let forward = || p.forward(c.activity.view()).map(drop).map_err(err);
        let t = best_of(repeat, "forward", forward)?;
        rows.push(plain("forward", t, kernel_times(backend, forward)?));
        let adjoint = || p.adjoint(data.view()).map(drop).map_err(err);
        let t = best_of(repeat, "adjoint", adjoint)?;
        rows.push(plain("adjoint", t, kernel_times(backend, adjoint)?));
        let osem = Osem::new(1, 21);
        let (t, bytes, image) = time_osem(&p, data.view(), &osem, repeat, "OSEM 1×21")?;
        let k = kernel_times(backend, || osem.run(&p, data.view()).map(drop).map_err(err))?;
        rows.push(iterative_row(
            id,
            format!("{} {:?}", c.name, c.layout.shape()),
            who,
            "osem",
            shapes.clone(),
            (1, 21),
            (repeat, t, k),
            (None, Some(bytes)),
            Some(Accuracy::of("NEMA IEC activity", &image, &c.activity)),
        ));
    }
    Ok(())
}

/// Single scatter simulation of the NEMA IEC phantom in the case's layout (default settings),
/// from the images to the interpolated sinogram, as case `id`.
fn bench_sss(
    c: &tomors::bench::Pet3dBenchCase,
    id: &'static str,
    backends: &[Backend],
    repeat: usize,
    rows: &mut Rows,
) -> CliResult<()> {
    use tomors::physics::{SingleScatterOptions, single_scatter};
    let activity = c
        .activity
        .view()
        .into_dimensionality()
        .map_err(|e| e.to_string())?;
    let mu =
        c.mu.view()
            .into_dimensionality()
            .map_err(|e| e.to_string())?;
    for &backend in backends {
        let run = || {
            single_scatter(
                &c.layout,
                &c.grid,
                activity,
                mu,
                &SingleScatterOptions::default(),
                backend,
            )
            .map_err(err)
        };
        let sim = run()?;
        let t = best_of(repeat, "single scatter", || run().map(drop))?;
        let k = kernel_times(backend, || run().map(drop))?;
        let who = match backend {
            Backend::Cpu => tomors::ActiveBackend::Cpu,
            _ => tomors::Pet3dProjector::new(c.layout.clone(), c.grid.clone(), backend)
                .map_err(err)?
                .backend()
                .clone(),
        };
        rows.push(Row::single(
            id,
            format!(
                "{} {:?}, {} scatter points, {}×{} detectors",
                c.name,
                c.layout.shape(),
                sim.points,
                sim.detectors[0],
                sim.detectors[1]
            ),
            &who,
            "single-scatter",
            (c.activity.shape().to_vec(), c.layout.shape()),
            (repeat, t, k),
            None,
        ));
    }
    Ok(())
}

/// List-mode OSEM of one million events drawn from `data` (span-11 bins, one crystal pair
/// of each at random).
fn bench_lm(
    c: &tomors::bench::Pet3dBenchCase,
    sino: &tomors::Pet3dProjector,
    data: &ndarray::ArrayD<f32>,
    repeat: usize,
    rows: &mut Rows,
) -> CliResult<()> {
    use tomors::geometry::pet::{SinogramBin, SinogramLayout};
    let n_events = 1_000_000usize;
    let flat = data.as_slice().expect("standard layout");
    let total: f64 = flat.iter().map(|&v| v as f64).sum();
    let (planes, tang) = (c.layout.planes() as usize, c.layout.tangential() as usize);
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64
    };
    // Systematic sampling of the cumulative counts, then a random crystal pair of each bin.
    let mut pairs = Vec::with_capacity(n_events);
    let (mut acc, step) = (0.0, total / n_events as f64);
    let mut target = step * next();
    for (i, &v) in flat.iter().enumerate() {
        acc += v as f64;
        while acc > target && pairs.len() < n_events {
            let bin = SinogramBin {
                view: (i / (planes * tang)) as u32,
                plane: ((i / tang) % planes) as u32,
                tof: 0,
                tangential: (i % tang) as u32,
            };
            let all = c.layout.pairs(bin);
            let ((r1, c1), (r2, c2)) = all[(next() * all.len() as f64) as usize % all.len()];
            pairs.push([r1, c1, r2, c2]);
            target += step;
        }
    }
    let span1 = SinogramLayout::mmr(1).map_err(err)?;
    let events = tomors::ListModeEvents::from_crystals(&span1, &pairs, None).map_err(err)?;
    let backend = match sino.backend() {
        tomors::ActiveBackend::Cpu => Backend::Cpu,
        _ => Backend::Gpu,
    };
    let model = tomors::Pet3dProjector::new(span1, c.grid.clone(), backend).map_err(err)?;
    let sensitivity = sino.sensitivity().map_err(err)?;
    let lm = tomors::ListModeProjector::with_sensitivity(events, &model, sensitivity.view())
        .map_err(err)?;
    let osem = Osem::new(1, 10);
    let run = || tomors::recon::lm_osem(&lm, &osem).map(drop).map_err(err);
    let t = best_of(repeat, "list-mode OSEM", run)?;
    let k = kernel_times(backend, run)?;
    rows.push(iterative_row(
        "pet3d-mmr-listmode",
        format!("mMR list mode, {} events", lm.events().len()),
        sino.backend(),
        "lm-osem",
        (c.activity.shape().to_vec(), vec![lm.events().len()]),
        (1, 10),
        (repeat, t, k),
        (None, None),
        None,
    ));
    Ok(())
}

/// Best of `repeat` runs of OSEM: seconds, the plan's memory from its last iteration, and the
/// image.
fn time_osem(
    model: &impl tomors::SystemModel,
    data: ndarray::ArrayViewD<'_, f32>,
    settings: &Osem<'_>,
    repeat: usize,
    label: &str,
) -> CliResult<(f64, u64, ArrayD<f32>)> {
    let mut best = f64::INFINITY;
    let mut bytes = 0;
    let mut image = None;
    for _ in 0..repeat.max(1) {
        let pb = spinner(label);
        let t = Instant::now();
        let out = settings
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
        image = Some(out);
    }
    Ok((best, bytes, image.expect("at least one run")))
}

/// OSEM 4 iterations × 12 subsets of the PET 2D case (256², 256 views, attenuation) per backend.
fn bench_pet(backends: &[Backend], repeat: usize, rows: &mut Rows) -> CliResult<()> {
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
        let osem = Osem::new(4, 12);
        let label = format!("PET OSEM 4×12 on {}", p.backend());
        let (t, bytes, image) = time_osem(&p, data.view(), &osem, repeat, &label)?;
        let k = kernel_times(backend, || osem.run(&p, data.view()).map(drop).map_err(err))?;
        let updates = 2.0 * case.activity.len() as f64 * data.shape()[0] as f64;
        rows.push(iterative_row(
            "pet2d-nema-256",
            "PET 2D 256² × 256 views, μ".into(),
            p.backend(),
            "osem",
            (case.activity.shape().to_vec(), data.shape().to_vec()),
            (4, 12),
            (repeat, t, k),
            (Some(updates), Some(bytes)),
            Some(Accuracy::of(
                "NEMA IEC activity (noise-free data)",
                &image,
                &case.activity,
            )),
        ));
    }
    Ok(())
}

/// OSEM 4 iterations × 8 subsets of the SPECT case (128³, 120 views, attenuation and LEHR
/// response) per backend, with the NEMA spheres' recovery; forward and adjoint.
fn bench_spect(backends: &[Backend], repeat: usize, rows: &mut Rows) -> CliResult<()> {
    let case = tomors::bench::SpectBenchCase::new(128, 120).map_err(err)?;
    let truth = case.activity.clone().into_dyn();
    let id = "spect-nema-128";
    let name = "SPECT 128³ × 120 views, μ + LEHR";
    for &backend in backends {
        let p = SpectProjector::new(
            case.geometry.clone(),
            case.grid.clone(),
            Some(case.mu.view()),
            backend,
        )
        .map_err(err)?;
        let pb = spinner(&format!("SPECT data on {}", p.backend()));
        let data = p.forward(truth.view()).map_err(err)?;
        pb.finish_and_clear();
        let shapes = (truth.shape().to_vec(), data.shape().to_vec());
        let osem = Osem::new(4, 8);
        let label = format!("SPECT OSEM 4×8 on {}", p.backend());
        let (t, bytes, image) = time_osem(&p, data.view(), &osem, repeat, &label)?;
        let k = kernel_times(backend, || osem.run(&p, data.view()).map(drop).map_err(err))?;
        let mut accuracy = Accuracy::of("NEMA IEC activity (noise-free data)", &image, &truth);
        let image3 = image
            .view()
            .into_dimensionality::<ndarray::Ix3>()
            .map_err(|e| e.to_string())?;
        let rc = tomors::phantom::NemaIecPhantom::default()
            .recovery(image3, &case.grid)
            .map_err(err)?;
        accuracy.sphere_recovery = Some(rc.spheres.iter().map(|s| s.mean).collect());
        accuracy.background_recovery = Some(rc.background_recovery);
        let updates = 2.0 * truth.len() as f64 * data.shape()[0] as f64;
        rows.push(iterative_row(
            id,
            name.into(),
            p.backend(),
            "osem",
            shapes.clone(),
            (4, 8),
            (repeat, t, k),
            (Some(updates), Some(bytes)),
            Some(accuracy),
        ));
        let one = |operation: &'static str, seconds: f64, kernel: Option<KernelTimes>| Row {
            plan_memory_bytes: Some(p.memory_bytes()),
            ..Row::single(
                id,
                name.into(),
                p.backend(),
                operation,
                shapes.clone(),
                (repeat, seconds, kernel),
                Some(truth.len() as f64 * shapes.1[0] as f64),
            )
        };
        let forward = || p.forward(truth.view()).map(drop).map_err(err);
        let t = best_of(repeat, "SPECT forward", forward)?;
        rows.push(one("forward", t, kernel_times(backend, forward)?));
        let adjoint = || p.adjoint(data.view()).map(drop).map_err(err);
        let t = best_of(repeat, "SPECT adjoint", adjoint)?;
        rows.push(one("adjoint", t, kernel_times(backend, adjoint)?));
    }
    Ok(())
}
