//! For random tasks driven by random commands, each provider view
//! serializes, parses back to itself, and reads back into canonical terms
//! with the same status (as the system can say it), times (to the
//! system's precision), flags and subtasks.
//!
//! More cases: `PROPTEST_CASES=5000 cargo test --test profiles properties::`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DurationRound, TimeDelta};
use proptest::prelude::*;
use taskstate::profiles::MirroredSubtask;
use taskstate::profiles::cloudflare::{CloudflareStatus, CloudflareTask};
use taskstate::profiles::dyn_dns::{DynStatus, DynTask};
use taskstate::profiles::ovh::{OvhArgument, OvhStatus, OvhTask};
use taskstate::profiles::vcf::{VcfStatus, VcfTask};
use taskstate::testkit::strategies::step;
use taskstate::{Actor, Detail, NamedKind, Owner, Task, TaskKind};

use crate::common::start_task;

fn round_trip<V>(view: &V) -> V
where
    V: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(view).unwrap();
    let back: V = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, view);
    back
}

/// Each word of a vocabulary covers the task exactly when the view shows
/// the task with that word: a listing by a provider's word is exact.
fn check_covers<W: PartialEq + std::fmt::Debug>(
    task: &Task<NamedKind>,
    shown: &W,
    words: &[W],
    covers: impl Fn(&W) -> taskstate::profiles::Covers,
) {
    for word in words {
        assert_eq!(
            covers(word).matches(task),
            word == shown,
            "{word:?} for a task shown as {shown:?} ({:?})",
            task.status()
        );
    }
}

fn check_views(task: &Task<NamedKind>, viewer: &Actor, now: chrono::DateTime<chrono::Utc>) {
    use taskstate::profiles::{cloudflare::CloudflareStatus as C, dyn_dns::DynStatus as D};
    use taskstate::profiles::{ovh::OvhStatus as O, vcf::VcfStatus as V};
    let ovh_words = [
        O::Todo,
        O::Doing,
        O::Done,
        O::Cancelled,
        O::Error,
        O::Problem,
    ];
    check_covers(task, &O::of(task), &ovh_words, |w| w.covers().unwrap());
    let dyn_words = [
        D::Ready,
        D::Running,
        D::Waiting,
        D::Stalled,
        D::Complete,
        D::Failed,
        D::Canceled,
    ];
    let shown = D::from_canonical(task.status());
    check_covers(task, &shown, &dyn_words, |w| w.covers().unwrap());
    let vcf_words = [
        V::Pending,
        V::Queued,
        V::InProgress,
        V::Successful,
        V::CompletedWithWarning,
        V::Failed,
        V::TimedOut,
        V::Cancelled,
        V::Skipped,
    ];
    check_covers(task, &V::of(task), &vcf_words, |w| w.covers().unwrap());
    let cloudflare_words = [C::Pending, C::Running, C::Completed, C::Failed];
    let shown = C::from_canonical(task.status());
    check_covers(task, &shown, &cloudflare_words, |w| w.covers().unwrap());

    // OVHcloud: flags as the core answered them for the viewer.
    let ovh = round_trip(&OvhTask::of(task, 1, viewer, now));
    let snapshot = ovh.to_mirrored().unwrap();
    assert_eq!(snapshot.kind.as_deref(), Some(task.kind().name()));
    let shown = OvhStatus::of(task).to_canonical().unwrap();
    assert_eq!(snapshot.status, Some(shown));
    assert_eq!(
        snapshot.flags.can_cancel,
        Some(task.can_cancel(viewer, now))
    );
    assert_eq!(
        snapshot.flags.can_relaunch,
        Some(task.can_relaunch_once_corrected(viewer, now))
    );
    // Times to the second, as OVHcloud writes them; the todo date is a
    // pending task's start or a failed one's next automatic restart.
    let second =
        |t: chrono::DateTime<chrono::Utc>| t.duration_trunc(TimeDelta::seconds(1)).unwrap();
    assert_eq!(snapshot.created_at, Some(second(task.created_at())));
    assert_eq!(snapshot.done_at, task.done_at().map(second));
    let todo = match task.status() {
        taskstate::Status::Pending => task.todo_at(),
        taskstate::Status::Failed => task.next_retry_at(),
        _ => None,
    };
    assert_eq!(snapshot.todo_at, todo.map(second));
    if task.status() == taskstate::Status::Failed {
        assert_eq!(snapshot.failure_origin, task.failure().map(|f| f.origin));
    }
    // OVHcloud's arguments: every declared one, with its current value.
    for spec in task.kind().arguments() {
        let argument = round_trip(&OvhArgument::of(task, &spec.key).unwrap());
        let value = task.arguments().get(&spec.key).map(ToString::to_string);
        assert_eq!(argument.value, value, "{}", spec.key);
        assert_eq!(argument.read_only, Some(spec.read_only));
    }

    // Dyn: one-to-one statuses, times to the second, blocking as read.
    let dyn_view = round_trip(&DynTask::of(task, 1));
    let snapshot = dyn_view.to_mirrored().unwrap();
    assert_eq!(snapshot.kind.as_deref(), Some(task.kind().name()));
    assert_eq!(snapshot.status, Some(task.status()));
    assert_eq!(
        DynStatus::from_canonical(task.status()),
        dyn_view.status.value
    );
    assert_eq!(snapshot.created_at, Some(second(task.created_at())));
    assert_eq!(snapshot.updated_at, Some(second(task.updated_at())));
    assert_eq!(snapshot.flags.blocking, Some(task.is_blocking()));
    let progress = task.progress().unwrap_or_default();
    assert_eq!(
        snapshot.progress.map(|p| (p.step_count, p.total_steps)),
        Some((progress.step_count, progress.total_steps))
    );

    // VMware: subtasks nested as declared, flags as the core answered
    // them, times to the millisecond.
    let vcf = round_trip(&VcfTask::of(task, viewer, now));
    let snapshot = vcf.to_mirrored().unwrap();
    // VMware names a task by its title where it has one; its type is the
    // kind.
    assert_eq!(vcf.name, task.title().unwrap_or(task.kind().name()));
    assert_eq!(snapshot.kind.as_deref(), Some(task.kind().name()));
    assert_eq!(
        snapshot.status,
        Some(VcfStatus::of(task).to_canonical().unwrap())
    );
    assert_eq!(
        snapshot.flags.can_cancel,
        Some(task.can_cancel(viewer, now))
    );
    assert_eq!(
        snapshot.flags.can_relaunch,
        Some(task.can_relaunch(viewer, now))
    );
    let milli =
        |t: chrono::DateTime<chrono::Utc>| t.duration_trunc(TimeDelta::milliseconds(1)).unwrap();
    assert_eq!(snapshot.created_at, Some(milli(task.created_at())));
    assert_eq!(snapshot.done_at, task.done_at().map(milli));
    assert_eq!(snapshot.subtasks, depth_first(task));
    let resources: Vec<_> = task.resources().cloned().collect();
    assert_eq!(snapshot.resources, resources);

    // Cloudflare.
    let cloudflare = round_trip(&CloudflareTask::of(task));
    let snapshot = cloudflare.to_mirrored().unwrap();
    assert_eq!(snapshot.kind.as_deref(), Some(task.kind().name()));
    let shown = CloudflareStatus::from_canonical(task.status())
        .to_canonical()
        .unwrap();
    assert_eq!(snapshot.status, Some(shown));
    assert_eq!(snapshot.updated_at, Some(milli(task.updated_at())));
    // Cloudflare has no word for cancelled: the message says it.
    if matches!(
        task.status(),
        taskstate::Status::Cancelled | taskstate::Status::Failed
    ) {
        assert!(cloudflare.error_message.is_some());
    }
}

/// The task's subtasks as a mirror reads them back: depth first, each
/// naming the position of its parent, with the code and message of each
/// error.
fn depth_first(task: &Task<NamedKind>) -> Vec<MirroredSubtask> {
    fn visit(
        task: &Task<NamedKind>,
        parent: Option<taskstate::SubtaskId>,
        parent_at: Option<usize>,
        out: &mut Vec<MirroredSubtask>,
    ) {
        for subtask in task.subtasks().children(parent) {
            let at = out.len();
            out.push(MirroredSubtask {
                name: subtask.name.clone(),
                description: subtask.description.clone(),
                status: subtask.status,
                parent: parent_at,
                errors: subtask
                    .errors
                    .iter()
                    .map(|e| Detail::new(e.code.clone(), e.message.clone()))
                    .collect(),
            });
            visit(task, Some(subtask.id), Some(at), out);
        }
    }
    let mut out = Vec::new();
    visit(task, None, None, &mut out);
    out
}

proptest! {
    #![proptest_config(crate::common::cases(256))]

    #[test]
    fn views_round_trip_and_read_back_the_task(
        start in start_task(),
        steps in proptest::collection::vec(step(), 0..30),
    ) {
        let mut task = start.task;
        let mut now = task.created_at();
        let owner: Owner = task.owner().clone();
        for step in &steps {
            now += chrono::Duration::seconds(step.advance);
            let (command, actor) = step.resolve(&task, now);
            let _ = task.apply(command, actor, now);
            check_views(&task, &Actor::Customer { owner: owner.clone() }, now);
        }
        check_views(&task, &Actor::operator("support"), now);
    }
}
