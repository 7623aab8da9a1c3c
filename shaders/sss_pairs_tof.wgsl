// Single scatter with TOF, step 2: sss_pairs per TOF bin. A photon pair emitted on the leg
// from scatter point s to detector a, at distance x from s, arrives with the path difference
// of an emission at c − x from the midpoint of the line a–b towards b, c = (r_a − r_b)/2; one
// emitted on the leg to b, at c + x. Each leg's emission comes as SSS_NODES nodes (sss_nodes);
// their masses, with the pair's factors of sss_pairs, are spread linearly onto a fine grid of
// positions along the line (n_fine points from fine_first, fine_step apart, covering every TOF
// bin's kernel: masses beyond it reach no bin), and the grid is then weighed by each bin's
// kernel: pairs[(a · n_detectors + b) · n_tof + k] += Σ_f grid[f] · kernel[k · n_fine + f]
// (added, as sss_pairs adds, over the host's blocks of scatter points). Positions grow towards
// b; the host mirrors b < a by reversing the bins. Pairs a ≥ b or not seen (sss_pair_seen)
// are left alone.
// Grid: linear over n_detectors², index a · n_detectors + b.

@group(0) @binding(0) var<uniform> p: SssParams;
@group(0) @binding(1) var<storage, read> points: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> detectors: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> integrals: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> nodes: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read> kernel: array<f32>;
@group(0) @binding(7) var<storage, read_write> pairs: array<f32>;

var<private> fine: array<f32, SSS_FINE>;

// Adds `mass` at fine-grid position u (points from fine_first) to the grid, split between its
// two nearest points.
fn deposit(mass: f32, u: f32) {
    let last = f32(p.n_fine - 1u);
    if mass > 0.0 && u >= 0.0 && u <= last {
        let j = min(u32(u), p.n_fine - 2u);
        let f = u - f32(j);
        fine[j] += mass * (1.0 - f);
        fine[j + 1u] += mass * f;
    }
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 64u;
    if i >= p.len {
        return;
    }
    let a = i / p.n_detectors;
    let b = i % p.n_detectors;
    let da = detectors[a].xyz;
    let db = detectors[b].xyz;
    if b <= a || !sss_pair_seen(p, da, db) {
        return;
    }
    for (var f = 0u; f < p.n_fine; f++) {
        fine[f] = 0.0;
    }
    let per_mm = 1.0 / p.fine_step;
    for (var s = 0u; s < p.n_points; s++) {
        let pt = points[s];
        let o = sss_point(p, da, db, pt.xyz);
        let j = min(u32(o.u), p.n_table - 2u);
        let g = mix(table[j], table[j + 1u], o.u - f32(j));
        if g.x <= 0.0 {
            continue;
        }
        let ia = integrals[a * p.n_points + s];
        let ib = integrals[b * p.n_points + s];
        let factor = pt.w * g.x * o.geometry;
        let wa = factor * exp(-ia.y - g.y * ib.y);
        let wb = factor * exp(-ib.y - g.y * ia.y);
        // The line's midpoint on the fine grid, and each node's distance in its points.
        let centre = (0.5 * (o.ra - o.rb) - p.fine_first) * per_mm;
        let na = (a * p.n_points + s) * SSS_NODES;
        let nb = (b * p.n_points + s) * SSS_NODES;
        for (var n = 0u; n < SSS_NODES; n++) {
            let node_a = nodes[na + n];
            let node_b = nodes[nb + n];
            deposit(wa * node_a.x, centre - node_a.y * per_mm);
            deposit(wb * node_b.x, centre + node_b.y * per_mm);
        }
    }
    for (var k = 0u; k < p.n_tof; k++) {
        var sum = 0.0;
        for (var f = 0u; f < p.n_fine; f++) {
            sum += fine[f] * kernel[k * p.n_fine + f];
        }
        pairs[i * p.n_tof + k] += sum;
    }
}
