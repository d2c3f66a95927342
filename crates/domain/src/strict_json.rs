//! Strict JSON: what `serde_json` parses, less objects that name a key twice.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The error for an object that names `key` twice: one wording for both readers below.
fn twice<E: serde::de::Error>(key: &str) -> E {
    E::custom(format_args!("the key {key:?} appears twice"))
}

/// What [`check_strict`] found at the top of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Top {
    /// A JSON object.
    Object,
    /// Anything else (array, string, number, `true`/`false`, `null`).
    Other,
}

/// Checks what [`strict_json`] checks (valid JSON, one document, no key twice in any object)
/// without building a [`Value`]: a request body is then read once more straight into its
/// typed struct, which costs less than building the tree and converting it (a purchase body
/// is one object of short keys, compared here as borrowed slices).
pub fn check_strict(bytes: &[u8]) -> Result<Top, serde_json::Error> {
    struct Check {
        top: bool,
    }

    impl<'de> DeserializeSeed<'de> for Check {
        type Value = Top;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Check {
        type Value = Top;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E>(self, _: bool) -> Result<Top, E> {
            Ok(Top::Other)
        }

        fn visit_i64<E>(self, _: i64) -> Result<Top, E> {
            Ok(Top::Other)
        }

        fn visit_u64<E>(self, _: u64) -> Result<Top, E> {
            Ok(Top::Other)
        }

        fn visit_f64<E>(self, _: f64) -> Result<Top, E> {
            Ok(Top::Other)
        }

        fn visit_str<E>(self, _: &str) -> Result<Top, E> {
            Ok(Top::Other)
        }

        fn visit_unit<E>(self) -> Result<Top, E> {
            Ok(Top::Other)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
            while seq.next_element_seed(Check { top: false })?.is_some() {}
            Ok(Top::Other)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
            let mut seen = crate::Seen::default();
            while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                if seen.first_time(key.clone()) {
                    map.next_value_seed(Check { top: false })?;
                } else {
                    return Err(twice(&key));
                }
            }
            Ok(if self.top { Top::Object } else { Top::Other })
        }
    }

    /// An object key, borrowed from the input unless it holds escapes.
    struct Key<'de>(Cow<'de, str>);

    impl<'de> serde::Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct KeyVisitor;
            impl<'de> Visitor<'de> for KeyVisitor {
                type Value = Key<'de>;

                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object key")
                }

                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }

                fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_owned())))
                }
            }
            d.deserialize_str(KeyVisitor)
        }
    }

    let mut de = serde_json::Deserializer::from_slice(bytes);
    let top = Check { top: true }.deserialize(&mut de)?;
    de.end()?;
    Ok(top)
}

/// Parses JSON as `serde_json` does, but refuses an object that names a key twice (at any
/// depth): serde_json would keep the last, so `{"quantity":1,"quantity":999}` would buy 999
/// while a proxy or log that reads the first saw 1.
pub fn strict_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    struct Strict;

    impl<'de> DeserializeSeed<'de> for Strict {
        type Value = Value;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Strict {
        type Value = Value;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }

        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::from(v))
        }

        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
        }

        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_owned()))
        }

        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }

        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut out = Vec::new();
            while let Some(v) = seq.next_element_seed(Strict)? {
                out.push(v);
            }
            Ok(Value::Array(out))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(twice(&key));
                }
                let value = map.next_value_seed(Strict)?;
                out.insert(key, value);
            }
            Ok(Value::Object(out))
        }
    }

    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}
