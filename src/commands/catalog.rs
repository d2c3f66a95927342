//! `stockwatch import` and `stockwatch export`: a catalog to and from NDJSON or CSV rows
//! (`stockwatch::domain::CatalogRow`), through the library, on the store `--redis-url` (or
//! a running `serve`'s managed Redis) names.

use super::connect;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::process::ExitCode;
use stockwatch::Error;
use stockwatch::config::{ExportArgs, ImportArgs, RowFormat};
use stockwatch::domain::{CatalogRow, InvalidInput};
use stockwatch::ops::import::{CHUNK, Loader, Summary};
use stockwatch::ops::{Inventory, export};

/// Without a terminal, a progress line per this many rows.
const PLAIN_EVERY: u64 = 100_000;

/// Exit 0 when every row landed, 1 when some were refused, 2 when the import could not run.
pub async fn import(args: ImportArgs) -> ExitCode {
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        match std::fs::File::open(&args.file) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("stockwatch import: {}: {e}", args.file.display());
                return ExitCode::from(2);
            }
        }
    };
    let size = std::fs::metadata(&args.file)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let (store, managed) = match connect(&args.redis, args.redis.store_config(), true).await {
        Ok(connected) => connected,
        Err(e) => {
            eprintln!("stockwatch import: {e}");
            return ExitCode::from(2);
        }
    };
    // A store of earlier versions is converted first, as `serve` does at start.
    stockwatch::ops::upgrade(&store).await;
    let progress = Progress::new(size);
    let result = match args.format() {
        RowFormat::Ndjson => load(&store, ndjson_rows(input), &progress).await,
        RowFormat::Csv => load(&store, csv_rows(input), &progress).await,
    };
    progress.done();
    if let Some(m) = managed {
        m.shutdown().await;
    }
    let summary = match result {
        Ok(summary) => summary,
        Err((summary, e)) => {
            eprintln!("stockwatch import: stopped after {} rows: {e}", summary.rows());
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("a summary serializes")
        );
    } else {
        for refused in &summary.refused {
            println!("line {}: {}: {}", refused.line, refused.error, refused.message);
        }
        println!(
            "created {}, changed {}, unchanged {}, refused {}",
            summary.created,
            summary.changed,
            summary.unchanged,
            summary.refused.len()
        );
    }
    if summary.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A row as read: its line, and the row or why it does not parse.
type ReadRow = (u64, Result<CatalogRow, InvalidInput>);

/// Applies `rows` a chunk at a time; an error that stops the import comes with what was
/// done before it.
async fn load(
    store: &Inventory,
    rows: impl Iterator<Item = ReadRow>,
    progress: &Progress,
) -> Result<Summary, (Summary, Error)> {
    let mut loader = Loader::new(store);
    for (read, (line, row)) in rows.enumerate() {
        if let Err(e) = loader.push(line, row).await {
            return Err((loader.summary().clone(), e));
        }
        if read % CHUNK == 0 {
            progress.show(loader.summary());
        }
    }
    match loader.finish().await {
        Ok(summary) => Ok(summary.clone()),
        Err(e) => Err((loader.summary().clone(), e)),
    }
}

/// NDJSON: a row per non-empty line.
fn ndjson_rows(input: impl Read) -> impl Iterator<Item = ReadRow> {
    let mut reader = BufReader::new(input);
    let mut line = 0u64;
    std::iter::from_fn(move || {
        loop {
            let mut bytes = Vec::new();
            match reader.read_until(b'\n', &mut bytes) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some((line + 1, Err(InvalidInput::new(format!("unreadable: {e}"))))),
            }
            line += 1;
            if bytes.trim_ascii().is_empty() {
                continue;
            }
            return Some((line, CatalogRow::from_line(&bytes)));
        }
    })
}

/// CSV: a header naming the columns, then a row per record.
fn csv_rows(input: impl Read + 'static) -> Box<dyn Iterator<Item = ReadRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(e) => return Box::new(std::iter::once((1, Err(InvalidInput::new(format!("no header: {e}")))))),
    };
    Box::new(reader.into_records().map(move |record| match record {
        Ok(record) => {
            let line = record.position().map_or(0, csv::Position::line);
            let cells: Vec<String> = record.iter().map(str::to_owned).collect();
            (line, CatalogRow::from_csv(&header, &cells))
        }
        Err(e) => {
            let line = e.position().map_or(0, csv::Position::line);
            (line, Err(InvalidInput::new(format!("not CSV: {e}"))))
        }
    }))
}

/// A bar on a terminal, plain lines otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    next_line: std::cell::Cell<u64>,
}

impl Progress {
    fn new(size: Option<u64>) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {pos} rows ({per_sec}) {msg}")
                    .expect("the template parses"),
            );
            if let Some(size) = size {
                bar.set_message(format!("from a file of {size} bytes"));
            }
            bar
        });
        Self {
            bar,
            next_line: std::cell::Cell::new(PLAIN_EVERY),
        }
    }

    fn show(&self, summary: &Summary) {
        let rows = summary.rows();
        match &self.bar {
            Some(bar) => bar.set_position(rows),
            None if rows >= self.next_line.get() => {
                eprintln!("imported {rows} rows ({} refused)", summary.refused.len());
                self.next_line.set(rows + PLAIN_EVERY);
            }
            None => {}
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Exit 0 when every SKU was written, 2 when the export could not run.
pub async fn export(args: ExportArgs) -> ExitCode {
    let (store, managed) = match connect(&args.redis, args.redis.store_config(), true).await {
        Ok(connected) => connected,
        Err(e) => {
            eprintln!("stockwatch export: {e}");
            return ExitCode::from(2);
        }
    };
    let result = write_all(&store, args.format).await;
    if let Some(m) = managed {
        m.shutdown().await;
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stockwatch export: {e}");
            ExitCode::from(2)
        }
    }
}

/// Where export rows go, in their format.
enum Rows<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Ndjson(W),
}

impl<W: Write> Rows<W> {
    fn new(format: RowFormat, out: W) -> Result<Self, String> {
        Ok(match format {
            RowFormat::Ndjson => Self::Ndjson(out),
            RowFormat::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(CatalogRow::COLUMNS).map_err(|e| e.to_string())?;
                Self::Csv(Box::new(w))
            }
        })
    }

    fn write(&mut self, row: &CatalogRow) -> Result<(), String> {
        match self {
            Self::Csv(w) => w.write_record(row.to_csv()).map_err(|e| e.to_string()),
            Self::Ndjson(w) => {
                serde_json::to_writer(&mut *w, row).map_err(|e| e.to_string())?;
                w.write_all(b"\n").map_err(|e| e.to_string())
            }
        }
    }

    fn flush(&mut self) -> Result<(), String> {
        match self {
            Self::Csv(w) => w.flush(),
            Self::Ndjson(w) => w.flush(),
        }
        .map_err(|e| e.to_string())
    }
}

async fn write_all(store: &Inventory, format: RowFormat) -> Result<(), String> {
    let mut out = Rows::new(format, std::io::BufWriter::new(std::io::stdout().lock()))?;
    let mut after = None;
    loop {
        let (rows, next) = export::page(store, after.as_ref()).await.map_err(|e| e.to_string())?;
        for row in &rows {
            out.write(row)?;
        }
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    out.flush()
}
