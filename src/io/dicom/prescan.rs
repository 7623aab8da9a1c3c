//! A walk over a DICOM file's element headers, before any parser allocates: every declared
//! length must fit in what remains of its container (the file, a sequence, an item), and
//! sequences may nest at most [`MAX_DEPTH`] deep. A parser then never sizes a buffer from a
//! length larger than the file, and a hostile file cannot make it allocate gigabytes or recurse
//! without bound.

use std::path::Path;

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;

use super::errors::dicom_error;
use crate::error::Result;

/// Deepest nesting of sequences accepted.
pub(crate) const MAX_DEPTH: usize = 32;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: Tag = Tag(0xFFFE, 0xE000);
const ITEM_END: Tag = Tag(0xFFFE, 0xE00D);
const SEQUENCE_END: Tag = Tag(0xFFFE, 0xE0DD);

/// Where the file's magic code is, found by [`check`].
#[derive(Debug)]
pub(crate) struct Layout {
    /// Offset of `DICM` (128 with a preamble, 0 without).
    pub magic: usize,
}

/// Checks the file's structure; returns where its magic code is.
pub(crate) fn check(bytes: &[u8], path: &Path) -> Result<Layout> {
    let magic = if bytes.get(128..132) == Some(b"DICM") {
        128
    } else if bytes.get(0..4) == Some(b"DICM") {
        0
    } else {
        return Err(dicom_error(
            path,
            None,
            "not a DICOM file: no \"DICM\" magic code after a 128-byte preamble",
        ));
    };
    let mut w = Walker {
        bytes,
        path,
        explicit: true,
        big_endian: false,
    };
    // File meta group: explicit VR little endian, group 0002.
    let mut pos = magic + 4;
    let mut syntax = String::new();
    while pos + 4 <= bytes.len() && u16::from_le_bytes([bytes[pos], bytes[pos + 1]]) == 0x0002 {
        let (tag, _, len, value) = w.header(pos)?;
        let len = w.defined(tag, len, value, bytes.len())?;
        if tag == Tag(0x0002, 0x0010) {
            syntax = String::from_utf8_lossy(&bytes[value..value + len])
                .trim_end_matches(['\0', ' '])
                .to_string();
        }
        pos = value + len;
    }
    if syntax.is_empty() {
        return Err(dicom_error(
            path,
            Some(Tag(0x0002, 0x0010)),
            "is missing from the file meta group; every DICOM file states its transfer syntax",
        ));
    }
    w.data_set(pos, &syntax)?;
    Ok(Layout { magic })
}

/// Checks a bare data set (no preamble or file meta) encoded in transfer syntax `syntax`, as
/// a DIMSE message carries one; `path` names it in errors.
pub(crate) fn check_data_set(bytes: &[u8], syntax: &str, path: &Path) -> Result<()> {
    Walker {
        bytes,
        path,
        explicit: true,
        big_endian: false,
    }
    .data_set(0, syntax)
}
struct Walker<'a> {
    bytes: &'a [u8],
    path: &'a Path,
    explicit: bool,
    big_endian: bool,
}

impl Walker<'_> {
    /// The data set from `pos` to the end, in transfer syntax `syntax`.
    fn data_set(&mut self, pos: usize, syntax: &str) -> Result<()> {
        match syntax {
            "1.2.840.10008.1.2" => self.explicit = false,
            "1.2.840.10008.1.2.2" => self.big_endian = true,
            // Deflated data sets are compressed: their lengths are checked by the inflater's
            // output, not here.
            "1.2.840.10008.1.2.1.99" => return Ok(()),
            _ => {}
        }
        self.elements(pos, self.bytes.len(), 0, false)?;
        Ok(())
    }

    fn u16_at(&self, pos: usize) -> Result<u16> {
        let b = self.take(pos, 2)?;
        Ok(if self.big_endian {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    }

    fn u32_at(&self, pos: usize) -> Result<u32> {
        let b = self.take(pos, 4)?;
        let b = [b[0], b[1], b[2], b[3]];
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn take(&self, pos: usize, n: usize) -> Result<&[u8]> {
        self.bytes.get(pos..pos + n).ok_or_else(|| {
            dicom_error(
                self.path,
                None,
                format!("truncated: the file ends inside an element header at byte {pos}"),
            )
        })
    }

    /// Tag, VR (explicit files), length and the offset of the value of the element at `pos`.
    /// Item and delimiter tags have no VR in either encoding.
    fn header(&self, pos: usize) -> Result<(Tag, Option<[u8; 2]>, u32, usize)> {
        let tag = Tag(self.u16_at(pos)?, self.u16_at(pos + 2)?);
        if tag.0 == 0xFFFE || !self.explicit {
            return Ok((tag, None, self.u32_at(pos + 4)?, pos + 8));
        }
        let vr = self.take(pos + 4, 2)?;
        let vr = [vr[0], vr[1]];
        // VRs with a 2-byte length; every other VR, unknown ones included (parsers read
        // those as UN), has 2 reserved bytes and a 4-byte length.
        match &vr {
            b"AE" | b"AS" | b"AT" | b"CS" | b"DA" | b"DS" | b"DT" | b"FL" | b"FD" | b"IS"
            | b"LO" | b"LT" | b"PN" | b"SH" | b"SL" | b"SS" | b"ST" | b"TM" | b"UI" | b"UL"
            | b"US" => Ok((tag, Some(vr), u32::from(self.u16_at(pos + 6)?), pos + 8)),
            _ => Ok((tag, Some(vr), self.u32_at(pos + 8)?, pos + 12)),
        }
    }

    /// A defined length that fits before `end`.
    fn defined(&self, tag: Tag, len: u32, value: usize, end: usize) -> Result<usize> {
        if len == UNDEFINED {
            return Err(dicom_error(
                self.path,
                Some(tag),
                "has an undefined length where a defined one is required",
            ));
        }
        let len = len as usize;
        if value > end || len > end - value {
            return Err(dicom_error(
                self.path,
                Some(tag),
                format!(
                    "declares {len} bytes but only {} remain in its container: truncated or malformed",
                    end.saturating_sub(value)
                ),
            ));
        }
        Ok(len)
    }

    /// Binary VRs hold whole values: a length that is not a multiple of the value size would
    /// leave a parser misaligned, reading garbage as headers.
    fn whole_values(&self, tag: Tag, vr: Option<[u8; 2]>, len: usize) -> Result<()> {
        let size = match vr.as_ref() {
            Some(b"SS" | b"US" | b"OW") => 2,
            Some(b"SL" | b"UL" | b"FL" | b"AT" | b"OL" | b"OF") => 4,
            Some(b"FD" | b"SV" | b"UV" | b"OD" | b"OV") => 8,
            _ => 1,
        };
        if !len.is_multiple_of(size) {
            return Err(dicom_error(
                self.path,
                Some(tag),
                format!(
                    "has {len} bytes of VR {}, not a whole number of {size}-byte values",
                    String::from_utf8_lossy(&vr.unwrap_or_default())
                ),
            ));
        }
        Ok(())
    }

    fn too_deep(&self, tag: Tag, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(dicom_error(
                self.path,
                Some(tag),
                format!("sequences nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    /// Elements from `pos` to `end`; with `delimited`, stops after an item delimiter.
    fn elements(&self, mut pos: usize, end: usize, depth: usize, delimited: bool) -> Result<usize> {
        while pos < end {
            let (tag, vr, len, value) = self.header(pos)?;
            if tag == ITEM_END {
                return if delimited {
                    Ok(value)
                } else {
                    Err(dicom_error(
                        self.path,
                        Some(tag),
                        "item delimiter outside an item",
                    ))
                };
            }
            let is_sequence = match vr {
                Some(vr) => &vr == b"SQ" || len == UNDEFINED,
                None => {
                    len == UNDEFINED
                        || StandardDataDictionary
                            .by_tag(tag)
                            .is_some_and(|e| e.vr().exact() == Some(dicom_core::VR::SQ))
                }
            };
            pos = if is_sequence {
                self.too_deep(tag, depth + 1)?;
                self.items(tag, len, value, end, depth + 1)?
            } else {
                let n = self.defined(tag, len, value, end)?;
                self.whole_values(tag, vr, n)?;
                value + n
            };
        }
        if delimited {
            return Err(dicom_error(
                self.path,
                None,
                "truncated: an item of undefined length has no delimiter",
            ));
        }
        Ok(pos)
    }

    /// The items of a sequence (or the fragments of encapsulated pixel data) whose value starts
    /// at `value`; returns the offset after it.
    fn items(&self, tag: Tag, len: u32, value: usize, end: usize, depth: usize) -> Result<usize> {
        let stop = if len == UNDEFINED {
            end
        } else {
            value + self.defined(tag, len, value, end)?
        };
        let mut pos = value;
        while pos < stop {
            let (item, _, item_len, inner) = self.header(pos)?;
            if item == SEQUENCE_END {
                if len == UNDEFINED {
                    return Ok(inner);
                }
                return Err(dicom_error(
                    self.path,
                    Some(tag),
                    "sequence delimiter inside a sequence of defined length",
                ));
            }
            if item != ITEM {
                return Err(dicom_error(
                    self.path,
                    Some(tag),
                    format!(
                        "holds ({:04X},{:04X}) where an item was expected",
                        item.0, item.1
                    ),
                ));
            }
            pos = if item_len == UNDEFINED {
                self.elements(inner, stop, depth, true)?
            } else {
                let n = self.defined(tag, item_len, inner, stop)?;
                // Fragments of encapsulated pixel data are bytes; items of a sequence are data sets.
                let fragments = matches!(tag, Tag(0x7FE0, 0x0010));
                if !fragments {
                    self.elements(inner, inner + n, depth, false)?;
                }
                inner + n
            };
        }
        if len == UNDEFINED {
            return Err(dicom_error(
                self.path,
                Some(tag),
                "truncated: a sequence of undefined length has no delimiter",
            ));
        }
        Ok(stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Part 10 file: preamble, meta group with `syntax`, then `body`.
    fn file(syntax: &str, body: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 128];
        b.extend_from_slice(b"DICM");
        let mut uid = syntax.as_bytes().to_vec();
        if uid.len() % 2 == 1 {
            uid.push(0);
        }
        b.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        b.extend_from_slice(&(uid.len() as u16).to_le_bytes());
        b.extend_from_slice(&uid);
        b.extend_from_slice(body);
        b
    }

    fn element(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&tag.0.to_le_bytes());
        b.extend_from_slice(&tag.1.to_le_bytes());
        b.extend_from_slice(vr);
        b.extend_from_slice(&(value.len() as u16).to_le_bytes());
        b.extend_from_slice(value);
        b
    }

    const EXPLICIT: &str = "1.2.840.10008.1.2.1";

    fn check_bytes(b: &[u8]) -> Result<Layout> {
        check(b, Path::new("t.dcm"))
    }

    #[test]
    fn well_formed_files_pass() {
        let body = [
            element((0x0008, 0x0060), b"CS", b"NM"),
            element((0x0028, 0x0010), b"US", &[128, 0]),
        ]
        .concat();
        assert_eq!(check_bytes(&file(EXPLICIT, &body)).unwrap().magic, 128);
    }

    // Regressions from the fuzz harness (tests/dicom_fuzz.rs): each made a parser misread
    // lengths and allocate gigabytes before failing.
    #[test]
    fn binary_values_of_a_partial_length_are_refused() {
        let body = element((0x0013, 0x1012), b"SL", b"CHEST ");
        let e = check_bytes(&file(EXPLICIT, &body)).unwrap_err().to_string();
        assert!(
            e.contains("(0013,1012)") && e.contains("not a whole number of 4-byte values"),
            "{e}"
        );
    }

    #[test]
    fn lengths_beyond_the_file_are_refused() {
        let mut body = vec![0x20, 0x00, 0x32, 0x00, 0xFF, b'L', 0, 0];
        body.extend_from_slice(&0xC334_892A_u32.to_le_bytes());
        let e = check_bytes(&file(EXPLICIT, &body)).unwrap_err().to_string();
        assert!(
            e.contains("declares 3275000106 bytes but only 0 remain"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_transfer_syntax_is_refused() {
        let mut b = vec![0u8; 128];
        b.extend_from_slice(b"DICM");
        b.extend(element((0x0008, 0x0060), b"CS", b"NM"));
        let e = check_bytes(&b).unwrap_err().to_string();
        assert!(e.contains("(0002,0010)"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        // Sequences of undefined length, each holding an item holding the next.
        let mut body = Vec::new();
        for _ in 0..=MAX_DEPTH {
            body.extend_from_slice(&[
                0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            ]);
            body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        let e = check_bytes(&file(EXPLICIT, &body)).unwrap_err().to_string();
        assert!(e.contains("nest deeper"), "{e}");
    }
}
