//! `tomors pacs`: a PACS named in the settings file's `[pacs]` table (see `tomors::pacs`).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use tomors::batch::Settings;
use tomors::pacs::{Pacs, StudyQuery};

use super::common::{CliError, CliResult, spinner};

#[derive(Subcommand)]
pub enum PacsCommand {
    /// C-ECHO: does the PACS answer?
    Echo {
        /// The settings file (TOML) with a [pacs] table.
        settings: PathBuf,
    },
    /// C-FIND: the studies matching the query, one per line (UID, patient, date, modalities,
    /// description).
    Find {
        /// The settings file (TOML) with a [pacs] table.
        settings: PathBuf,
        #[command(flatten)]
        query: Query,
    },
    /// C-FIND then C-GET: every matching study into INPUT/<study UID>/ (each through a
    /// .partial folder); studies already there are skipped.
    Pull {
        /// The settings file (TOML) with a [pacs] table.
        settings: PathBuf,
        /// The folder the studies go to (a batch's input).
        input: PathBuf,
        #[command(flatten)]
        query: Query,
    },
    /// C-STORE: the DICOM files among PATHS (files, or folders searched recursively; other
    /// files are passed over), e.g. a batch's OUTPUT/<study UID>/.
    Store {
        /// The settings file (TOML) with a [pacs] table.
        settings: PathBuf,
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(clap::Args)]
pub struct Query {
    /// Patient ID.
    #[arg(long)]
    patient_id: Option<String>,
    /// Study date, YYYYMMDD or a range YYYYMMDD-YYYYMMDD.
    #[arg(long)]
    date: Option<String>,
    /// A modality the study holds, e.g. NM or PT.
    #[arg(long)]
    modality: Option<String>,
    /// One study, by its Study Instance UID.
    #[arg(long)]
    study: Option<String>,
}

impl Query {
    fn to_query(&self) -> StudyQuery {
        StudyQuery {
            patient_id: self.patient_id.clone(),
            study_date: self.date.clone(),
            modality: self.modality.clone(),
            study_uid: self.study.clone(),
        }
    }
}

fn pacs(settings: &Path) -> CliResult<Pacs> {
    let s = Settings::read(settings)?;
    let p = s.pacs.ok_or_else(|| {
        CliError::input(format!(
            "{}: no [pacs] table (host, port, ae_title; calling_ae_title, timeout_s)",
            settings.display()
        ))
    })?;
    Ok(Pacs::new(p)?)
}

pub fn run(command: &PacsCommand) -> CliResult<()> {
    match command {
        PacsCommand::Echo { settings } => {
            let p = pacs(settings)?;
            p.echo()?;
            let s = p.settings();
            println!("{}@{}:{} answers", s.ae_title, s.host, s.port);
        }
        PacsCommand::Find { settings, query } => {
            for m in pacs(settings)?.find_studies(&query.to_query())? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    m.study_uid,
                    m.patient_id,
                    m.study_date,
                    m.modalities.join("\\"),
                    m.description
                );
            }
        }
        PacsCommand::Pull {
            settings,
            input,
            query,
        } => {
            let p = pacs(settings)?;
            let found = p.find_studies(&query.to_query())?;
            std::fs::create_dir_all(input)?;
            let (mut pulled, mut there) = (0, 0);
            for m in &found {
                if input.join(&m.study_uid).is_dir() {
                    there += 1;
                    continue;
                }
                let pb = spinner(&format!("C-GET {}", m.study_uid));
                let (folder, n) = p.retrieve_study(&m.study_uid, input)?;
                pb.finish_and_clear();
                println!("{}: {n} instances", folder.display());
                pulled += 1;
            }
            println!(
                "{} studies found, {pulled} retrieved, {there} already in {}",
                found.len(),
                input.display()
            );
        }
        PacsCommand::Store { settings, paths } => {
            let p = pacs(settings)?;
            let mut files = Vec::new();
            for path in paths {
                let found = tomors::io::dicom::scan(path, &Default::default())?;
                files.extend(found.series.into_iter().flat_map(|s| s.files));
            }
            let pb = spinner(&format!("C-STORE {} files", files.len()));
            let n = p.store(&files)?;
            pb.finish_and_clear();
            println!("{n} files stored on {}", p.settings().ae_title);
        }
    }
    Ok(())
}
