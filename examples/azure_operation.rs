//! A fifth provider, written the way the `profiles` guide says: an
//! Azure-style long-running operation (`InProgress`, `Succeeded`,
//! `Failed`, `Canceled`) with `percentComplete` and `Retry-After`.
//!
//! Run: `cargo run --example azure_operation`
//!
//! The four steps of the guide, each a section below: the vocabulary (its
//! words both ways and what each covers), the JSON (a struct field for
//! field, times and unknown fields kept), the view of a task (`of`) and
//! the mirror's snapshot (`to_mirrored`), and listings by its words.

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use taskstate::Pause;
use taskstate::profiles::{Covers, MirroredTask, Spelled, Timestamp, UnknownStatus, Word};
use taskstate::store::{Filter, MemoryStore, PageRequest, Scope, TaskStore};
use taskstate::{Failure, IdGenerator, NamedKind, NewTask, Owner, ResourceRef, Status, Task};
use taskstate::{Percent, Progress};

// ---------------------------------------------------------------------
// 1. The vocabulary: each word once, both directions read off it.
// ---------------------------------------------------------------------

/// An operation's status as the provider spells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
enum AzureStatus {
    InProgress,
    Succeeded,
    Failed,
    Canceled,
    /// A word this host does not know, kept as read.
    Other(String),
}

impl AzureStatus {
    /// Every known word with the statuses it covers, the one a mirror
    /// reads it as first: the one table both directions and the listings
    /// read.
    const WORDS: [(AzureStatus, &'static str, &'static [Status]); 4] = [
        (
            AzureStatus::InProgress,
            "InProgress",
            // No word for queued, paused or lost work: all in progress.
            &[
                Status::Running,
                Status::Pending,
                Status::Waiting,
                Status::Stalled,
            ],
        ),
        (AzureStatus::Succeeded, "Succeeded", &[Status::Done]),
        (AzureStatus::Failed, "Failed", &[Status::Failed]),
        (AzureStatus::Canceled, "Canceled", &[Status::Cancelled]),
    ];

    fn as_str(&self) -> &str {
        match self {
            AzureStatus::Other(word) => word,
            known => Self::WORDS
                .iter()
                .find(|(status, _, _)| status == known)
                .map_or("", |(_, word, _)| word),
        }
    }

    /// What the word covers: a listing by it is exact.
    fn covers(&self) -> Result<Covers, UnknownStatus> {
        Self::WORDS
            .iter()
            .find(|(status, _, _)| status == self)
            .map(|(_, _, statuses)| Covers::statuses(statuses))
            .ok_or_else(|| self.unknown())
    }

    /// The provider's word for a canonical status.
    fn of(status: Status) -> AzureStatus {
        Self::WORDS
            .into_iter()
            .find(|(_, _, statuses)| statuses.contains(&status))
            .map_or(AzureStatus::Other(status.to_string()), |(word, _, _)| word)
    }

    /// The canonical status a mirror reads: the first the word covers.
    fn to_canonical(&self) -> Result<Status, UnknownStatus> {
        Self::WORDS
            .iter()
            .find(|(status, _, _)| status == self)
            .and_then(|(_, _, statuses)| statuses.first().copied())
            .ok_or_else(|| self.unknown())
    }

    fn unknown(&self) -> UnknownStatus {
        UnknownStatus {
            system: "Azure",
            value: self.as_str().to_owned(),
        }
    }
}

impl From<String> for AzureStatus {
    fn from(word: String) -> Self {
        Self::WORDS
            .into_iter()
            .find(|(_, known, _)| known.eq_ignore_ascii_case(&word))
            .map_or(AzureStatus::Other(word), |(status, _, _)| status)
    }
}

impl From<AzureStatus> for String {
    fn from(status: AzureStatus) -> Self {
        status.as_str().to_owned()
    }
}

impl Word for AzureStatus {
    fn word(&self) -> &str {
        self.as_str()
    }
}

// ---------------------------------------------------------------------
// 2. The JSON, field for field.
// ---------------------------------------------------------------------

/// `GET {Azure-AsyncOperation}`: the operation's status resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AzureOperation {
    id: String,
    name: String,
    status: Spelled<AzureStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    percent_complete: Option<Percent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<AzureError>,
    /// Fields this host does not know, written back as read.
    #[serde(flatten)]
    unknown: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct AzureError {
    code: String,
    message: String,
}

// ---------------------------------------------------------------------
// 3. The view of a task, and the mirror's snapshot.
// ---------------------------------------------------------------------

/// What the provider's route answers: the body and its `Retry-After`.
struct Answer {
    body: AzureOperation,
    /// Seconds before the caller should poll again, while in progress.
    retry_after: Option<i64>,
}

impl AzureOperation {
    /// The view of `task` at `now`; Azure prints times to the 100 ns,
    /// chrono's `AutoSi` is close enough for this host.
    fn of(task: &Task<NamedKind>, now: DateTime<Utc>) -> Answer {
        let status = AzureStatus::of(task.status());
        let in_progress = status == AzureStatus::InProgress;
        // Poll again when the task looks again at its outside party, or
        // in ten seconds.
        let retry_after = in_progress.then(|| {
            task.check_due_at()
                .map_or(10, |at| (at - now).num_seconds().max(1))
        });
        let body = AzureOperation {
            id: format!("/operations/{}", task.id()),
            name: task.id().to_string(),
            status: Spelled::new(status),
            start_time: Some(Timestamp::new(task.created_at(), SecondsFormat::AutoSi)),
            end_time: task
                .done_at()
                .map(|at| Timestamp::new(at, SecondsFormat::AutoSi)),
            percent_complete: task.progress().map(|progress| progress.percent()),
            error: task.failure().map(|failure| AzureError {
                code: failure.code.clone(),
                message: failure.message.clone(),
            }),
            unknown: Map::new(),
        };
        Answer { body, retry_after }
    }

    /// The operation in canonical terms, for a host that mirrors it.
    fn to_mirrored(&self) -> Result<MirroredTask, UnknownStatus> {
        Ok(MirroredTask {
            status: Some(self.status.value.to_canonical()?),
            created_at: self.start_time.as_ref().map(Timestamp::utc),
            done_at: self.end_time.as_ref().map(Timestamp::utc),
            comment: self.error.as_ref().map(|error| error.message.clone()),
            progress: self.percent_complete.map(|percent| Progress {
                reported_percent: Some(percent),
                ..Progress::default()
            }),
            ..MirroredTask::default()
        })
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .ok_or("bad time")?;
    let at = |seconds: i64| t0 + Duration::seconds(seconds);
    let store: MemoryStore<NamedKind> = MemoryStore::new();
    let mut ids = IdGenerator::seeded(2026);
    let mut create = |name: &str| -> Result<Task<NamedKind>, Box<dyn std::error::Error>> {
        let new = NewTask::new(
            ids.next_id(t0),
            NamedKind::new("VirtualMachineCreate"),
            Owner::new("subscription-1"),
            ResourceRef::new("virtualMachine", name),
        );
        let (task, created) = Task::create(new, taskstate::Actor::System, t0)?;
        store.insert(task.clone(), created)?;
        Ok(task)
    };

    // A VM being created reports only a percentage, then waits on the
    // hypervisor: still `InProgress`, polled again at its next check.
    let mut vm = create("vm-web-1")?;
    let version = vm.version();
    let (run, started) = vm.start(at(600), None, at(1))?;
    let reported = run.report_percent(&mut vm, "37.5".parse()?, None, at(20))?;
    let pause = Pause::until(at(500)).check_at(at(50)).reason("hypervisor");
    let waiting = run.wait(&mut vm, pause, at(21))?;
    store.save(&vm, version, &[started, reported, waiting])?;
    let answer = AzureOperation::of(&vm, at(21));
    println!("HTTP 202 Accepted");
    if let Some(seconds) = answer.retry_after {
        println!("Retry-After: {seconds}");
    }
    println!("{}\n", serde_json::to_string_pretty(&answer.body)?);
    assert_eq!(answer.retry_after, Some(29));
    assert_eq!(
        answer.body.percent_complete.map(|p| p.to_string()),
        Some("37.5".to_owned())
    );

    // One that fails: `Failed` with its error, no Retry-After.
    let mut broken = create("vm-db-1")?;
    let version = broken.version();
    let (run, started) = broken.start(at(600), None, at(1))?;
    let failure = Failure::customer("QuotaExceeded", "the core quota is reached", at(3));
    let failed = run.fail(&mut broken, failure, at(3))?;
    store.save(&broken, version, &[started, failed])?;
    let answer = AzureOperation::of(&broken, at(4));
    println!(
        "HTTP 200 OK\n{}\n",
        serde_json::to_string_pretty(&answer.body)?
    );
    assert_eq!(answer.retry_after, None);

    // A mirror reads the provider's own JSON, unknown fields and time
    // precision kept, and writes it back as it was.
    let printed = serde_json::json!({
        "id": "/subscriptions/s1/providers/Microsoft.Compute/locations/westeurope/operations/op-1",
        "name": "op-1",
        "status": "InProgress",
        "startTime": "2026-11-23T09:00:00.1234567+00:00",
        "percentComplete": 55.25,
        "properties": {"vmId": "vm-42"}
    });
    let read: AzureOperation = serde_json::from_value(printed.clone())?;
    assert_eq!(serde_json::to_value(&read)?, printed);
    let snapshot = read.to_mirrored()?;
    println!("mirrored: {snapshot:?}\n");
    assert_eq!(snapshot.status, Some(Status::Running));
    assert_eq!(
        snapshot.progress.map(|p| p.percent().to_string()),
        Some("55.25".to_owned())
    );

    // Listings in the provider's words: `?status=InProgress` lists the
    // waiting VM, `?status=Failed` the broken one, exactly.
    for word in ["InProgress", "Failed", "Succeeded"] {
        let status = AzureStatus::from(word.to_owned());
        let listed = match status.covers()?.filter(Filter::new()) {
            Some(filter) => {
                let page = store.list(&Scope::Staff, &filter, PageRequest::first(50))?;
                page.tasks
                    .iter()
                    .map(|task| task.resource().id.clone())
                    .collect()
            }
            None => Vec::new(),
        };
        println!("status={word}: {listed:?}");
        for task in [&vm, &broken] {
            let shown = AzureStatus::of(task.status()) == status;
            assert_eq!(listed.contains(&task.resource().id), shown);
        }
    }
    Ok(())
}
