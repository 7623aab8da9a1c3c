//! NumPy `.npy` input: the header read and checked (dtype, order, shape, the bytes the shape
//! needs against the machine and against the file) before the data are allocated or read.
//! float32, float64, int32, int16 and uint16, either byte order, C order; returned as float32.

use crate::error::{Error, Result};
use ndarray::{ArrayD, IxDyn};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The element types read, with their size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F4,
    F8,
    I4,
    I2,
    U2,
}

impl Dtype {
    fn bytes(self) -> usize {
        match self {
            Dtype::F4 | Dtype::I4 => 4,
            Dtype::F8 => 8,
            Dtype::I2 | Dtype::U2 => 2,
        }
    }
}

/// What a `.npy` header declares.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    dtype: Dtype,
    big_endian: bool,
    shape: Vec<usize>,
    /// Bytes before the data.
    data_offset: u64,
}

/// Reads the `.npy` array at `path` as float32.
///
/// # Errors
/// [`Error::Io`]; [`Error::Format`] for a file that is not a `.npy` array of a supported dtype
/// in C order, or whose data are shorter or longer than its shape; [`Error::TooLarge`] for a
/// shape this machine cannot hold.
pub fn read_npy(path: &Path) -> Result<ArrayD<f32>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let bad = |reason: String| Error::Format {
        path: path.to_path_buf(),
        reason,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    // The magic, version and header length, then the header itself.
    let mut start = [0u8; 12];
    let got = read_up_to(&mut file, &mut start).map_err(io)?;
    let (header_len, prefix) = match (&start[..got.min(8)], got) {
        (m, n) if n >= 10 && m.starts_with(b"\x93NUMPY") && start[6] == 1 => {
            (u16::from_le_bytes([start[8], start[9]]) as usize, 10)
        }
        (m, n) if n >= 12 && m.starts_with(b"\x93NUMPY") && matches!(start[6], 2 | 3) => (
            u32::from_le_bytes([start[8], start[9], start[10], start[11]]) as usize,
            12,
        ),
        _ => {
            return Err(bad(
                "not a .npy file (versions 1–3): no `\\x93NUMPY` magic and version".into(),
            ));
        }
    };
    if (prefix + header_len) as u64 > size || header_len > 1 << 20 {
        return Err(bad(format!(
            "truncated: a header of {header_len} bytes in a file of {size} bytes"
        )));
    }
    let mut text = vec![0u8; header_len];
    file.seek(SeekFrom::Start(prefix as u64)).map_err(io)?;
    file.read_exact(&mut text).map_err(io)?;
    let header = parse_header(&text, (prefix + header_len) as u64).map_err(bad)?;
    let data_bytes =
        crate::memory::bytes_for("the .npy array", &header.shape, header.dtype.bytes())?;
    let elements = data_bytes as usize / header.dtype.bytes();
    let have = size - header.data_offset;
    if have != data_bytes {
        return Err(bad(format!(
            "{} {data_bytes} bytes of data for shape {:?} of {:?}, the file holds {have}",
            if have < data_bytes {
                "truncated:"
            } else {
                "trailing bytes:"
            },
            header.shape,
            header.dtype
        )));
    }
    let mut raw = crate::memory::filled("the .npy array", data_bytes as usize, 0u8)?;
    file.read_exact(&mut raw).map_err(io)?;
    let mut values = crate::memory::filled("the .npy array", elements, 0f32)?;
    convert(&raw, header.dtype, header.big_endian, &mut values);
    ArrayD::from_shape_vec(IxDyn(&header.shape), values)
        .map_err(|e| bad(format!("shape {:?}: {e}", header.shape)))
}

/// Reads into `buf` until it is full or the file ends; the bytes read.
fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Parses the header dictionary `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
fn parse_header(text: &[u8], data_offset: u64) -> std::result::Result<Header, String> {
    let text = std::str::from_utf8(text).map_err(|_| "the header is not text".to_string())?;
    let value = |key: &str| -> std::result::Result<&str, String> {
        let at = text
            .find(&format!("'{key}'"))
            .ok_or_else(|| format!("the header has no '{key}'"))?;
        let rest = text[at + key.len() + 2..].trim_start();
        rest.strip_prefix(':')
            .map(str::trim_start)
            .ok_or_else(|| format!("'{key}' has no value"))
    };
    let descr = value("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or_else(|| format!("'descr' is not a dtype string: {descr:.20}"))?;
    let (order, kind) = match descr.chars().next() {
        Some(c @ ('<' | '>' | '=' | '|')) => (c, &descr[1..]),
        _ => ('?', descr),
    };
    let big_endian = order == '>';
    let dtype = match (order, kind) {
        ('<' | '>' | '=', "f4") => Dtype::F4,
        ('<' | '>' | '=', "f8") => Dtype::F8,
        ('<' | '>' | '=', "i4") => Dtype::I4,
        ('<' | '>' | '=', "i2") => Dtype::I2,
        ('<' | '>' | '=', "u2") => Dtype::U2,
        _ => {
            return Err(format!(
                "dtype '{descr}': expected float32, float64, int32, int16 or uint16"
            ));
        }
    };
    let fortran = value("fortran_order")?;
    if !fortran.starts_with("False") {
        return Err("Fortran-ordered array: expected C order (numpy.ascontiguousarray)".into());
    }
    let shape = value("shape")?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| format!("'shape' is not a tuple: {shape:.40}"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| format!("shape ({inner}): '{s}' is not a length"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Header {
        dtype,
        big_endian,
        shape,
        data_offset,
    })
}

/// `raw` (values of `dtype`) into `out`, as float32.
fn convert(raw: &[u8], dtype: Dtype, big: bool, out: &mut [f32]) {
    macro_rules! each {
        ($t:ty, $n:expr) => {
            for (o, c) in out.iter_mut().zip(raw.chunks_exact($n)) {
                let b: [u8; $n] = c.try_into().expect("chunk size");
                *o = if big {
                    <$t>::from_be_bytes(b)
                } else {
                    <$t>::from_le_bytes(b)
                } as f32;
            }
        };
    }
    match dtype {
        Dtype::F4 => each!(f32, 4),
        Dtype::F8 => each!(f64, 8),
        Dtype::I4 => each!(i32, 4),
        Dtype::I2 => each!(i16, 2),
        Dtype::U2 => each!(u16, 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        npy_ordered(descr, "False", shape, data)
    }

    fn npy_ordered(descr: &str, fortran: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut dict =
            format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
        while (10 + dict.len() + 1) % 64 != 0 {
            dict.push(' ');
        }
        dict.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn read(bytes: &[u8]) -> Result<ArrayD<f32>> {
        let path = std::env::temp_dir().join(format!(
            "tomors-npy-{}-{:?}.npy",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, bytes).unwrap();
        let out = read_npy(&path);
        std::fs::remove_file(&path).unwrap();
        out
    }

    /// Arrays of each dtype read as float32; a shape the machine cannot hold, a truncated or
    /// overlong file and a foreign header are typed errors that say what was wrong.
    #[test]
    fn headers_are_checked_before_the_data() {
        let data: Vec<u8> = [1.5f32, -2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = read(&npy("<f4", "(2, 3)", &data)).unwrap();
        assert_eq!(a.shape(), [2, 3]);
        assert_eq!(a[[0, 0]], 1.5);
        let be: Vec<u8> = [7i16, -8].iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(
            read(&npy(">i2", "(2,)", &be)).unwrap().as_slice().unwrap(),
            [7.0, -8.0]
        );
        let err = |bytes: Vec<u8>| read(&bytes).unwrap_err().to_string();
        let huge = err(npy("<f4", "(100000, 100000, 100000)", &data));
        assert!(huge.contains("would need"), "{huge}");
        let overflow = err(npy("<f8", "(18446744073709551615, 3)", &data));
        assert!(overflow.contains("overflows"), "{overflow}");
        assert!(err(npy("<f4", "(2, 4)", &data)).contains("truncated"));
        assert!(err(npy("<f4", "(2, 2)", &data)).contains("trailing bytes"));
        assert!(err(npy("<c8", "(3,)", &data)).contains("expected float32"));
        assert!(err(npy("<f4", "(-3,)", &data)).contains("not a length"));
        assert!(err(b"\x93NUMPY\x01\x00\xff\xff{".to_vec()).contains("truncated"));
        assert!(err(b"PK\x03\x04".to_vec()).contains("not a .npy file"));
        assert!(err(npy_ordered("<f4", "True", "(2, 3)", &data)).contains("Fortran"));
        assert!(err(b"\x93NUMPY\x01\x00\x00\x00".to_vec()).contains("no 'descr'"));
    }
}
