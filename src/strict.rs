//! Refusing unknown keys where `serde` cannot: beside a data-less variant
//! of an internally tagged enum (`{"action":"retry","x":1}`), which
//! `deny_unknown_fields` lets through (serde issues 2123 and 2294).
//!
//! Such an enum derives its serde impls with `#[serde(remote = "Self")]`
//! (inherent functions instead of trait impls), and
//! [`strict_tagged!`] writes the trait impls around them: the value is
//! read once as JSON, a data-less variant must carry its tag alone, and
//! the derived code reads the rest.

/// Checks that `value`, an object tagged by `tag`, carries no key beside
/// the tag when its tag names one of `alone` (the data-less variants).
pub(crate) fn tag_alone(
    value: &serde_json::Value,
    tag: &str,
    alone: &[&str],
) -> Result<(), String> {
    let Some(object) = value.as_object() else {
        return Ok(());
    };
    let Some(name) = object.get(tag).and_then(serde_json::Value::as_str) else {
        return Ok(());
    };
    if !alone.contains(&name) {
        return Ok(());
    }
    match object.keys().find(|key| *key != tag) {
        Some(key) => Err(format!("unknown field `{key}`: `{name}` carries no data")),
        None => Ok(()),
    }
}

/// The serde trait impls of an internally tagged enum whose derives carry
/// `#[serde(remote = "Self")]`: `strict_tagged!(Type, "tag", ["unit", …])`
/// or, for one generic parameter, `strict_tagged!(Type<K>, …)`.
macro_rules! strict_tagged {
    ($ty:ident $(<$g:ident>)?, $tag:literal, [$($alone:literal),* $(,)?]) => {
        impl<$($g: serde::Serialize)?> serde::Serialize for $ty $(<$g>)? {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $ty::serialize(self, serializer)
            }
        }

        impl<'de $(, $g: serde::Deserialize<'de>)?> serde::Deserialize<'de> for $ty $(<$g>)? {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <serde_json::Value as serde::Deserialize>::deserialize(deserializer)?;
                $crate::strict::tag_alone(&value, $tag, &[$($alone),*])
                    .map_err(<D::Error as serde::de::Error>::custom)?;
                $ty::deserialize(value).map_err(<D::Error as serde::de::Error>::custom)
            }
        }
    };
}

pub(crate) use strict_tagged;
