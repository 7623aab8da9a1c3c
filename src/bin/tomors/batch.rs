//! `tomors batch SETTINGS INPUT OUTPUT`: every study under a folder tree, each by the
//! pipeline it needs, into a folder of its own, with a JSON-lines log (see `tomors::batch`).

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use tomors::batch::{Event, Settings, run_batch};

use super::common::{CliError, CliResult, Kind, err};

#[derive(clap::Args)]
#[command(after_help = concat!(
    "Settings (every key, at its default unless marked):\n\n",
    include_str!("../../../examples/batch.toml")
))]
pub struct BatchArgs {
    /// The settings (TOML: backend, workers, [spect], [pet], [pacs]; unknown keys are refused;
    /// every key is listed below and in examples/batch.toml).
    settings: PathBuf,
    /// The folder searched for studies (DICOM, any layout); only read.
    input: PathBuf,
    /// Where each study's results go (OUTPUT/<study UID>/), the log (OUTPUT/batch.jsonl) and
    /// the input files that are not readable DICOM (OUTPUT/unreadable.json).
    /// Studies finished by an earlier run are skipped; interrupted ones are redone. Exit
    /// status 8 when a study failed or an input file was unreadable.
    output: PathBuf,
}

pub fn run(a: &BatchArgs) -> CliResult<()> {
    let settings = Settings::read(&a.settings).map_err(err)?;
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template("{msg:40} {bar:30} {pos}/{len} studies [{elapsed}]")
            .expect("valid template"),
    );
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    pb.set_message("finding studies");
    let mut progress = |e: Event<'_>| match e {
        Event::Found { studies } => pb.set_length(studies as u64),
        Event::Start { study, .. } => pb.set_message(study.to_string()),
        Event::End { .. } => pb.inc(1),
    };
    let report = run_batch(&settings, &a.input, &a.output, Some(&mut progress)).map_err(err)?;
    pb.finish_and_clear();
    for r in &report.records {
        match &r.error {
            None => println!(
                "{} {}: {} files in {:.1} s",
                r.study,
                r.status,
                r.outputs.len(),
                r.seconds
            ),
            Some(e) => println!("{} {}: {e}", r.study, r.status),
        }
        for w in &r.warnings {
            eprintln!("warning: {}: {w}", r.study);
        }
    }
    let failed = report
        .records
        .iter()
        .filter(|r| r.status == tomors::batch::Status::Failed)
        .count();
    for (file, reason) in &report.unreadable {
        eprintln!("unreadable: {}: {reason}", file.display());
    }
    println!(
        "{} studies worked on ({failed} failed), {} already done, {} unreadable files ({}); \
         log: {}",
        report.records.len(),
        report.already_done.len(),
        report.unreadable.len(),
        a.output.join("unreadable.json").display(),
        a.output.join("batch.jsonl").display()
    );
    // Damaged input is unfinished work too: a study whose NM file is unreadable shows up as
    // one without NM projections.
    let unreadable = report.unreadable.len();
    if failed > 0 || unreadable > 0 {
        return Err(CliError::new(
            Kind::StudiesFailed,
            format!(
                "{failed} of {} studies failed and {unreadable} input files are unreadable; see \
                 {} and {}",
                report.records.len(),
                a.output.join("batch.jsonl").display(),
                a.output.join("unreadable.json").display()
            ),
        ));
    }
    Ok(())
}
