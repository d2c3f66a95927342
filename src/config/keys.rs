//! `stockwatch keys`: make, list and revoke client API keys.

use super::RedisArgs;
use crate::domain::{KeyId, Scopes};
use clap::{Args, Subcommand};

/// `stockwatch keys`.
#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: KeysAction,
}

/// What `stockwatch keys` does; each takes the Redis settings (`--data-dir`, `REDIS_URL`, …).
#[derive(Debug, Clone, Subcommand)]
pub enum KeysAction {
    /// Make a key and print it, once, on standard output (only its digest is stored).
    Create {
        /// What it may do: `checkout`, `read`, `admin`, or several, comma-separated.
        #[arg(long, value_parser = |s: &str| Scopes::parse(s).map_err(|e| e.to_string()))]
        scope: Scopes,
        /// A name to recognise it by in `keys list` (1-64 printable characters).
        #[arg(long, default_value = "unnamed", value_parser = |s: &str| crate::access::check_name(s).map(|()| s.to_owned()).map_err(|e| e.to_string()))]
        name: String,
        /// Redis settings (joins a running `serve`'s managed Redis in the data dir).
        #[command(flatten)]
        redis: RedisArgs,
    },
    /// List the keys: id, name, scopes, when made (never a key itself).
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// Redis settings (joins a running `serve`'s managed Redis in the data dir).
        #[command(flatten)]
        redis: RedisArgs,
    },
    /// Revoke a key by its id; every server refuses it within 5 seconds.
    Revoke {
        /// The key's id, as `keys list` shows it.
        #[arg(value_parser = |s: &str| KeyId::parse(s).map_err(|e| e.to_string()))]
        id: KeyId,
        /// Redis settings (joins a running `serve`'s managed Redis in the data dir).
        #[command(flatten)]
        redis: RedisArgs,
    },
}

impl KeysAction {
    /// The Redis this action works on.
    pub fn redis(&self) -> &RedisArgs {
        match self {
            Self::Create { redis, .. } | Self::List { redis, .. } | Self::Revoke { redis, .. } => redis,
        }
    }
}
