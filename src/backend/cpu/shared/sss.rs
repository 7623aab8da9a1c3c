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

/// Twin of `SSS_SEGMENTS`: runs of a leg's emission profile (`sss_nodes`).
pub(crate) const SSS_SEGMENTS: usize = 3;
/// Twin of `SSS_NODES`: nodes per leg, two per run.
pub(crate) const SSS_NODES: usize = 6;
/// Twin of `SSS_FINE`: points of `sss_pairs_tof`'s fine TOF grid at most.
pub(crate) const SSS_FINE: usize = 128;

#[inline]
pub(crate) fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Twin of `struct SssLeg`.
pub(crate) struct SssLeg {
    pub q0: [f32; 3],
    pub dq: [f32; 3],
    pub l_out: f32,
    pub samples: u32,
    pub h: f32,
}

/// Twin of `sss_leg`: the leg from scatter point `s` to detector `d` (mm) in index space.
#[inline]
pub(crate) fn sss_leg(p: &SssParams, s: [f32; 3], d: [f32; 3]) -> SssLeg {
    let n = [p.nx as f32, p.ny as f32, p.nz as f32];
    let q0: [f32; 3] = std::array::from_fn(|k| (s[k] - p.origin[k]) * p.inv_spacing[k]);
    let dq: [f32; 3] = std::array::from_fn(|k| (d[k] - s[k]) * p.inv_spacing[k]);
    let mut l_out = 1.0f32;
    for k in 0..3 {
        if dq[k] != 0.0 {
            l_out = l_out.min(((-0.5 - q0[k]) / dq[k]).max((n[k] - 0.5 - q0[k]) / dq[k]));
        }
    }
    let l_out = l_out.max(0.0);
    let e = [d[0] - s[0], d[1] - s[1], d[2] - s[2]];
    let length = dot(e, e).sqrt() * l_out;
    let samples = ((length / p.step[0]).ceil() as u32).max(1);
    SssLeg {
        q0,
        dq,
        l_out,
        samples,
        h: length / samples as f32,
    }
}

/// Twin of `sss_sample`: sample `j` of `leg` in index space.
#[inline]
pub(crate) fn sss_sample(leg: &SssLeg, j: u32) -> [f32; 3] {
    let l = leg.l_out * ((j as f32 + 0.5) / leg.samples as f32);
    std::array::from_fn(|k| leg.q0[k] + l * leg.dq[k])
}

/// Twin of `sss_normal`.
#[inline]
fn sss_normal(p: &SssParams, d: [f32; 3]) -> [f32; 3] {
    [d[0] / p.step[1], d[1] / p.step[1], 0.0]
}

/// Twin of `sss_pair_seen`.
#[inline]
pub(crate) fn sss_pair_seen(p: &SssParams, da: [f32; 3], db: [f32; 3]) -> bool {
    let ab = [db[0] - da[0], db[1] - da[1], db[2] - da[2]];
    let l = dot(ab, ab).sqrt();
    -dot(ab, sss_normal(p, da)) / l >= p.min_cos[0]
        && dot(ab, sss_normal(p, db)) / l >= p.min_cos[0]
}

/// Twin of `struct SssPoint`.
pub(crate) struct SssPoint {
    pub u: f32,
    pub geometry: f32,
    pub ra: f32,
    pub rb: f32,
}

/// Twin of `sss_point`.
#[inline]
pub(crate) fn sss_point(p: &SssParams, da: [f32; 3], db: [f32; 3], s: [f32; 3]) -> SssPoint {
    let va = [da[0] - s[0], da[1] - s[1], da[2] - s[2]];
    let vb = [db[0] - s[0], db[1] - s[1], db[2] - s[2]];
    let ra2 = dot(va, va);
    let rb2 = dot(vb, vb);
    let (ra, rb) = (ra2.sqrt(), rb2.sqrt());
    let cos_theta = -dot(va, vb) / (ra * rb);
    let last = (p.n_table - 1) as f32;
    let cos_a = dot(va, sss_normal(p, da)) / ra;
    let cos_b = dot(vb, sss_normal(p, db)) / rb;
    SssPoint {
        u: ((cos_theta + 1.0) * 0.5 * last).clamp(0.0, last),
        geometry: cos_a * cos_b / (ra2 * rb2),
        ra,
        rb,
    }
}

/// The angular table's `(g, k)` at position `u` (linear between entries), as both pair stages
/// read it.
#[inline]
pub(crate) fn sss_table(p: &SssParams, table: &[[f32; 2]], u: f32) -> [f32; 2] {
    let j = (u as usize).min(p.n_table as usize - 2);
    let f = u - j as f32;
    [
        table[j][0] + (table[j + 1][0] - table[j][0]) * f,
        table[j][1] + (table[j + 1][1] - table[j][1]) * f,
    ]
}

#[cfg(test)]
mod tests {
    /// The twins' constants are the shaders'.
    #[test]
    fn the_constants_are_the_shaders() {
        let wgsl = include_str!("../../../../shaders/shared/sss.wgsl");
        for (name, value) in [
            ("SSS_SEGMENTS", super::SSS_SEGMENTS),
            ("SSS_NODES", super::SSS_NODES),
            ("SSS_FINE", super::SSS_FINE),
        ] {
            let line = format!("const {name}: u32 = {value}u;");
            assert!(
                wgsl.contains(&line),
                "{line} not in shaders/shared/sss.wgsl"
            );
        }
        assert_eq!(super::SSS_NODES, 2 * super::SSS_SEGMENTS);
    }
}
