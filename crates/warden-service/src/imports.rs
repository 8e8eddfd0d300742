//! Bulk feed imports: a feed's lines parsed on one thread while batches are written on
//! another, each indicator kept once with its repeats (within and across feeds) counted as
//! sightings. Memory stays bounded: a batch at a time, whatever the feed's length.

use crate::error::ServiceError;
use crate::proto::{ImportJob, ImportList, ImportRejectItem, ImportRejectList};
use crate::service::Service;
use hashbrown::HashMap;
use serde_json::Value;
use std::io::BufRead;
use time::OffsetDateTime;
use uuid::Uuid;
use warden_core::indicator::{Indicator, IndicatorType};
use warden_core::lifecycle::{can_view_import, may_import};
use warden_core::org::Actor;
use warden_interop::feed::{self, Line, Reader};
use warden_store::{FeedRows, ImportRecord, ImportReject, Store, StoreError};

/// Distinct indicators per written batch.
const BATCH: usize = 200_000;
const FIRST_BATCH: usize = 25_000;

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
#[derive(Default)]
struct Batch {
    rows: FeedRows,
    lines: u64,
    accepted: u64,
    bytes: u64,
    rejects: Vec<ImportReject>,
    /// The input could not be read on: the import stops after this batch.
    fatal: Option<String>,
}

/// The batch read so far, its indicators sorted and encoded for the store here, on the
/// parser's thread, while the writer writes the batch before.
fn flush(map: &mut HashMap<(IndicatorType, String), u64>, b: &mut Batch) -> Batch {
    let mut full = std::mem::take(b);
    match FeedRows::new(map.drain().map(|((k, value), n)| (k.as_str(), value, n))) {
        Ok(rows) => full.rows = rows,
        // Nothing of this batch is counted as read: a resumed import reads it again.
        Err(e) => {
            full = Batch {
                fatal: Some(format!("a batch could not be prepared: {e}")),
                ..Batch::default()
            }
        }
    }
    full
}

/// Where an item came from: a line of a feed, or a named part of a document. Only rejects
/// spell it out, so an accepted line costs no string.
enum Place {
    Line(u64),
    Named(String),
}

impl Place {
    fn text(self) -> String {
        match self {
            Place::Line(n) => format!("line {n}"),
            Place::Named(s) => s,
        }
    }
}

/// Turns items (where each came from, and what it says) into batches sent to the writer.
/// The first `skip` items were read by an earlier run of the same import (resumed): they are
/// passed over, and rejects are numbered on from `rejected`.
struct Batcher {
    map: HashMap<(IndicatorType, String), u64>,
    b: Batch,
    /// Batches start small and double up to `BATCH`: the writer starts on the first soon
    /// instead of idling while a full one is read.
    limit: usize,
    skip: u64,
    rejected: u64,
    tx: tokio::sync::mpsc::Sender<Batch>,
}

impl Batcher {
    fn new(skip: u64, rejected: u64, tx: tokio::sync::mpsc::Sender<Batch>) -> Batcher {
        Batcher {
            map: HashMap::with_capacity(BATCH),
            b: Batch::default(),
            limit: FIRST_BATCH,
            skip,
            rejected,
            tx,
        }
    }

    /// Takes one item; false when reading should stop (the writer has gone, or a batch could
    /// not be prepared).
    fn push(&mut self, at: Place, bytes: u64, r: Result<Line, String>) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return true;
        }
        self.b.lines += 1;
        self.b.bytes += bytes;
        match r {
            Ok(Line::Skip) => true,
            Ok(Line::Indicator(i)) => {
                self.b.accepted += 1;
                *self.map.entry((i.kind(), i.into_value())).or_insert(0) += 1;
                if self.map.len() < self.limit {
                    return true;
                }
                self.limit = (self.limit * 2).min(BATCH);
                self.send()
            }
            Err(reason) => {
                self.rejected += 1;
                self.b.rejects.push(ImportReject {
                    n: self.rejected,
                    place: at.text(),
                    reason,
                });
                // A feed of garbage must not pile its rejects up in memory either.
                self.b.rejects.len() < BATCH || self.send()
            }
        }
    }

    fn send(&mut self) -> bool {
        let full = flush(&mut self.map, &mut self.b);
        let stop = full.fatal.is_some();
        self.tx.blocking_send(full).is_ok() && !stop
    }

    /// The input could not be read on: what was read is written, and the import fails.
    fn fail(&mut self, e: String) {
        self.b.fatal = Some(e);
    }

    fn finish(mut self) {
        let fatal = self.b.fatal.take();
        let mut last = flush(&mut self.map, &mut self.b);
        last.fatal = last.fatal.or(fatal);
        let _ = self.tx.blocking_send(last);
    }
}

/// Reads a line-oriented feed into `batcher`.
fn read_lines<R: BufRead>(format: feed::Format, reader: R, mut batcher: Batcher) {
    for item in line_items(format, reader) {
        match item {
            Ok((at, bytes, r)) => {
                if !batcher.push(at, bytes, r) {
                    return;
                }
            }
            Err(e) => {
                batcher.fail(e);
                break;
            }
        }
    }
    batcher.finish();
}

/// Lines of a line-oriented feed, numbered from 1. A line that is not UTF-8 is a reject; a
/// failing read ends the feed with an error.
fn line_items<R: BufRead>(
    format: feed::Format,
    mut reader: R,
) -> impl Iterator<Item = Result<(Place, u64, Result<Line, String>), String>> {
    let mut r = Reader::new(format);
    let mut n = 0u64;
    let mut buf = vec![];
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        buf.clear();
        n += 1;
        match read_line_capped(&mut reader, &mut buf, MAX_LINE) {
            Ok((0, _)) => None,
            Ok((len, true)) => Some(Ok((
                Place::Line(n),
                len as u64,
                Err(format!(
                    "a line of {len} bytes: lines are at most {MAX_LINE} bytes, so it was not read"
                )),
            ))),
            Ok((len, false)) => Some(Ok((
                Place::Line(n),
                len as u64,
                match std::str::from_utf8(&buf) {
                    Ok(text) => r.line(text),
                    Err(e) => Err(format!("not UTF-8 text: {e}")),
                },
            ))),
            Err(e) => {
                done = true;
                Some(Err(format!("reading line {n}: {e}")))
            }
        }
    })
}

/// The longest line a feed may have: far beyond any indicator with its fields, and small
/// enough that a line without an end never fills memory.
pub const MAX_LINE: usize = 64 * 1024;

/// Reads one line (through its `\n`) into `buf`, keeping at most `max` bytes of it; a longer
/// line is consumed to its end without being kept. The bytes consumed, and whether the line
/// was too long.
fn read_line_capped<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(usize, bool)> {
    let (mut total, mut too_long) = (0usize, false);
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((total, too_long));
        }
        let (n, ends) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if !too_long {
            if buf.len() + n <= max {
                buf.extend_from_slice(&available[..n]);
            } else {
                too_long = true;
                buf.clear();
            }
        }
        reader.consume(n);
        total += n;
        if ends {
            return Ok((total, too_long));
        }
    }
}

/// A reader that counts the bytes read through it (the progress of a streamed document).
struct Counted<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// Reads JSON documents into `batcher`, streamed: MISP events' attributes, or a STIX
/// bundle's objects, one at a time as each document is parsed.
fn read_documents_into(format: ImportFormat, docs: Vec<Document>, mut batcher: Batcher) {
    for doc in docs {
        let file = match std::fs::File::open(&doc.path) {
            Ok(f) => f,
            Err(e) => {
                batcher.fail(format!("{}: {e}", doc.name));
                break;
            }
        };
        let read = std::rc::Rc::new(std::cell::Cell::new(0u64));
        let counted = Counted {
            inner: file,
            read: read.clone(),
        };
        let mut seen = 0u64;
        // Bytes read since the last item, for the progress of the import.
        let mut bytes = || {
            let since = read.get() - seen;
            seen += since;
            since
        };
        let name = &doc.name;
        let mut k = 0usize;
        let done = match format {
            ImportFormat::Misp => warden_interop::stream::misp_attributes(counted, |a| {
                k += 1;
                let r = match (
                    a.get("type").and_then(Value::as_str),
                    a.get("value").and_then(Value::as_str),
                ) {
                    (Some(t), Some(v)) => feed::misp_attribute(t, v).map(Line::Indicator),
                    _ => Err("an attribute needs a type and a value (strings)".to_owned()),
                };
                batcher.push(Place::Named(format!("{name}: attribute {k}")), bytes(), r)
            }),
            _ => warden_interop::stream::stix_objects(counted, |o| {
                k += 1;
                let at = format!(
                    "{name}: object {k} ({})",
                    o.get("id").and_then(Value::as_str).unwrap_or("no id")
                );
                match warden_interop::inbound::read(&o) {
                    Err(e) => batcher.push(Place::Named(at), bytes(), Err(e)),
                    Ok(d) => d.indicators.into_iter().all(|(t, v)| {
                        batcher.push(
                            Place::Named(at.clone()),
                            bytes(),
                            Indicator::parse(t, &v)
                                .map(Line::Indicator)
                                .map_err(|e| e.to_string()),
                        )
                    }),
                }
            }),
        };
        if let Err(e) = done {
            batcher.fail(format!("{name}: {e}"));
            break;
        }
    }
    batcher.finish();
}

/// One JSON document of an import: its name in reject places, and its file.
pub struct Document {
    pub name: String,
    pub path: std::path::PathBuf,
}

/// The documents of MISP or STIX input: one JSON file, or (MISP) a feed directory with
/// manifest.json naming its event files. Only the manifest is read here; the documents are
/// streamed by the import.
pub fn read_documents(path: &std::path::Path) -> Result<Vec<Document>, ImportError> {
    if path.is_dir() {
        let p = path.join("manifest.json");
        let text = std::fs::read_to_string(&p)?;
        let manifest: Value = serde_json::from_str(&text)
            .map_err(|e| ImportError::Invalid(format!("{}: not JSON: {e}", p.display())))?;
        let events = manifest.as_object().ok_or_else(|| {
            ImportError::Invalid("manifest.json is not an object of event UUIDs".into())
        })?;
        let mut docs = vec![];
        for uuid in events.keys() {
            // Event keys are UUIDs: anything else (a path, `..`) is not joined to the
            // directory, so a manifest cannot make the import read files outside the feed.
            if uuid::Uuid::parse_str(uuid).is_err() {
                return Err(ImportError::Invalid(format!(
                    "manifest.json names {uuid:?}, which is not an event UUID"
                )));
            }
            let name = format!("{uuid}.json");
            let p = path.join(&name);
            if !p.is_file() {
                return Err(ImportError::Invalid(format!(
                    "manifest.json names event {uuid}, but {} is not there",
                    p.display()
                )));
            }
            docs.push(Document { name, path: p });
        }
        return Ok(docs);
    }
    // Opened here so a missing file is refused before the import is recorded.
    std::fs::File::open(path)?;
    Ok(vec![Document {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: path.to_owned(),
    }])
}

/// What an import reads.
pub enum Input<R> {
    Lines(feed::Format, R),
    Documents(ImportFormat, Vec<Document>),
}

/// Runs import `rec` (new, or resumed where its record says it stopped): the record is
/// written first (running) and last (complete), and each batch in one transaction together
/// with the record's counts through it. `progress` is told the bytes read so far.
pub async fn run<R: BufRead + Send + 'static>(
    store: &dyn Store,
    mut rec: ImportRecord,
    input: Input<R>,
    now: impl Fn() -> OffsetDateTime,
    mut on_reject: impl FnMut(&ImportReject),
    mut progress: impl FnMut(u64),
) -> Result<ImportRecord, ImportError> {
    rec.status = "running".into();
    store.put_import(&rec).await?;
    // Two batches in flight: parsing runs ahead while the previous one is written.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(2);
    let (skip, rejected) = (rec.lines, rec.rejected);
    let parser = tokio::task::spawn_blocking(move || {
        let batcher = Batcher::new(skip, rejected, tx);
        match input {
            Input::Lines(f, r) => read_lines(f, r, batcher),
            Input::Documents(f, docs) => read_documents_into(f, docs, batcher),
        }
    });
    let mut bytes = 0;
    let mut fatal = None;
    while let Some(b) = rx.recv().await {
        rec.lines += b.lines;
        rec.accepted += b.accepted;
        rec.rejected += b.rejects.len() as u64;
        rec.new_indicators += store.add_feed_rows(&rec, now(), b.rows, &b.rejects).await?;
        for r in &b.rejects {
            on_reject(r);
        }
        bytes += b.bytes;
        progress(bytes);
        if b.fatal.is_some() {
            fatal = b.fatal;
        }
    }
    parser
        .await
        .map_err(|e| ImportError::Invalid(format!("the parser stopped: {e}")))?;
    if let Some(e) = fatal {
        rec.status = "failed".into();
        rec.finished = Some(now());
        rec.detail = Some(e.clone());
        store.put_import(&rec).await?;
        return Err(ImportError::Invalid(e));
    }
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

/// The pieces an HTTP upload is kept in.
const CHUNK: usize = 1 << 20;
pub use crate::limits::{ImportLimits, UPLOAD_LIMIT};

/// An import whose last attempts ended (the server stopping under it) without a line of
/// progress this many times is failed rather than resumed again.
const STALLED_ATTEMPTS: u32 = 2;

/// "attempt K from line N", as the record's detail says while it runs.
fn attempt_of(detail: Option<&str>) -> Option<(u32, u64)> {
    let rest = detail?.strip_prefix("attempt ")?;
    let (k, n) = rest.split_once(" from line ")?;
    Some((k.parse().ok()?, n.parse().ok()?))
}
/// How long a server holds an import before another may take it over; renewed while it runs.
const LEASE: time::Duration = time::Duration::minutes(5);
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// An upload's chunks, in order, as one byte stream for the parser thread.
struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, String>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.blocking_recv() {
                Some(Ok(c)) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Service {
    /// Receives an uploaded feed into the database, chunk by chunk as it arrives, and queues
    /// its import: when this returns, the whole feed is durable and any server may run it.
    pub async fn receive_import<S, E>(
        &self,
        actor: &Actor,
        format: feed::Format,
        source: Option<&str>,
        declared: Option<u64>,
        mut body: S,
    ) -> Result<ImportJob, ServiceError>
    where
        S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        use futures_util::StreamExt as _;
        may_import(actor)?;
        let org = actor
            .org()
            .ok_or_else(|| ServiceError::InvalidBody("a feed is sent by an organisation".into()))?;
        let source = source.unwrap_or("http");
        if source.is_empty() || source.chars().count() > 200 || source.chars().any(char::is_control)
        {
            return Err(ServiceError::InvalidQuery(
                "source: 1–200 characters without control characters".into(),
            ));
        }
        if declared.is_some_and(|n| n > self.import_limits.max_upload) {
            return Err(ServiceError::BatchTooLarge(format!(
                "a feed upload may carry at most {} bytes; split the feed",
                self.import_limits.max_upload
            )));
        }
        let active = self
            .store
            .imports_of_org(org.id, 1000)
            .await?
            .into_iter()
            .filter(|r| matches!(r.status.as_str(), "receiving" | "queued" | "running"))
            .count();
        if active >= self.import_limits.active_per_org {
            return Err(ServiceError::Busy(format!(
                "{} of this organisation's imports are not finished yet (at most {} at once): send the next feed when one has finished",
                active, self.import_limits.active_per_org
            )));
        }
        let mut rec = ImportRecord::start(org.id, format.as_str(), source, self.now());
        rec.status = "receiving".into();
        self.store.put_import(&rec).await?;
        let mut buf = Vec::with_capacity(CHUNK);
        let mut seq = 0;
        let failure = loop {
            match body.next().await {
                Some(Ok(b)) => {
                    rec.bytes += b.len() as u64;
                    if rec.bytes > self.import_limits.max_upload {
                        break ServiceError::BatchTooLarge(format!(
                            "a feed upload may carry at most {} bytes; split the feed",
                            self.import_limits.max_upload
                        ));
                    }
                    buf.extend_from_slice(&b);
                    while buf.len() >= CHUNK {
                        let rest = buf.split_off(CHUNK);
                        let full = std::mem::replace(&mut buf, rest);
                        self.store.add_import_chunk(rec.id, seq, full).await?;
                        seq += 1;
                    }
                }
                Some(Err(e)) => {
                    break ServiceError::InvalidBody(format!(
                        "the upload broke off after {} bytes: {e}",
                        rec.bytes
                    ));
                }
                None => {
                    if !buf.is_empty() {
                        self.store.add_import_chunk(rec.id, seq, buf).await?;
                    }
                    rec.status = "queued".into();
                    self.store.put_import(&rec).await?;
                    return Ok(ImportJob::from(&rec));
                }
            }
        };
        rec.status = "failed".into();
        rec.finished = Some(self.now());
        rec.detail = Some(failure.to_string());
        self.store.drop_import_chunks(rec.id).await?;
        self.store.put_import(&rec).await?;
        Err(failure)
    }

    pub async fn import_job(&self, actor: &Actor, id: Uuid) -> Result<ImportJob, ServiceError> {
        Ok(ImportJob::from(&self.visible_import(actor, id).await?))
    }

    async fn visible_import(&self, actor: &Actor, id: Uuid) -> Result<ImportRecord, ServiceError> {
        self.store
            .import(id)
            .await?
            .filter(|r| can_view_import(actor, r.org_id))
            .ok_or_else(|| ServiceError::NotFound(format!("import {id}")))
    }

    /// The caller organisation's imports, newest first.
    pub async fn import_jobs(&self, actor: &Actor, limit: u32) -> Result<ImportList, ServiceError> {
        let org = actor
            .org()
            .ok_or_else(|| ServiceError::NotFound("imports".into()))?;
        let items = self
            .store
            .imports_of_org(org.id, limit.clamp(1, 1000))
            .await?;
        Ok(ImportList {
            items: items.iter().map(ImportJob::from).collect(),
        })
    }

    pub async fn import_rejects(
        &self,
        actor: &Actor,
        id: Uuid,
        after: u64,
        limit: u32,
    ) -> Result<ImportRejectList, ServiceError> {
        let rec = self.visible_import(actor, id).await?;
        let items = self
            .store
            .import_rejects(id, after, limit.clamp(1, 10_000))
            .await?
            .into_iter()
            .map(|r| ImportRejectItem {
                n: r.n,
                place: r.place,
                reason: r.reason,
            })
            .collect();
        Ok(ImportRejectList {
            items,
            total: rec.rejected,
        })
    }

    /// Runs (or resumes) one queued upload if no other server holds it.
    async fn run_upload(&self, rec: ImportRecord, owner: &str) -> Result<(), ServiceError> {
        let job = format!("import:{}", rec.id);
        // At most a few imports run at once in a process; the others wait here.
        let _turn = self
            .import_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = self.now();
        if !self.store.claim_job(&job, owner, now, now + LEASE).await? {
            return Ok(());
        }
        // A record still "running" was left by a server that stopped under it. Attempts that
        // ended without a line of progress are counted: input that stops every server that
        // reads it is failed, not resumed forever.
        let mut rec = self.store.import(rec.id).await?.unwrap_or(rec);
        let stalled = match attempt_of(rec.detail.as_deref()) {
            Some((k, from)) if rec.status == "running" && from == rec.lines => k,
            _ => 0,
        };
        if stalled >= STALLED_ATTEMPTS {
            rec.status = "failed".into();
            rec.finished = Some(self.now());
            rec.detail = Some(format!(
                "stopped {stalled} times at line {} without progress: the input stops the server that reads it; the lines before it were imported",
                rec.lines
            ));
            tracing::error!(import = %rec.id, line = rec.lines, "an import stopped its servers repeatedly: failed");
            self.store.put_import(&rec).await?;
            self.store.drop_import_chunks(rec.id).await?;
            let far = self.now() + time::Duration::days(36_500);
            self.store.finish_job(&job, owner, self.now(), far).await?;
            return Ok(());
        }
        rec.detail = Some(format!("attempt {} from line {}", stalled + 1, rec.lines));
        self.store.put_import(&rec).await?;
        let Some(format) = feed::Format::parse(&rec.format) else {
            return Err(ServiceError::Internal(format!(
                "import {} has format {} that uploads cannot have",
                rec.id, rec.format
            )));
        };
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let store = self.store.clone();
        let id = rec.id;
        // The chunks are fetched ahead of the parser, a few at a time.
        let fetch = tokio::spawn(async move {
            for seq in 0.. {
                let next = match store.import_chunk(id, seq).await {
                    Ok(Some(c)) => Ok(c),
                    Ok(None) => break,
                    Err(e) => Err(e.to_string()),
                };
                let stop = next.is_err();
                if tx.send(next).await.is_err() || stop {
                    break;
                }
            }
        });
        let reader = std::io::BufReader::with_capacity(
            CHUNK,
            ChunkReader {
                rx,
                chunk: vec![],
                pos: 0,
            },
        );
        let work = run(
            self.store.as_ref(),
            rec.clone(),
            Input::Lines(format, reader),
            || self.now(),
            |_| {},
            |_| {},
        );
        tokio::pin!(work);
        let mut renew = tokio::time::interval(RENEW_EVERY);
        renew.tick().await;
        let result = loop {
            tokio::select! {
                r = &mut work => break r,
                _ = renew.tick() => {
                    if !self.store.renew_job(&job, owner, self.now() + LEASE).await? {
                        fetch.abort();
                        return Err(ServiceError::Internal(format!(
                            "import {id}: another server took it over"
                        )));
                    }
                }
            }
        };
        fetch.abort();
        let done = match result {
            Ok(_) => {
                self.store.drop_import_chunks(id).await?;
                if let Some(mut r) = self.store.import(id).await?
                    && attempt_of(r.detail.as_deref()).is_some()
                {
                    r.detail = None;
                    self.store.put_import(&r).await?;
                }
                Ok(())
            }
            Err(ImportError::Store(e)) => Err(ServiceError::Store(e)),
            Err(e) => {
                // Unreadable input: the import ends here, with what it had read.
                let mut failed = self.store.import(id).await?.unwrap_or(rec);
                failed.status = "failed".into();
                failed.finished = Some(self.now());
                failed.detail = Some(e.to_string());
                self.store.put_import(&failed).await?;
                self.store.drop_import_chunks(id).await?;
                Ok(())
            }
        };
        let far = self.now() + time::Duration::days(36_500);
        self.store.finish_job(&job, owner, self.now(), far).await?;
        done
    }
}

/// Runs every queued import (and resumes those a stopped server left running) that no other
/// server holds, each in a task of its own.
pub fn start_pending(svc: std::sync::Arc<Service>, owner: String) {
    tokio::spawn(async move {
        let pending = match svc.store.imports_pending().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "listing pending imports failed");
                return;
            }
        };
        for rec in pending {
            let svc = svc.clone();
            let owner = owner.clone();
            tokio::spawn(async move {
                let id = rec.id;
                if let Err(e) = svc.run_upload(rec, &owner).await {
                    tracing::warn!(import = %id, error = %e, "import stopped; it resumes at the next job run");
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_without_an_end_is_not_kept() {
        let mut feed = vec![b'a'; 300_000];
        feed.extend_from_slice(b"\nnext.example.cn\n");
        let mut reader = std::io::BufReader::with_capacity(4096, &feed[..]);
        let mut buf = vec![];
        let (n, too_long) = super::read_line_capped(&mut reader, &mut buf, 1000).unwrap();
        assert_eq!((n, too_long), (300_001, true));
        assert!(buf.capacity() <= 4096, "never held the line");
        buf.clear();
        let (n, too_long) = super::read_line_capped(&mut reader, &mut buf, 1000).unwrap();
        assert_eq!(
            (n, too_long, &buf[..]),
            (16, false, &b"next.example.cn\n"[..])
        );
        buf.clear();
        assert_eq!(
            super::read_line_capped(&mut reader, &mut buf, 1000).unwrap(),
            (0, false)
        );
    }

    #[test]
    fn a_manifest_names_events_not_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("manifest.json"),
            r#"{"../../etc/passwd": {}}"#,
        )
        .unwrap();
        let e = match super::read_documents(dir.path()) {
            Err(e) => e.to_string(),
            Ok(d) => panic!("{} documents read", d.len()),
        };
        assert!(e.contains("not an event UUID"), "{e}");
        let id = "5b4b8b6a-9a1e-4f4b-8d5e-0d8b2a3c4e5f";
        std::fs::write(
            dir.path().join("manifest.json"),
            format!(r#"{{"{id}": {{}}}}"#),
        )
        .unwrap();
        std::fs::write(dir.path().join(format!("{id}.json")), "{}").unwrap();
        assert_eq!(
            super::read_documents(dir.path()).map(|d| d.len()).ok(),
            Some(1)
        );
    }
}
