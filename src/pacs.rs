//! A DICOM network node (the upper layer of `dicom-ul`, DIMSE messages written here): asks a
//! PACS for studies (C-FIND, study root), retrieves them (C-GET, on the same association: no
//! port of ours needs to be open to the PACS), and sends files to it (C-STORE).
//!
//! - Every call opens one association, does its work and releases it; an association the PACS
//!   refuses, a PACS that cannot be reached or does not answer within the timeout, and a
//!   failure status are [`Error::Network`], saying which peer and why.
//! - Retrieved instances are written as DICOM files (`<folder>/<SOP instance UID>.dcm`, the
//!   transfer syntax the PACS sent), each atomically; a study is retrieved into
//!   `<folder>/.<study UID>.partial/` and renamed to `<folder>/<study UID>/` when every
//!   instance has arrived ([`Pacs::retrieve_study`]).
//! - Uncompressed transfer syntaxes are proposed for retrieval (a PACS that holds compressed
//!   files decompresses them, as C-GET requires); files are sent in their own transfer syntax,
//!   or re-encoded to an uncompressed one the PACS accepts.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest network timeout a node accepts, seconds (a day): beyond it a silent peer holds a
/// batch for longer than any study is worth, and far beyond it the value is no duration.
const MAX_TIMEOUT_S: f64 = 86_400.0;

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
use dicom_ul::association::client::{ClientAssociation, ClientAssociationOptions};
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu, PresentationContextResultReason};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const VERIFICATION: &str = "1.2.840.10008.1.1";
const STUDY_ROOT_FIND: &str = "1.2.840.10008.5.1.4.1.2.2.1";
const STUDY_ROOT_GET: &str = "1.2.840.10008.5.1.4.1.2.2.3";
/// Storage SOP classes accepted on retrieval: CT, enhanced CT, NM, PET, enhanced PET,
/// secondary capture, MR and enhanced MR (for fusion), RT structure sets are not needed.
const STORAGE: [&str; 8] = [
    "1.2.840.10008.5.1.4.1.1.2",
    "1.2.840.10008.5.1.4.1.1.2.1",
    "1.2.840.10008.5.1.4.1.1.20",
    "1.2.840.10008.5.1.4.1.1.128",
    "1.2.840.10008.5.1.4.1.1.130",
    "1.2.840.10008.5.1.4.1.1.7",
    "1.2.840.10008.5.1.4.1.1.4",
    "1.2.840.10008.5.1.4.1.1.4.1",
];

// DIMSE command fields (PS3.7 E.1).
const C_STORE_RQ: u16 = 0x0001;
const C_STORE_RSP: u16 = 0x8001;
const C_GET_RQ: u16 = 0x0010;
const C_GET_RSP: u16 = 0x8010;
const C_FIND_RQ: u16 = 0x0020;
const C_FIND_RSP: u16 = 0x8020;
const C_ECHO_RQ: u16 = 0x0030;
const C_ECHO_RSP: u16 = 0x8030;
const NO_DATA_SET: u16 = 0x0101;

/// Where the PACS is and who we are, as in the batch settings' `[pacs]` table.
///
/// ```toml
/// [pacs]
/// host = "pacs.hospital.example"
/// port = 104
/// ae_title = "PACS"           # the PACS's (called) AE title
/// calling_ae_title = "TOMORS" # ours; the PACS must know it for C-GET
/// timeout_s = 60.0
/// store_results = true        # tomors batch: send each finished study's DICOM series back
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacsSettings {
    /// Host name or address.
    pub host: String,
    /// DICOM port.
    pub port: u16,
    /// The PACS's AE title (called).
    pub ae_title: String,
    /// Our AE title (calling).
    #[serde(default = "tomors_ae")]
    pub calling_ae_title: String,
    /// Seconds to wait for the connection and for each answer (above 0, at most a day).
    #[serde(default = "sixty")]
    pub timeout_s: f64,
    /// `tomors batch`: send each finished study's DICOM results to the PACS.
    #[serde(default)]
    pub store_results: bool,
}

fn tomors_ae() -> String {
    "TOMORS".into()
}

fn sixty() -> f64 {
    60.0
}

/// A C-FIND at study level: empty fields match everything; DICOM wildcards (`*`, `?`) and
/// date ranges (`20260101-20261231`) are the PACS's to interpret.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StudyQuery {
    /// Patient ID (0010,0020).
    pub patient_id: Option<String>,
    /// Study Date (0008,0020), `YYYYMMDD` or a range.
    pub study_date: Option<String>,
    /// A modality the study must hold (0008,0061 Modalities in Study), e.g. `NM`.
    pub modality: Option<String>,
    /// Study Instance UID (0020,000D).
    pub study_uid: Option<String>,
}

/// One study a PACS reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StudyMatch {
    /// Study Instance UID.
    pub study_uid: String,
    /// Patient ID.
    pub patient_id: String,
    /// Patient's name (DICOM PN form, `^`-separated).
    pub patient_name: String,
    /// Study date, `YYYYMMDD`.
    pub study_date: String,
    /// Study description.
    pub description: String,
    /// Modalities in the study.
    pub modalities: Vec<String>,
}

/// A PACS to talk to ([`PacsSettings`] checked).
#[derive(Debug, Clone)]
pub struct Pacs {
    settings: PacsSettings,
    /// Largest data set accepted in one DIMSE message, bytes: the reading limit of a DICOM
    /// file ([`crate::io::dicom::ReadLimits`]) or this machine's memory, the lower.
    max_data_set_bytes: u64,
}

/// Longest command set accepted, bytes: a command holds a few short elements (PS3.7 E.1), so
/// a longer one is not a PACS speaking DIMSE.
const MAX_COMMAND_BYTES: usize = 64 * 1024;

/// A DIMSE message received: its command set and, when it has one, its data set (encoded in
/// the presentation context's transfer syntax).
struct Message {
    context: u8,
    command: InMemDicomObject,
    data: Option<Vec<u8>>,
}

impl Message {
    fn field(&self, tag: Tag) -> Option<u16> {
        self.command.get(tag).and_then(|e| e.to_int::<u16>().ok())
    }

    fn text(&self, tag: Tag) -> String {
        self.command
            .get(tag)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
            .unwrap_or_default()
    }
}

impl Pacs {
    /// Checks the settings: AE titles of 1–16 characters without backslashes or control
    /// characters, a host, a port, a positive timeout.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the setting.
    pub fn new(settings: PacsSettings) -> Result<Self> {
        for (key, ae) in [
            ("pacs.ae_title", &settings.ae_title),
            ("pacs.calling_ae_title", &settings.calling_ae_title),
        ] {
            let t = ae.trim();
            if t.is_empty() || t.len() > 16 || t.chars().any(|c| c == '\\' || c.is_control()) {
                return Err(Error::InvalidArgument(format!(
                    "{key} is {ae:?}; expected 1 to 16 characters, no backslash"
                )));
            }
        }
        if settings.host.trim().is_empty() || settings.port == 0 {
            return Err(Error::InvalidArgument(format!(
                "pacs: host {:?} port {}; expected a host name and a port above 0",
                settings.host, settings.port
            )));
        }
        if !(settings.timeout_s > 0.0 && settings.timeout_s <= MAX_TIMEOUT_S) {
            return Err(Error::InvalidArgument(format!(
                "pacs.timeout_s is {:e}; expected seconds above 0 and at most {MAX_TIMEOUT_S} (a day)",
                settings.timeout_s
            )));
        }
        let file_limit = crate::io::dicom::ReadLimits::default().max_file_bytes;
        Ok(Self {
            settings,
            max_data_set_bytes: crate::memory::memory_limit()
                .map_or(file_limit, |m| m.min(file_limit)),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &PacsSettings {
        &self.settings
    }

    fn peer(&self) -> String {
        let s = &self.settings;
        format!("{}@{}:{}", s.ae_title, s.host, s.port)
    }

    fn network(&self, reason: impl std::fmt::Display) -> Error {
        Error::Network {
            peer: self.peer(),
            reason: reason.to_string(),
        }
    }

    /// Opens an association proposing `contexts` (abstract syntax, transfer syntaxes, and
    /// whether we take the SCP role, for C-GET's sub-operations).
    fn associate(
        &self,
        contexts: &[(&str, Vec<&str>, bool)],
    ) -> Result<ClientAssociation<std::net::TcpStream>> {
        let s = &self.settings;
        let timeout = Duration::from_secs_f64(s.timeout_s);
        let mut options = ClientAssociationOptions::new()
            .calling_ae_title(s.calling_ae_title.trim().to_string())
            .called_ae_title(s.ae_title.trim().to_string())
            .connection_timeout(timeout)
            .read_timeout(timeout)
            .write_timeout(timeout);
        for (abstract_syntax, transfer, scp) in contexts {
            options = options.with_presentation_context(*abstract_syntax, transfer.clone());
            if *scp {
                options = options.with_role_selection(*abstract_syntax, false, true);
            }
        }
        let address = (s.host.as_str(), s.port);
        let a = options.establish(address).map_err(|e| {
            self.network(format!(
                "no association (calling AE {:?}): {}",
                s.calling_ae_title,
                self.plain_reason(&e)
            ))
        })?;
        // What the PACS agreed to must be what we can speak: PDUs large enough to carry a
        // P-DATA header, and for each context a transfer syntax we proposed for it.
        let pdu = a.acceptor_max_pdu_length();
        if pdu < dicom_ul::pdu::MINIMUM_PDU_SIZE {
            let _ = a.abort();
            return Err(self.network(format!(
                "the PACS accepts PDUs of at most {pdu} bytes; DICOM peers take at least {}",
                dicom_ul::pdu::MINIMUM_PDU_SIZE
            )));
        }
        let unproposed = a.presentation_contexts().iter().find(|c| {
            let ts = c.transfer_syntax.trim_end_matches('\0');
            c.reason == PresentationContextResultReason::Acceptance
                && !contexts.iter().any(|(class, syntaxes, _)| {
                    *class == c.abstract_syntax.trim_end_matches('\0') && syntaxes.contains(&ts)
                })
        });
        if let Some(c) = unproposed {
            let message = format!(
                "the PACS accepted SOP class {} in transfer syntax {}, which we did not propose",
                c.abstract_syntax.trim_end_matches('\0'),
                c.transfer_syntax.trim_end_matches('\0')
            );
            let _ = a.abort();
            return Err(self.network(message));
        }
        Ok(a)
    }

    /// What a low-level failure talking to the peer means, then its chain of messages: a
    /// silent peer, a refused connection, a closed one, or an answer that is not DICOM.
    fn plain_reason(&self, e: &(dyn std::error::Error + 'static)) -> String {
        use std::io::ErrorKind as K;
        let mut chain = e.to_string();
        let mut kind = e.downcast_ref::<std::io::Error>().map(std::io::Error::kind);
        let mut source = e.source();
        while let Some(inner) = source {
            chain.push_str(": ");
            chain.push_str(&inner.to_string());
            kind = kind.or(inner
                .downcast_ref::<std::io::Error>()
                .map(std::io::Error::kind));
            source = inner.source();
        }
        let meaning = match kind {
            Some(K::WouldBlock | K::TimedOut) => Some(format!(
                "no answer within timeout_s = {} s: the peer took the connection but said \
                 nothing (not a DICOM port, or busy)",
                self.settings.timeout_s
            )),
            Some(K::ConnectionRefused) => Some("nothing listens on that port".to_string()),
            Some(K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted) => {
                Some("the peer closed the connection".to_string())
            }
            _ if chain.contains("too large") || chain.contains("Invalid PDU") => Some(
                "the peer answered with something that is not DICOM (an HTTP port?)".to_string(),
            ),
            _ => None,
        };
        match meaning {
            Some(m) => format!("{m} ({chain})"),
            None => chain,
        }
    }

    /// The accepted presentation context for `abstract_syntax`: its id and transfer syntax.
    fn context(
        &self,
        association: &ClientAssociation<std::net::TcpStream>,
        abstract_syntax: &str,
    ) -> Result<(u8, String)> {
        association
            .presentation_contexts()
            .iter()
            .find(|c| {
                c.reason == PresentationContextResultReason::Acceptance
                    && c.abstract_syntax.trim_end_matches('\0') == abstract_syntax
            })
            .map(|c| (c.id, c.transfer_syntax.trim_end_matches('\0').to_string()))
            .ok_or_else(|| {
                self.network(format!(
                    "the PACS does not accept the SOP class {abstract_syntax} from us"
                ))
            })
    }

    /// C-ECHO: the PACS answers.
    ///
    /// # Errors
    /// [`Error::Network`]: unreachable, association refused, or a failure status.
    pub fn echo(&self) -> Result<()> {
        let mut a = self.associate(&[(VERIFICATION, vec![EXPLICIT_LE, IMPLICIT_LE], false)])?;
        let (context, _) = self.context(&a, VERIFICATION)?;
        self.send_command(
            &mut a,
            context,
            command(C_ECHO_RQ, VERIFICATION, 1, None, false),
        )?;
        let reply = self.receive(&mut a)?;
        self.expect(&reply, C_ECHO_RSP, "C-ECHO")?;
        self.release(a)
    }

    /// C-FIND at study level (study root).
    ///
    /// # Errors
    /// [`Error::Network`]: unreachable, association refused, or a failure status.
    pub fn find_studies(&self, query: &StudyQuery) -> Result<Vec<StudyMatch>> {
        let mut a = self.associate(&[(STUDY_ROOT_FIND, vec![EXPLICIT_LE, IMPLICIT_LE], false)])?;
        let (context, ts) = self.context(&a, STUDY_ROOT_FIND)?;
        let mut id = InMemDicomObject::new_empty();
        let mut put = |tag: Tag, vr: VR, value: &Option<String>| {
            id.put(DataElement::new(
                tag,
                vr,
                PrimitiveValue::from(value.clone().unwrap_or_default()),
            ));
        };
        put(tags::QUERY_RETRIEVE_LEVEL, VR::CS, &Some("STUDY".into()));
        put(tags::STUDY_INSTANCE_UID, VR::UI, &query.study_uid);
        put(tags::PATIENT_ID, VR::LO, &query.patient_id);
        put(tags::PATIENT_NAME, VR::PN, &None);
        put(tags::STUDY_DATE, VR::DA, &query.study_date);
        put(tags::STUDY_DESCRIPTION, VR::LO, &None);
        put(tags::MODALITIES_IN_STUDY, VR::CS, &query.modality);
        self.send_command(
            &mut a,
            context,
            command(C_FIND_RQ, STUDY_ROOT_FIND, 1, None, true),
        )?;
        self.send_data(&mut a, context, &encode(&id, &ts)?)?;
        let mut found = Vec::new();
        loop {
            let reply = self.receive(&mut a)?;
            let status = self.expect(&reply, C_FIND_RSP, "C-FIND")?;
            if status != 0xFF00 && status != 0xFF01 {
                break;
            }
            let Some(data) = &reply.data else { continue };
            let d = decode(data, &ts, "a C-FIND answer").map_err(|e| self.network(e))?;
            let text = |tag: Tag| {
                d.get(tag)
                    .and_then(|e| e.to_str().ok())
                    .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
                    .unwrap_or_default()
            };
            let modalities = d
                .get(tags::MODALITIES_IN_STUDY)
                .and_then(|e| e.to_multi_str().ok())
                .map(|v| v.iter().map(|s| s.trim().to_string()).collect())
                .unwrap_or_default();
            found.push(StudyMatch {
                study_uid: text(tags::STUDY_INSTANCE_UID),
                patient_id: text(tags::PATIENT_ID),
                patient_name: text(tags::PATIENT_NAME),
                study_date: text(tags::STUDY_DATE),
                description: text(tags::STUDY_DESCRIPTION),
                modalities,
            });
        }
        self.release(a)?;
        found.sort_by(|a, b| a.study_uid.cmp(&b.study_uid));
        Ok(found)
    }

    /// C-GET of a whole study into `folder/<study UID>/` (through
    /// `folder/.<study UID>.partial/`, renamed when every instance has arrived; a `.partial`
    /// left by an interrupted retrieval is removed first). Returns the study's folder and the
    /// number of instances.
    ///
    /// # Errors
    /// [`Error::Network`]: unreachable, association refused, sub-operations that failed (the
    /// PACS's counts), or a failure status; [`Error::Io`]: the files cannot be written. Nothing
    /// of the study is left in `folder` then.
    pub fn retrieve_study(&self, study_uid: &str, folder: &Path) -> Result<(PathBuf, usize)> {
        let done = folder.join(study_uid);
        let n =
            crate::io::fill_folder_atomically(&done, |partial| self.get_into(study_uid, partial))?;
        Ok((done, n))
    }

    fn get_into(&self, study_uid: &str, folder: &Path) -> Result<usize> {
        let mut contexts = vec![(STUDY_ROOT_GET, vec![EXPLICIT_LE, IMPLICIT_LE], false)];
        contexts.extend(
            STORAGE
                .iter()
                .map(|s| (*s, vec![EXPLICIT_LE, IMPLICIT_LE], true)),
        );
        let mut a = self.associate(&contexts)?;
        let (context, ts) = self.context(&a, STUDY_ROOT_GET)?;
        let mut id = InMemDicomObject::new_empty();
        id.put(DataElement::new(
            tags::QUERY_RETRIEVE_LEVEL,
            VR::CS,
            PrimitiveValue::from("STUDY"),
        ));
        id.put(DataElement::new(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(study_uid),
        ));
        self.send_command(
            &mut a,
            context,
            command(C_GET_RQ, STUDY_ROOT_GET, 1, None, true),
        )?;
        self.send_data(&mut a, context, &encode(&id, &ts)?)?;
        let syntaxes: BTreeMap<u8, String> = a
            .presentation_contexts()
            .iter()
            .map(|c| (c.id, c.transfer_syntax.trim_end_matches('\0').to_string()))
            .collect();
        let mut stored = 0;
        loop {
            let m = self.receive(&mut a)?;
            match m.field(tags::COMMAND_FIELD) {
                Some(C_STORE_RQ) => {
                    let class = m.text(tags::AFFECTED_SOP_CLASS_UID);
                    let instance = m.text(tags::AFFECTED_SOP_INSTANCE_UID);
                    let written = match (&m.data, syntaxes.get(&m.context)) {
                        (Some(data), Some(ts)) => {
                            write_instance(folder, &class, &instance, ts, data).map(|_| ())
                        }
                        _ => Err(self.network("a C-STORE without a data set")),
                    };
                    // 0xA700: out of resources (we could not keep it).
                    let status = if written.is_ok() { 0 } else { 0xA700 };
                    let id = m.field(tags::MESSAGE_ID).unwrap_or(0);
                    let mut rsp = command(C_STORE_RSP, &class, 0, Some(&instance), false);
                    rsp.put(u16_element(tags::MESSAGE_ID_BEING_RESPONDED_TO, id));
                    rsp.put(u16_element(tags::STATUS, status));
                    rsp.remove_element(tags::MESSAGE_ID);
                    rsp.remove_element(tags::PRIORITY);
                    self.send_command(&mut a, m.context, rsp)?;
                    written?;
                    stored += 1;
                }
                Some(C_GET_RSP) => {
                    let status = m.field(tags::STATUS).unwrap_or(0xFFFF);
                    if status == 0xFF00 {
                        continue;
                    }
                    let failed = m.field(tags::NUMBER_OF_FAILED_SUBOPERATIONS).unwrap_or(0);
                    self.release(a)?;
                    if status != 0 || failed > 0 {
                        return Err(self.network(format!(
                            "C-GET of study {study_uid} ended with status {status:#06x}, \
                             {failed} instances not sent, {stored} received"
                        )));
                    }
                    if stored == 0 {
                        return Err(self.network(format!("no study {study_uid} on the PACS")));
                    }
                    return Ok(stored);
                }
                other => {
                    return Err(
                        self.network(format!("unexpected DIMSE command {other:?} during a C-GET"))
                    );
                }
            }
        }
    }

    /// C-STORE of DICOM files (Part 10), one association for all. Returns how many were stored.
    ///
    /// # Errors
    /// [`Error::Dicom`] for a file that is not DICOM; [`Error::Network`]: unreachable,
    /// association refused, a SOP class the PACS does not take, or a failure status (the
    /// files before it were stored).
    pub fn store(&self, files: &[PathBuf]) -> Result<usize> {
        if files.is_empty() {
            return Ok(0);
        }
        let open = |f: &PathBuf, headers_only: bool| {
            let mut options = OpenFileOptions::new();
            if headers_only {
                options = options.read_until(tags::PIXEL_DATA);
            }
            options.open_file(f).map_err(|e| Error::Dicom {
                path: f.clone(),
                tag: None,
                reason: format!("cannot be read for sending: {e}"),
            })
        };
        // The headers first (SOP class and transfer syntax of each), the whole file when it
        // is sent: one file in memory at a time.
        let mut metas = Vec::with_capacity(files.len());
        for f in files {
            let m = open(f, true)?.meta().clone();
            metas.push(m);
        }
        // One context per SOP class and transfer syntax: a PACS accepts one transfer syntax
        // per context.
        let mut wanted: Vec<(String, String)> = metas
            .iter()
            .map(|m| {
                (
                    m.media_storage_sop_class_uid()
                        .trim_end_matches('\0')
                        .to_string(),
                    m.transfer_syntax().trim_end_matches('\0').to_string(),
                )
            })
            .collect();
        wanted.sort();
        wanted.dedup();
        let contexts: Vec<(&str, Vec<&str>, bool)> = wanted
            .iter()
            .map(|(class, ts)| {
                let mut list = vec![ts.as_str()];
                for u in [EXPLICIT_LE, IMPLICIT_LE] {
                    if u != ts {
                        list.push(u);
                    }
                }
                (class.as_str(), list, false)
            })
            .collect();
        let mut a = self.associate(&contexts)?;
        let accepted: Vec<(u8, String, String)> = a
            .presentation_contexts()
            .iter()
            .filter(|c| c.reason == PresentationContextResultReason::Acceptance)
            .map(|c| {
                (
                    c.id,
                    c.abstract_syntax.trim_end_matches('\0').to_string(),
                    c.transfer_syntax.trim_end_matches('\0').to_string(),
                )
            })
            .collect();
        for (n, (m, f)) in metas.iter().zip(files).enumerate() {
            let class = m.media_storage_sop_class_uid().trim_end_matches('\0');
            let instance = m.media_storage_sop_instance_uid().trim_end_matches('\0');
            let own = m.transfer_syntax().trim_end_matches('\0');
            // The file's own transfer syntax if accepted, else an uncompressed one.
            let Some((context, ts)) = accepted
                .iter()
                .filter(|(_, c, _)| c == class)
                .min_by_key(|(_, _, t)| t != own)
                .map(|(id, _, t)| (*id, t.clone()))
            else {
                let _ = a.abort();
                return Err(self.network(format!(
                    "the PACS does not take SOP class {class} ({}); {n} of {} files were stored",
                    f.display(),
                    files.len()
                )));
            };
            let object = open(f, false)?;
            let data = encode(&object, &ts).map_err(|e| Error::Dicom {
                path: f.clone(),
                tag: None,
                reason: format!("cannot be encoded in {ts}: {e}"),
            })?;
            let id = (n % 0xFFFF) as u16 + 1;
            self.send_command(
                &mut a,
                context,
                command(C_STORE_RQ, class, id, Some(instance), true),
            )?;
            self.send_data(&mut a, context, &data)?;
            let reply = self.receive(&mut a)?;
            let status = self.expect(&reply, C_STORE_RSP, "C-STORE")?;
            // 0xB000, 0xB006, 0xB007: stored with a warning.
            if status != 0 && status & 0xF000 != 0xB000 {
                let _ = a.release();
                return Err(self.network(format!(
                    "C-STORE of {} refused with status {status:#06x}; {n} of {} files were stored",
                    f.display(),
                    files.len()
                )));
            }
        }
        self.release(a)?;
        Ok(files.len())
    }

    fn send_command(
        &self,
        a: &mut ClientAssociation<std::net::TcpStream>,
        context: u8,
        command: InMemDicomObject,
    ) -> Result<()> {
        let bytes = encode_command(command)?;
        a.send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: context,
                value_type: PDataValueType::Command,
                is_last: true,
                data: bytes,
            }],
        })
        .map_err(|e| self.network(format!("sending a command: {e}")))
    }

    fn send_data(
        &self,
        a: &mut ClientAssociation<std::net::TcpStream>,
        context: u8,
        data: &[u8],
    ) -> Result<()> {
        let mut w = a.send_pdata(context);
        w.write_all(data)
            .and_then(|_| w.finish())
            .map_err(|e| self.network(format!("sending a data set: {e}")))
    }

    /// The next whole DIMSE message (command, and its data set when it has one).
    fn receive(&self, a: &mut ClientAssociation<std::net::TcpStream>) -> Result<Message> {
        let (mut command, mut data) = (Vec::new(), Vec::new());
        let mut parsed: Option<(u8, InMemDicomObject)> = None;
        loop {
            let pdu = a
                .receive()
                .map_err(|e| self.network(format!("no answer: {}", self.plain_reason(&e))))?;
            let values = match pdu {
                Pdu::PData { data } => data,
                Pdu::AbortRQ { source } => {
                    return Err(self.network(format!("the PACS aborted: {source:?}")));
                }
                Pdu::ReleaseRQ => return Err(self.network("the PACS released the association")),
                other => return Err(self.network(format!("unexpected PDU {other:?}"))),
            };
            for v in values {
                match v.value_type {
                    PDataValueType::Command => {
                        if command.len() + v.data.len() > MAX_COMMAND_BYTES {
                            return Err(self.network(format!(
                                "a DIMSE command of more than {MAX_COMMAND_BYTES} bytes: not a PACS"
                            )));
                        }
                        command.extend_from_slice(&v.data);
                        if v.is_last {
                            let c = decode(&command, IMPLICIT_LE, "a DIMSE command")
                                .map_err(|e| self.network(e))?;
                            let none = c
                                .get(tags::COMMAND_DATA_SET_TYPE)
                                .and_then(|e| e.to_int::<u16>().ok())
                                == Some(NO_DATA_SET);
                            if none {
                                return Ok(Message {
                                    context: v.presentation_context_id,
                                    command: c,
                                    data: None,
                                });
                            }
                            parsed = Some((v.presentation_context_id, c));
                        }
                    }
                    PDataValueType::Data => {
                        let total = (data.len() + v.data.len()) as u64;
                        if total > self.max_data_set_bytes {
                            return Err(self.network(format!(
                                "a data set of more than {} from the PACS (the limit: a DICOM \
                                 file's reading limit or this machine's memory)",
                                crate::error::human_bytes(self.max_data_set_bytes)
                            )));
                        }
                        data.extend_from_slice(&v.data);
                        if v.is_last {
                            let Some((context, command)) = parsed.take() else {
                                return Err(self.network("a data set before its command"));
                            };
                            return Ok(Message {
                                context,
                                command,
                                data: Some(std::mem::take(&mut data)),
                            });
                        }
                    }
                }
            }
        }
    }

    /// The message's status, when it is the `expected` response; an error otherwise or for a
    /// failure status (not success 0x0000, pending 0xFF0x, or warning 0xBxxx / 0x0001).
    fn expect(&self, m: &Message, expected: u16, what: &str) -> Result<u16> {
        if m.field(tags::COMMAND_FIELD) != Some(expected) {
            return Err(self.network(format!(
                "{what}: expected its response, got command {:?}",
                m.field(tags::COMMAND_FIELD)
            )));
        }
        let status = m.field(tags::STATUS).unwrap_or(0xFFFF);
        let ok =
            status == 0 || status == 1 || status & 0xFFF0 == 0xFF00 || status & 0xF000 == 0xB000;
        if !ok {
            let comment = m.text(tags::ERROR_COMMENT);
            return Err(self.network(format!(
                "{what} failed with status {status:#06x}{}",
                if comment.is_empty() {
                    String::new()
                } else {
                    format!(" ({comment})")
                }
            )));
        }
        Ok(status)
    }

    fn release(&self, a: ClientAssociation<std::net::TcpStream>) -> Result<()> {
        a.release()
            .map_err(|e| self.network(format!("releasing the association: {e}")))
    }
}

fn u16_element(tag: Tag, value: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(value))
}

/// A request's command set (its group length added when encoded).
fn command(
    field: u16,
    class: &str,
    message_id: u16,
    instance: Option<&str>,
    with_data: bool,
) -> InMemDicomObject {
    let mut c = InMemDicomObject::new_empty();
    c.put(DataElement::new(
        tags::AFFECTED_SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::from(class),
    ));
    c.put(u16_element(tags::COMMAND_FIELD, field));
    c.put(u16_element(tags::MESSAGE_ID, message_id));
    if field & 0x8000 == 0 && field != C_ECHO_RQ {
        c.put(u16_element(tags::PRIORITY, 0));
    }
    c.put(u16_element(
        tags::COMMAND_DATA_SET_TYPE,
        if with_data { 0x0001 } else { NO_DATA_SET },
    ));
    if let Some(i) = instance {
        c.put(DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(i),
        ));
    }
    c
}

/// A command set in implicit VR little endian, led by its group length (PS3.7 6.3.1).
fn encode_command(mut c: InMemDicomObject) -> Result<Vec<u8>> {
    c.remove_element(tags::COMMAND_GROUP_LENGTH);
    let body = encode(&c, IMPLICIT_LE)?;
    c.put(DataElement::new(
        tags::COMMAND_GROUP_LENGTH,
        VR::UL,
        PrimitiveValue::from(body.len() as u32),
    ));
    encode(&c, IMPLICIT_LE)
}

fn encode(o: &InMemDicomObject, ts: &str) -> Result<Vec<u8>> {
    let syntax = TransferSyntaxRegistry
        .get(ts)
        .ok_or_else(|| Error::InvalidArgument(format!("transfer syntax {ts} is not supported")))?;
    let mut out = Vec::new();
    o.write_dataset_with_ts(&mut out, syntax)
        .map_err(|e| Error::InvalidArgument(format!("encoding a DICOM data set: {e}")))?;
    Ok(out)
}

/// A received data set (`what` names it in errors), its structure checked before parsing.
fn decode(bytes: &[u8], ts: &str, what: &str) -> std::result::Result<InMemDicomObject, String> {
    crate::io::dicom::parse_data_set(bytes, ts, what).map_err(|e| e.to_string())
}

/// Writes a received instance as a DICOM file (preamble, file meta, the data set as received),
/// atomically.
fn write_instance(
    folder: &Path,
    class: &str,
    instance: &str,
    ts: &str,
    data: &[u8],
) -> Result<PathBuf> {
    let uid = |u: &str| {
        !u.is_empty() && u.len() <= 64 && u.chars().all(|c| c.is_ascii_digit() || c == '.')
    };
    for (what, value) in [("SOP class", class), ("SOP instance", instance)] {
        if !uid(value) {
            return Err(Error::InvalidArgument(format!(
                "a received instance has the {what} UID {value:?}; expected up to 64 digits and dots"
            )));
        }
    }
    crate::io::dicom::check_data_set(
        data,
        ts,
        Path::new(&format!("instance {instance} from the PACS")),
    )?;
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(class)
        .media_storage_sop_instance_uid(instance)
        .transfer_syntax(ts)
        .implementation_class_uid(crate::io::dicom::IMPLEMENTATION_CLASS_UID)
        .build()
        .map_err(|e| Error::InvalidArgument(format!("file meta of {instance}: {e}")))?;
    let path = folder.join(format!("{instance}.dcm"));
    crate::io::write_atomically(&path, |p| {
        let io = |source| Error::Io {
            path: p.to_path_buf(),
            source,
        };
        let mut f = std::io::BufWriter::new(std::fs::File::create(p).map_err(io)?);
        f.write_all(&[0u8; 128]).map_err(io)?;
        f.write_all(b"DICM").map_err(io)?;
        meta.write(&mut f)
            .map_err(|e| Error::InvalidArgument(format!("file meta of {instance}: {e}")))?;
        f.write_all(data).map_err(io)?;
        f.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> PacsSettings {
        PacsSettings {
            host: "127.0.0.1".into(),
            port: 4242,
            ae_title: "ORTHANC".into(),
            calling_ae_title: "TOMORS".into(),
            timeout_s: 5.0,
            store_results: false,
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(Pacs::new(settings()).is_ok());
        let fails = |s: PacsSettings, expect: &str| {
            let e = Pacs::new(s).unwrap_err().to_string();
            assert!(e.contains(expect), "expected {expect:?} in {e}");
        };
        fails(
            PacsSettings {
                ae_title: "".into(),
                ..settings()
            },
            "pacs.ae_title",
        );
        fails(
            PacsSettings {
                calling_ae_title: "A_TITLE_LONGER_THAN_16".into(),
                ..settings()
            },
            "pacs.calling_ae_title",
        );
        fails(
            PacsSettings {
                ae_title: "A\\B".into(),
                ..settings()
            },
            "backslash",
        );
        fails(
            PacsSettings {
                port: 0,
                ..settings()
            },
            "port 0",
        );
        // NaN, and values no Duration holds (2^64 s, 1e300 s): refused, not a panic when the
        // association opens.
        for timeout_s in [
            f64::NAN,
            0.0,
            -1.0,
            86_400.5,
            18_446_744_073_709_551_616.0,
            1e300,
        ] {
            fails(
                PacsSettings {
                    timeout_s,
                    ..settings()
                },
                "timeout_s",
            );
        }
    }

    #[test]
    fn a_command_set_leads_with_its_group_length() {
        let bytes = encode_command(command(C_ECHO_RQ, VERIFICATION, 7, None, false)).unwrap();
        // (0000,0000) UL, length 4, then the rest's length.
        assert_eq!(&bytes[..8], &[0, 0, 0, 0, 4, 0, 0, 0]);
        let rest = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        assert_eq!(rest, bytes.len() - 12);
        let back = decode(&bytes, IMPLICIT_LE, "a command").unwrap();
        assert_eq!(
            back.get(tags::MESSAGE_ID).unwrap().to_int::<u16>().unwrap(),
            7
        );
        assert_eq!(
            back.get(tags::COMMAND_DATA_SET_TYPE)
                .unwrap()
                .to_int::<u16>()
                .unwrap(),
            NO_DATA_SET
        );
    }

    #[test]
    fn a_pacs_that_is_down_is_a_network_error() {
        // A port nothing listens on: bind one, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pacs = Pacs::new(PacsSettings { port, ..settings() }).unwrap();
        let e = pacs.echo().unwrap_err();
        assert!(matches!(e, Error::Network { .. }), "{e}");
        assert!(
            e.to_string().contains(&format!("ORTHANC@127.0.0.1:{port}")),
            "{e}"
        );
    }
}
