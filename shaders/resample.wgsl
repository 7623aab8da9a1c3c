// Resampling between patient grids: each target voxel of a slab takes the mean of k_z·k_y·k_x
// trilinear samples of the source on a regular sub-grid of the voxel (one sample, at the
// centre, for trilinear resampling). Source index of target index t: m = b + A·t (A's columns:
// one target step along z, y, x, in source voxels). Samples more than 0.001 voxel beyond the
// outermost source centres take `outside`. The source is bound as a block (its slab's
// bounding box), placed at `block_origin` in the full source.
// Grid: (ceil(len / 256), rows, 1) with workgroups of 256 (len folded into rows when large).

@group(0) @binding(0) var<uniform> p: ResampleParams;
@group(0) @binding(1) var<storage, read> block: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn inside(f: f32, n: u32) -> bool {
    return f >= -0.001 && f <= f32(n - 1u) + 0.001;
}

fn sample(m: vec3<f32>) -> f32 {
    if !(inside(m.x, p.source.x) && inside(m.y, p.source.y) && inside(m.z, p.source.z)) {
        return p.outside;
    }
    // Base corner in the full source (as the CPU twin: floor, kept ≤ n − 2), then in the block.
    let n = vec3<i32>(p.source.xyz);
    let base = clamp(vec3<i32>(floor(m)), vec3<i32>(0), max(n - vec3<i32>(2), vec3<i32>(0)));
    let t = clamp(m - vec3<f32>(base), vec3<f32>(0.0), vec3<f32>(1.0));
    let o = vec3<i32>(p.block_origin.xyz);
    let bn = vec3<i32>(p.block.xyz);
    var acc = 0.0;
    for (var dz = 0; dz < 2; dz++) {
        let wz = select(1.0 - t.x, t.x, dz == 1);
        for (var dy = 0; dy < 2; dy++) {
            let wy = select(1.0 - t.y, t.y, dy == 1);
            for (var dx = 0; dx < 2; dx++) {
                let wx = select(1.0 - t.z, t.z, dx == 1);
                let w = wz * wy * wx;
                if w > 0.0 {
                    let s = min(base + vec3<i32>(dz, dy, dx), n - vec3<i32>(1)) - o;
                    acc += w * block[(s.x * bn.y + s.y) * bn.z + s.z];
                }
            }
        }
    }
    return acc;
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if i >= p.len {
        return;
    }
    let nx = p.slab.z;
    let ny = p.slab.y;
    let ix = i % nx;
    let iy = (i / nx) % ny;
    let iz = i / (nx * ny) + p.slab.w;
    let k = p.samples.xyz;
    var sum = 0.0;
    for (var sz = 0u; sz < k.x; sz++) {
        let fz = f32(iz) + (f32(sz) + 0.5) / f32(k.x) - 0.5;
        for (var sy = 0u; sy < k.y; sy++) {
            let fy = f32(iy) + (f32(sy) + 0.5) / f32(k.y) - 0.5;
            for (var sx = 0u; sx < k.z; sx++) {
                let fx = f32(ix) + (f32(sx) + 0.5) / f32(k.z) - 0.5;
                let m = p.b.xyz + fz * p.col_z.xyz + fy * p.col_y.xyz + fx * p.col_x.xyz;
                sum += sample(m);
            }
        }
    }
    out[i] = sum / f32(k.x * k.y * k.z);
}
