//! Splitting a stack of slices into chunks, and moving a chunk's rows of projection data
//! `[view, z, col]` to and from a contiguous `[view, z_in_chunk, col]` buffer.

/// `(first slice, slices)` of each chunk of at most `chunk` slices out of `nz`.
pub(crate) fn chunks(nz: usize, chunk: usize) -> impl Iterator<Item = (usize, usize)> {
    let chunk = chunk.max(1);
    (0..nz.div_ceil(chunk)).map(move |i| (i * chunk, chunk.min(nz - i * chunk)))
}

/// Shape of projection data: views, rows (slices) of the whole stack, columns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DataShape {
    pub views: usize,
    pub rows: usize,
    pub cols: usize,
}

/// Copies rows `z0..z0 + nz` of `src[view, z, col]` into `dst[view, z - z0, col]`.
pub(crate) fn gather_rows(shape: DataShape, src: &[f32], z0: usize, nz: usize, dst: &mut [f32]) {
    let block = nz * shape.cols;
    for view in 0..shape.views {
        dst[view * block..][..block]
            .copy_from_slice(&src[(view * shape.rows + z0) * shape.cols..][..block]);
    }
}

/// Copies `src[view, z - z0, col]` into rows `z0..z0 + nz` of `dst[view, z, col]`.
pub(crate) fn scatter_rows(shape: DataShape, src: &[f32], z0: usize, nz: usize, dst: &mut [f32]) {
    let block = nz * shape.cols;
    for view in 0..shape.views {
        dst[(view * shape.rows + z0) * shape.cols..][..block]
            .copy_from_slice(&src[view * block..][..block]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_stack_once() {
        let c: Vec<_> = chunks(7, 3).collect();
        assert_eq!(c, vec![(0, 3), (3, 3), (6, 1)]);
        assert_eq!(chunks(4, 10).collect::<Vec<_>>(), vec![(0, 4)]);
    }

    #[test]
    fn gather_then_scatter_is_identity() {
        let shape = DataShape {
            views: 3,
            rows: 5,
            cols: 4,
        };
        let src: Vec<f32> = (0..60).map(|v| v as f32).collect();
        let mut back = vec![0.0; 60];
        for (z0, nz) in chunks(5, 2) {
            let mut tmp = vec![0.0; 3 * nz * 4];
            gather_rows(shape, &src, z0, nz, &mut tmp);
            scatter_rows(shape, &tmp, z0, nz, &mut back);
        }
        assert_eq!(src, back);
    }
}
