//! A PACS round trip against a real Orthanc (scripts/test.sh starts one and sets
//! `TOMORS_ORTHANC_DICOM` = host:port of its DICOM server and `TOMORS_ORTHANC_HTTP` = host:port
//! of its REST API): the real one-bed SPECT-CT study is stored, found (C-FIND), retrieved
//! (C-GET) into a batch's input, reconstructed and sent back (C-STORE); Orthanc's own API then
//! lists the new series in the original study, in the CT's frame of reference.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tomors::batch::{Settings, Status, run_batch};
use tomors::io::dicom::{ReadLimits, scan};
use tomors::pacs::{Pacs, PacsSettings, StudyQuery};

fn orthanc(var: &str) -> (String, u16) {
    let v = std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: this test needs an Orthanc server (scripts/test.sh starts one)")
    });
    let (host, port) = v.rsplit_once(':').expect("host:port");
    (host.to_string(), port.parse().expect("a port"))
}

fn settings() -> PacsSettings {
    let (host, port) = orthanc("TOMORS_ORTHANC_DICOM");
    PacsSettings {
        host,
        port,
        ae_title: "ORTHANC".into(),
        calling_ae_title: "TOMORS".into(),
        timeout_s: 60.0,
        store_results: true,
    }
}

/// GET of Orthanc's REST API, as JSON.
fn api(path: &str) -> serde_json::Value {
    let (host, port) = orthanc("TOMORS_ORTHANC_HTTP");
    let mut s = std::net::TcpStream::connect((host.as_str(), port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").expect("an HTTP reply");
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{path}: {head}"
    );
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

fn instance_uids(folder: &Path) -> BTreeSet<String> {
    scan(folder, &ReadLimits::default())
        .unwrap()
        .series
        .iter()
        .flat_map(|s| s.files.iter())
        .map(|f| {
            let o = dicom_object::open_file(f).unwrap();
            o.meta()
                .media_storage_sop_instance_uid()
                .trim_end_matches('\0')
                .to_string()
        })
        .collect()
}

#[test]
#[ignore = "needs an Orthanc server and ../shared/data: scripts/test.sh starts one"]
fn store_find_retrieve_reconstruct_and_send_back() {
    let study_dir = common::shared_data("spect_ct_lu177");
    let found = scan(&study_dir, &ReadLimits::default()).unwrap();
    let study_uid = found.series[0].study_uid.clone().unwrap();
    let ct = found.series.iter().find(|s| s.modality == "CT").unwrap();
    let ct_frame = ct.frame_of_reference_uid.clone().unwrap();
    let files: Vec<PathBuf> = found.series.iter().flat_map(|s| s.files.clone()).collect();

    let pacs = Pacs::new(settings()).unwrap();
    pacs.echo().unwrap();
    // The study onto the PACS, as a modality would send it.
    assert_eq!(pacs.store(&files).unwrap(), files.len());

    let matches = pacs
        .find_studies(&StudyQuery {
            modality: Some("NM".into()),
            ..StudyQuery::default()
        })
        .unwrap();
    let m = matches
        .iter()
        .find(|m| m.study_uid == study_uid)
        .unwrap_or_else(|| panic!("{study_uid} not found among {matches:?}"));
    assert!(m.modalities.iter().any(|x| x == "CT"), "{m:?}");
    let none = pacs
        .find_studies(&StudyQuery {
            patient_id: Some("NO-SUCH-PATIENT".into()),
            ..StudyQuery::default()
        })
        .unwrap();
    assert!(none.is_empty());

    let root = std::env::temp_dir().join(format!("tomors-pacs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let input = root.join("in");
    let (folder, n) = pacs.retrieve_study(&study_uid, &input).unwrap();
    assert_eq!(folder, input.join(&study_uid));
    // Every instance sent (and, against a server used before, earlier results too).
    let retrieved = instance_uids(&folder);
    assert_eq!(n, retrieved.len());
    assert!(retrieved.is_superset(&instance_uids(&study_dir)));
    assert!(!input.join(format!(".{study_uid}.partial")).exists());

    // Orthanc's series of the study before the result arrives (a rerun against the same
    // server finds earlier results there too).
    let series_in_orthanc = || -> Vec<serde_json::Value> {
        let studies = api("/studies?expand");
        let study = studies
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["MainDicomTags"]["StudyInstanceUID"] == study_uid.as_str())
            .expect("the study in Orthanc")
            .clone();
        let series = api(&format!(
            "/studies/{}/series",
            study["ID"].as_str().unwrap()
        ));
        series.as_array().unwrap().clone()
    };
    let uid_of = |s: &serde_json::Value| {
        s["MainDicomTags"]["SeriesInstanceUID"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let before: BTreeSet<String> = series_in_orthanc().iter().map(uid_of).collect();
    assert!(before.len() >= found.series.len());

    // Reconstruct, and send the result back.
    let mut s = Settings::parse(
        "backend = \"cpu\"\n[spect]\nphotopeak_kev = 208.0\niterations = 1\nsubsets = 4\n",
    )
    .unwrap();
    s.pacs = Some(settings());
    let report = run_batch(&s, &input, &root.join("out"), None).unwrap();
    assert_eq!(report.records.len(), 1);
    let r = &report.records[0];
    assert_eq!(r.status, Status::Done, "{r:?}");
    let dicom = r
        .outputs
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "dcm"))
        .count();
    assert!(dicom > 0);
    assert_eq!(r.sent_to_pacs, Some(dicom), "{r:?}");

    // Orthanc's own view: the study now holds one new series, in the CT's frame of reference.
    let after = series_in_orthanc();
    let new: Vec<_> = after
        .iter()
        .filter(|s| !before.contains(&uid_of(s)))
        .collect();
    assert_eq!(new.len(), 1, "{after:?}");
    let instances = new[0]["Instances"].as_array().unwrap();
    assert_eq!(instances.len(), dicom);
    let tags = api(&format!(
        "/instances/{}/simplified-tags",
        instances[0].as_str().unwrap()
    ));
    assert_eq!(tags["FrameOfReferenceUID"], ct_frame.as_str(), "{tags}");
    assert_eq!(tags["StudyInstanceUID"], study_uid.as_str());

    // A PACS that refuses the association (another called AE title), and one that is down:
    // typed errors; in a batch, the study is done and keeps its files, with a warning.
    let refused = Pacs::new(PacsSettings {
        ae_title: "NOT_ORTHANC".into(),
        ..settings()
    })
    .unwrap();
    let e = refused.echo().unwrap_err();
    assert!(matches!(e, tomors::Error::Network { .. }), "{e}");
    assert!(e.to_string().contains("no association"), "{e}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    s.pacs = Some(PacsSettings {
        host: "127.0.0.1".into(),
        port: closed,
        timeout_s: 5.0,
        ..settings()
    });
    let down = run_batch(&s, &input, &root.join("out-down"), None).unwrap();
    let r = &down.records[0];
    assert_eq!(r.status, Status::Done, "{r:?}");
    assert_eq!(r.sent_to_pacs, None);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("not sent to the PACS")),
        "{r:?}"
    );
    assert!(
        root.join("out-down")
            .join(&study_uid)
            .join("summary.png")
            .exists()
    );
    std::fs::remove_dir_all(&root).unwrap();
}
