//! Turns `shaders/` into data: every `shaders/*.wgsl` is a compute stage. Each is validated
//! with naga (a broken shader fails `cargo build`), must have its CPU twin
//! `src/backend/cpu/<stage>.rs`, and is described in the generated stage table
//! (`$OUT_DIR/stages.rs`, included by `src/backend/stage.rs`): name, source, workgroup size
//! and bindings. The layouts of the shared structs (`$OUT_DIR/wgsl_layout.rs`) let
//! `src/backend/layout.rs` check its Rust mirrors field by field at compile time.
//!
//! A stage is compiled as every `shaders/shared/*.wgsl` (in file-name order) followed by the
//! stage's own file. No list of stages is kept by hand anywhere.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    let shaders = root.join("shaders");
    println!("cargo:rerun-if-changed={}", shaders.display());
    println!(
        "cargo:rerun-if-changed={}",
        shaders.join("shared").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        root.join("src/backend/cpu").display()
    );

    let shared_files = wgsl_files(&shaders.join("shared"));
    let shared: String = shared_files
        .iter()
        .map(|p| read(p))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(out.join("wgsl_layout.rs"), struct_layouts(&shared)).expect("writing layouts");

    let mut stages = Vec::new();
    for file in wgsl_files(&shaders) {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let source = format!("{shared}\n{}", read(&file));
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{name}.wgsl: {}", e.emit_to_string(&source)));
        let mut validator = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        );
        if let Err(e) = validator.validate(&module) {
            panic!("{name}.wgsl: {}", e.emit_to_string(&source));
        }
        let twin = root.join("src/backend/cpu").join(format!("{name}.rs"));
        if !twin.is_file() {
            panic!(
                "shaders/{name}.wgsl has no CPU twin: every stage needs src/backend/cpu/{name}.rs"
            );
        }
        stages.push(describe(&name, &file, &module));
    }
    let table = stage_table(&stages, &shared_files);
    std::fs::write(out.join("stages.rs"), table).expect("writing the stage table");
}

/// The `.wgsl` files directly in `dir`, sorted by name.
fn wgsl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wgsl"))
        .collect();
    files.sort();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// What the table says of one stage.
struct StageInfo {
    name: String,
    file: PathBuf,
    workgroup_size: [u32; 3],
    /// (binding, variable name, access, uniform type name)
    bindings: Vec<(u32, String, &'static str, Option<String>)>,
}

fn describe(name: &str, file: &Path, module: &naga::Module) -> StageInfo {
    let entries: Vec<_> = module
        .entry_points
        .iter()
        .filter(|e| e.stage == naga::ShaderStage::Compute)
        .collect();
    assert!(
        entries.len() == 1 && entries[0].name == "main",
        "{name}.wgsl: a stage has exactly one compute entry point, `main`"
    );
    let mut bindings = Vec::new();
    for (_, var) in module.global_variables.iter() {
        let Some(binding) = &var.binding else {
            continue;
        };
        assert_eq!(binding.group, 0, "{name}.wgsl: every binding is in group 0");
        let var_name = var.name.clone().unwrap_or_default();
        let (access, ty) = match var.space {
            naga::AddressSpace::Uniform => ("Uniform", module.types[var.ty].name.clone()),
            naga::AddressSpace::Storage { access } => {
                if access.contains(naga::StorageAccess::STORE) {
                    ("ReadWrite", None)
                } else {
                    ("Read", None)
                }
            }
            other => panic!("{name}.wgsl: binding {var_name} in {other:?}: only buffers are bound"),
        };
        bindings.push((binding.binding, var_name, access, ty));
    }
    bindings.sort_by_key(|b| b.0);
    for (i, b) in bindings.iter().enumerate() {
        assert_eq!(
            b.0 as usize, i,
            "{name}.wgsl: bindings are numbered 0, 1, 2, … without gaps"
        );
    }
    StageInfo {
        name: name.to_string(),
        file: file.to_path_buf(),
        workgroup_size: entries[0].workgroup_size,
        bindings,
    }
}

fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn stage_table(stages: &[StageInfo], shared: &[PathBuf]) -> String {
    let mut s = String::from("// Generated by build.rs from shaders/*.wgsl. Do not edit.\n\n");
    s += "/// A compute stage: one `shaders/<name>.wgsl` file with its CPU twin \
          `src/backend/cpu/<name>.rs`.\n";
    s += "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\npub enum Stage {\n";
    for st in stages {
        let _ = writeln!(
            s,
            "    /// `shaders/{}.wgsl`.\n    {},",
            st.name,
            camel(&st.name)
        );
    }
    s += "}\n\nimpl Stage {\n";
    let _ = writeln!(
        s,
        "    /// Every stage, in file-name order.\n    pub const ALL: [Stage; {}] = [{}];",
        stages.len(),
        stages
            .iter()
            .map(|st| format!("Stage::{}", camel(&st.name)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let arms = |f: &dyn Fn(&StageInfo) -> String| -> String {
        stages
            .iter()
            .map(|st| format!("            Stage::{} => {},\n", camel(&st.name), f(st)))
            .collect()
    };
    s += "    /// The file stem, which is also the CPU twin's module name.\n";
    s += "    pub const fn name(self) -> &'static str {\n        match self {\n";
    s += &arms(&|st| format!("{:?}", st.name));
    s += "        }\n    }\n";
    s += "    /// Invocations per workgroup along x, y and z, as the shader declares them.\n";
    s += "    pub const fn workgroup_size(self) -> [u32; 3] {\n        match self {\n";
    s += &arms(&|st| format!("{:?}", st.workgroup_size));
    s += "        }\n    }\n";
    s += "    /// The bindings of group 0, in binding order.\n";
    s += "    pub const fn bindings(self) -> &'static [Binding] {\n        match self {\n";
    s += &arms(&|st| {
        let items: Vec<String> = st
            .bindings
            .iter()
            .map(|(_, n, a, ty)| {
                format!(
                    "Binding {{ name: {n:?}, access: Access::{a}, uniform_type: {} }}",
                    ty.as_ref()
                        .map_or("None".to_string(), |t| format!("Some({t:?})"))
                )
            })
            .collect();
        format!("&[{}]", items.join(", "))
    });
    s += "        }\n    }\n";
    s += "    /// The WGSL the device compiles: the shared files, then the stage's own.\n";
    s += "    pub const fn source(self) -> &'static str {\n        match self {\n";
    let shared_includes: String = shared
        .iter()
        .map(|p| format!("include_str!({:?}), \"\\n\", ", p.display().to_string()))
        .collect();
    s += &arms(&|st| {
        format!(
            "concat!({shared_includes}include_str!({:?}))",
            st.file.display().to_string()
        )
    });
    s += "        }\n    }\n}\n";
    s
}

/// `pub mod <Struct> { SIZE, FIELDS, and per field (offset, size, scalar kind) }` for every
/// named struct in the shared WGSL.
fn struct_layouts(shared: &str) -> String {
    let module = naga::front::wgsl::parse_str(shared)
        .unwrap_or_else(|e| panic!("shaders/shared: {}", e.emit_to_string(shared)));
    let mut layouter = naga::proc::Layouter::default();
    layouter
        .update(module.to_ctx())
        .expect("shared WGSL lays out");
    let mut s = String::from("// Generated by build.rs from shaders/shared/*.wgsl. Do not edit.\n");
    for (handle, ty) in module.types.iter() {
        let (Some(name), naga::TypeInner::Struct { members, .. }) = (&ty.name, &ty.inner) else {
            continue;
        };
        let _ = writeln!(
            s,
            "#[allow(non_snake_case, non_upper_case_globals, dead_code)]\npub mod {name} {{\n    \
             pub const SIZE: usize = {};\n    pub const FIELDS: usize = {};",
            layouter[handle].size,
            members.len()
        );
        for m in members {
            let field = m.name.as_deref().expect("struct fields are named");
            let size = module.types[m.ty].inner.size(module.to_ctx());
            let _ = writeln!(
                s,
                "    pub const {field}: super::Field = super::Field {{ offset: {}, size: {size}, \
                 scalar: b'{}' }};",
                m.offset,
                scalar_kind(&module, m.ty)
            );
        }
        s += "}\n";
    }
    s
}

/// `u`, `i` or `f`: the scalar a field is made of.
fn scalar_kind(module: &naga::Module, ty: naga::Handle<naga::Type>) -> char {
    let scalar = match &module.types[ty].inner {
        naga::TypeInner::Scalar(s) | naga::TypeInner::Vector { scalar: s, .. } => *s,
        naga::TypeInner::Matrix { scalar, .. } => *scalar,
        naga::TypeInner::Array { base, .. } => return scalar_kind(module, *base),
        other => panic!("shared struct field of type {other:?}: not mirrored in Rust"),
    };
    match scalar.kind {
        naga::ScalarKind::Uint => 'u',
        naga::ScalarKind::Sint => 'i',
        naga::ScalarKind::Float => 'f',
        other => panic!("shared struct field of scalar {other:?}: not mirrored in Rust"),
    }
}
