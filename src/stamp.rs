//! Times in serialized records, written and read without `chrono`'s
//! general formatter.
//!
//! Every time of a record, an event and a command goes through here with
//! `#[serde(with = "crate::stamp")]` (or `crate::stamp::option`). The text
//! is exactly what `chrono`'s own `Serialize` writes (RFC 3339 in UTC with
//! `Z`, the fraction in 0, 3, 6 or 9 digits, as
//! [`SecondsFormat::AutoSi`](chrono::SecondsFormat::AutoSi) chooses), so
//! stored records and the JSON hosts read are unchanged; it is written
//! with a fixed buffer instead of `chrono`'s formatting machinery, which
//! cost a store about two thirds of the encoding of a record. Reading takes
//! the same text by a direct parse and hands anything else (another
//! offset, a lower-case `t`, a leap second, more than 9 digits) to
//! `chrono`'s own `Deserialize`, so what was accepted before still is and
//! reads as the same time.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc};
use serde::de::{self, IntoDeserializer, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The longest text written here: `9999-12-31T23:59:59.123456789Z`.
const LONGEST: usize = 30;

/// Writes `at` as `chrono` would into `buf`, or `None` where `chrono`
/// writes something else than the common shape (a year outside 0 to 9999,
/// a leap second), for the caller to hand to `chrono`.
fn write(at: &DateTime<Utc>, buf: &mut [u8; LONGEST]) -> Option<usize> {
    // The date and the time once: each of `DateTime`'s own getters
    // converts to local time again.
    let (date, time) = (at.date_naive(), at.time());
    let year = u32::try_from(date.year())
        .ok()
        .filter(|year| *year <= 9999)?;
    let nanos = time.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut put = |at: usize, value: u32, width: usize| {
        let mut value = value;
        for index in (at..at + width).rev() {
            if let Some(digit) = buf.get_mut(index) {
                // `value % 10` is a digit: the cast keeps it.
                *digit = b'0' + (value % 10) as u8;
            }
            value /= 10;
        }
    };
    put(0, year, 4);
    put(5, date.month(), 2);
    put(8, date.day(), 2);
    put(11, time.hour(), 2);
    put(14, time.minute(), 2);
    put(17, time.second(), 2);
    let (fraction, digits) = if nanos == 0 {
        (0, 0)
    } else if nanos % 1_000_000 == 0 {
        (nanos / 1_000_000, 3)
    } else if nanos % 1_000 == 0 {
        (nanos / 1_000, 6)
    } else {
        (nanos, 9)
    };
    if digits > 0 {
        put(20, fraction, digits);
    }
    let end = if digits > 0 { 20 + digits } else { 19 };
    for (index, byte) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        buf[index] = byte;
    }
    if digits > 0 {
        buf[19] = b'.';
    }
    buf[end] = b'Z';
    Some(end + 1)
}

/// Reads the common shape `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, or `None` for
/// any other text (which may still be a time `chrono` reads).
fn parse(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    let number = |from: usize, width: usize| -> Option<u32> {
        let digits = bytes.get(from..from + width)?;
        digits.iter().try_fold(0u32, |value, byte| {
            byte.is_ascii_digit()
                .then(|| value * 10 + u32::from(byte - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators
        .iter()
        .any(|(index, byte)| bytes.get(*index) != Some(byte))
    {
        return None;
    }
    let year = i32::try_from(number(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, number(5, 2)?, number(8, 2)?)?;
    let (hour, minute, second) = (number(11, 2)?, number(14, 2)?, number(17, 2)?);
    let nanos = match bytes.get(19..)? {
        b"Z" => 0,
        [b'.', rest @ .., b'Z'] if (1..=9).contains(&rest.len()) => {
            let fraction = number(20, rest.len())?;
            let scale = 10u32.pow(9 - u32::try_from(rest.len()).ok()?);
            fraction * scale
        }
        _ => return None,
    };
    // A leap second (`:60`) is `chrono`'s to read.
    if second > 59 {
        return None;
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    Some(date.and_time(time).and_utc())
}

/// Writes a time as `chrono`'s `Serialize` does.
pub(crate) fn serialize<S: Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; LONGEST];
    match write(at, &mut buf).and_then(|len| std::str::from_utf8(buf.get(..len)?).ok()) {
        Some(text) => serializer.serialize_str(text),
        None => at.serialize(serializer),
    }
}

/// Reads a time as `chrono`'s `Deserialize` does.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(Stamp)
}

/// The visitor of a time's text.
struct Stamp;

impl Visitor<'_> for Stamp {
    type Value = DateTime<Utc>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an RFC 3339 formatted date and time string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<DateTime<Utc>, E> {
        match parse(text) {
            Some(at) => Ok(at),
            None => DateTime::<Utc>::deserialize(IntoDeserializer::<E>::into_deserializer(text)),
        }
    }
}

/// The same for an optional time (`None` as `null`).
pub(crate) mod option {
    use super::Stamp;
    use chrono::{DateTime, Utc};
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serialize, Serializer};
    use std::fmt;

    /// Writes an optional time as `chrono`'s `Serialize` does.
    // serde's `with` passes the field by reference.
    #[allow(clippy::ref_option)]
    pub(crate) fn serialize<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => serializer.serialize_some(&Fast(at)),
            None => serializer.serialize_none(),
        }
    }

    /// A time serialized by the fast writer, for `serialize_some`.
    struct Fast<'a>(&'a DateTime<Utc>);

    impl Serialize for Fast<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            super::serialize(self.0, serializer)
        }
    }

    /// Reads an optional time as `chrono`'s `Deserialize` does.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        deserializer.deserialize_option(Maybe)
    }

    /// The visitor of an optional time.
    struct Maybe;

    impl<'de> Visitor<'de> for Maybe {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("an RFC 3339 formatted date and time string or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_str(Stamp).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, SecondsFormat, TimeZone};
    use proptest::prelude::*;

    /// A time anywhere chrono can hold, with every kind of fraction.
    fn any_time() -> impl Strategy<Value = DateTime<Utc>> {
        let seconds = DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp();
        let nanos = prop_oneof![
            Just(0u32),
            (0u32..1000).prop_map(|ms| ms * 1_000_000),
            (0u32..1_000_000).prop_map(|us| us * 1_000),
            0u32..1_000_000_000,
            // A leap second, which only chrono writes.
            1_000_000_000u32..2_000_000_000,
        ];
        (seconds, nanos).prop_filter_map("a time chrono holds", |(seconds, nanos)| {
            DateTime::from_timestamp(seconds, nanos)
        })
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Fast {
        #[serde(with = "crate::stamp")]
        at: DateTime<Utc>,
        #[serde(default, with = "crate::stamp::option")]
        maybe: Option<DateTime<Utc>>,
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Chrono {
        at: DateTime<Utc>,
        #[serde(default)]
        maybe: Option<DateTime<Utc>>,
    }

    proptest! {
        #[test]
        fn the_text_is_chronos_and_reads_back(at in any_time(), maybe in proptest::option::of(any_time())) {
            let fast = serde_json::to_string(&Fast { at, maybe }).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let chrono = serde_json::to_string(&Chrono { at, maybe }).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&fast, &chrono);
            let read: Fast = serde_json::from_str(&fast).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let by_chrono: Chrono = serde_json::from_str(&fast).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(read, Fast { at: by_chrono.at, maybe: by_chrono.maybe });
            let mut buf = [0u8; LONGEST];
            if let Some(len) = write(&at, &mut buf) {
                let text = std::str::from_utf8(&buf[..len]).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(text, at.to_rfc3339_opts(SecondsFormat::AutoSi, true));
                prop_assert_eq!(parse(text), Some(at));
            }
        }

        /// Texts of the common shape, valid or not: the direct parse reads
        /// what chrono reads, as the same time, and nothing it refuses.
        #[test]
        fn the_parse_agrees_with_chrono(
            text in prop_oneof![
                r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,11})?Z?",
                // Mostly valid: the edges of every field.
                r"[0-9]{4}-(0[0-9]|1[0-3])-(0[0-9]|[12][0-9]|3[0-2])T([01][0-9]|2[0-5]):[0-6][0-9]:([0-5][0-9]|6[01])(\.[0-9]{0,11})?Z",
            ]
        ) {
            let by_chrono = text.parse::<DateTime<FixedOffset>>().ok().map(|at| at.with_timezone(&Utc));
            match parse(&text) {
                Some(at) => prop_assert_eq!(Some(at), by_chrono),
                None => {
                    // Left to chrono: a leap second, more digits, no `Z`,
                    // or nothing chrono reads either.
                    let leap = text.get(17..19) == Some("60");
                    let long = text.len() > 30;
                    prop_assert!(by_chrono.is_none() || leap || long);
                }
            }
        }
    }

    #[test]
    fn other_texts_chrono_reads_still_read() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single();
        for text in [
            "\"2026-11-23T09:00:00Z\"",
            "\"2026-11-23T10:00:00+01:00\"",
            "\"2026-11-23t09:00:00z\"",
            "\"2026-11-23 09:00:00Z\"",
            "\"2026-11-23T09:00:00.0000000000Z\"",
        ] {
            let read: Option<Fast> =
                serde_json::from_str(&format!("{{\"at\":{text},\"maybe\":{text}}}")).ok();
            assert_eq!(
                read.map(|fast| (Some(fast.at), fast.maybe)),
                Some((at, at)),
                "{text}"
            );
        }
        for text in ["\"2026-13-23T09:00:00Z\"", "\"yesterday\"", "12", "null"] {
            let read: Result<Fast, _> = serde_json::from_str(&format!("{{\"at\":{text}}}"));
            assert!(read.is_err(), "{text}");
        }
        // Refused with chrono's own words.
        for text in [
            "{\"at\":12}",
            "{\"at\":\"2026-11-23T09:00:00Z\",\"maybe\":[]}",
        ] {
            let fast = serde_json::from_str::<Fast>(text)
                .err()
                .map(|e| e.to_string());
            let chrono = serde_json::from_str::<Chrono>(text)
                .err()
                .map(|e| e.to_string());
            assert_eq!(fast, chrono, "{text}");
        }
        let read: Result<Fast, _> =
            serde_json::from_str("{\"at\":\"2026-11-23T09:00:00Z\",\"maybe\":null}");
        assert_eq!(read.ok().map(|fast| fast.maybe), Some(None));
    }
}
