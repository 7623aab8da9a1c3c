//! Criterion benches of forward projection, adjoint and FBP at the standard sizes, on the CPU
//! and (when wgpu finds an adapter) the GPU. GPU timings include upload, dispatch, completion
//! and download. `cargo bench --bench projectors -- 512` runs one size.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tomors::bench::BenchCase;
use tomors::{Backend, Fbp, Projector, RampFilter};

fn backends() -> Vec<Backend> {
    let mut b = vec![Backend::Cpu];
    if tomors::backend::gpu::GpuContext::shared().is_ok() {
        b.push(Backend::Gpu);
    }
    b
}

fn bench(c: &mut Criterion) {
    for case in BenchCase::standard().expect("standard cases") {
        let (image, data) = case.inputs().expect("phantom");
        let mut group = c.benchmark_group(&case.name);
        group.sample_size(10);
        group.throughput(Throughput::Elements(case.voxel_updates() as u64));
        for backend in backends() {
            let p =
                Projector::new(case.geometry.clone(), case.grid.clone(), backend).expect("plan");
            let fbp = Fbp::new(&p, RampFilter::default()).expect("fbp plan");
            let name = p.backend().kind();
            group.bench_function(format!("forward/{name}"), |b| {
                b.iter(|| p.forward(image.view()).unwrap())
            });
            group.bench_function(format!("adjoint/{name}"), |b| {
                b.iter(|| p.adjoint(data.view()).unwrap())
            });
            group.bench_function(format!("fbp/{name}"), |b| {
                b.iter(|| fbp.reconstruct(data.view()).unwrap())
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
