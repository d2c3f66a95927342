//! Strict JSON: what `serde_json` parses, less objects that name a key twice.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;

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
                    return Err(serde::de::Error::custom(format_args!("the key {key:?} appears twice")));
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
/// while a proxy or log that reads the first saw 1. [`check_strict`] refuses, then
/// `serde_json` builds the value (which, once checked, has nothing left to refuse).
pub fn strict_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    check_strict(bytes)?;
    serde_json::from_slice(bytes)
}
