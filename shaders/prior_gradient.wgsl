// Gradient of the prior U(x) = Σ_{pairs j~k} w_jk φ(x_j, x_k) over the 26-neighbourhood,
// for one-step-late MAP-EM: quadratic φ = (x_j − x_k)² / 2, or relative difference
// φ = (x_j − x_k)² / (x_j + x_k + γ|x_j − x_k|) (Nuyts et al. 2002).
// Grid: (ceil(nx / 8), ceil(ny / 8), nz).

@group(0) @binding(0) var<uniform> p: PriorParams;
@group(0) @binding(1) var<storage, read> image: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x = i32(gid.x);
    let y = i32(gid.y);
    let z = i32(gid.z);
    if x >= i32(p.nx) || y >= i32(p.ny) || z >= i32(p.nz) {
        return;
    }
    let o = (u32(z) * p.ny + u32(y)) * p.nx + u32(x);
    let xj = image[o];
    var g = 0.0;
    for (var i = 0; i < 27; i++) {
        let dz = i / 9 - 1;
        let dy = (i / 3) % 3 - 1;
        let dx = i % 3 - 1;
        let zz = z + dz;
        let yy = y + dy;
        let xx = x + dx;
        if i == 13 || zz < 0 || zz >= i32(p.nz) || yy < 0 || yy >= i32(p.ny) || xx < 0 || xx >= i32(p.nx) {
            continue;
        }
        let w = p.weights[i / 4][i % 4];
        let xk = image[(u32(zz) * p.ny + u32(yy)) * p.nx + u32(xx)];
        let d = xj - xk;
        if p.kind == 0u {
            g += w * d;
        } else {
            let s = xj + xk + p.gamma * abs(d);
            if s > 0.0 {
                g += w * (d * (p.gamma * abs(d) + xj + 3.0 * xk) / (s * s));
            }
        }
    }
    grad[o] = g;
}
