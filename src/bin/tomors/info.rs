//! `tomors info`: the GPU adapters wgpu finds and what `auto` uses.

use tomors::{Backend, ImageGrid, ParallelBeam, Projector};

pub fn run() {
    let adapters = tomors::backend::adapters();
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
