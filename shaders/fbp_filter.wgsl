// FBP filtering: weights each projection sample, then convolves every detector row with the
// P-periodic filter kernel (circular convolution of the zero-padded row, P = kernel_len ≥ 2·n_cols).
// One workgroup per (view, row); overwrites `filtered[view, row, col]`.
// CPU twin: src/backend/cpu/fbp_filter.rs (same convolution, evaluated by FFT).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> kernel: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read> sino: array<f32>;
@group(0) @binding(4) var<storage, read_write> filtered: array<f32>;

const TILE: u32 = 2048u;
const GROUP: u32 = 256u;
var<workgroup> tile: array<f32, TILE>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let view = wid.x;
    let z = wid.y;
    let base = (view * p.nz + z) * p.n_cols;
    let w_base = view * p.n_cols;
    let len = p.kernel_len;
    for (var t0 = 0u; t0 < p.n_cols; t0 += TILE) {
        let t_len = min(TILE, p.n_cols - t0);
        workgroupBarrier();
        for (var j = lid.x; j < t_len; j += GROUP) {
            tile[j] = weights[w_base + t0 + j] * sino[base + t0 + j];
        }
        workgroupBarrier();
        for (var k = lid.x; k < p.n_cols; k += GROUP) {
            var acc = 0.0;
            if t0 > 0u {
                acc = filtered[base + k];
            }
            // kernel index (k - j) mod P, with j = t0 + jj
            var m = (k + len - t0) % len;
            for (var jj = 0u; jj < t_len; jj++) {
                acc += tile[jj] * kernel[m];
                m = select(m - 1u, len - 1u, m == 0u);
            }
            filtered[base + k] = acc;
        }
    }
}
