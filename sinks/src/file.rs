//! The file and stdout sinks: one JSON line per record.
//!
//! ```text
//! send(batch) --bounded channel--> writer thread --vectored writes--> file | stdout
//!                                       '--> Delivery(Ok) after the batch is written
//! ```
//! Line shape: `{"topic":…,"key":…,"value":…,"headers":{…}}`; key and value are the converter's
//! output embedded as JSON when the converter writes JSON, else as a JSON string (UTF-8) or a
//! base64 string (binary). `null` for a null key and for a tombstone.

use std::fs::{File, OpenOptions};
use std::io::{IoSlice, Write};
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;

use crate::{Delivery, DeliveryHandle, Sink, SinkError, SinkRecord};

/// Batches queued between the pipeline and the writer thread before `send` waits.
pub const DEFAULT_QUEUE_BATCHES: usize = 8;

/// How the converter's bytes are embedded in the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embed {
    /// The bytes are JSON text: embed them as they are.
    Json,
    /// Anything else: a JSON string when UTF-8, else base64.
    Text,
}

#[derive(Debug, Clone)]
pub struct FileSinkOptions {
    /// `None` writes to stdout.
    pub path: Option<PathBuf>,
    pub key: Embed,
    pub value: Embed,
}

enum Command {
    Write(Vec<SinkRecord>, DeliveryHandle),
    Sync(tokio::sync::oneshot::Sender<Result<(), SinkError>>),
}

/// Appends records to a file (or stdout) from a dedicated writer thread. Clones share the
/// writer (several connectors into one file).
#[derive(Clone)]
pub struct FileSink {
    tx: tokio::sync::mpsc::Sender<Command>,
}

impl FileSink {
    /// Open (append, create) the file and start the writer thread.
    pub fn open(options: FileSinkOptions) -> Result<FileSink, SinkError> {
        let label = options
            .path
            .as_ref()
            .map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
        let io_err = |source| SinkError::Io {
            path: label.clone(),
            source,
        };
        let (out, sync_handle): (Box<dyn Write + Send>, Option<File>) = match &options.path {
            Some(path) => {
                let mut file: File = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .read(true)
                    .open(path)
                    .map_err(io_err)?;
                terminate_torn_line(&mut file).map_err(io_err)?;
                let sync_handle = file.try_clone().map_err(io_err)?;
                (Box::new(file), Some(sync_handle))
            }
            None => (Box::new(std::io::stdout()), None),
        };
        let (tx, rx) = tokio::sync::mpsc::channel(DEFAULT_QUEUE_BATCHES);
        let writer = Writer {
            out,
            sync_handle,
            label,
            key: options.key,
            value: options.value,
            glue: Vec::new(),
            pieces: Vec::new(),
            topic_prefix: (None, Vec::new()),
        };
        std::thread::Builder::new()
            .name("sluice-file-sink".into())
            .spawn(move || writer.run(rx))
            .map_err(|source| SinkError::Io {
                path: "writer thread".into(),
                source,
            })?;
        Ok(FileSink { tx })
    }
}

impl Sink for FileSink {
    async fn send(&mut self, records: Vec<SinkRecord>) -> Result<Delivery, SinkError> {
        let (handle, delivery) = Delivery::pending();
        self.tx
            .send(Command::Write(records, handle))
            .await
            .map_err(|_| SinkError::Closed)?;
        Ok(delivery)
    }

    async fn sync(&mut self) -> Result<(), SinkError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Command::Sync(tx))
            .await
            .map_err(|_| SinkError::Closed)?;
        rx.await.map_err(|_| SinkError::Closed)?
    }
}

/// A crash in the middle of a write can leave a partial last line. Appending to it would glue
/// the next record onto the fragment and make both unreadable, so end it with a newline first
/// (readers skip the fragment as a line that is not JSON).
fn terminate_torn_line(file: &mut File) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::End(-1))?;
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        // Append mode: the write goes to the end whatever the read position is.
        file.write_all(b"\n")?;
    }
    Ok(())
}

struct Writer {
    /// Unbuffered: each batch is written with vectored writes of its own.
    out: Box<dyn Write + Send>,
    /// The same file, for `sync_data` (none for stdout).
    sync_handle: Option<File>,
    label: String,
    key: Embed,
    value: Embed,
    /// The bytes of a batch's lines that are not the records' own key and value bytes.
    glue: Vec<u8>,
    /// A batch's lines as pieces of `glue` and of the records.
    pieces: Vec<Piece>,
    /// The last topic and its line opening (`{"topic":"…","key":`).
    topic_prefix: (Option<Arc<str>>, Vec<u8>),
}

/// Where a piece of a line comes from.
#[derive(Clone)]
enum Piece {
    Glue(std::ops::Range<usize>),
    /// The key bytes of the batch's record at this index (embedded as JSON).
    Key(usize),
    /// Its value bytes.
    Value(usize),
}

impl Writer {
    fn run(mut self, mut rx: tokio::sync::mpsc::Receiver<Command>) {
        while let Some(command) = rx.blocking_recv() {
            match command {
                Command::Write(records, handle) => {
                    let result = self.write_batch(&records);
                    let failed = result.is_err();
                    handle.complete(result);
                    if failed {
                        // Stop: every later batch must fail too, so nothing after the gap commits.
                        return;
                    }
                }
                Command::Sync(reply) => {
                    let _ = reply.send(self.sync());
                }
            }
        }
        let _ = self.out.flush();
    }

    fn io_error(&self, source: std::io::Error) -> SinkError {
        SinkError::Io {
            path: self.label.clone(),
            source,
        }
    }

    /// Write a batch's lines with vectored writes: the keys and values embedded as JSON go
    /// from the records' own buffers to the file, instead of being copied into a buffer first.
    fn write_batch(&mut self, records: &[SinkRecord]) -> Result<(), SinkError> {
        self.glue.clear();
        self.pieces.clear();
        for (i, record) in records.iter().enumerate() {
            if self.topic_prefix.0.as_deref() != Some(&*record.topic) {
                let (topic, prefix) = &mut self.topic_prefix;
                *topic = Some(record.topic.clone());
                prefix.clear();
                let _ = write_line_start(prefix, &record.topic);
            }
            self.glue.extend_from_slice(&self.topic_prefix.1);
            self.embed_piece(record.key.as_deref(), self.key, Piece::Key(i));
            self.glue.extend_from_slice(b",\"value\":");
            self.embed_piece(record.value.as_deref(), self.value, Piece::Value(i));
            // Writing to a Vec cannot fail.
            let _ = write_line_end(&mut self.glue, record);
        }
        self.push_glue();
        let mut slices: Vec<IoSlice<'_>> = self
            .pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::Glue(range) => self.glue.get(range.clone()),
                Piece::Key(i) => records.get(*i).and_then(|r| r.key.as_deref()),
                Piece::Value(i) => records.get(*i).and_then(|r| r.value.as_deref()),
            })
            .map(IoSlice::new)
            .collect();
        let result = write_all_vectored(&mut self.out, &mut slices).and_then(|()| self.out.flush());
        result.map_err(|e| self.io_error(e))
    }

    /// Embed a key or value: as a piece of the record when it is JSON, else into the glue.
    fn embed_piece(&mut self, bytes: Option<&[u8]>, how: Embed, piece: Piece) {
        match (bytes, how) {
            (Some(b), Embed::Json) if !b.is_empty() => {
                self.push_glue();
                self.pieces.push(piece);
            }
            // Writing to a Vec cannot fail.
            _ => {
                let _ = embed(&mut self.glue, bytes, how);
            }
        }
    }

    /// Close the glue written since the last piece into a piece.
    fn push_glue(&mut self) {
        let start = self
            .pieces
            .iter()
            .rev()
            .find_map(|p| match p {
                Piece::Glue(r) => Some(r.end),
                Piece::Key(_) | Piece::Value(_) => None,
            })
            .unwrap_or_default();
        if start < self.glue.len() {
            self.pieces.push(Piece::Glue(start..self.glue.len()));
        }
    }

    fn sync(&mut self) -> Result<(), SinkError> {
        self.out.flush().map_err(|e| self.io_error(e))?;
        if let Some(file) = &self.sync_handle {
            file.sync_data().map_err(|e| self.io_error(e))?;
        }
        Ok(())
    }
}

/// One record as a JSON line (with the trailing newline).
pub fn render_line(line: &mut Vec<u8>, record: &SinkRecord, key: Embed, value: Embed) {
    // Writing to a Vec cannot fail.
    let _ = write_line(line, record, key, value);
}

/// [`render_line`] straight into a writer.
pub fn write_line<W: Write>(
    out: &mut W,
    record: &SinkRecord,
    key: Embed,
    value: Embed,
) -> std::io::Result<()> {
    write_line_start(out, &record.topic)?;
    embed(out, record.key.as_deref(), key)?;
    out.write_all(b",\"value\":")?;
    embed(out, record.value.as_deref(), value)?;
    write_line_end(out, record)
}

/// `write_all` of several slices (`Write::write_all_vectored` is not stable yet).
fn write_all_vectored<W: Write + ?Sized>(
    out: &mut W,
    mut slices: &mut [IoSlice<'_>],
) -> std::io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A line up to its key: `{"topic":"…","key":`.
fn write_line_start<W: Write>(out: &mut W, topic: &str) -> std::io::Result<()> {
    out.write_all(b"{\"topic\":")?;
    json_string(out, topic)?;
    out.write_all(b",\"key\":")
}

/// A line after its value: the headers and the end of the line.
fn write_line_end<W: Write>(out: &mut W, record: &SinkRecord) -> std::io::Result<()> {
    out.write_all(b",\"headers\":{")?;
    for (i, (name, v)) in record.headers.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        json_string(out, name)?;
        out.write_all(b":")?;
        embed(out, v.as_deref(), Embed::Text)?;
    }
    out.write_all(b"}}\n")
}

fn embed<W: Write>(out: &mut W, bytes: Option<&[u8]>, how: Embed) -> std::io::Result<()> {
    match (bytes, how) {
        (None, _) => out.write_all(b"null"),
        (Some(b), Embed::Json) => out.write_all(b),
        (Some(b), Embed::Text) => match std::str::from_utf8(b) {
            Ok(s) => json_string(out, s),
            Err(_) => {
                out.write_all(b"\"")?;
                out.write_all(
                    base64::engine::general_purpose::STANDARD
                        .encode(b)
                        .as_bytes(),
                )?;
                out.write_all(b"\"")
            }
        },
    }
}

fn json_string<W: Write>(out: &mut W, s: &str) -> std::io::Result<()> {
    // serde_json's escaping is the same as Jackson's for the characters that must be escaped.
    serde_json::to_writer(out, s).map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: Option<&str>, value: Option<&str>) -> SinkRecord {
        SinkRecord {
            topic: "pg.public.t".into(),
            key: key.map(|k| k.as_bytes().to_vec()),
            value: value.map(|v| v.as_bytes().to_vec()),
            headers: vec![],
            timestamp_ms: None,
        }
    }

    #[tokio::test]
    async fn writes_lines_and_acknowledges_in_order() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("out.jsonl");
        let mut sink = FileSink::open(FileSinkOptions {
            path: Some(path.clone()),
            key: Embed::Json,
            value: Embed::Json,
        })?;
        let d1 = sink
            .send(vec![record(Some(r#"{"id":1}"#), Some(r#"{"a":1}"#))])
            .await?;
        let d2 = sink.send(vec![record(Some(r#"{"id":1}"#), None)]).await?;
        d1.await?;
        d2.await?;
        sink.sync().await?;
        let text = std::fs::read_to_string(&path)?;
        assert_eq!(
            text,
            "{\"topic\":\"pg.public.t\",\"key\":{\"id\":1},\"value\":{\"a\":1},\"headers\":{}}\n\
             {\"topic\":\"pg.public.t\",\"key\":{\"id\":1},\"value\":null,\"headers\":{}}\n"
        );
        Ok(())
    }

    #[tokio::test]
    async fn vectored_batches_write_the_rendered_lines() -> Result<(), Box<dyn std::error::Error>> {
        // More pieces than one writev takes (IOV_MAX 1024), topics that change, null and
        // empty keys and values, headers, text embedding.
        let records: Vec<SinkRecord> = (0..3000)
            .map(|i| {
                let mut r = record(
                    (i % 7 != 0)
                        .then(|| ["{\"id\":", &i.to_string(), "}"].concat())
                        .as_deref(),
                    (i % 11 != 0)
                        .then(|| format!("{{\"v\":\"x{i}\"}}"))
                        .as_deref(),
                );
                if i % 13 == 0 {
                    r.value = Some(Vec::new());
                }
                if i % 100 < 50 {
                    r.topic = "other \"topic\"".into();
                }
                if i % 17 == 0 {
                    r.headers = vec![("h".into(), Some(b"v\n".to_vec())), ("n".into(), None)];
                }
                r
            })
            .collect();
        for (key, value) in [(Embed::Json, Embed::Json), (Embed::Text, Embed::Json)] {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("out.jsonl");
            let mut sink = FileSink::open(FileSinkOptions {
                path: Some(path.clone()),
                key,
                value,
            })?;
            sink.send(records.clone()).await?.await?;
            sink.send(records[..5].to_vec()).await?.await?;
            sink.sync().await?;
            let mut want = Vec::new();
            for r in records.iter().chain(&records[..5]) {
                render_line(&mut want, r, key, value);
            }
            assert_eq!(
                String::from_utf8_lossy(&std::fs::read(&path)?),
                String::from_utf8_lossy(&want)
            );
        }
        Ok(())
    }

    #[test]
    fn text_embedding_quotes_and_base64s() {
        let mut line = Vec::new();
        let mut r = record(Some("plain \"key\""), None);
        r.value = Some(vec![0xff, 0x00]);
        render_line(&mut line, &r, Embed::Text, Embed::Text);
        assert_eq!(
            String::from_utf8_lossy(&line),
            "{\"topic\":\"pg.public.t\",\"key\":\"plain \\\"key\\\"\",\"value\":\"/wA=\",\"headers\":{}}\n"
        );
    }

    #[tokio::test]
    async fn torn_last_line_is_terminated_before_appending(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, "{\"topic\":\"t\",\"key\":{\"id\"")?;
        let mut sink = FileSink::open(FileSinkOptions {
            path: Some(path.clone()),
            key: Embed::Json,
            value: Embed::Json,
        })?;
        sink.send(vec![record(Some(r#"{"id":1}"#), None)])
            .await?
            .await?;
        sink.sync().await?;
        drop(sink);
        // A whole file is left alone.
        let sink = FileSink::open(FileSinkOptions {
            path: Some(path.clone()),
            key: Embed::Json,
            value: Embed::Json,
        })?;
        drop(sink);
        assert_eq!(
            std::fs::read_to_string(&path)?,
            "{\"topic\":\"t\",\"key\":{\"id\"\n\
             {\"topic\":\"pg.public.t\",\"key\":{\"id\":1},\"value\":null,\"headers\":{}}\n"
        );
        Ok(())
    }

    #[test]
    fn open_in_missing_directory_is_a_clear_error() {
        let err = FileSink::open(FileSinkOptions {
            path: Some("/nonexistent-dir/x/out.jsonl".into()),
            key: Embed::Json,
            value: Embed::Json,
        })
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("/nonexistent-dir/x/out.jsonl"), "{err}");
    }
}
