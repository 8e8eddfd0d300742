//! A blocklist export as an HTTP body: rendered on a blocking thread, sent in chunks as they
//! fill, so a list of millions of entries never sits whole in memory.

use std::io::Write;
use warden_service::exports::Export;

/// Streams an export as HTTP body chunks, rendered on a blocking thread.
pub fn body(export: Export) -> axum::body::Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(8);
    tokio::task::spawn_blocking(move || {
        let mut w = ChunkWriter {
            buf: Vec::with_capacity(CHUNK),
            tx: tx.clone(),
        };
        let r = export.write(&mut w, |_| {}).and_then(|_| w.flush());
        if let Err(e) = r {
            // The client went away, or rendering failed: the stream ends with the error.
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    axum::body::Body::from_stream(stream)
}

const CHUNK: usize = 64 * 1024;

struct ChunkWriter {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<std::io::Result<bytes::Bytes>>,
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = bytes::Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }
}
