//! The last step of a saga, in its parent's slot: the decision, the parent record and the
//! stored answer commit together, or a refusal's answer is stored alone.

use super::Decision;
use crate::error::Error;
use crate::idempotency::{Prior, StoredAnswer};
use crate::take::Receipt;
use crate::txn::{Optimistic, Plan};
use redis::{Cmd, Value};

/// Why the final step did not commit.
pub(super) enum NotCommitted {
    /// A request with the same key answered first: its answer.
    Replayed(Receipt),
    /// A decision was there already (the worker gave up on us).
    Decided,
    /// Redis failed or contention won.
    Failed(Error),
}

/// The last step of a saga, in the parent's slot: the decision, the parent record and the
/// stored answer in one transaction; or, for a refusal, the stored answer alone.
pub(super) struct FinalCommit<'a> {
    /// The decision key (`None` when storing a refusal).
    pub decision: Option<String>,
    pub effect: Vec<Cmd>,
    pub receipt: Receipt,
    pub answer: Option<&'a StoredAnswer>,
    pub quantities: Vec<i64>,
    pub retention_ms: u64,
}

impl Optimistic for FinalCommit<'_> {
    type Snapshot = Vec<Value>;
    type Output = ();
    type Rejection = NotCommitted;

    fn watch_keys(&self) -> Vec<String> {
        self.decision
            .iter()
            .cloned()
            .chain(self.answer.map(|a| a.key.clone()))
            .collect()
    }

    fn read(&self, pipe: &mut redis::Pipeline) {
        if let Some(key) = &self.decision {
            pipe.cmd("GET").arg(key);
        }
        if let Some(answer) = self.answer {
            answer.read(pipe);
        }
    }

    fn decide(&self, snapshot: Vec<Value>, _attempt: u32) -> Result<Plan<()>, NotCommitted> {
        let mut values = snapshot.into_iter();
        let mut writes = Vec::new();
        if let Some(key) = &self.decision {
            if !matches!(values.next(), Some(Value::Nil) | None) {
                return Err(NotCommitted::Decided);
            }
            writes.push(
                redis::cmd("SET")
                    .arg(key)
                    .arg(Decision::Commit.as_str())
                    .arg("PX")
                    .arg(self.retention_ms)
                    .to_owned(),
            );
        }
        writes.extend(self.effect.iter().cloned());
        if let Some(answer) = self.answer {
            let stored = values.next().unwrap_or(Value::Nil);
            match answer.recall(stored) {
                Ok(Prior::Replay(fields)) => {
                    return Err(
                        match Receipt::from_fields(&fields, &self.quantities, self.receipt.reference) {
                            Ok(receipt) => NotCommitted::Replayed(receipt),
                            Err(e) => NotCommitted::Failed(e.into()),
                        },
                    );
                }
                Ok(Prior::Fresh) => writes.extend(answer.remember(&self.receipt.fields())),
                Err(e) => return Err(NotCommitted::Failed(e)),
            }
        }
        Ok(Plan { writes, output: () })
    }
}
