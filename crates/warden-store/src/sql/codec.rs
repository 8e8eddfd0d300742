//! How values cross into rows and back: microsecond times, JSON bodies, versioned objects,
//! ids, counts, and the opaque cursors of listings.

use crate::db::Row;
use crate::error::{Result, StoreError};
use crate::model::{Page, Versioned};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use uuid::Uuid;

/// Indicators as two array columns, kinds and values (PostgreSQL's `UNNEST`).
pub(super) fn indicator_columns<'a>(
    indicators: impl Iterator<Item = &'a warden_core::indicator::Indicator>,
) -> [crate::db::Column; 2] {
    let (kinds, values) = indicators
        .map(|i| {
            (
                Some(i.kind().as_str().to_owned()),
                Some(i.value().to_owned()),
            )
        })
        .unzip();
    [
        crate::db::Column::Text(kinds),
        crate::db::Column::Text(values),
    ]
}

pub(super) fn us(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

pub(super) fn from_us(v: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1000)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {v}: {e}")))
}

pub(super) fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn from_json<T: DeserializeOwned>(kind: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{kind}: {e}")))
}

pub(super) fn versioned<T: DeserializeOwned>(kind: &str, r: &Row) -> Result<Versioned<T>> {
    Ok(Versioned {
        version: r.i64("version")?,
        value: from_json(kind, &r.text("body")?)?,
    })
}

pub(super) fn enum_str<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub(super) fn row_uuid(r: &Row, column: &str) -> Result<Uuid> {
    let t = r.text(column)?;
    Uuid::parse_str(&t).map_err(|e| StoreError::Corrupt(format!("bad id {t:?}: {e}")))
}

pub(super) fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn encode_cursor(created_us: i64, id: &str) -> String {
    format!("{created_us}.{id}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The position a cursor names, or none for the first page; a cursor this store did not
/// issue is `NotFound { kind: "cursor" }`.
pub(super) fn split_cursor(cursor: Option<&str>) -> Result<(Option<i64>, Option<String>)> {
    match cursor {
        Some(c) => {
            let (t, id) = decode_cursor(c).ok_or_else(|| StoreError::NotFound {
                kind: "cursor",
                id: c.to_owned(),
            })?;
            Ok((Some(t), Some(id)))
        }
        None => Ok((None, None)),
    }
}

pub(super) fn decode_cursor(c: &str) -> Option<(i64, String)> {
    let bytes: Option<Vec<u8>> = (0..c.len())
        .step_by(2)
        .map(|i| c.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    let s = String::from_utf8(bytes?).ok()?;
    let (t, id) = s.split_once('.')?;
    Some((t.parse().ok()?, id.to_owned()))
}

/// A page from rows of (version, body, created_us, id), fetched with one extra row to know
/// whether another page follows.
pub(super) fn page_of<T: DeserializeOwned>(
    kind: &str,
    rows: &[Row],
    limit: u32,
) -> Result<Page<Versioned<T>>> {
    let limit = limit as usize;
    let mut items = Vec::with_capacity(limit.min(rows.len()));
    for r in rows.iter().take(limit) {
        items.push(versioned(kind, r)?);
    }
    let next = match (rows.len() > limit, rows.get(limit.wrapping_sub(1))) {
        (true, Some(last)) => Some(encode_cursor(last.i64("created_us")?, &last.text("id")?)),
        _ => None,
    };
    Ok(Page { items, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_cursor(1_700_000_000_000_000, "0190c2d4-aaaa");
        assert_eq!(
            decode_cursor(&c),
            Some((1_700_000_000_000_000, "0190c2d4-aaaa".into()))
        );
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor("abc"), None);
    }

    #[test]
    fn microsecond_times_round_trip() {
        let t = time::macros::datetime!(2026-09-28 10:00:00.123456 +8);
        assert_eq!(from_us(us(t)).unwrap(), t);
    }
}
