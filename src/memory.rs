//! What the machine can hold. Every size that comes from a file or a caller (a grid, a
//! sinogram layout, an array declared in a header) is turned into bytes here, with checked
//! arithmetic, and refused with the figure before anything is allocated: a typed
//! [`Error::TooLarge`], never an allocation abort.

use crate::error::{Error, Result};
use std::sync::OnceLock;

/// Bytes this process may use: the machine's physical memory, or its control group's limit
/// (a cluster job's allocation) or its address-space limit (`ulimit -v`) where lower. `None`
/// where none can be read (not Linux); sizes are then still checked for overflow and
/// allocated fallibly.
pub fn memory_limit() -> Option<u64> {
    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        let physical = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            kib.checked_mul(1024)
        });
        let group = [
            "/sys/fs/cgroup/memory.max",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        ]
        .iter()
        .find_map(|path| {
            std::fs::read_to_string(path)
                .ok()?
                .trim()
                .parse::<u64>()
                .ok()
        });
        // "Max address space  <soft>  <hard>  bytes", or "unlimited".
        let address_space = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("Max address space"))?;
                line.split_whitespace().nth(3)?.parse::<u64>().ok()
            });
        [physical, group, address_space].into_iter().flatten().min()
    })
}

/// The bytes of an array of `dims` values of `elem_bytes` each, for `what` (e.g. "the image
/// grid [64, 100000, 100000]").
///
/// # Errors
/// [`Error::TooLarge`] when the product overflows or exceeds [`memory_limit`].
pub fn bytes_for(what: &str, dims: &[usize], elem_bytes: usize) -> Result<u64> {
    let bytes = dims
        .iter()
        .try_fold(elem_bytes as u64, |acc, &d| acc.checked_mul(d as u64));
    let limit = memory_limit();
    match bytes {
        Some(b) if limit.is_none_or(|l| b <= l) => Ok(b),
        _ => Err(Error::TooLarge {
            what: format!("{what} ({dims:?} of {elem_bytes}-byte values)"),
            bytes,
            limit,
        }),
    }
}

/// `len` copies of `value`, for `what`: checked by [`bytes_for`] and allocated fallibly, so
/// that what the allocator refuses is an error too.
///
/// # Errors
/// [`Error::TooLarge`].
pub fn filled<T: Clone>(what: &str, len: usize, value: T) -> Result<Vec<T>> {
    let bytes = bytes_for(what, &[len], std::mem::size_of::<T>())?;
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Error::TooLarge {
        what: format!("{what} ({len} values)"),
        bytes: Some(bytes),
        limit: memory_limit(),
    })?;
    v.resize(len, value);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Overflowing products and sizes beyond the machine are refused with the figures; what
    /// fits is counted exactly.
    #[test]
    fn sizes_are_checked_before_allocation() {
        assert_eq!(bytes_for("x", &[3, 5], 4).unwrap(), 60);
        let huge = bytes_for("the grid", &[100_000, 100_000, 100_000], 4).unwrap_err();
        let message = huge.to_string();
        assert!(
            message.contains("the grid") && message.contains("3.6 PiB"),
            "{message}"
        );
        let overflow = bytes_for("the layout", &[usize::MAX, 2], 4).unwrap_err();
        assert!(overflow.to_string().contains("overflows"), "{overflow}");
        assert!(filled("a vector", usize::MAX / 8, 0u64).is_err());
        assert_eq!(filled("a vector", 3, 7u8).unwrap(), vec![7, 7, 7]);
        assert_eq!(crate::error::human_bytes(1536), "1.5 KiB");
        assert_eq!(crate::error::human_bytes(12), "12 bytes");
    }
}
