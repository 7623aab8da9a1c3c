// FBP filtering: weights each projection sample, then convolves every detector row with the
// filter kernel: filtered[k] = sum_j kernel[k - j + n_cols - 1] * weights[j] * sino[j], where
// `kernel` holds the lags -(n_cols - 1) .. n_cols - 1 of the zero-padded (circular) filter.
// One invocation per output sample (col, view, row); overwrites `filtered[view, row, col]`.
// CPU twin: src/backend/cpu/fbp_filter.rs (the same convolution, evaluated by FFT).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> kernel: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read> sino: array<f32>;
@group(0) @binding(4) var<storage, read_write> filtered: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let k = gid.x;
    let view = gid.y;
    let z = gid.z;
    if k >= p.n_cols || view >= p.n_views || z >= p.nz {
        return;
    }
    let base = (view * p.nz + z) * p.n_cols;
    let w_base = view * p.n_cols;
    let lag0 = k + p.n_cols - 1u;
    var acc = 0.0;
    for (var j = 0u; j < p.n_cols; j++) {
        acc += kernel[lag0 - j] * (weights[w_base + j] * sino[base + j]);
    }
    filtered[base + k] = acc;
}
