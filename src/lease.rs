//! Fenced leases: how an executor holds a running task.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The token of one run of a task. Serialized as a number.
///
/// A start issues it: the task's version at that start above the low 22
/// bits, and in those the start's time in microseconds modulo 2^22. It
/// grows with every run of the same task; two starts at the same version
/// get two tokens unless their times are a multiple of 2^22 µs (4.19 s)
/// apart, so a record restored from a backup and started again does not
/// hand its new run the token of a run that began after the backup
/// ([`start_version`](LeaseToken::start_version) reads the version
/// back). A token stays below 2^53, so JSON readers that hold numbers as
/// doubles (JavaScript) read it exactly. A token issued before the time
/// was part of it is the start's version alone; it stays valid for the
/// run that holds it.
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// use taskstate::{LeaseToken, Run};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
/// #     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
/// # let (mut task, _) = Task::create(new, Actor::System, now)?;
/// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
/// // The executor keeps the token as a number, and rebuilds its handle from it.
/// let kept: u64 = serde_json::from_str(&serde_json::to_string(&run.token())?)?;
/// let rebuilt = Run::rebuild(&task, LeaseToken::new(kept))?;
/// assert_eq!(rebuilt.token(), run.token());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeaseToken(u64);

impl LeaseToken {
    /// A token from its number, as a host that stored it reads it back.
    ///
    /// ```
    /// use taskstate::LeaseToken;
    ///
    /// let token = LeaseToken::new(7);
    /// assert_eq!(token.get(), 7);
    /// assert_eq!(token.to_string(), "#7");
    /// assert!(LeaseToken::new(2) < token, "later runs have larger tokens");
    /// ```
    pub const fn new(value: u64) -> Self {
        LeaseToken(value)
    }

    /// The token a start logged with version `version` at `at` issues,
    /// as [`Event::lease_token`](crate::Event::lease_token) reads it off
    /// the start's event: for a host or a test that keeps its own record
    /// of runs. Above 2^31 - 1, the version is written as that (a token
    /// stays below 2^53), and runs are told apart by their times alone.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::LeaseToken;
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
    /// #     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// let (run, started) = task.start(now + Duration::minutes(5), None, now)?;
    /// assert_eq!(run.token(), LeaseToken::of_start(started.version, started.at));
    /// // Version 2, then the time's 22 bits in hex.
    /// assert_eq!(run.token().to_string(), "#2:154400");
    /// // The same version a second later: another run, another token.
    /// assert_ne!(run.token(), LeaseToken::of_start(started.version, now + Duration::seconds(1)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of_start(version: u64, at: DateTime<Utc>) -> Self {
        // Microseconds since the epoch, modulo 2^64: their low bits
        // differ for any two times 1 µs to 2^22 µs apart.
        let micros = at
            .timestamp()
            .wrapping_mul(1_000_000)
            .wrapping_add(i64::from(at.timestamp_subsec_micros()));
        let time_bits = u64::from_ne_bytes(micros.to_ne_bytes()) & TIME_MASK;
        LeaseToken((version.min(MAX_TOKEN_VERSION) << TIME_BITS) | time_bits)
    }

    /// The version of the event that started the run this token is of.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::LeaseToken;
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
    /// #     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// let (run, started) = task.start(now + Duration::minutes(5), None, now)?;
    /// assert_eq!(run.token().start_version(), started.version);
    /// assert_eq!(started.lease_token(), Some(run.token()));
    /// // A token issued before the time was part of it: the version alone.
    /// assert_eq!(LeaseToken::new(7).start_version(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn start_version(self) -> u64 {
        if self.has_time() {
            self.0 >> TIME_BITS
        } else {
            self.0
        }
    }

    /// Whether the token holds its start's time: every start's version is
    /// 2 or more, so such a token is 2^23 or more, and one of the version
    /// alone is below (a start after 8 million versions, that is of
    /// heartbeats, excepted).
    const fn has_time(self) -> bool {
        self.0 >= 2 << TIME_BITS
    }

    /// The token's number, what a host stores.
    ///
    /// ```
    /// use taskstate::LeaseToken;
    ///
    /// assert_eq!(LeaseToken::new(42).get(), 42);
    /// assert_eq!(LeaseToken::new(LeaseToken::new(3).get()), LeaseToken::new(3));
    /// ```
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// How many low bits of a token hold its start's time.
const TIME_BITS: u32 = 22;

/// The low bits of a token: its start's time in microseconds, modulo
/// 2^22.
const TIME_MASK: u64 = (1 << TIME_BITS) - 1;

/// The largest version a token holds above its time: a token stays below
/// 2^53.
const MAX_TOKEN_VERSION: u64 = (1 << 31) - 1;

/// `#` and the start's version, then `:` and the time's bits in hex (a
/// token issued before they were part of it has none).
impl fmt::Display for LeaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.has_time() {
            write!(f, "#{}:{:06x}", self.0 >> TIME_BITS, self.0 & TIME_MASK)
        } else {
            write!(f, "#{}", self.0)
        }
    }
}

/// An executor's hold on a running or waiting task.
///
/// Besides the run's token and its deadline, the lease keeps what
/// heartbeats change: a heartbeat moves the deadline (never earlier), may
/// leave a progress note, and, on a waiting task, may move the time to
/// check again. None of that is logged: a lease is state, not history,
/// and [`heartbeats`](Lease::heartbeats) counts the heartbeats since the
/// last logged event so that a log can be checked against its record.
///
/// The token is not readable from here: a run's handle is rebuilt from
/// the token its executor kept ([`Run::rebuild`](crate::Run::rebuild)),
/// and [`is_held_by`](Lease::is_held_by) answers whether a token is this
/// lease's.
///
/// # Leases
///
/// Fenced leases: how an executor holds a running task.
///
/// `start` hands the executor a [`Lease`]: a deadline and a [`LeaseToken`]
/// unique to that run. Every later executor command (heartbeat, wait,
/// resume, complete, fail, acknowledge a cancel) presents the token. When
/// a lease runs out, the task can be marked stalled and requeued; a new
/// `start` then issues a new token, and a late command from the first
/// worker carries a stale one and is refused. A slow worker can never
/// overwrite its successor's result.
///
/// The token is the version of the task at which its run started and the
/// low bits of the start's time, so it grows with every run of the same
/// task (a fencing token in the sense of lock services), a run started
/// again on a restored record gets a token of its own, and it needs no
/// random source. It fences runs; it is not a secret: customers cannot
/// issue executor commands whatever they hold, because the table grants
/// those moves to the system only.
///
/// Heartbeats are lease state, not history: they extend the deadline
/// without adding an event to the task's log, so a task that heartbeats
/// every ten seconds for a day logs only its real transitions. They still
/// bump the task's version, so a store's compare-and-swap orders a
/// heartbeat against every other save: neither can overwrite the other.
///
/// The deadline is advisory until someone acts on it: a command with the
/// current token is accepted even after the deadline, as long as nobody
/// has marked the task stalled in between (the store's compare-and-swap
/// orders the two).
///
/// ## Example
///
/// ```
/// # use chrono::{Duration, TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
/// #     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
/// # let (mut task, _) = Task::create(new, Actor::System, now)?;
/// let (run, _) = task.start(now + Duration::minutes(5), Some("worker-1".into()), now)?;
/// let lease = task.lease().ok_or("no lease")?;
/// assert!(lease.is_held_by(run.token()));
/// assert_eq!(lease.worker(), Some("worker-1"));
/// assert!(!lease.is_expired(now + Duration::minutes(4)));
/// assert!(lease.is_expired(now + Duration::minutes(5)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lease {
    token: LeaseToken,
    #[serde(with = "crate::stamp")]
    expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    worker: Option<String>,
    #[serde(
        with = "crate::stamp::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    check_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    heartbeats: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Lease {
    /// The lease of the run a start issued `token` to.
    pub(crate) fn new(
        token: LeaseToken,
        expires_at: DateTime<Utc>,
        worker: Option<String>,
    ) -> Self {
        Lease {
            token,
            expires_at,
            worker,
            check_at: None,
            note: None,
            heartbeats: 0,
        }
    }

    /// Whether `token` is this lease's: whether a command presenting it
    /// comes from the run that holds the task now.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Command, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
    /// #     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// let (first, _) = task.start(now + Duration::minutes(1), None, now)?;
    /// let later = now + Duration::minutes(2);
    /// task.apply(Command::MarkStalled, Actor::System, later)?;
    /// task.apply(Command::Requeue { todo_at: None }, Actor::System, later)?;
    /// let (second, _) = task.start(later + Duration::minutes(5), None, later)?;
    /// let lease = task.lease().ok_or("no lease")?;
    /// assert!(lease.is_held_by(second.token()));
    /// assert!(!lease.is_held_by(first.token()), "the stalled run is fenced off");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_held_by(&self, token: LeaseToken) -> bool {
        self.token == token
    }

    pub(crate) fn token(&self) -> LeaseToken {
        self.token
    }

    /// When the lease runs out unless a heartbeat extends it (while
    /// waiting: when the wait gives up).
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
    /// #     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// run.heartbeat(&mut task, now + Duration::minutes(10), None, now + Duration::minutes(1))?;
    /// let lease = task.lease().ok_or("no lease")?;
    /// assert_eq!(lease.expires_at(), now + Duration::minutes(10));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// Which worker holds it, if the executor said so at `start`.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
    /// #     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// task.start(now + Duration::minutes(5), Some("worker-7".into()), now)?;
    /// assert_eq!(task.lease().and_then(|lease| lease.worker()), Some("worker-7"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn worker(&self) -> Option<&str> {
        self.worker.as_deref()
    }

    /// While waiting: when to look again (a poll's next time, a
    /// `Retry-After`), before the wait gives up at
    /// [`expires_at`](Lease::expires_at).
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Pause, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
    /// #     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let (check, give_up) = (now + Duration::minutes(10), now + Duration::hours(1));
    /// run.wait(&mut task, Pause::until(give_up).check_at(check), now)?;
    /// let lease = task.lease().ok_or("no lease")?;
    /// assert_eq!((lease.check_at(), lease.expires_at()), (Some(check), give_up));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_at(&self) -> Option<DateTime<Utc>> {
        self.check_at
    }

    /// The progress message of the run's latest heartbeat, until a logged
    /// event sets the task's comment (a wait's reason, a cancel's).
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
    /// #     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// let step = Some("3 of 8 records signed".to_owned());
    /// run.heartbeat(&mut task, now + Duration::minutes(6), step, now + Duration::minutes(1))?;
    /// assert_eq!(task.lease().and_then(|lease| lease.note()), Some("3 of 8 records signed"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// How many heartbeats were accepted since the last logged event.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, Outcome, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
    /// #     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// let (run, _) = task.start(now + Duration::minutes(5), None, now)?;
    /// for minute in 1..=3 {
    ///     let at = now + Duration::minutes(minute);
    ///     run.heartbeat(&mut task, at + Duration::minutes(5), None, at)?;
    /// }
    /// assert_eq!(task.lease().map(|lease| lease.heartbeats()), Some(3));
    /// let done = run.complete(&mut task, Outcome::new(), now + Duration::minutes(4))?;
    /// assert_eq!(done.heartbeats, 3, "the next logged event counts them");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn heartbeats(&self) -> u32 {
        self.heartbeats
    }

    /// Whether the lease has run out at `now`: its deadline is `now` or
    /// earlier.
    ///
    /// ```
    /// # use chrono::{Duration, TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("ZonePublish"),
    /// #     Owner::new("acme"), ResourceRef::new("zone", "example.com"));
    /// # let (mut task, _) = Task::create(new, Actor::System, now)?;
    /// task.start(now + Duration::minutes(5), None, now)?;
    /// let lease = task.lease().ok_or("no lease")?;
    /// assert!(!lease.is_expired(now + Duration::seconds(299)));
    /// assert!(lease.is_expired(now + Duration::minutes(5)));
    /// assert!(task.can_mark_stalled(now + Duration::minutes(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }

    pub(crate) fn extend(&mut self, until: DateTime<Utc>) {
        self.expires_at = until;
    }

    pub(crate) fn set_check_at(&mut self, at: Option<DateTime<Utc>>) {
        self.check_at = at;
    }

    /// Records a heartbeat.
    pub(crate) fn beat(
        &mut self,
        until: DateTime<Utc>,
        note: Option<&String>,
        check_at: Option<DateTime<Utc>>,
    ) {
        self.expires_at = until;
        if note.is_some() {
            self.note = note.cloned();
        }
        if check_at.is_some() {
            self.check_at = check_at;
        }
        self.heartbeats = self.heartbeats.saturating_add(1);
    }

    /// A logged event on the run: the heartbeats before it are counted in
    /// it, and a comment it sets replaces the note.
    pub(crate) fn logged(&mut self, sets_comment: bool) {
        self.heartbeats = 0;
        if sets_comment {
            self.note = None;
        }
    }

    /// Whether this lease is the one a log rebuilds as `logged`, up to
    /// what heartbeats change and the log does not keep: the same token
    /// and worker, a deadline no earlier (heartbeats only extend it), and
    /// any check time and note.
    pub(crate) fn agrees_with_log(&self, logged: &Lease) -> bool {
        self.token == logged.token
            && self.worker == logged.worker
            && self.expires_at >= logged.expires_at
    }
}
