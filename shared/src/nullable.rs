//! A PATCH member that may be absent (unchanged) or `null` (removed), as
//! `Option<Option<T>>` with `#[serde(default, with = "crate::nullable")]`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

pub fn serialize<S: Serializer, T: Serialize>(
    value: &Option<Option<T>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(inner) => inner.serialize(serializer),
        None => serializer.serialize_none(),
    }
}
