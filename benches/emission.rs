//! Criterion benches of iterative emission reconstruction on each backend present: the
//! SPECT case (NEMA IEC body phantom, 128³ of 4 mm, 120 views, attenuation and LEHR response,
//! OSEM 4 × 8) and PET 2D (256² of 2 mm, 256 views over 180°, attenuation, OSEM 4 × 12).
//! `cargo bench --bench emission -- pet` runs one of them.

use criterion::{Criterion, criterion_group, criterion_main};
use tomors::bench::{PetBenchCase, SpectBenchCase};
use tomors::{Backend, Osem, PetProjector, SpectProjector};

fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Cpu];
    if tomors::backend::gpu::GpuContext::shared().is_ok() {
        b.push(Backend::Gpu);
    }
    b
}

fn bench(c: &mut Criterion) {
    let spect = SpectBenchCase::new(128, 120).expect("SPECT case");
    let pet = PetBenchCase::new(256, 256).expect("PET case");
    let mut group = c.benchmark_group("emission");
    group.sample_size(10);
    for backend in backends() {
        let p = SpectProjector::new(
            spect.geometry.clone(),
            spect.grid.clone(),
            Some(spect.mu.view()),
            backend,
        )
        .expect("SPECT model");
        let data = p
            .forward(spect.activity.view().into_dyn())
            .expect("SPECT data");
        group.bench_function(format!("spect128-osem4x8/{}", p.backend().kind()), |b| {
            b.iter(|| Osem::new(4, 8).run(&p, data.view()).unwrap())
        });
        let q = PetProjector::new(
            pet.geometry.clone(),
            pet.grid.clone(),
            Some(pet.mu.view()),
            None,
            backend,
        )
        .expect("PET model");
        let sino = q.forward(pet.activity.view()).expect("PET data");
        group.bench_function(format!("pet256-osem4x12/{}", q.backend().kind()), |b| {
            b.iter(|| Osem::new(4, 12).run(&q, sino.view()).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
