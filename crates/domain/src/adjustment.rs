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
    /// Damaged units that passed inspection, back on sale (an adjustment of `damaged`, v1.5).
    Inspected,
}

impl Reason {
    /// The contract's names.
    pub const ALL: [&'static str; 5] = ["cycle_count", "damaged", "lost", "found", "inspected"];

    /// Parses one of [`Self::ALL`].
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "cycle_count" => Self::CycleCount,
            "damaged" => Self::Damaged,
            "lost" => Self::Lost,
            "found" => Self::Found,
            "inspected" => Self::Inspected,
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
            Self::Inspected => "inspected",
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

/// Which counter of a location an adjustment counts or corrects (v1.5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjusted {
    /// Units on sale: a difference is stock received or written off.
    #[default]
    Available,
    /// Damaged units: more are taken from `available`; fewer were written off, or (reason
    /// `inspected`) went back to `available`.
    Damaged,
}

impl Adjusted {
    /// The contract's names.
    pub const ALL: [&'static str; 2] = ["available", "damaged"];

    /// Parses one of [`Self::ALL`].
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "available" => Some(Self::Available),
            "damaged" => Some(Self::Damaged),
            _ => None,
        }
    }
}
