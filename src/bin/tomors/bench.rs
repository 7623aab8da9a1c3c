//! `tomors bench`: timings of the standard cases on each backend, as a Markdown table.

use super::common::{CliResult, err, spinner};
use std::time::Instant;
use tomors::{Backend, Fbp, Osem, Projector, RampFilter, SpectProjector};

/// Which cases, backends and operations to time.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Cases: any of 256, 512, 1024, stack (512²×128), spect (128³ OSEM), pet (256² OSEM),
    /// mmr11, mmr1 (3D PET on the mMR, span 11 or 1), tof (generic TOF scanner), lm (list-mode
    /// OSEM per million mMR events), cbct256 (256³ from 360 × 512²), cbct512 (512³ from
    /// 512 × 512²); for cone beam, fbp is FDK.
    #[arg(
        long,
        default_value = "256,512,1024,stack",
        value_delimiter = ',',
        value_parser = ["256", "512", "1024", "stack", "spect", "pet", "mmr11", "mmr1", "tof", "lm", "cbct256", "cbct512"]
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
}

pub fn run(a: &BenchArgs) -> CliResult<()> {
    let (cases, backends, ops, repeat) = (&a.cases, &a.backends, &a.ops, a.repeat);
    use tomors::bench::BenchCase;
    let mut chosen = Vec::new();
    let (mut spect, mut pet) = (false, false);
    let mut pet3d = Vec::new();
    let mut cone = Vec::new();
    for c in cases {
        if let Some(n) = c.strip_prefix("cbct") {
            cone.push(n.parse::<usize>().map_err(|e| e.to_string())?);
            continue;
        }
        if c == "spect" || c == "pet" {
            spect |= c == "spect";
            pet |= c == "pet";
            continue;
        }
        if ["mmr11", "mmr1", "tof", "lm"].contains(&c.as_str()) {
            pet3d.push(c.clone());
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
                    )
                    .into());
                }
            }
            .map_err(err)?,
        );
    }
    for op in ops {
        if !["forward", "adjoint", "fbp"].contains(&op.as_str()) {
            return Err(
                format!("unknown operation {op:?}; expected forward, adjoint or fbp").into(),
            );
        }
    }
    let mut list = Vec::new();
    // The parser accepts only "cpu" and "gpu" here.
    for b in backends {
        let backend: Backend = b.parse().map_err(err)?;
        if backend.is_available() {
            list.push(backend);
        } else {
            eprintln!("no adapter for {backend}: skipping it");
        }
    }
    println!("| case | views | backend | operation | time (s) | GVox-updates/s | kernel (s) |");
    println!("|---|---:|---|---|---:|---:|---:|");
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
                let label = format!("{} {op} on {}", case.name, p.backend());
                best_of(1, &label, run)?;
                let best = best_of(repeat, &label, run)?;
                let kernel = kernel_seconds(backend, run)?;
                println!(
                    "| {} | {} | {} | {op} | {best:.4} | {:.2} | {kernel} |",
                    case.name,
                    case.geometry.n_views(),
                    p.backend(),
                    case.voxel_updates() / best / 1e9
                );
            }
        }
    }
    for &n in &cone {
        bench_cone(n, &list, ops, repeat, a.max_buffer_mib.map(|m| m << 20))?;
    }
    if spect || pet || !pet3d.is_empty() {
        println!();
        println!("| case | backend | operation | time (s) | plan memory (MiB) | kernel (s) |");
        println!("|---|---|---|---:|---:|---:|");
    }
    if spect {
        bench_spect(&list, repeat)?;
    }
    if pet {
        bench_pet(&list, repeat)?;
    }
    for case in &pet3d {
        bench_pet3d(case, &list, repeat)?;
    }
    Ok(())
}

/// Cone beam: forward, adjoint and FDK of the whole data set, voxel updates per second.
fn bench_cone(
    n: usize,
    backends: &[Backend],
    ops: &[String],
    repeat: usize,
    max_buffer: Option<u64>,
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
        if let Some(bytes) = max_buffer {
            p = p.with_max_buffer_bytes(bytes).map_err(err)?;
            options.max_buffer_bytes = bytes;
        }
        let fdk = tomors::Fdk::with_options(&p, options).map_err(err)?;
        for op in ops {
            let run = || {
                match op.as_str() {
                    "forward" => p.forward(image.view()).map(drop),
                    "adjoint" => p.adjoint(data.view()).map(drop),
                    _ => fdk.reconstruct(data.view()).map(drop),
                }
                .map_err(err)
            };
            let t = best_of(repeat, &format!("{} {op} on {}", c.name, p.backend()), run)?;
            let kernel = kernel_seconds(backend, run)?;
            let what = if op == "fbp" { "fdk" } else { op.as_str() };
            println!(
                "| {} | {} | {} | {what} | {t:.4} | {:.2} | {kernel} |",
                c.name,
                c.cone.n_views(),
                p.backend(),
                c.voxel_updates() / t / 1e9
            );
        }
    }
    Ok(())
}

/// Device time of the shaders in one more run of `f` (wgpu timestamp queries, summed over
/// its passes), as a table cell: seconds on a GPU that can time its passes, empty otherwise.
/// The time of each stage is written to stderr.
fn kernel_seconds(backend: Backend, f: impl FnOnce() -> CliResult<()>) -> CliResult<String> {
    if backend != Backend::Gpu {
        return Ok(String::new());
    }
    let (ran, times) = tomors::backend::time_kernels(f);
    ran?;
    let Some(times) = times else {
        return Ok(String::new());
    };
    // The split by stage goes to stderr, before the row it belongs to.
    let split: Vec<String> = times
        .stages
        .iter()
        .map(|s| format!("{} {:.4} s / {} passes", s.stage, s.seconds, s.passes))
        .collect();
    eprintln!("kernel time by stage: {}", split.join(", "));
    Ok(format!("{:.4}", times.total()))
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

/// 3D PET: forward and adjoint of the whole sinogram (with attenuation factors), OSEM 1
/// iteration × 21 subsets (sensitivity included); `lm`: list-mode OSEM of one million mMR
/// events drawn from the span-11 data, one iteration × 10 subsets, the sensitivity image
/// given (computed once per acquisition).
fn bench_pet3d(case: &str, backends: &[Backend], repeat: usize) -> CliResult<()> {
    use tomors::bench::Pet3dBenchCase;
    let c = match case {
        "mmr1" => Pet3dBenchCase::mmr(1),
        "tof" => Pet3dBenchCase::generic_tof(),
        _ => Pet3dBenchCase::mmr(11),
    }
    .map_err(err)?;
    for &backend in backends {
        let pb = spinner(&format!("{} model on {backend}", c.name));
        let p = tomors::Pet3dProjector::new(c.layout.clone(), c.grid.clone(), backend)
            .and_then(|p| p.with_attenuation(c.mu.view()))
            .map_err(err)?;
        pb.finish_and_clear();
        // The data's own forward projection is the first timed run.
        let pb = spinner("forward");
        let start = Instant::now();
        let data = p.forward(c.activity.view()).map_err(err)?;
        let first = start.elapsed().as_secs_f64();
        pb.finish_and_clear();
        let name = format!("{} {:?}", c.name, c.layout.shape());
        let who = p.backend().to_string();
        if case == "lm" {
            bench_lm(&c, &p, &data, repeat)?;
            continue;
        }
        let mut t = first;
        if repeat > 1 {
            let again = best_of(repeat - 1, "forward", || {
                p.forward(c.activity.view()).map(drop).map_err(err)
            })?;
            t = t.min(again);
        }
        let k = kernel_seconds(backend, || {
            p.forward(c.activity.view()).map(drop).map_err(err)
        })?;
        println!("| {name} | {who} | forward (all bins) | {t:.3} | | {k} |");
        let adjoint = || p.adjoint(data.view()).map(drop).map_err(err);
        let t = best_of(repeat, "adjoint", adjoint)?;
        let k = kernel_seconds(backend, adjoint)?;
        println!("| {name} | {who} | adjoint (all bins) | {t:.3} | | {k} |");
        let osem = Osem::new(1, 21);
        let (t, mib) = time_osem(&p, data.view(), &osem, repeat, "OSEM 1×21")?;
        let k = kernel_seconds(backend, || osem.run(&p, data.view()).map(drop).map_err(err))?;
        println!("| {name} | {who} | OSEM 1 it × 21 subsets | {t:.3} | {mib:.1} | {k} |");
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
    let k = kernel_seconds(backend, run)?;
    println!(
        "| mMR list mode, {} events | {} | LM-OSEM 1 it × 10 subsets | {t:.3} | | {k} |",
        lm.events().len(),
        sino.backend()
    );
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
        let osem = Osem::new(4, 12);
        let label = format!("PET OSEM 4×12 on {}", p.backend());
        let (t, mib) = time_osem(&p, data.view(), &osem, repeat, &label)?;
        let k = kernel_seconds(backend, || osem.run(&p, data.view()).map(drop).map_err(err))?;
        println!(
            "| PET 2D 256² × 256 views, μ | {} | OSEM 4 it × 12 subsets | {t:.3} | {mib:.1} | {k} |",
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
        let osem = Osem::new(4, 8);
        let label = format!("SPECT OSEM 4×8 on {}", p.backend());
        let (best, osem_mib) = time_osem(&p, data.view(), &osem, repeat, &label)?;
        let k_osem = kernel_seconds(backend, || osem.run(&p, data.view()).map(drop).map_err(err))?;
        let forward = || {
            p.forward(case.activity.view().into_dyn())
                .map(drop)
                .map_err(err)
        };
        let adjoint = || p.adjoint(data.view()).map(drop).map_err(err);
        let t_forward = best_of(1, "SPECT forward", forward)?;
        let k_forward = kernel_seconds(backend, forward)?;
        let t_adjoint = best_of(1, "SPECT adjoint", adjoint)?;
        let k_adjoint = kernel_seconds(backend, adjoint)?;
        let mib = p.memory_bytes() as f64 / (1 << 20) as f64;
        let who = p.backend();
        let name = "SPECT 128³ × 120 views, μ + LEHR";
        println!(
            "| {name} | {who} | OSEM 4 it × 8 subsets | {best:.3} | {osem_mib:.1} | {k_osem} |"
        );
        println!(
            "| {name} | {who} | forward (all views) | {t_forward:.3} | {mib:.1} | {k_forward} |"
        );
        println!(
            "| {name} | {who} | adjoint (all views) | {t_adjoint:.3} | {mib:.1} | {k_adjoint} |"
        );
    }
    Ok(())
}
