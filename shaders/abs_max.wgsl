// out[0] ← max(out[0], bits of max |data[i]|) over i < p.len: for non-negative floats the bit
// patterns order like the values, so an integer atomicMax finds the largest magnitude.
// Grid: (ceil(len / 256), 1, 1) with workgroups of 256, or folded into y when that is too many.

@group(0) @binding(0) var<uniform> p: PetParams;
@group(0) @binding(1) var<storage, read> data: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<atomic<u32>>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if i >= p.len {
        return;
    }
    atomicMax(&out[0], bitcast<u32>(abs(data[i])));
}
