//! `warden import`: a bulk feed into the feed store for one organisation, streamed, with a
//! progress bar, a reject file and a summary.

use anyhow::{Context as _, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;
use time::OffsetDateTime;
use warden_service::imports::{self, ImportFormat, Input};
use warden_store::ImportRecord;

pub struct ImportArgs<'a> {
    pub url: &'a str,
    pub file: &'a Path,
    pub format: &'a str,
    pub org: &'a str,
    pub rejects: Option<&'a Path>,
}

pub async fn run(a: ImportArgs<'_>) -> Result<bool> {
    let format = ImportFormat::parse(a.format).ok_or_else(|| {
        anyhow!(
            "--format {}: expected csv, ndjson, plain, stix or misp",
            a.format
        )
    })?;
    let store = warden_store::open(a.url).await?;
    let org = store
        .organisation_by_slug(a.org)
        .await?
        .ok_or_else(|| anyhow!("--as-org {}: no such organisation", a.org))?
        .value;
    let input = match format {
        ImportFormat::Lines(f) => {
            let file = std::fs::File::open(a.file)
                .with_context(|| format!("opening {}", a.file.display()))?;
            Input::Lines(f, std::io::BufReader::with_capacity(1 << 20, file))
        }
        other => Input::Documents(other, imports::read_documents(a.file)?),
    };
    let total = if a.file.is_file() {
        std::fs::metadata(a.file)?.len()
    } else {
        0
    };
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let rejects_path = a.rejects.map(Path::to_path_buf).unwrap_or_else(|| {
        let mut p = a.file.as_os_str().to_owned();
        p.push(".rejects");
        p.into()
    });
    let mut rejects = std::io::BufWriter::new(
        std::fs::File::create(&rejects_path)
            .with_context(|| format!("creating {}", rejects_path.display()))?,
    );
    let mut write_error = None;
    let t = Instant::now();
    let rec = imports::run(
        store.as_ref(),
        ImportRecord::start(
            org.id,
            format.as_str(),
            &a.file.display().to_string(),
            OffsetDateTime::now_utc(),
        ),
        input,
        OffsetDateTime::now_utc,
        |r| {
            if let Err(e) = writeln!(rejects, "{}: {}", r.place, r.reason) {
                write_error.get_or_insert(e);
            }
        },
        |b| bar.set_position(b),
    )
    .await?;
    bar.finish_and_clear();
    rejects.flush()?;
    if let Some(e) = write_error {
        bail!("writing {}: {e}", rejects_path.display());
    }
    let secs = t.elapsed().as_secs_f64();
    println!("{}", imports::summary(&rec, secs));
    if rec.rejected > 0 {
        println!("rejected lines and why: {}", rejects_path.display());
    } else {
        let _ = std::fs::remove_file(&rejects_path);
    }
    Ok(rec.rejected == 0)
}
