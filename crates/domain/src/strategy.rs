use super::InvalidInput;
use std::fmt;

/// How a stock operation is carried out. All three exist side by side so the difference is
/// measurable (bench) and visible (demos).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// WATCH/MULTI/EXEC on a dedicated connection, retried with backoff.
    #[default]
    Watch,
    /// One server-side Lua script: atomic by construction, no retries.
    Lua,
    /// Check-then-act with no protection. It oversells; it exists to teach why.
    Broken,
}

impl Strategy {
    /// Every strategy, in the order reports list them.
    pub const ALL: [Strategy; 3] = [Strategy::Broken, Strategy::Watch, Strategy::Lua];

    /// Parses the `?strategy=` query value; absent means `watch`.
    pub fn parse(raw: Option<&str>) -> Result<Self, InvalidInput> {
        match raw {
            None | Some("watch") => Ok(Self::Watch),
            Some("lua") => Ok(Self::Lua),
            Some("broken") => Ok(Self::Broken),
            Some(_) => Err(InvalidInput::new("strategy must be one of watch, lua, broken")),
        }
    }

    /// The lowercase name used in URLs, JSON and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Watch => "watch",
            Self::Lua => "lua",
            Self::Broken => "broken",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_names_only() {
        assert_eq!(Strategy::parse(None).unwrap(), Strategy::Watch);
        for s in Strategy::ALL {
            assert_eq!(Strategy::parse(Some(s.as_str())).unwrap(), s);
        }
        for bad in ["", "WATCH", "lua ", "multi"] {
            assert!(Strategy::parse(Some(bad)).is_err());
        }
    }
}
