//! Fault injection points in a projector's batch, so the crash tests can stop a projector
//! exactly where a real crash would hurt. The library only calls the hook; what the hook
//! does (the binary's aborts the process, like `kill -9`) is up to whoever installs it.

use std::sync::Arc;

/// Where in a batch a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Inside the batch's SQL transaction, after its rows are written, before COMMIT.
    BeforeCommit,
    /// After COMMIT, before the entries are acknowledged in Redis.
    AfterCommit,
}

impl FaultPoint {
    /// Every point, for parsing a name.
    pub const ALL: [Self; 2] = [Self::BeforeCommit, Self::AfterCommit];

    /// The point's name in `STOCKWATCH_LEDGER_FAULT` (`abort-` and this).
    pub fn name(self) -> &'static str {
        match self {
            Self::BeforeCommit => "before-commit",
            Self::AfterCommit => "after-commit",
        }
    }
}

/// Called at every [`FaultPoint`] a projector passes; none by default.
#[derive(Clone, Default)]
pub struct FaultHook(Option<Arc<dyn Fn(FaultPoint) + Send + Sync>>);

impl FaultHook {
    /// A hook that runs `f` at each point.
    pub fn new(f: impl Fn(FaultPoint) + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(f)))
    }

    pub(crate) fn at(&self, point: FaultPoint) {
        if let Some(f) = &self.0 {
            f(point);
        }
    }
}

impl std::fmt::Debug for FaultHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "FaultHook(set)"
        } else {
            "FaultHook(none)"
        })
    }
}
