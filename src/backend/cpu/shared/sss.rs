//! Twins of `shaders/shared/sss.wgsl`.

use crate::backend::layout::SssParams;

/// Twin of `struct SssTaps`: the eight trilinear taps (voxel index or −1, weight).
pub(crate) struct SssTaps {
    pub idx: [i32; 8],
    pub w: [f32; 8],
}

/// Twin of `sss_taps`: the taps of the coarse image at index position `q` (x, y, z).
#[inline]
pub(crate) fn sss_taps(p: &SssParams, q: [f32; 3]) -> SssTaps {
    let f = q.map(f32::floor);
    let r = [q[0] - f[0], q[1] - f[1], q[2] - f[2]];
    let i0 = f.map(|v| v as i32);
    let mut t = SssTaps {
        idx: [-1; 8],
        w: [0.0; 8],
    };
    for k in 0..8 {
        let o = [k & 1, (k >> 1) & 1, (k >> 2) & 1];
        let i = [i0[0] + o[0], i0[1] + o[1], i0[2] + o[2]];
        let pick = |a: usize| if o[a] == 1 { r[a] } else { 1.0 - r[a] };
        t.w[k as usize] = pick(0) * pick(1) * pick(2);
        if i.iter().all(|&v| v >= 0)
            && i[0] < p.nx as i32
            && i[1] < p.ny as i32
            && i[2] < p.nz as i32
        {
            t.idx[k as usize] = (i[2] * p.ny as i32 + i[1]) * p.nx as i32 + i[0];
        }
    }
    t
}
