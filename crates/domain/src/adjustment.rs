//! What an admin's stock count says: how the count differed ([`Correction`]) and why
//! ([`Reason`]), recorded with the `adjust` movement.

/// Why a count differed from the books: recorded with the movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A routine physical count.
    CycleCount,
    /// Units found broken.
    Damaged,
    /// Units that went missing.
    Lost,
    /// Units that turned up.
    Found,
}

impl Reason {
    /// The contract's names.
    pub const ALL: [&'static str; 4] = ["cycle_count", "damaged", "lost", "found"];

    /// Parses one of [`Self::ALL`].
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "cycle_count" => Self::CycleCount,
            "damaged" => Self::Damaged,
            "lost" => Self::Lost,
            "found" => Self::Found,
            _ => return None,
        })
    }

    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CycleCount => "cycle_count",
            Self::Damaged => "damaged",
            Self::Lost => "lost",
            Self::Found => "found",
        }
    }
}

/// What the adjustment says: an absolute count, or a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// A physical count found this many available units.
    Counted(i64),
    /// This many units appeared (positive) or went (negative).
    Delta(i64),
}
