//! A time as a provider printed it.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time as a provider printed it: the instant, and the text it was read
/// from, so that a document read from a provider is written back with the
/// offset and the precision it had (`2019-06-20T12:03:18.890Z` keeps its
/// milliseconds, `2026-11-23T10:00:00+01:00` its offset,
/// `2026-11-23T09:00:00.000Z` its three zeros).
///
/// Two timestamps are equal, ordered and hashed by the instant alone:
/// `10:00:00+01:00` equals `09:00:00Z`. It reads any RFC 3339 time and
/// refuses anything else, including years beyond 9999 (which RFC 3339
/// cannot spell).
///
/// A view built from a canonical task (each view's `of`) writes its
/// times the way its provider does, with [`Timestamp::new`].
///
/// ```
/// use chrono::{SecondsFormat, TimeZone, Utc};
/// use taskstate::profiles::Timestamp;
///
/// let read: Timestamp = serde_json::from_str("\"2026-11-23T10:00:00.000+01:00\"")?;
/// assert_eq!(read.utc(), Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap());
/// assert_eq!(serde_json::to_string(&read)?, "\"2026-11-23T10:00:00.000+01:00\"");
///
/// // Built from an instant, in a provider's style: milliseconds, `Z`.
/// let made = Timestamp::new(read.utc(), SecondsFormat::Millis);
/// assert_eq!(made.text(), "2026-11-23T09:00:00.000Z");
/// assert_eq!(made, read);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone)]
pub struct Timestamp {
    at: DateTime<FixedOffset>,
    text: String,
}

impl Timestamp {
    /// `at` in UTC, written with `Z` and the given precision
    /// ([`SecondsFormat::AutoSi`]: as many digits as the time needs, in
    /// groups of three). The instant is the one written: cut to the
    /// precision, so that reading the text back gives an equal timestamp.
    ///
    /// ```
    /// use chrono::{SecondsFormat, TimeZone, Utc};
    /// use taskstate::profiles::Timestamp;
    ///
    /// let at = Utc.timestamp_opt(1_795_000_000, 123_456_789).single().ok_or("time")?;
    /// let millis = Timestamp::new(at, SecondsFormat::Millis);
    /// assert_eq!(millis.text(), "2026-11-18T11:06:40.123Z");
    /// // The instant is the one written.
    /// assert_eq!(millis, Timestamp::parse(millis.text())?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(at: DateTime<Utc>, precision: SecondsFormat) -> Timestamp {
        Timestamp::written(at.fixed_offset(), at.to_rfc3339_opts(precision, true))
    }

    /// `at` in the offset it carries, written with that offset (`+00:00`
    /// for UTC, as OVHcloud writes it) and the given precision, the
    /// instant cut to it as [`new`](Timestamp::new) does.
    ///
    /// ```
    /// use chrono::{FixedOffset, SecondsFormat, TimeZone};
    /// use taskstate::profiles::Timestamp;
    ///
    /// let paris = FixedOffset::east_opt(3600).ok_or("offset")?;
    /// let at = paris.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).single().ok_or("time")?;
    /// assert_eq!(Timestamp::in_offset(at, SecondsFormat::Secs).text(), "2026-11-23T10:00:00+01:00");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn in_offset(at: DateTime<FixedOffset>, precision: SecondsFormat) -> Timestamp {
        Timestamp::written(at, at.to_rfc3339_opts(precision, false))
    }

    /// The timestamp of `text`, which chrono wrote for `at`.
    fn written(at: DateTime<FixedOffset>, text: String) -> Timestamp {
        // Reading back what chrono wrote does not fail; `at` is only a
        // fallback.
        let at = DateTime::parse_from_rfc3339(&text).unwrap_or(at);
        Timestamp { at, text }
    }

    /// Reads an RFC 3339 time, keeping its text.
    ///
    /// # Errors
    ///
    /// [`chrono::ParseError`] when `text` is not an RFC 3339 time.
    ///
    /// ```
    /// use taskstate::profiles::Timestamp;
    ///
    /// let stamp = Timestamp::parse("2026-11-23T10:00:00.50+01:00")?;
    /// assert_eq!(stamp.text(), "2026-11-23T10:00:00.50+01:00");
    /// assert!(Timestamp::parse("23/11/2026").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(text: &str) -> Result<Timestamp, chrono::ParseError> {
        Ok(Timestamp {
            at: DateTime::parse_from_rfc3339(text)?,
            text: text.to_owned(),
        })
    }

    /// The instant, in UTC.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use taskstate::profiles::Timestamp;
    ///
    /// let stamp = Timestamp::parse("2026-11-23T10:00:00+01:00")?;
    /// assert_eq!(stamp.utc(), Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn utc(&self) -> DateTime<Utc> {
        self.at.to_utc()
    }

    /// The instant, in the offset it was written with.
    ///
    /// ```
    /// use taskstate::profiles::Timestamp;
    ///
    /// let stamp = Timestamp::parse("2026-11-23T10:00:00+01:00")?;
    /// assert_eq!(stamp.with_offset().offset().local_minus_utc(), 3600);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_offset(&self) -> DateTime<FixedOffset> {
        self.at
    }

    /// The time as it was read (or written by [`Timestamp::new`]).
    ///
    /// ```
    /// use taskstate::profiles::Timestamp;
    ///
    /// let stamp: Timestamp = "2019-06-20T12:03:18.890Z".parse()?;
    /// assert_eq!(stamp.text(), "2019-06-20T12:03:18.890Z");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl From<DateTime<Utc>> for Timestamp {
    /// `at` written as chrono writes a UTC time ([`SecondsFormat::AutoSi`]).
    fn from(at: DateTime<Utc>) -> Timestamp {
        Timestamp::new(at, SecondsFormat::AutoSi)
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(stamp: Timestamp) -> DateTime<Utc> {
        stamp.utc()
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Timestamp) -> bool {
        self.at == other.at
    }
}

impl Eq for Timestamp {}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Timestamp) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Timestamp) -> Ordering {
        self.at.cmp(&other.at)
    }
}

impl Hash for Timestamp {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.utc().hash(state);
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.text)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = chrono::ParseError;

    fn from_str(text: &str) -> Result<Timestamp, chrono::ParseError> {
        Timestamp::parse(text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(|error| {
            serde::de::Error::custom(format_args!("`{text}` is not an RFC 3339 time: {error}"))
        })
    }
}
