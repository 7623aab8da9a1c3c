//! Device time per stage, read from wgpu timestamp queries written at the start and end of
//! every compute pass while the clock runs (`GpuContext::start_kernel_clock`). It measures
//! the shaders alone: no uploads, downloads, submission or host work.

use crate::backend::Stage;

/// Device time spent in each stage's compute passes while the kernel clock ran.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KernelTimes {
    /// One row per stage that ran, in [`Stage::ALL`] order.
    pub stages: Vec<StageTime>,
}

/// Passes and device time of one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageTime {
    /// The stage's name, as its shader and CPU twin are named.
    pub stage: &'static str,
    /// Compute passes (dispatches) timed.
    pub passes: u64,
    /// Summed device time of those passes, seconds.
    pub seconds: f64,
}

impl KernelTimes {
    /// Device time of every pass together, seconds.
    pub fn total(&self) -> f64 {
        self.stages.iter().map(|s| s.seconds).sum()
    }
}

/// The running sums, indexed by `Stage as usize`: (passes, nanoseconds).
#[derive(Debug)]
pub(crate) struct KernelClock {
    sums: Vec<(u64, f64)>,
}

impl KernelClock {
    pub fn new() -> Self {
        Self {
            sums: vec![(0, 0.0); Stage::ALL.len()],
        }
    }

    /// Adds one pass of `stage` that took `nanoseconds` on the device.
    pub fn add(&mut self, stage: Stage, nanoseconds: f64) {
        let s = &mut self.sums[stage as usize];
        s.0 += 1;
        s.1 += nanoseconds;
    }

    pub fn times(&self) -> KernelTimes {
        KernelTimes {
            stages: Stage::ALL
                .iter()
                .zip(&self.sums)
                .filter(|(_, (passes, _))| *passes > 0)
                .map(|(stage, &(passes, ns))| StageTime {
                    stage: stage.name(),
                    passes,
                    seconds: ns * 1e-9,
                })
                .collect(),
        }
    }
}
