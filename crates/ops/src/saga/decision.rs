//! A saga's decision: one key in its parent's slot, written once.

use crate::Inventory;
use crate::convert;
use crate::domain::RecordId;
use crate::error::StoreError;

/// The decision of one saga, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The parent exists; every part follows it.
    Commit,
    /// Nothing was sold or reserved; every part is released.
    Abort,
}

impl Decision {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Commit => "commit",
            Self::Abort => "abort",
        }
    }

    pub(super) fn parse(raw: &str) -> Result<Self, StoreError> {
        match raw {
            "commit" => Ok(Self::Commit),
            "abort" => Ok(Self::Abort),
            other => Err(StoreError::Protocol(format!("saga decision {other:?}").into())),
        }
    }
}

/// The decision key of a saga, in its parent's slot.
pub(super) fn decision_key(store: &Inventory, parent: &RecordId) -> String {
    store.keys().saga(parent)
}

/// Writes `abort` unless a decision exists, and returns the decision that stands.
pub(crate) async fn give_up(store: &Inventory, parent: &RecordId) -> Result<Decision, StoreError> {
    let prior: Option<String> = store
        .query(
            redis::cmd("SET")
                .arg(decision_key(store, parent))
                .arg(Decision::Abort.as_str())
                .arg("NX")
                .arg("GET")
                .arg("PX")
                .arg(convert::millis(store.config().retention)),
        )
        .await?;
    prior.map_or(Ok(Decision::Abort), |d| Decision::parse(&d))
}

/// The decision, if one was made.
pub(crate) async fn decision(store: &Inventory, parent: &RecordId) -> Result<Option<Decision>, StoreError> {
    let raw: Option<String> = store.query(redis::cmd("GET").arg(decision_key(store, parent))).await?;
    raw.map(|d| Decision::parse(&d)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_round_trip_and_nothing_else_parses() {
        for d in [Decision::Commit, Decision::Abort] {
            assert_eq!(Decision::parse(d.as_str()).unwrap(), d);
        }
        assert!(Decision::parse("maybe").is_err());
    }
}
