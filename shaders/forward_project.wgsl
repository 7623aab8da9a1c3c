// Joseph forward projection as a gather: one invocation per detector bin (col, view, row).
// Overwrites `sino[view, row, col]` (rows of this chunk) with line integrals (image value × mm)
// of `image[z, y, x]`. CPU twin: src/backend/cpu/forward_project.rs.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> lines: array<Line>;
@group(0) @binding(2) var<storage, read> image: array<f32>;
@group(0) @binding(3) var<storage, read_write> sino: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    let view = gid.y;
    let z = gid.z;
    if k >= p.n_cols || view >= p.n_views || z >= p.nz {
        return;
    }
    let line = lines[view * p.n_cols + k];
    var n_step = p.ny;
    var n_other = p.nx;
    var stride_step = p.nx;
    var stride_other = 1u;
    if line.along_x > 0.5 {
        n_step = p.nx;
        n_other = p.ny;
        stride_step = 1u;
        stride_other = p.nx;
    }
    // Steps whose crossing lies in (-1, n_other), widened to whole steps: outside them every
    // sample is zero.
    var lo = 0.0;
    var hi = f32(n_step) - 1.0;
    if line.fstep != 0.0 {
        let a = (-1.0 - line.f0) / line.fstep;
        let b = (f32(n_other) - line.f0) / line.fstep;
        lo = max(lo, min(a, b));
        hi = min(hi, max(a, b) + 1.0);
    } else if line.f0 <= -1.0 || line.f0 >= f32(n_other) {
        hi = -1.0;
    }
    var acc = 0.0;
    if hi >= lo {
        let base = z * p.nx * p.ny;
        let last = i32(n_other) - 1;
        for (var i = u32(lo); i <= u32(hi); i++) {
            let s = split_index(line.f0 + f32(i) * line.fstep, n_other);
            let at = base + i * stride_step;
            if s.i >= 0 && s.i <= last {
                acc += (1.0 - s.frac) * image[at + u32(s.i) * stride_other];
            }
            if s.i + 1 >= 0 && s.i + 1 <= last {
                acc += s.frac * image[at + u32(s.i + 1) * stride_other];
            }
        }
    }
    sino[(view * p.nz + z) * p.n_cols + k] = acc * line.weight;
}
