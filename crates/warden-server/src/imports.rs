//! Bulk feed imports: a feed's lines parsed on one thread while batches are written on
//! another, each indicator kept once with its repeats (within and across feeds) counted as
//! sightings. Memory stays bounded: a batch at a time, whatever the feed's length.

use hashbrown::HashMap;
use serde_json::Value;
use std::io::BufRead;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::indicator::{Indicator, IndicatorType};
use warden_interop::feed::{self, Line, Reader};
use warden_store::{FeedRow, ImportRecord, Store, StoreError};

/// Distinct indicators per written batch.
const BATCH: usize = 200_000;

/// The formats `warden import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Lines(feed::Format),
    /// A MISP event (JSON), or a MISP feed directory (manifest.json and its event files).
    Misp,
    /// A STIX 2.1 bundle: its indicator and vulnerability objects.
    Stix,
}

impl ImportFormat {
    pub fn parse(s: &str) -> Option<ImportFormat> {
        match s {
            "misp" => Some(ImportFormat::Misp),
            "stix" => Some(ImportFormat::Stix),
            other => feed::Format::parse(other).map(ImportFormat::Lines),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ImportFormat::Lines(f) => f.as_str(),
            ImportFormat::Misp => "misp",
            ImportFormat::Stix => "stix",
        }
    }
}

/// A rejected line or object: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub at: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the feed: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One parsed batch: distinct indicators with their counts, and the lines it covered.
struct Batch {
    rows: Vec<FeedRow>,
    lines: u64,
    accepted: u64,
    bytes: u64,
    rejects: Vec<Reject>,
}

fn flush(map: &mut HashMap<(IndicatorType, String), u64>, b: &mut Batch) -> Batch {
    b.rows = map
        .drain()
        .map(|((k, value), count)| FeedRow {
            kind: k.as_str().to_owned(),
            value,
            count,
        })
        .collect();
    std::mem::replace(
        b,
        Batch {
            rows: vec![],
            lines: 0,
            accepted: 0,
            bytes: 0,
            rejects: vec![],
        },
    )
}

/// Reads `items` (where each came from, and what it says) into batches sent to `tx`.
fn batches(
    items: impl Iterator<Item = (String, u64, Result<Line, String>)>,
    tx: tokio::sync::mpsc::Sender<Batch>,
) {
    let mut map: HashMap<(IndicatorType, String), u64> = HashMap::with_capacity(BATCH);
    let mut b = Batch {
        rows: vec![],
        lines: 0,
        accepted: 0,
        bytes: 0,
        rejects: vec![],
    };
    for (at, bytes, r) in items {
        b.lines += 1;
        b.bytes += bytes;
        match r {
            Ok(Line::Skip) => {}
            Ok(Line::Indicator(i)) => {
                b.accepted += 1;
                let key = (i.kind(), i.value().to_owned());
                *map.entry(key).or_insert(0) += 1;
                if map.len() >= BATCH {
                    let full = flush(&mut map, &mut b);
                    if tx.blocking_send(full).is_err() {
                        return;
                    }
                }
            }
            Err(reason) => {
                b.rejects.push(Reject { at, reason });
                // A feed of garbage must not pile its rejects up in memory either.
                if b.rejects.len() >= BATCH {
                    let part = flush(&mut map, &mut b);
                    if tx.blocking_send(part).is_err() {
                        return;
                    }
                }
            }
        }
    }
    let last = flush(&mut map, &mut b);
    let _ = tx.blocking_send(last);
}

/// Lines of a line-oriented feed, numbered from 1.
fn line_items<R: BufRead>(
    format: feed::Format,
    mut reader: R,
) -> impl Iterator<Item = (String, u64, Result<Line, String>)> {
    let mut r = Reader::new(format);
    let mut n = 0u64;
    let mut buf = String::new();
    std::iter::from_fn(move || {
        buf.clear();
        n += 1;
        match reader.read_line(&mut buf) {
            Ok(0) => None,
            Ok(len) => Some((format!("line {n}"), len as u64, r.line(&buf))),
            Err(e) => Some((format!("line {n}"), 0, Err(format!("unreadable: {e}")))),
        }
    })
}

/// The items of JSON documents: MISP events' attributes, or a STIX bundle's objects.
fn document_items(
    format: ImportFormat,
    docs: Vec<(String, Value)>,
) -> Vec<(String, u64, Result<Line, String>)> {
    let mut out = vec![];
    for (name, doc) in docs {
        match format {
            ImportFormat::Misp => {
                for (k, (t, v)) in feed::misp_attributes(&doc).into_iter().enumerate() {
                    out.push((
                        format!("{name}: attribute {}", k + 1),
                        0,
                        feed::misp_attribute(&t, &v).map(Line::Indicator),
                    ));
                }
            }
            _ => {
                let objects = doc
                    .get("objects")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (k, o) in objects.iter().enumerate() {
                    let at = format!(
                        "{name}: object {} ({})",
                        k + 1,
                        o.get("id").and_then(Value::as_str).unwrap_or("no id")
                    );
                    match warden_interop::inbound::read(o) {
                        Err(e) => out.push((at, 0, Err(e))),
                        Ok(d) => {
                            for (t, v) in d.indicators {
                                out.push((
                                    at.clone(),
                                    0,
                                    Indicator::parse(t, &v)
                                        .map(Line::Indicator)
                                        .map_err(|e| e.to_string()),
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// Reads MISP or STIX input: one JSON file, or (MISP) a feed directory with manifest.json.
pub fn read_documents(path: &std::path::Path) -> Result<Vec<(String, Value)>, ImportError> {
    let load = |p: &std::path::Path| -> Result<Value, ImportError> {
        let text = std::fs::read_to_string(p)?;
        serde_json::from_str(&text)
            .map_err(|e| ImportError::Invalid(format!("{}: not JSON: {e}", p.display())))
    };
    if path.is_dir() {
        let manifest = load(&path.join("manifest.json"))?;
        let events = manifest.as_object().ok_or_else(|| {
            ImportError::Invalid("manifest.json is not an object of event UUIDs".into())
        })?;
        let mut docs = vec![];
        for uuid in events.keys() {
            let p = path.join(format!("{uuid}.json"));
            docs.push((format!("{uuid}.json"), load(&p)?));
        }
        return Ok(docs);
    }
    Ok(vec![(
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        load(path)?,
    )])
}

/// What an import reads.
pub enum Input<R> {
    Lines(feed::Format, R),
    Documents(ImportFormat, Vec<(String, Value)>),
}

/// Imports a feed for `org_id`: the record is written first (running) and last (complete),
/// each batch in a transaction of its own. `progress` is told the bytes read so far.
pub async fn run<R: BufRead + Send + 'static>(
    store: &dyn Store,
    org_id: Uuid,
    source: &str,
    input: Input<R>,
    now: impl Fn() -> OffsetDateTime,
    mut on_reject: impl FnMut(&Reject),
    mut progress: impl FnMut(u64),
) -> Result<ImportRecord, ImportError> {
    let format = match &input {
        Input::Lines(f, _) => ImportFormat::Lines(*f),
        Input::Documents(f, _) => *f,
    };
    let mut rec = ImportRecord {
        id: Uuid::now_v7(),
        org_id,
        format: format.as_str().to_owned(),
        source: source.to_owned(),
        status: "running".into(),
        started: now(),
        finished: None,
        lines: 0,
        accepted: 0,
        rejected: 0,
        new_indicators: 0,
    };
    store.put_import(&rec).await?;
    // Two batches in flight: parsing runs ahead while the previous one is written.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(2);
    let parser = tokio::task::spawn_blocking(move || match input {
        Input::Lines(f, r) => batches(line_items(f, r), tx),
        Input::Documents(f, docs) => batches(document_items(f, docs).into_iter(), tx),
    });
    let mut bytes = 0;
    while let Some(b) = rx.recv().await {
        if !b.rows.is_empty() {
            rec.new_indicators += store.add_feed_rows(&rec, now(), &b.rows).await?;
        }
        rec.lines += b.lines;
        rec.accepted += b.accepted;
        rec.rejected += b.rejects.len() as u64;
        for r in &b.rejects {
            on_reject(r);
        }
        bytes += b.bytes;
        progress(bytes);
    }
    parser
        .await
        .map_err(|e| ImportError::Invalid(format!("the parser stopped: {e}")))?;
    rec.status = "complete".into();
    rec.finished = Some(now());
    store.put_import(&rec).await?;
    Ok(rec)
}

/// The summary line of a finished import (the CLI's and the benchmark's).
pub fn summary(rec: &ImportRecord, seconds: f64) -> String {
    format!(
        "import {}: {} lines, {} indicators accepted ({} new, {} merged as sightings), {} rejected; {:.2} s, {:.0} lines/s",
        rec.id,
        rec.lines,
        rec.accepted,
        rec.new_indicators,
        rec.accepted.saturating_sub(rec.new_indicators),
        rec.rejected,
        seconds,
        rec.lines as f64 / seconds.max(1e-9)
    )
}
