//! Checks shared by the fuzz targets.

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Decodes `bytes` as JSON `T`; when that works, encodes the value and decodes it again, which must give an equal
/// value, and encodes that once more, which must give the same text (the encoding is stable). Returns the value.
pub fn round_trip<T>(bytes: &[u8]) -> Option<T>
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let first: T = serde_json::from_slice(bytes).ok()?;
    let text = serde_json::to_string(&first).expect("a decoded value encodes");
    let second: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("re-decoding {text} failed: {e}"));
    assert_eq!(first, second, "decode → encode → decode changed the value (encoded: {text})");
    let again = serde_json::to_string(&second).expect("a decoded value encodes");
    assert_eq!(text, again, "encoding is not stable");
    Some(first)
}
