//! `tomors bench`: timings of the standard cases on each backend, as a Markdown table.

use super::common::{CliResult, err, spinner};
use std::time::Instant;
use tomors::{Backend, Fbp, Osem, Projector, RampFilter, SpectProjector};

/// Which cases, backends and operations to time.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Cases: any of 256, 512, 1024, stack (512²×128), spect (128³ OSEM), pet (256² OSEM).
    #[arg(
        long,
        default_value = "256,512,1024,stack",
        value_delimiter = ',',
        value_parser = ["256", "512", "1024", "stack", "spect", "pet"]
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
}

pub fn run(a: &BenchArgs) -> CliResult<()> {
    let (cases, backends, ops, repeat) = (&a.cases, &a.backends, &a.ops, a.repeat);
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
