//! Provider vocabularies: each seed system's words for a task's status, as
//! thin views over the canonical [`Status`].
//!
//! | canonical | OVHcloud | Dyn | VMware Cloud Foundation | Cloudflare |
//! |---|---|---|---|---|
//! | pending | `todo` | `ready` | `PENDING` (also reads `QUEUED`) | `pending` |
//! | running | `doing` | `running` | `IN_PROGRESS` | `running` |
//! | waiting | `doing` ¹ | `waiting` | `IN_PROGRESS` ¹ | `running` ¹ |
//! | stalled | `doing` ¹ | `stalled` | `IN_PROGRESS` ¹ | `running` ¹ |
//! | done | `done` | `complete` | `SUCCESSFUL`, or `COMPLETED_WITH_WARNING` with warnings (also reads `SKIPPED`) | `completed` |
//! | failed | `error` (customer's to fix) or `problem` (provider's) | `failed` | `FAILED` (also reads `TIMED_OUT`) | `failed` |
//! | cancelled | `cancelled` | `canceled` | `CANCELLED` | `failed` ² |
//!
//! ¹ The system has no word for a task paused on an outside party or whose
//! executor was lost: it still shows the task as in progress, which is what
//! its customers see. Reading that word back gives `running`.
//!
//! ² Cloudflare's catalog tasks cannot be cancelled and have no word for
//! it; a cancelled task shows as `failed` (it did not complete). Reading it
//! back gives `failed`.
//!
//! Dyn's vocabulary is one-to-one with the canonical one. The other
//! mappings are one-to-one where the table shows one word each way; the
//! cases marked, and the extra words some systems read (`QUEUED`,
//! `TIMED_OUT`, `SKIPPED`), are the lossy ones, and the tests list them.
//!
//! Providers add statuses without notice, so every view keeps a word it
//! does not know as text (`Other`) instead of failing the whole document;
//! converting such a status to the canonical one is an [`UnknownStatus`]
//! error naming the system and the word.
//!
//! # Example
//!
//! ```
//! use taskstate::profiles::vcf::VcfStatus;
//! use taskstate::Status;
//!
//! // VMware sends both spellings.
//! let status: VcfStatus = "In Progress".parse().unwrap_or_else(|never| match never {});
//! assert_eq!(status, VcfStatus::InProgress);
//! assert_eq!(status.to_canonical()?, Status::Running);
//!
//! let novel: VcfStatus = "PAUSED".parse().unwrap_or_else(|never| match never {});
//! assert!(novel.to_canonical().is_err());
//! # Ok::<(), taskstate::profiles::UnknownStatus>(())
//! ```

//!
//! # Writing a view for a provider the crate does not ship
//!
//! A view is four things, each built on what this module shares;
//! `examples/azure_operation.rs` writes a fifth provider (an Azure-style
//! long-running operation, with `percentComplete` and `Retry-After`)
//! this way, in full.
//!
//! 1. **The vocabulary.** An enum of the provider's words with an
//!    `Other(String)` for the words it will add, read through
//!    `From<String>` (and written back through `From<_> for String`), and
//!    [`Word`], so that [`Spelled`] keeps the spelling it was read in.
//!    Write the words once, in a table of (word, text, canonical statuses
//!    covered), and read both directions and [`Covers`] off it.
//! 2. **The JSON.** A struct field for field: statuses as
//!    [`Spelled`], times as [`Timestamp`] (written back with the offset
//!    and precision they were read with), percentages as
//!    [`Percent`](crate::Percent), optional fields as `Option`
//!    and `#[serde(flatten)] unknown: serde_json::Map<String, Value>` for
//!    fields the host does not know, so that a document read and written
//!    back is the JSON it was.
//! 3. **The view of a task and the mirror's snapshot.** An `of(task, …)`
//!    for a host that *is* the provider, reading the task (its status,
//!    `progress()`, `failure()`, `check_due_at()`, the `can_*` questions
//!    for the viewer), and a `to_mirrored()` into [`MirroredTask`] for a host
//!    that mirrors the provider, keeping its flags as read.
//! 4. **Filters.** `covers()` for each word; [`Covers::filter`] turns a
//!    listing in the provider's words into a store [`Filter`] that lists
//!    exactly the tasks the view shows with the word.
//!
//! A provider with three words, in full:
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use taskstate::profiles::{Covers, MirroredTask, Spelled, Timestamp, UnknownStatus, Word};
//! use taskstate::Status;
//!
//! #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
//! #[serde(from = "String", into = "String")]
//! enum JobStatus { Queued, Busy, Finished, Other(String) }
//!
//! const WORDS: [(JobStatus, &str, &[Status]); 3] = [
//!     (JobStatus::Queued, "queued", &[Status::Pending]),
//!     (JobStatus::Busy, "busy", &[Status::Running, Status::Waiting, Status::Stalled]),
//!     (JobStatus::Finished, "finished", &[Status::Done, Status::Failed, Status::Cancelled]),
//! ];
//!
//! impl JobStatus {
//!     fn entry(&self) -> Option<&'static (JobStatus, &'static str, &'static [Status])> {
//!         WORDS.iter().find(|(word, _, _)| word == self)
//!     }
//!     fn of(status: Status) -> JobStatus {
//!         WORDS.iter().find(|(_, _, covered)| covered.contains(&status))
//!             .map_or(JobStatus::Other(status.to_string()), |(word, _, _)| word.clone())
//!     }
//!     fn covers(&self) -> Result<Covers, UnknownStatus> {
//!         self.entry().map(|(_, _, covered)| Covers::statuses(covered))
//!             .ok_or_else(|| UnknownStatus { system: "Jobs", value: self.word().to_owned() })
//!     }
//! }
//! impl Word for JobStatus {
//!     fn word(&self) -> &str {
//!         match self { JobStatus::Other(text) => text, known => known.entry().map_or("", |e| e.1) }
//!     }
//! }
//! impl From<String> for JobStatus {
//!     fn from(text: String) -> Self {
//!         WORDS.iter().find(|(_, known, _)| *known == text)
//!             .map_or(JobStatus::Other(text), |(word, _, _)| word.clone())
//!     }
//! }
//! impl From<JobStatus> for String {
//!     fn from(status: JobStatus) -> String { status.word().to_owned() }
//! }
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct Job {
//!     status: Spelled<JobStatus>,
//!     started: Timestamp,
//!     #[serde(flatten)]
//!     unknown: serde_json::Map<String, serde_json::Value>,
//! }
//!
//! impl Job {
//!     fn to_mirrored(&self) -> Result<MirroredTask, UnknownStatus> {
//!         let covered = self.status.value.covers()?;
//!         Ok(MirroredTask {
//!             status: covered.statuses.iter().next(),
//!             created_at: Some(self.started.utc()),
//!             ..MirroredTask::default()
//!         })
//!     }
//! }
//!
//! let printed = serde_json::json!({"status": "busy", "started": "2026-11-23T10:00:00.50+01:00", "node": 7});
//! let job: Job = serde_json::from_value(printed.clone())?;
//! assert_eq!(serde_json::to_value(&job)?, printed); // the time and `node` kept
//! assert_eq!(job.to_mirrored()?.status, Some(Status::Running));
//! assert!(job.status.value.covers()?.statuses.contains(Status::Stalled));
//! assert_eq!(JobStatus::of(Status::Failed), JobStatus::Finished);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

/// The text impls every vocabulary shares: `FromStr` that keeps unknown
/// words (through `From<String>`), `From<T> for String` that writes them
/// back as read, and `Display`.
macro_rules! vocabulary_text {
    ($name:ident) => {
        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;

            /// Reads any word; one this crate does not know is kept as
            /// `Other`.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::from(s.to_owned()))
            }
        }

        impl From<$name> for String {
            fn from(status: $name) -> Self {
                match status {
                    $name::Other(word) => word,
                    known => known.as_str().to_owned(),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl super::Word for $name {
            fn word(&self) -> &str {
                self.as_str()
            }
        }
    };
}
use vocabulary_text;

/// A provider's status vocabulary, each word written once: the enum (with
/// `Other(String)` for the words the crate does not know), its spelling
/// (`as_str`), its reading (`From<String>`, exact or through `normalize`),
/// the [`UnknownStatus`] of an unknown word, and the text impls of
/// [`vocabulary_text`]. The meaning of each word (`from_canonical`,
/// `to_canonical`, `covers`) stays with the provider.
macro_rules! provider_vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident($system:literal, $read:expr) {
            $( $(#[$vmeta:meta])* $variant:ident => $word:literal, )+
        }
    ) => {
        $(#[$meta])*
        ///
        /// Read from any text (an unknown word is kept as `Other`), written
        /// back as read:
        ///
        /// ```
        #[doc = concat!("use ", module_path!(), "::", stringify!($name), ";")]
        ///
        #[doc = concat!("let novel: ", stringify!($name), " = serde_json::from_str(\"\\\"PAUSED\\\"\")?;")]
        #[doc = concat!("assert_eq!(novel, ", stringify!($name), "::Other(\"PAUSED\".into()));")]
        /// assert_eq!(serde_json::to_string(&novel)?, "\"PAUSED\"");
        /// assert!(novel.to_canonical().is_err());
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        #[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A word this crate does not know, kept as read.
            Other(String),
        }

        impl $name {
            /// The word, as the provider spells it (an unknown word as it
            /// was read).
            ///
            /// ```
            #[doc = concat!("use ", module_path!(), "::", stringify!($name), ";")]
            ///
            #[doc = concat!("assert_eq!(", stringify!($name), "::from(\"novel\".to_owned()).as_str(), \"novel\");")]
            #[doc = concat!("for known in [", $( stringify!($name), "::", stringify!($variant), ", ", )+ "] {")]
            #[doc = concat!("    assert_eq!(", stringify!($name), "::from(known.as_str().to_owned()), known);")]
            /// }
            /// ```
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $word, )+
                    $name::Other(word) => word,
                }
            }

            /// The error of a word this crate does not know.
            fn unknown(&self) -> super::UnknownStatus {
                super::UnknownStatus {
                    system: $system,
                    value: self.as_str().to_owned(),
                }
            }
        }

        impl From<String> for $name {
            fn from(word: String) -> Self {
                let read: fn(&str) -> std::borrow::Cow<'_, str> = $read;
                match &*read(&word) {
                    $( $word => $name::$variant, )+
                    _ => $name::Other(word),
                }
            }
        }

        super::vocabulary_text!($name);
    };
}
use provider_vocabulary;

/// Reads a word as written (OVHcloud, Dyn and Cloudflare spell each word
/// one way).
fn exact(word: &str) -> std::borrow::Cow<'_, str> {
    std::borrow::Cow::Borrowed(word)
}

pub mod cloudflare;
pub mod dyn_dns;
pub mod ovh;
mod timestamp;
pub mod vcf;

pub use timestamp::Timestamp;

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::command::ResourceRef;
use crate::failure::{Detail, Origin};
use crate::rules::TaskKind;
use crate::status::{Status, StatusSet};
use crate::store::{Filter, Scope};
use crate::subtask::{Progress, SubtaskStatus};
use crate::task::Task;

/// A status word with the spelling it was read in, so that a document read
/// from a provider is written back exactly as printed (VMware sends
/// `Failed` and `FAILED` for the same status).
///
/// ```
/// use taskstate::profiles::Spelled;
/// use taskstate::profiles::vcf::VcfStatus;
///
/// let read: Spelled<VcfStatus> = serde_json::from_str("\"In Progress\"")?;
/// assert_eq!(read.value, VcfStatus::InProgress);
/// assert_eq!(serde_json::to_string(&read)?, "\"In Progress\"");
/// assert_eq!(Spelled::new(VcfStatus::InProgress).text(), "IN_PROGRESS");
/// // Equal by the word, whatever the spelling.
/// assert_eq!(read, Spelled::new(VcfStatus::InProgress));
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// Two spelled words are equal (and hash alike) when their words are,
/// whatever the spelling: `In Progress` equals `IN_PROGRESS`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(
    from = "String",
    into = "String",
    bound(serialize = "T: Clone", deserialize = "T: Word")
)]
pub struct Spelled<T> {
    /// The word, parsed.
    pub value: T,
    text: String,
}

impl<T: Word> Spelled<T> {
    /// A word spelled the system's canonical way.
    ///
    /// ```
    /// use taskstate::profiles::Spelled;
    /// use taskstate::profiles::dyn_dns::DynStatus;
    ///
    /// let spelled = Spelled::new(DynStatus::Ready);
    /// assert_eq!(spelled.text(), "ready");
    /// ```
    pub fn new(value: T) -> Self {
        let text = value.word().to_owned();
        Spelled { value, text }
    }

    /// The word as it was read (or the canonical spelling).
    ///
    /// ```
    /// use taskstate::profiles::Spelled;
    /// use taskstate::profiles::vcf::VcfStatus;
    ///
    /// let read: Spelled<VcfStatus> = serde_json::from_str("\"Failed\"")?;
    /// assert_eq!(read.text(), "Failed");
    /// assert_eq!(read.value, VcfStatus::Failed);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl<T: Word> From<String> for Spelled<T> {
    fn from(text: String) -> Self {
        Spelled {
            value: T::from(text.clone()),
            text,
        }
    }
}

impl<T: PartialEq> PartialEq for Spelled<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Spelled<T> {}

impl<T: std::hash::Hash> std::hash::Hash for Spelled<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<T> From<Spelled<T>> for String {
    fn from(spelled: Spelled<T>) -> Self {
        spelled.text
    }
}

/// A vocabulary's word type: read from any text, written in its system's
/// spelling.
///
/// ```
/// use taskstate::profiles::Word;
/// use taskstate::profiles::cloudflare::CloudflareStatus;
///
/// assert_eq!(CloudflareStatus::Completed.word(), "completed");
/// ```
pub trait Word: From<String> + Clone {
    /// The system's spelling of the word.
    fn word(&self) -> &str;
}

/// A provider's task read into canonical terms: what a host that mirrors
/// a provider's tasks keeps. The provider's own flags (`canRelaunch`,
/// `canCancel`, `isCancellable`, `blocking`) are kept as read in
/// [`flags`](MirroredTask::flags), never recomputed from local rules: for a
/// mirrored task the provider is the truth. A host that *is* the provider
/// builds views from its tasks instead (each view's `of`), and the flags
/// come from its rules.
///
/// Each view's `to_mirrored` fills what its system says and leaves the
/// rest empty.
///
/// ```
/// use taskstate::profiles::ovh::OvhTask;
/// use taskstate::{Origin, Status};
///
/// let read: OvhTask = serde_json::from_value(serde_json::json!({
///     "id": 1, "function": "DomainTrade", "status": "problem", "comment": "registry down",
///     "canRelaunch": false, "canCancel": false, "canAccelerate": false, "todoDate": null,
///     "creationDate": "2026-11-23T10:00:00+01:00", "lastUpdate": "2026-11-23T10:05:00+01:00",
///     "doneDate": "2026-11-23T10:05:00+01:00", "domain": "example.fr"
/// }))?;
/// let mirrored = read.to_mirrored()?;
/// assert_eq!(mirrored.status, Some(Status::Failed));
/// assert_eq!(mirrored.failure_origin, Some(Origin::Provider));
/// assert_eq!(mirrored.flags.can_relaunch, Some(false));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MirroredTask {
    /// What the task does, in the provider's words: OVHcloud's
    /// `function`, Dyn's and VMware's `name` (VMware's may be a title
    /// rather than a kind), Cloudflare's `operation`. A host maps it to
    /// its own kind.
    pub kind: Option<String>,
    /// The canonical status.
    pub status: Option<Status>,
    /// Who must act on a failure, where the system says (OVHcloud's
    /// `error` and `problem`).
    pub failure_origin: Option<Origin>,
    /// When it was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When it last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub done_at: Option<DateTime<Utc>>,
    /// When it should run next.
    pub todo_at: Option<DateTime<Utc>>,
    /// The status message.
    pub comment: Option<String>,
    /// The provider's flags, as read.
    pub flags: ProviderFlags,
    /// Steps done and in all.
    pub progress: Option<Progress>,
    /// The subtasks, each after the one it is nested under (a tree read
    /// depth first, as VMware nests them).
    pub subtasks: Vec<MirroredSubtask>,
    /// The resources it acts on.
    pub resources: Vec<ResourceRef>,
}

/// A subtask of a provider's task, in canonical terms.
///
/// ```
/// use taskstate::profiles::vcf::VcfTask;
/// use taskstate::SubtaskStatus;
///
/// let json = r#"{"id":"t1","name":"Commission","status":"IN_PROGRESS","creationTimestamp":"2026-11-23T09:00:00.000Z",
///   "subTasks":[{"name":"Validate","status":"FAILED","subTasks":[{"name":"Vibs","status":"SUCCESSFUL"}]}]}"#;
/// let task: VcfTask = serde_json::from_str(json)?;
/// let mirrored = task.to_mirrored()?;
/// assert_eq!(mirrored.subtasks[1].name, "Vibs");
/// assert_eq!(mirrored.subtasks[1].parent, Some(0));
/// assert_eq!(mirrored.subtasks[0].status, SubtaskStatus::Failed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MirroredSubtask {
    /// Its name.
    pub name: String,
    /// What it does (empty where the provider says nothing).
    pub description: String,
    /// Its canonical status.
    pub status: SubtaskStatus,
    /// The position in [`MirroredTask::subtasks`] of the subtask it is nested
    /// under (always earlier), or `None` at the top level.
    pub parent: Option<usize>,
    /// What went wrong, as the provider's errors say it: code and message.
    pub errors: Vec<Detail>,
}

/// The flags a provider shows on a task, as read (`None` where the system
/// has no such flag).
///
/// ```
/// use taskstate::profiles::ProviderFlags;
///
/// let flags = ProviderFlags { can_cancel: Some(true), ..ProviderFlags::default() };
/// assert_eq!((flags.can_cancel, flags.blocking), (Some(true), None));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProviderFlags {
    /// OVHcloud's `canRelaunch`, VMware's `isRetryable`.
    pub can_relaunch: Option<bool>,
    /// OVHcloud's `canCancel`, VMware's `isCancellable`.
    pub can_cancel: Option<bool>,
    /// OVHcloud's `canAccelerate`.
    pub can_accelerate: Option<bool>,
    /// Dyn's `blocking`.
    pub blocking: Option<bool>,
}

/// A provider's status word that the crate does not know.
///
/// ```
/// use taskstate::profiles::dyn_dns::DynStatus;
///
/// let novel = DynStatus::from("paused".to_owned());
/// let error = novel.to_canonical().err().ok_or("known")?;
/// assert_eq!(error.to_string(), "unknown Dyn status `paused`");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("unknown {system} status `{value}`")]
pub struct UnknownStatus {
    /// The system (`OVHcloud`, `Dyn`, `VMware Cloud Foundation`,
    /// `Cloudflare`).
    pub system: &'static str,
    /// The word as read.
    pub value: String,
}

/// The tasks a provider's status word stands for, in canonical terms: the
/// statuses it is shown for, and among failed and done tasks, which (by
/// who must act on the failure, by whether there were warnings). Each
/// vocabulary's `covers` answers it for a word, so that a listing by a
/// provider's word returns exactly the tasks its view shows with that
/// word: OVHcloud's `doing` covers running, waiting and stalled tasks,
/// its `problem` only the failed tasks the provider must act on.
///
/// ```
/// use taskstate::profiles::ovh::OvhStatus;
/// use taskstate::store::{Filter, MemoryStore, PageRequest, Scope, TaskStore};
/// use taskstate::{NamedKind, Status};
///
/// let doing = OvhStatus::Doing.covers()?;
/// assert!(doing.statuses.contains(Status::Stalled));
/// // A listing in OVHcloud's words: `GET /me/task/domain?status=doing`.
/// let filter = doing.filter(Filter::new()).ok_or("covers no task")?;
/// let store: MemoryStore<NamedKind> = MemoryStore::new();
/// let page = store.list(&Scope::Staff, &filter, PageRequest::first(50))?;
/// assert!(page.tasks.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Covers {
    /// The statuses the word is shown for; empty when no task is shown
    /// with it (a word the system reads but never writes, such as
    /// VMware's `QUEUED`).
    pub statuses: StatusSet,
    /// Among failed tasks, only those where this party must act.
    pub failure_origin: Option<Origin>,
    /// Among done tasks, only those with (`true`) or without (`false`)
    /// warnings.
    pub warnings: Option<bool>,
}

impl Covers {
    /// A word shown for these statuses, whoever must act and whatever the
    /// warnings.
    ///
    /// ```
    /// use taskstate::profiles::Covers;
    /// use taskstate::Status;
    ///
    /// let doing = Covers::statuses(&[Status::Running, Status::Waiting]);
    /// assert!(doing.statuses.contains(Status::Waiting) && !doing.is_nothing());
    /// ```
    pub const fn statuses(statuses: &[Status]) -> Covers {
        Covers {
            statuses: StatusSet::of(statuses),
            failure_origin: None,
            warnings: None,
        }
    }

    /// A word no task is shown with.
    ///
    /// ```
    /// use taskstate::profiles::Covers;
    /// use taskstate::store::Filter;
    ///
    /// assert!(Covers::NOTHING.is_nothing());
    /// assert_eq!(Covers::NOTHING.filter(Filter::new()), None);
    /// ```
    pub const NOTHING: Covers = Covers::statuses(&[]);

    /// This word, among failed tasks only those where `origin` must act.
    ///
    /// ```
    /// use taskstate::profiles::Covers;
    /// use taskstate::{Origin, Status};
    ///
    /// let problem = Covers::statuses(&[Status::Failed]).failed_by(Origin::Provider);
    /// assert_eq!(problem.failure_origin, Some(Origin::Provider));
    /// ```
    #[must_use]
    pub const fn failed_by(mut self, origin: Origin) -> Covers {
        self.failure_origin = Some(origin);
        self
    }

    /// This word, among done tasks only those with (`true`) or without
    /// (`false`) warnings.
    ///
    /// ```
    /// use taskstate::profiles::Covers;
    /// use taskstate::Status;
    ///
    /// let warned = Covers::statuses(&[Status::Done]).with_warnings(true);
    /// assert_eq!(warned.warnings, Some(true));
    /// ```
    #[must_use]
    pub const fn with_warnings(mut self, with: bool) -> Covers {
        self.warnings = Some(with);
        self
    }

    /// Whether no task is shown with the word.
    ///
    /// ```
    /// use taskstate::profiles::vcf::VcfStatus;
    ///
    /// assert!(VcfStatus::Queued.covers()?.is_nothing());
    /// assert!(!VcfStatus::Pending.covers()?.is_nothing());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn is_nothing(&self) -> bool {
        self.statuses.is_empty()
    }

    /// `filter`, narrowed to the tasks the word covers (statuses the
    /// filter already names are kept only if the word covers them);
    /// `None` when that leaves no task, so there is nothing to ask a
    /// store.
    ///
    /// ```
    /// use taskstate::profiles::ovh::OvhStatus;
    /// use taskstate::store::Filter;
    /// use taskstate::{Origin, Status, StatusSet};
    ///
    /// let error = OvhStatus::Error.covers()?;
    /// let filter = error.filter(Filter::new()).ok_or("covers no task")?;
    /// assert_eq!(filter.failure_origin, Some(Origin::Customer));
    /// // A filter already narrowed to other statuses leaves nothing.
    /// let done = Filter::new().statuses(StatusSet::of(&[Status::Done]));
    /// assert_eq!(error.filter(done), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn filter(&self, mut filter: Filter) -> Option<Filter> {
        let statuses = if filter.statuses.is_empty() {
            self.statuses
        } else {
            filter
                .statuses
                .iter()
                .filter(|status| self.statuses.contains(*status))
                .fold(StatusSet::EMPTY, StatusSet::with)
        };
        if statuses.is_empty() {
            return None;
        }
        filter.statuses = statuses;
        if let Some(origin) = self.failure_origin {
            filter.failure_origin = Some(origin);
        }
        if let Some(with) = self.warnings {
            filter.warnings = Some(with);
        }
        Some(filter)
    }

    /// Whether `task` is shown with the word.
    ///
    /// ```
    /// use taskstate::profiles::ovh::OvhStatus;
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Task};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), NamedKind::new("DomainCreate"),
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// # let (mut task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert!(OvhStatus::Todo.covers()?.matches(&task));
    /// assert!(!OvhStatus::Doing.covers()?.matches(&task));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn matches<K: TaskKind>(&self, task: &Task<K>) -> bool {
        self.filter(Filter::new())
            .is_some_and(|filter| filter.matches(&Scope::Staff, task))
    }
}
