//! Validates every WGSL compute stage with naga, so a broken shader fails `cargo build`.
//!
//! Each stage is compiled as `shaders/shared/*.wgsl` (in the order of `SHARED`) followed by
//! the stage's own file, exactly as `src/backend/gpu/shaders.rs` assembles it at run time.

use std::path::Path;

const SHARED: [&str; 3] = [
    "shared/layout.wgsl",
    "shared/rays.wgsl",
    "shared/spect.wgsl",
];
const STAGES: [&str; 15] = [
    "forward_project.wgsl",
    "adjoint_project.wgsl",
    "fbp_filter.wgsl",
    "backproject_fbp.wgsl",
    "spect_attenuation.wgsl",
    "spect_rotate.wgsl",
    "spect_blur_cols.wgsl",
    "spect_blur_rows_sum.wgsl",
    "spect_spread_rows.wgsl",
    "spect_rotate_adjoint.wgsl",
    "em_ratio.wgsl",
    "em_update.wgsl",
    "prior_gradient.wgsl",
    "resample.wgsl",
    "nmi_histogram.wgsl",
];

fn main() {
    let dir = Path::new("shaders");
    let read = |name: &str| {
        let path = dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    };
    let shared: String = SHARED
        .iter()
        .map(|s| read(s))
        .collect::<Vec<_>>()
        .join("\n");
    export_struct_sizes(&shared);
    for stage in STAGES {
        let source = format!("{shared}\n{}", read(stage));
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{stage}: {}", e.emit_to_string(&source)));
        let mut validator = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        );
        if let Err(e) = validator.validate(&module) {
            panic!("{stage}: {}", e.emit_to_string(&source));
        }
    }
}

/// Hands the WGSL sizes of the shared structs to the crate (`TOMORS_WGSL_SIZE_<NAME>`), where
/// `src/backend/layout.rs` asserts at compile time that the Rust mirrors have the same size.
fn export_struct_sizes(shared: &str) {
    let module = naga::front::wgsl::parse_str(shared).expect("shared WGSL parses");
    let mut layouter = naga::proc::Layouter::default();
    layouter
        .update(module.to_ctx())
        .expect("shared WGSL lays out");
    for (handle, ty) in module.types.iter() {
        if let Some(name) = ty.name.as_deref() {
            println!(
                "cargo:rustc-env=TOMORS_WGSL_SIZE_{}={}",
                name.to_uppercase(),
                layouter[handle].size
            );
        }
    }
}
