//! The arguments of `stockwatch import` and `stockwatch export`.

use super::RedisArgs;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// How catalog rows are written in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RowFormat {
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated, with a header naming the columns.
    Csv,
}

/// `stockwatch import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Redis settings.
    #[command(flatten)]
    pub redis: RedisArgs,
    /// The rows' format (default: `csv` for a `.csv` file, else `ndjson`).
    #[arg(long, value_enum)]
    pub format: Option<RowFormat>,
    /// Print the summary as JSON (the body `POST /v1/skus/import` answers).
    #[arg(long)]
    pub json: bool,
    /// The file to read, or `-` for stdin.
    pub file: PathBuf,
}

impl ImportArgs {
    /// The format given, or the one the file's name says.
    pub fn format(&self) -> RowFormat {
        self.format.unwrap_or_else(|| {
            let csv = self.file.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
            if csv { RowFormat::Csv } else { RowFormat::Ndjson }
        })
    }
}

/// `stockwatch export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Redis settings.
    #[command(flatten)]
    pub redis: RedisArgs,
    /// The rows' format.
    #[arg(long, value_enum, default_value = "ndjson")]
    pub format: RowFormat,
}
