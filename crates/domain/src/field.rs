//! One field of a request body, exactly as the client sent it.
//!
//! Request bodies are typed structs (one per body, the same one behind the OpenAPI schema),
//! but their fields stay raw JSON until the domain's `parse` reads them. Serde's own errors
//! ("invalid type: string, expected u32 at line 1 column 12") name neither the field nor
//! the rule, and stop at the first field in document order; the contract promises a 400
//! whose message names the field, in the order the operation checks them.

use super::InvalidInput;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A body field: absent, or any JSON value (`null` included, which some fields refuse and
/// others read as absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field {
    /// The key is not in the body.
    #[default]
    Absent,
    /// The key is there with this value.
    Sent(Value),
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Self::Sent)
    }
}

impl Field {
    /// The value when the key was sent, `null` included.
    pub fn get(&self) -> Option<&Value> {
        match self {
            Self::Absent => None,
            Self::Sent(v) => Some(v),
        }
    }

    /// The value of a field that may be left out; `null` counts as absent.
    pub fn optional(&self) -> Option<&Value> {
        self.get().filter(|v| !v.is_null())
    }

    /// The value of a field that must be there; `null` counts as absent.
    pub fn required(&self, name: &str) -> Result<&Value, InvalidInput> {
        self.optional()
            .ok_or_else(|| InvalidInput::new(format!("{name} is required")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        a: Field,
    }

    fn body(raw: Value) -> Body {
        serde_json::from_value(raw).unwrap()
    }

    #[test]
    fn absent_null_and_sent_are_told_apart() {
        assert_eq!(body(json!({})).a, Field::Absent);
        assert_eq!(body(json!({"a": null})).a.get(), Some(&Value::Null));
        assert_eq!(body(json!({"a": [1]})).a.get(), Some(&json!([1])));
    }

    #[test]
    fn required_names_the_field_and_refuses_null() {
        assert_eq!(body(json!({"a": 7})).a.required("a").unwrap(), &json!(7));
        for raw in [json!({}), json!({"a": null})] {
            assert_eq!(body(raw).a.required("a").unwrap_err().0, "a is required");
        }
    }
}
