//! Mutation fuzzing of what tomors receives from a PACS: a scripted peer on a local port
//! answers C-ECHO, C-FIND, C-GET and C-STORE with a valid conversation (A-ASSOCIATE-AC, the
//! DIMSE responses, a C-STORE sub-operation with its data set, A-RELEASE-RP) or a mutant of
//! it: PDUs dropped, repeated, cut short or replaced (A-ABORT, A-RELEASE-RQ, A-ASSOCIATE-RJ, an
//! unknown type, an HTTP answer), PDU and PDV lengths at their edges (0, 1, 2^31, 2^32 − 1, one
//! off), the acceptor's maximum PDU length at its edges, bytes flipped; then the peer closes
//! the connection or stays silent. Every outcome must be `Ok` or a typed error within the
//! configured timeout (never a panic, an abort or a hang), and a failed C-GET leaves nothing
//! in the destination folder.
//!
//! CI runs `TOMORS_FUZZ_EXECUTIONS` (default 150) mutants per operation from fixed seeds; the
//! long run is the README's "Fuzzing" command. `TOMORS_FUZZ_VERBOSE=1` prints each mutant's
//! index first.

mod common;

use common::fuzz::{Rng, executions, mutate, run};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
use dicom_ul::pdu::{
    AbortRQSource, AssociationAC, AssociationRJ, AssociationRJResult,
    AssociationRJServiceUserReason, AssociationRJSource, PDataValue, PDataValueType, Pdu,
    PresentationContextResult, PresentationContextResultReason, UserVariableItem, write_pdu,
};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tomors::pacs::{Pacs, PacsSettings, StudyQuery};

/// The client's timeout against mutants: short, so that a silent peer costs little.
const TIMEOUT_S: f64 = 0.1;
/// The client's timeout where the peer is not meant to fall silent (a valid conversation, the
/// refusals): long, so that a loaded machine cannot turn it into a spurious failure.
const PATIENT_S: f64 = 10.0;
/// A mutant's whole conversation: connect, every answer waited for, release.
const LIMIT: Duration = Duration::from_secs(3);
const DEFAULT_EXECUTIONS: usize = 150;

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const NM_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.20";
/// Context ids as tomors proposes them for a C-GET: the query first (1), then the storage
/// classes in `tomors::pacs`'s order (CT 3, enhanced CT 5, NM 7, …).
const GET_CONTEXT: u8 = 1;
const NM_CONTEXT: u8 = 7;

const CMD: bool = true;
const DATA: bool = false;

const STUDY: &str = "1.2.826.0.1.3680043.2.1125.7";
const INSTANCE: &str = "1.2.826.0.1.3680043.2.1125.7.1";

#[derive(Clone, Copy, Debug)]
enum Op {
    Echo,
    Find,
    Retrieve,
    Store,
}

fn encode(o: &InMemDicomObject, ts: &str) -> Vec<u8> {
    let mut out = Vec::new();
    o.write_dataset_with_ts(&mut out, TransferSyntaxRegistry.get(ts).unwrap())
        .unwrap();
    out
}

fn us(tag: dicom_core::Tag, v: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(v))
}

fn ui(tag: dicom_core::Tag, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::UI, PrimitiveValue::from(v))
}

/// A DIMSE command set (implicit VR little endian), `with_data` saying whether a data set
/// follows.
fn command(field: u16, class: &str, status: Option<u16>, with_data: bool) -> Vec<u8> {
    let mut c = InMemDicomObject::new_empty();
    c.put(ui(tags::AFFECTED_SOP_CLASS_UID, class));
    c.put(us(tags::COMMAND_FIELD, field));
    c.put(us(tags::MESSAGE_ID_BEING_RESPONDED_TO, 1));
    c.put(us(tags::MESSAGE_ID, 1));
    c.put(us(
        tags::COMMAND_DATA_SET_TYPE,
        if with_data { 0x0000 } else { 0x0101 },
    ));
    if let Some(s) = status {
        c.put(us(tags::STATUS, s));
    }
    if field == 0x0001 {
        c.put(ui(tags::AFFECTED_SOP_INSTANCE_UID, INSTANCE));
    }
    if field == 0x8010 {
        c.put(us(tags::NUMBER_OF_FAILED_SUBOPERATIONS, 0));
    }
    encode(&c, IMPLICIT_LE)
}

/// One P-DATA-TF PDU holding a whole command set (`CMD`) or data set (`DATA`).
fn pdata(context: u8, command: bool, data: Vec<u8>) -> Vec<u8> {
    pdu(&Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: context,
            value_type: if command {
                PDataValueType::Command
            } else {
                PDataValueType::Data
            },
            is_last: true,
            data,
        }],
    })
}

fn pdu(p: &Pdu) -> Vec<u8> {
    let mut out = Vec::new();
    write_pdu(&mut out, p).unwrap();
    out
}

fn associate_ac(accepted: &[(u8, &str)], max_pdu: u32) -> Vec<u8> {
    pdu(&Pdu::AssociationAC(AssociationAC {
        protocol_version: 1,
        calling_ae_title: "TOMORS".into(),
        called_ae_title: "PEER".into(),
        application_context_name: "1.2.840.10008.3.1.1.1".into(),
        presentation_contexts: accepted
            .iter()
            .map(|(id, ts)| PresentationContextResult {
                id: *id,
                reason: PresentationContextResultReason::Acceptance,
                transfer_syntax: ts.to_string(),
            })
            .collect(),
        user_variables: vec![UserVariableItem::MaxLength(max_pdu)],
    }))
}

/// A small NM instance, as a PACS sends it in a C-STORE sub-operation.
fn instance() -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    o.put(ui(tags::SOP_CLASS_UID, NM_STORAGE));
    o.put(ui(tags::SOP_INSTANCE_UID, INSTANCE));
    o.put(ui(tags::STUDY_INSTANCE_UID, STUDY));
    o.put(DataElement::new(
        tags::PATIENT_ID,
        VR::LO,
        PrimitiveValue::from("FUZZ"),
    ));
    o.put(DataElement::new(
        tags::MODALITY,
        VR::CS,
        PrimitiveValue::from("NM"),
    ));
    o
}

/// The PDUs of a valid answer to `op`, the acceptor announcing `max_pdu`.
fn conversation(op: Op, max_pdu: u32) -> Vec<Vec<u8>> {
    let release = pdu(&Pdu::ReleaseRP);
    match op {
        Op::Echo => vec![
            associate_ac(&[(1, EXPLICIT_LE)], max_pdu),
            pdata(1, CMD, command(0x8030, "1.2.840.10008.1.1", Some(0), false)),
            release,
        ],
        Op::Find => {
            let class = "1.2.840.10008.5.1.4.1.2.2.1";
            let mut id = InMemDicomObject::new_empty();
            id.put(ui(tags::STUDY_INSTANCE_UID, STUDY));
            id.put(DataElement::new(
                tags::PATIENT_ID,
                VR::LO,
                PrimitiveValue::from("FUZZ"),
            ));
            id.put(DataElement::new(
                tags::MODALITIES_IN_STUDY,
                VR::CS,
                PrimitiveValue::Strs(["NM".to_string(), "CT".to_string()].into()),
            ));
            vec![
                associate_ac(&[(1, EXPLICIT_LE)], max_pdu),
                pdata(1, CMD, command(0x8020, class, Some(0xFF00), true)),
                pdata(1, DATA, encode(&id, EXPLICIT_LE)),
                pdata(1, CMD, command(0x8020, class, Some(0), false)),
                release,
            ]
        }
        Op::Retrieve => vec![
            associate_ac(
                &[(GET_CONTEXT, EXPLICIT_LE), (NM_CONTEXT, EXPLICIT_LE)],
                max_pdu,
            ),
            pdata(NM_CONTEXT, CMD, command(0x0001, NM_STORAGE, None, true)),
            pdata(NM_CONTEXT, DATA, encode(&instance(), EXPLICIT_LE)),
            pdata(
                GET_CONTEXT,
                CMD,
                command(0x8010, "1.2.840.10008.5.1.4.1.2.2.3", Some(0), false),
            ),
            release,
        ],
        Op::Store => vec![
            associate_ac(&[(1, EXPLICIT_LE)], max_pdu),
            pdata(1, CMD, command(0x8001, NM_STORAGE, Some(0), false)),
            release,
        ],
    }
}

/// Numbers at the edges of a 32-bit length.
const LENGTHS: [u32; 8] = [0, 1, 2, 6, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 16_384];

/// Mutant `i` of the conversation for `op`: the bytes the peer sends, and whether it then
/// stays silent (rather than closing).
fn mutant(op: Op, i: usize) -> (Vec<u8>, bool) {
    let mut rng = Rng::for_mutant(i);
    let max_pdu = if rng.below(6) == 0 {
        [0, 1, 11, 12, 13, 1023, 1024, 0xFFFF_FFFF][rng.below(8)]
    } else {
        16_384
    };
    let mut pdus = conversation(op, max_pdu);
    for _ in 0..1 + rng.below(3) {
        let k = rng.below(pdus.len());
        match rng.below(8) {
            0 => {
                pdus.remove(k);
            }
            1 => {
                let copy = pdus[k].clone();
                pdus.insert(k, copy);
            }
            // The PDU's length field.
            2 if pdus[k].len() >= 6 => {
                let real = pdus[k].len() as u32 - 6;
                let v = [LENGTHS[rng.below(8)], real + 1, real.wrapping_sub(1)][rng.below(3)];
                pdus[k][2..6].copy_from_slice(&v.to_be_bytes());
            }
            // Cut inside PDU k, nothing after it.
            3 if !pdus[k].is_empty() => {
                pdus.truncate(k + 1);
                let cut = rng.below(pdus[k].len());
                pdus[k].truncate(cut);
            }
            4 => {
                pdus[k] = match rng.below(5) {
                    0 => pdu(&Pdu::AbortRQ {
                        source: AbortRQSource::ServiceProvider(
                            dicom_ul::pdu::AbortRQServiceProviderReason::UnexpectedPdu,
                        ),
                    }),
                    1 => pdu(&Pdu::ReleaseRQ),
                    2 => pdu(&Pdu::AssociationRJ(AssociationRJ {
                        result: AssociationRJResult::Permanent,
                        source: AssociationRJSource::ServiceUser(
                            AssociationRJServiceUserReason::CalledAETitleNotRecognized,
                        ),
                    })),
                    3 => pdu(&Pdu::Unknown {
                        pdu_type: 0x09,
                        data: vec![0; 4],
                    }),
                    _ => b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(),
                }
            }
            // A P-DATA's first PDV length (bytes 6..10), when the PDU is one.
            5 if pdus[k].first() == Some(&0x04) && pdus[k].len() >= 10 => {
                let real = pdus[k].len() as u32 - 10;
                let v = [LENGTHS[rng.below(8)], real + 1, real.wrapping_sub(1)][rng.below(3)];
                pdus[k][6..10].copy_from_slice(&v.to_be_bytes());
            }
            6 => pdus[k] = mutate(&pdus[k], &mut rng),
            _ => {
                let all = pdus.concat();
                pdus = vec![mutate(&all, &mut rng)];
            }
        }
        if pdus.is_empty() {
            break;
        }
    }
    (pdus.concat(), rng.below(8) == 0)
}

/// A peer on a local port that answers each connection with the next script.
struct Peer {
    listener: TcpListener,
    timeout_s: f64,
}

impl Peer {
    /// A peer whose client waits `timeout_s` for each answer.
    fn new(timeout_s: f64) -> Self {
        Peer {
            listener: TcpListener::bind("127.0.0.1:0").unwrap(),
            timeout_s,
        }
    }

    fn settings(&self) -> PacsSettings {
        PacsSettings {
            host: "127.0.0.1".into(),
            port: self.listener.local_addr().unwrap().port(),
            ae_title: "PEER".into(),
            calling_ae_title: "TOMORS".into(),
            timeout_s: self.timeout_s,
            store_results: false,
        }
    }

    /// Runs `client` against a peer that sends `bytes` once it has been connected to, then
    /// closes its side or stays silent until the client hangs up. What the client sends is
    /// read and dropped.
    fn converse<T>(&self, bytes: &[u8], silent: bool, client: impl FnOnce() -> T) -> T {
        std::thread::scope(|s| {
            let server = s.spawn(|| {
                let (mut stream, _) = self.listener.accept().unwrap();
                let mut reader = stream.try_clone().unwrap();
                reader
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let drain = std::thread::spawn(move || {
                    let mut buf = [0u8; 16_384];
                    while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
                });
                let _ = stream.write_all(bytes);
                if !silent {
                    let _ = stream.shutdown(Shutdown::Write);
                }
                let _ = drain.join();
            });
            let out = client();
            server.join().unwrap();
            out
        })
    }
}

/// A fresh folder of this process's own (tests run in parallel).
fn scratch(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tomors-dfuzz-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A DICOM file to send (C-STORE).
fn stored_file(dir: &Path) -> PathBuf {
    let path = dir.join("to-send.dcm");
    let meta = dicom_object::FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(NM_STORAGE)
        .media_storage_sop_instance_uid(INSTANCE)
        .transfer_syntax(EXPLICIT_LE)
        .build()
        .unwrap();
    instance()
        .with_exact_meta(meta)
        .write_to_file(&path)
        .unwrap();
    path
}

/// Runs `op` against the peer; panics (a failure) where a failed C-GET left something behind
/// or a C-GET that succeeded did not leave its one instance readable.
fn exchange(
    op: Op,
    peer: &Peer,
    dir: &Path,
    bytes: &[u8],
    silent: bool,
) -> tomors::error::Result<()> {
    let pacs = Pacs::new(peer.settings()).unwrap();
    let into = dir.join("retrieved");
    let _ = std::fs::remove_dir_all(&into);
    std::fs::create_dir_all(&into).unwrap();
    let file = dir.join("to-send.dcm");
    let outcome = peer.converse(bytes, silent, || match op {
        Op::Echo => pacs.echo(),
        Op::Find => pacs.find_studies(&StudyQuery::default()).map(|_| ()),
        Op::Retrieve => pacs.retrieve_study(STUDY, &into).map(|(folder, n)| {
            let files: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
            assert_eq!(files.len(), n, "C-GET counted {n}, left {}", files.len());
            for f in files {
                dicom_object::open_file(f.unwrap().path()).expect("a retrieved file reads");
            }
        }),
        Op::Store => pacs.store(std::slice::from_ref(&file)).map(|_| ()),
    });
    if outcome.is_err() {
        let left: Vec<_> = std::fs::read_dir(&into).unwrap().collect();
        assert!(left.is_empty(), "a failed C-GET left {left:?}");
    }
    outcome
}

fn fuzz(op: Op) {
    let peer = Peer::new(TIMEOUT_S);
    let dir = scratch(&format!("{op:?}"));
    stored_file(&dir);
    let report = run(
        &format!("DIMSE {op:?}"),
        executions(DEFAULT_EXECUTIONS),
        LIMIT,
        |i| {
            let (mut bytes, silent) = mutant(op, i);
            bytes.push(silent as u8);
            bytes
        },
        |bytes| {
            let (silent, bytes) = bytes.split_last().unwrap();
            exchange(op, &peer, &dir, bytes, *silent == 1).is_err()
        },
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
}

/// The unmutated conversations succeed: the fuzzing starts from what a PACS really says.
#[test]
fn the_scripted_peer_is_a_valid_pacs() {
    let peer = Peer::new(PATIENT_S);
    let dir = scratch("valid");
    stored_file(&dir);
    for op in [Op::Echo, Op::Find, Op::Retrieve, Op::Store] {
        let bytes = conversation(op, 16_384).concat();
        if let Err(e) = exchange(op, &peer, &dir, &bytes, false) {
            panic!("{op:?}: {e}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn echo_survives_a_hostile_peer() {
    fuzz(Op::Echo);
}

#[test]
fn find_survives_a_hostile_peer() {
    fuzz(Op::Find);
}

#[test]
fn retrieve_survives_a_hostile_peer() {
    fuzz(Op::Retrieve);
}

#[test]
fn store_survives_a_hostile_peer() {
    fuzz(Op::Store);
}

/// The error of `op` against a peer sending `pdus` then closing, and how long it took.
fn refusal(op: Op, pdus: &[Vec<u8>]) -> (String, Duration) {
    let peer = Peer::new(PATIENT_S);
    let dir = scratch(&format!("refusal-{op:?}"));
    stored_file(&dir);
    let start = std::time::Instant::now();
    let outcome = exchange(op, &peer, &dir, &pdus.concat(), false);
    let took = start.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    (outcome.expect_err("refused").to_string(), took)
}

/// A command whose first element declares 4 GiB: refused from its structure at once (the
/// parser used to reserve the declared length, taking seconds and gigabytes).
#[test]
fn a_command_declaring_gigabytes_is_refused_at_once() {
    let mut rsp = command(0x8030, "1.2.840.10008.1.1", Some(0), false);
    rsp[4..8].copy_from_slice(&0xFFFF_FFF0_u32.to_le_bytes());
    let mut pdus = conversation(Op::Echo, 16_384);
    pdus[1] = pdata(1, CMD, rsp);
    let (e, took) = refusal(Op::Echo, &pdus);
    assert!(
        e.contains("a DIMSE command") && e.contains("declares"),
        "{e}"
    );
    // It took 4.7 s before (the parser reserving the declared length); a loaded machine
    // still answers well within 2 s.
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// A peer that announces PDUs of 1 byte: refused when associating (sending to it used to
/// panic inside dicom-ul's P-DATA writer).
#[test]
fn a_peer_announcing_tiny_pdus_is_refused() {
    let (e, _) = refusal(Op::Store, &conversation(Op::Store, 1));
    assert!(e.contains("PDUs of at most 1 bytes"), "{e}");
}

/// A context accepted in a transfer syntax we did not propose is refused, not used.
#[test]
fn an_unproposed_transfer_syntax_is_refused() {
    let mut pdus = conversation(Op::Echo, 16_384);
    pdus[0] = associate_ac(&[(1, "1.2.840.10008.1.2.4.50")], 16_384);
    let (e, _) = refusal(Op::Echo, &pdus);
    assert!(e.contains("did not propose"), "{e}");
}

/// A C-STORE sub-operation whose SOP class UID is not a UID: the C-GET fails and leaves
/// nothing (it used to write a file no reader could open).
#[test]
fn a_retrieved_instance_with_a_bad_class_uid_leaves_nothing() {
    let mut pdus = conversation(Op::Retrieve, 16_384);
    pdus[1] = pdata(
        NM_CONTEXT,
        CMD,
        command(0x0001, "1.2.840.10008.5.1.4.1.1.20<x>", None, true),
    );
    let (e, _) = refusal(Op::Retrieve, &pdus);
    assert!(e.contains("SOP class UID"), "{e}");
}

/// A C-STORE sub-operation whose data set is cut inside an element: refused before it is
/// written.
#[test]
fn a_retrieved_instance_cut_short_is_refused() {
    let mut pdus = conversation(Op::Retrieve, 16_384);
    let mut data = encode(&instance(), EXPLICIT_LE);
    data.truncate(data.len() - 3);
    pdus[2] = pdata(NM_CONTEXT, DATA, data);
    let (e, _) = refusal(Op::Retrieve, &pdus);
    assert!(e.contains("from the PACS") && e.contains("remain"), "{e}");
}

/// Command fragments that never end: refused past 64 KiB, not accumulated.
#[test]
fn an_endless_command_is_refused() {
    let mut pdus = conversation(Op::Echo, 16_384);
    let fragment = pdu(&Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: 1,
            value_type: PDataValueType::Command,
            is_last: false,
            data: vec![0; 16_000],
        }],
    });
    pdus.splice(1..2, std::iter::repeat_n(fragment, 5));
    let (e, _) = refusal(Op::Echo, &pdus);
    assert!(
        e.contains("a DIMSE command of more than 65536 bytes"),
        "{e}"
    );
}

/// `TOMORS_FUZZ_MUTANT=op:i` (op one of echo, find, retrieve, store) runs that one mutant and
/// prints the outcome and its time.
#[test]
#[ignore = "a debugging aid: set TOMORS_FUZZ_MUTANT=op:i"]
fn reproduce_a_mutant() {
    let Ok(which) = std::env::var("TOMORS_FUZZ_MUTANT") else {
        return;
    };
    let (op, i) = which.split_once(':').expect("op:i");
    let op = match op {
        "echo" => Op::Echo,
        "find" => Op::Find,
        "retrieve" => Op::Retrieve,
        _ => Op::Store,
    };
    let (bytes, silent) = mutant(op, i.parse().expect("a mutant index"));
    let peer = Peer::new(TIMEOUT_S);
    let dir = scratch("one");
    stored_file(&dir);
    let start = std::time::Instant::now();
    let outcome = exchange(op, &peer, &dir, &bytes, silent);
    eprintln!(
        "{op:?} mutant {i}: silent {silent}, {} bytes, {outcome:?}, {:?}",
        bytes.len(),
        start.elapsed()
    );
}
