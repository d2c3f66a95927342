//! How a stock-moving call ended and what it cost: the vocabulary shared by the operations
//! that produce it and by the metrics and events beside the store that record it. It sits
//! below all of them so that none has to import another's floor.

use crate::error::Error;
use serde::Serialize;

/// What every stock-moving call reports besides its own result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Effort {
    /// Attempts made (1 for `lua` and `broken`).
    pub attempts: u32,
    /// Attempts aborted by a conflicting write (always 0 for `lua` and `broken`).
    pub conflicts: u32,
}

impl Effort {
    /// From the engine's counts.
    pub fn of(attempts: u32, conflicts: u32) -> Self {
        Self { attempts, conflicts }
    }

    /// A call refused after `attempts`: only conflicts are retried, so every attempt before
    /// the last one conflicted.
    pub fn refused_after(attempts: u32) -> Self {
        Self::of(attempts, attempts.saturating_sub(1))
    }

    /// A call whose retries ran out: every attempt conflicted.
    pub fn gave_up_after(attempts: u32) -> Self {
        Self::of(attempts, attempts)
    }
}

/// How one stock-moving call ended, for the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// Its writes committed (or an idempotent repeat was answered).
    Committed,
    /// Refused for a business reason (`insufficient_stock`, `reservation_not_active`, …).
    Rejected(&'static str),
    /// Retries ran out under contention (`503 contention`); `throttled` when the store's
    /// retry budget, not the call's own policy, stopped them.
    GaveUp {
        /// The retry budget was spent.
        throttled: bool,
    },
    /// Redis failed.
    Failed,
}

impl CallOutcome {
    /// Classifies an operation's result.
    pub fn of<T>(result: &Result<T, Error>) -> Self {
        match result {
            Ok(_) => Self::Committed,
            Err(e) => Self::of_error(e),
        }
    }

    /// Classifies a call that ended in `error`.
    pub fn of_error(error: &Error) -> Self {
        match error {
            Error::Contention { throttled, .. } => Self::GaveUp { throttled: *throttled },
            Error::Store(_) => Self::Failed,
            e => Self::Rejected(e.code()),
        }
    }

    /// The `outcome` label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Committed => "committed",
            Self::Rejected(_) => "rejected",
            Self::GaveUp { .. } => "gave_up",
            Self::Failed => "error",
        }
    }
}
