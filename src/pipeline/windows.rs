//! Energy windows of an NM acquisition, as the pipeline chooses them.

use crate::io::dicom::NmProjections;

/// The windows just below and above `peak`: edges within 3 % of the photopeak's centre.
pub(crate) fn adjacent_windows(nm: &NmProjections, peak: usize) -> (Option<usize>, Option<usize>) {
    let p = &nm.windows[peak];
    let tolerance = 0.03 * p.centre_kev();
    let nearest = |gap: &dyn Fn(usize) -> f64| {
        (0..nm.windows.len())
            .filter(|&i| i != peak && gap(i).abs() <= tolerance)
            .min_by(|&a, &b| gap(a).abs().total_cmp(&gap(b).abs()))
    };
    let below = nearest(&|i| p.lower_kev - nm.windows[i].upper_kev);
    let above = nearest(&|i| nm.windows[i].lower_kev - p.upper_kev);
    (below, above)
}
