//! Task identifiers: UUID v7, so that ids sort by creation time.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::{Builder, Uuid};

/// The identifier of a task. Serialized as the hyphenated UUID string.
///
/// Ids made by this crate are UUID v7, whose leading bits are the creation
/// time in milliseconds, so sorting ids sorts tasks by creation. Any UUID
/// is accepted when read back (a host may have older v4 ids).
///
/// # Ids
///
/// Task identifiers: UUID v7, so that ids sort by creation time.
///
/// The core touches no clock and no random source, so an id is made from a
/// time and ten bytes of entropy that the caller supplies:
/// [`TaskId::new_v7`]. A host with a random source at hand can also use
/// `uuid::Uuid::now_v7()` (uuid's `v7` feature) and convert it with
/// [`TaskId::from`]. [`IdGenerator`] is a small deterministic generator for
/// tests, examples and simulations.
///
/// ## Example
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use taskstate::{IdGenerator, TaskId};
///
/// let mut ids = IdGenerator::seeded(42);
/// let t = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let first = ids.next_id(t);
/// let second = ids.next_id(t + chrono::Duration::seconds(1));
/// assert!(first < second, "ids sort by creation");
/// assert_eq!(first.as_uuid().get_version_num(), 7);
/// assert_eq!(first.to_string().parse::<TaskId>()?, first);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(Uuid);

// The order of the UUID's bytes, compared as one big-endian integer: the
// same order as the bytes', without a `memcmp` call in every step of the
// stores' B-tree searches.
impl Ord for TaskId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.as_u128().cmp(&other.0.as_u128())
    }
}

impl PartialOrd for TaskId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl TaskId {
    /// A UUID v7 for a task created at `at`, with the caller's entropy.
    ///
    /// Times before the Unix epoch are clamped to it (a v7 UUID cannot
    /// express them).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use taskstate::TaskId;
    ///
    /// let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let id = TaskId::new_v7(at, [7; 10]); // entropy from the host's random source
    /// assert_eq!(id.as_uuid().get_version_num(), 7);
    /// assert!(id < TaskId::new_v7(at + chrono::Duration::milliseconds(1), [0; 10]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new_v7(at: DateTime<Utc>, entropy: [u8; 10]) -> TaskId {
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        TaskId(Builder::from_unix_timestamp_millis(millis, &entropy).into_uuid())
    }

    /// The underlying UUID.
    ///
    /// ```
    /// use taskstate::TaskId;
    ///
    /// let uuid: uuid::Uuid = "01936a4c-9f00-7000-8000-000000000001".parse()?;
    /// let id = TaskId::from(uuid);
    /// assert_eq!(id.as_uuid(), &uuid);
    /// assert_eq!(id.to_string(), uuid.hyphenated().to_string());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl From<Uuid> for TaskId {
    fn from(uuid: Uuid) -> Self {
        TaskId(uuid)
    }
}

impl From<TaskId> for Uuid {
    fn from(id: TaskId) -> Self {
        id.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl FromStr for TaskId {
    type Err = uuid::Error;

    /// Reads a UUID of any version and form `uuid` reads (hyphenated,
    /// simple, braced, URN).
    ///
    /// # Errors
    ///
    /// A [`uuid::Error`] when `s` is not a UUID.
    ///
    /// ```
    /// use taskstate::TaskId;
    ///
    /// let id: TaskId = "8f1c0bd2-4c3e-4a8b-9f5e-2d7a6b1c0e9f".parse()?;
    /// assert_eq!(id.as_uuid().get_version_num(), 4); // older v4 ids are read too
    /// assert!("task-1".parse::<TaskId>().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(TaskId)
    }
}

/// A deterministic source of v7 task ids: the same seed gives the same
/// ids for the same times.
///
/// Meant for tests, examples and simulations. In production, seed it from
/// a real random source per process (two processes with the same seed
/// would make the same ids in the same millisecond), or use
/// `uuid::Uuid::now_v7()`.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use taskstate::IdGenerator;
///
/// let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let (mut a, mut b) = (IdGenerator::seeded(3), IdGenerator::seeded(3));
/// assert_eq!(a.next_id(at), b.next_id(at), "same seed, same ids");
/// assert_ne!(a.next_id(at), IdGenerator::seeded(4).next_id(at));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdGenerator {
    state: u64,
}

impl IdGenerator {
    /// A generator whose sequence is fixed by `seed`.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use taskstate::IdGenerator;
    ///
    /// // A simulation seeded from its run number replays the same ids.
    /// let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let ids = |seed| {
    ///     let mut ids = IdGenerator::seeded(seed);
    ///     [ids.next_id(at), ids.next_id(at), ids.next_id(at)]
    /// };
    /// assert_eq!(ids(2026), ids(2026));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn seeded(seed: u64) -> Self {
        IdGenerator { state: seed }
    }

    /// The next id, for a task created at `at`: its leading bits are `at`
    /// in milliseconds, so ids made later sort after.
    ///
    /// ```
    /// use chrono::{Duration, TimeZone, Utc};
    /// use taskstate::IdGenerator;
    ///
    /// let at = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let mut ids = IdGenerator::seeded(1);
    /// let (first, second) = (ids.next_id(at), ids.next_id(at));
    /// assert_ne!(first, second, "the same millisecond, still two ids");
    /// assert!(ids.next_id(at + Duration::milliseconds(1)) > first.max(second));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_id(&mut self, at: DateTime<Utc>) -> TaskId {
        let high = self.next_u64().to_be_bytes();
        let low = self.next_u64().to_be_bytes();
        let mut entropy = [0u8; 10];
        entropy[..8].copy_from_slice(&high);
        entropy[8..].copy_from_slice(&low[..2]);
        TaskId::new_v7(at, entropy)
    }

    /// SplitMix64: small, fast and well mixed; not cryptographic.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        crate::mix64(self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ids_are_v7_deterministic_and_sorted_by_time() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut a = IdGenerator::seeded(7);
        let mut b = IdGenerator::seeded(7);
        let ids: Vec<_> = (0..100)
            .map(|i| a.next_id(t0 + chrono::Duration::milliseconds(i)))
            .collect();
        let again: Vec<_> = (0..100)
            .map(|i| b.next_id(t0 + chrono::Duration::milliseconds(i)))
            .collect();
        assert_eq!(ids, again);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.iter().all(|id| id.as_uuid().get_version_num() == 7));
    }

    #[test]
    fn pre_epoch_times_clamp_instead_of_panicking() {
        let early = Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0).unwrap();
        let id = TaskId::new_v7(early, [0; 10]);
        assert_eq!(id.as_uuid().get_version_num(), 7);
        let min = TaskId::new_v7(DateTime::<Utc>::MIN_UTC, [0xff; 10]);
        assert_eq!(
            min.as_uuid().get_timestamp().map(|t| t.to_unix().0),
            Some(0)
        );
    }

    #[test]
    fn serde_is_the_hyphenated_string() {
        let id: TaskId = "389c2fb6-3cea-47d7-b830-e701f4cf9aed".parse().unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"389c2fb6-3cea-47d7-b830-e701f4cf9aed\"");
        assert_eq!(serde_json::from_str::<TaskId>(&json).unwrap(), id);
        assert!("not-a-uuid".parse::<TaskId>().is_err());
    }
}
