//! The patient's body in a CT, for registration and for measuring where activity lies.

use ndarray::{Array3, ArrayView3, Axis};
use rayon::prelude::*;

/// The body in a CT `[z, y, x]` in HU: in each axial slice, the largest 4-connected region of
/// voxels above `threshold_hu` (−300 HU separates tissue from air and lung). The couch, air,
/// lungs and anything not joined to the trunk in that slice (e.g. arms held apart) are left out.
pub fn body_mask(hu: ArrayView3<'_, f32>, threshold_hu: f32) -> Array3<bool> {
    let mut out = Array3::from_elem(hu.raw_dim(), false);
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(hu.axis_iter(Axis(0)).into_par_iter())
        .for_each(|(mut mask, slice)| {
            let (ny, nx) = slice.dim();
            let inside = |i: usize| slice[[i / nx, i % nx]] > threshold_hu;
            let mut label = vec![0u32; ny * nx];
            let mut sizes = vec![0usize];
            let mut stack = Vec::new();
            for start in 0..ny * nx {
                if label[start] != 0 || !inside(start) {
                    continue;
                }
                let id = sizes.len() as u32;
                label[start] = id;
                stack.push(start);
                let mut size = 0;
                while let Some(p) = stack.pop() {
                    size += 1;
                    let (y, x) = (p / nx, p % nx);
                    let neighbours = [
                        (y > 0).then(|| p - nx),
                        (y + 1 < ny).then(|| p + nx),
                        (x > 0).then(|| p - 1),
                        (x + 1 < nx).then(|| p + 1),
                    ];
                    for q in neighbours.into_iter().flatten() {
                        if label[q] == 0 && inside(q) {
                            label[q] = id;
                            stack.push(q);
                        }
                    }
                }
                sizes.push(size);
            }
            if let Some((largest, _)) = sizes.iter().enumerate().skip(1).max_by_key(|(_, s)| **s) {
                for (m, &l) in mask.iter_mut().zip(&label) {
                    *m = l == largest as u32;
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_largest_region_of_each_slice() {
        let mut hu = Array3::from_elem((2, 6, 8), -1000.0f32);
        // Slice 0: a 3 × 3 body and a 1 × 4 couch; slice 1: only a 2 × 2 patch.
        hu.slice_mut(ndarray::s![0, 1..4, 1..4]).fill(40.0);
        hu.slice_mut(ndarray::s![0, 5, 2..6]).fill(200.0);
        hu.slice_mut(ndarray::s![1, 0..2, 6..8]).fill(-100.0);
        // A lung-like hole in the body is not body.
        hu[[0, 2, 2]] = -800.0;
        let m = body_mask(hu.view(), -300.0);
        assert_eq!(m.index_axis(Axis(0), 0).iter().filter(|&&b| b).count(), 8);
        assert!(m[[0, 1, 1]] && !m[[0, 2, 2]] && !m[[0, 5, 3]]);
        assert_eq!(m.index_axis(Axis(0), 1).iter().filter(|&&b| b).count(), 4);
        assert!(m[[1, 1, 7]]);
    }
}
