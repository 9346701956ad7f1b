#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The SQLite store under real processes sharing one database file.
//!
//! * Three worker processes claim from one file (`work_once` in a loop,
//!   until no live task is left): every task ends done, each completed
//!   exactly once (by one process, with one start and one completion in
//!   its log), and every log replays to its record. The split of the
//!   tasks between the processes is printed (run with `--nocapture`),
//!   and each process completes at least a tenth of them.
//! * A process that claims batches, heartbeats and completes as fast as it
//!   can is killed with `SIGKILL` ([`std::process::Child::kill`]) after a
//!   delay, ten rounds with delays from 0 to 200 ms: after each kill the
//!   file passes `PRAGMA integrity_check`, every row reads, its indexed
//!   columns agree with its body, no event is left without its task,
//!   every record is what its log replays, and, once the clock is past the
//!   dead process's leases, the parent's own `work_once` recovers every
//!   task it left running, until every task is done with exactly one
//!   completion in its log. Odd rounds check through a parent connection
//!   that stayed open across the kill; even rounds close every connection
//!   of the parent first and check through a fresh open, which recovers
//!   the WAL the dead process left.
//!
//! # The children
//!
//! No mock: the test binary runs itself again
//! ([`std::env::current_exe`]) with `--ignored --exact child_process`,
//! and `TASKSTATE_CHILD` (the role), `TASKSTATE_DB` (the file) and
//! `TASKSTATE_NAME` (the worker's name) in its environment, and
//! `TASKSTATE_ROUND` for the process the second test kills. The
//! `child_process` test is ignored, and returns at once when
//! `TASKSTATE_CHILD` is not set, so a run of the ignored tests does
//! nothing with it. Each child opens the file with its own connection,
//! prints `@@ ready` once it has, and talks to the parent by lines that
//! start with `@@` on its stdout (libtest's own lines are left out); its
//! stderr is the parent's, so a child's panic shows in the parent's
//! output. A child ends once the parent closes its stdin, so none outlives
//! a parent that panicked or was killed. Every time is fixed ([`at`]), not the wall clock, so the parent
//! can move past the leases the children take.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration as Wait, Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};
use taskstate::store::{
    ClaimRequest, Claimed, Filter, HandlerReply, PageRequest, Scope, TaskStore, Worker, work_once,
};
use taskstate::{
    Action, Actor, Event, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, Status,
    StatusSet, Task, TaskId,
};
use taskstate_sqlite::{SqliteStore, insert_in, remove_files, temp_path};

/// The role of a child process; unset in the parent.
const ROLE: &str = "TASKSTATE_CHILD";
/// The database file a child opens.
const DB: &str = "TASKSTATE_DB";
/// The worker name a child claims under.
const NAME: &str = "TASKSTATE_NAME";
/// For a `churn` child: the round, which sets its clock ([`round_start`]).
const ROUND: &str = "TASKSTATE_ROUND";
/// The test the children run.
const ENTRY: &str = "child_process";
/// How long a child may run before the parent gives up on it.
const CHILD_DEADLINE: Wait = Wait::from_secs(60);

type Store = SqliteStore<NamedKind>;

/// A database file, removed with SQLite's side files when dropped (even
/// when the test fails).
struct TempDb(PathBuf);

impl TempDb {
    fn new(label: &str) -> TempDb {
        TempDb(temp_path(label))
    }

    fn open(&self) -> Store {
        SqliteStore::open(&self.0).unwrap()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        remove_files(&self.0).unwrap();
    }
}

/// The fixed clock: `seconds` after 2026-11-23 09:00 UTC.
fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap() + Duration::seconds(seconds)
}

/// Inserts `n` pending `DomainRenew` tasks created at `created`, each on
/// its own domain, in one transaction; returns their ids.
fn insert_tasks(
    store: &Store,
    ids: &mut IdGenerator,
    label: &str,
    n: usize,
    created: DateTime<Utc>,
) -> Vec<TaskId> {
    let fresh: Vec<(Task<NamedKind>, Event<NamedKind>)> = (0..n)
        .map(|i| {
            let new = NewTask::new(
                ids.next_id(created),
                NamedKind::new("DomainRenew"),
                Owner::new("acme"),
                ResourceRef::new("domain", format!("{label}-{i}.fr")),
            );
            Task::create(new, Actor::System, created).unwrap()
        })
        .collect();
    store
        .with_transaction(|tx| {
            for (task, created) in &fresh {
                insert_in(tx, task, created)?;
            }
            Ok::<_, taskstate::store::StoreError>(())
        })
        .unwrap();
    fresh.iter().map(|(task, _)| task.id()).collect()
}

/// Every task in the file, by pages; asserts every row reads.
fn every_task(store: &Store) -> Vec<Task<NamedKind>> {
    let mut tasks = Vec::new();
    let mut page = PageRequest::first(500);
    loop {
        let read = store.list(&Scope::Staff, &Filter::new(), page).unwrap();
        assert!(
            read.unreadable.is_empty(),
            "rows that do not read: {:?}",
            read.unreadable
        );
        tasks.extend(read.tasks);
        match read.next {
            Some(cursor) => page = PageRequest::after(cursor, 500),
            None => return tasks,
        }
    }
}

/// The whole log of task `id`.
fn log_of(store: &Store, id: TaskId) -> Vec<Event<NamedKind>> {
    let log = store.log(&Scope::Staff, id, 0, 1000).unwrap();
    assert!(log.len() < 1000, "{id}: a log longer than expected");
    log
}

fn count(log: &[Event<NamedKind>], action: Action) -> usize {
    log.iter().filter(|event| event.action() == action).count()
}

/// How many tasks are pending and how many running (at most 1000 each).
fn live(store: &Store) -> (usize, usize) {
    let count = |status| {
        let filter = Filter::new().statuses(StatusSet::of(&[status]));
        store
            .list(&Scope::Staff, &filter, PageRequest::first(1000))
            .unwrap()
            .tasks
            .len()
    };
    (count(Status::Pending), count(Status::Running))
}

// ---------------------------------------------------------------- children

/// The entry of every child process: does nothing unless the parent set
/// [`ROLE`].
#[test]
#[ignore = "a child process of the other tests, which run it themselves"]
fn child_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let path = PathBuf::from(std::env::var(DB).unwrap());
    let name = std::env::var(NAME).unwrap();
    match role.as_str() {
        "worker" => worker_child(&path, &name),
        "churn" => {
            let round: i64 = std::env::var(ROUND).unwrap().parse().unwrap();
            churn_child(&path, &name, round);
        }
        other => panic!("unknown child role {other:?}"),
    }
}

/// Says `@@ {line}` to the parent, flushed at once (the parent waits for
/// `ready`).
fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "@@ {line}").unwrap();
    stdout.flush().unwrap();
}

/// Ends this child once the parent closes its stdin (the parent holds it
/// until it has waited for or killed the child): a parent that dies or
/// panics leaves no child running.
fn exit_with_parent() {
    std::thread::spawn(|| {
        let mut rest = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut rest);
        std::process::exit(3);
    });
}

/// A worker of the first test: waits for the parent's go, then loops
/// `work_once` (completing every task it claims) until no task is live,
/// and prints the ids it completed.
fn worker_child(path: &Path, name: &str) {
    let store: Store = SqliteStore::open(path).unwrap();
    say("ready");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    assert_eq!(go.trim(), "go");
    exit_with_parent();
    let worker = Worker::new(name, Duration::minutes(5));
    let now = at(60);
    let mut completed: Vec<TaskId> = Vec::new();
    let (mut steps, mut idle_steps, mut missed) = (0_u64, 0_u64, 0_u64);
    loop {
        steps += 1;
        let mut handled = Vec::new();
        let report = work_once(&store, &worker, now, |task, _run| {
            handled.push(task.id());
            HandlerReply::Complete(Outcome::new().message(format!("renewed by {name}")))
        })
        .unwrap();
        assert!(report.unreadable.is_empty(), "{report:?}");
        assert_eq!(
            report.requeued + report.cancelled + report.retried,
            0,
            "{report:?}"
        );
        assert_eq!(report.recorded, report.claimed, "{report:?}");
        completed.extend(handled);
        if report.claimed == 0 {
            let (pending, running) = live(&store);
            if pending + running == 0 {
                break;
            }
            // Nothing to claim while tasks are pending: a claim that
            // missed due tasks (the parent fails on it).
            if pending > 0 {
                missed += 1;
            }
            idle_steps += 1;
            std::thread::sleep(Wait::from_millis(1));
        }
    }
    for id in &completed {
        say(&format!("done {id}"));
    }
    say(&format!("steps {steps} idle {idle_steps} missed {missed}"));
}

/// The clock of round `round` of the second test: its tasks are created
/// then, the child claims ten seconds later under one-minute leases, and
/// the parent recovers at 500 s, past every lease.
fn round_start(round: i64) -> DateTime<Utc> {
    at(1000 * round)
}

/// The process the second test kills: claims batches of 8 at its round's
/// clock, heartbeats each claimed task (a save with no event), and
/// completes four in five of them (a save with the completion), leaving
/// the fifth running under its lease; as fast as it can, until killed.
fn churn_child(path: &Path, name: &str, round: i64) {
    let store: Store = SqliteStore::open(path).unwrap();
    let now = round_start(round) + Duration::seconds(10);
    let request = ClaimRequest::new(now, now + Duration::minutes(1))
        .limit(8)
        .worker(name);
    exit_with_parent();
    say("ready");
    let mut n = 0_u64;
    let mut idle = false;
    loop {
        let claims = store.claim(&request).unwrap();
        assert!(claims.unreadable.is_empty(), "{:?}", claims.unreadable);
        if claims.claimed.is_empty() {
            if !idle {
                say("idle");
                idle = true;
            }
            std::thread::sleep(Wait::from_millis(5));
            continue;
        }
        for Claimed { mut task, run } in claims.claimed {
            n += 1;
            let expected = task.version();
            run.heartbeat(
                &mut task,
                now + Duration::minutes(2),
                Some(format!("step {n}")),
                now,
            )
            .unwrap();
            store.save(&task, expected, &[]).unwrap();
            if n.is_multiple_of(5) {
                continue;
            }
            let expected = task.version();
            let completed = run
                .complete(&mut task, Outcome::new(), now)
                .map_err(|refused| refused.rejection)
                .unwrap();
            store.save(&task, expected, &[completed]).unwrap();
        }
    }
}

// ------------------------------------------------------------------ parent

/// A child process of role `role` on the file at `path`, with `extra`
/// variables; stdin and stdout piped, stderr the parent's.
/// Retries while the executable is busy (`ETXTBSY`: the file was being
/// written as it was executed, as when another build in the same checkout
/// relinks it).
fn spawn(role: &str, path: &Path, name: &str, extra: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new(&exe);
    command
        .args([
            "--ignored",
            "--exact",
            ENTRY,
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(ROLE, role)
        .env(DB, path)
        .env(NAME, name)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (key, value) in extra {
        command.env(key, value);
    }
    let mut attempts = 0;
    loop {
        match command.spawn() {
            Ok(child) => return child,
            Err(error)
                if error.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 50 =>
            {
                attempts += 1;
                std::thread::sleep(Wait::from_millis(20));
            }
            Err(error) => panic!("cannot run {}: {error}", exe.display()),
        }
    }
}

/// Reads `reader` up to the child's `@@ ready`.
fn wait_ready(reader: &mut BufReader<ChildStdout>) {
    let mut line = String::new();
    loop {
        line.clear();
        let read = reader.read_line(&mut line).unwrap();
        assert!(read > 0, "the child ended before it was ready");
        if line.trim_end() == "@@ ready" {
            return;
        }
    }
}

/// The child's `@@` lines, without the prefix.
fn said(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("@@ "))
        .map(str::to_owned)
        .collect()
}

/// Waits for `child` to end, killing it (and failing) past
/// [`CHILD_DEADLINE`].
fn wait_for(child: &mut Child, started: Instant) -> ExitStatus {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > CHILD_DEADLINE {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("a child ran for more than {CHILD_DEADLINE:?}");
        }
        std::thread::sleep(Wait::from_millis(5));
    }
}

#[test]
fn three_processes_claim_from_one_file_and_each_task_runs_once() {
    const TASKS: usize = 600;
    const PROCESSES: usize = 3;
    let started = Instant::now();
    let db = TempDb::new("three-processes");
    let store = db.open();
    let mut ids = IdGenerator::seeded(7);
    let all: BTreeSet<TaskId> = insert_tasks(&store, &mut ids, "renew", TASKS, at(0))
        .into_iter()
        .collect();
    assert_eq!(all.len(), TASKS);

    let names: Vec<String> = (0..PROCESSES).map(|n| format!("worker-{n}")).collect();
    let mut children: Vec<Child> = Vec::new();
    let mut stdouts: Vec<BufReader<ChildStdout>> = Vec::new();
    for name in &names {
        let mut child = spawn("worker", &db.0, name, &[]);
        stdouts.push(BufReader::new(child.stdout.take().unwrap()));
        children.push(child);
    }
    // Every child has opened the file before any starts.
    for stdout in &mut stdouts {
        wait_ready(stdout);
    }
    let go = Instant::now();
    for child in &mut children {
        writeln!(child.stdin.as_mut().unwrap(), "go").unwrap();
    }
    let readers: Vec<_> = stdouts
        .into_iter()
        .map(|mut stdout| {
            std::thread::spawn(move || {
                let mut output = String::new();
                stdout.read_to_string(&mut output).unwrap();
                output
            })
        })
        .collect();
    for child in &mut children {
        let status = wait_for(child, go);
        assert!(status.success(), "a worker failed: {status}");
    }
    let ran_for = go.elapsed();
    let outputs: Vec<Vec<String>> = readers
        .into_iter()
        .map(|reader| said(&reader.join().unwrap()))
        .collect();

    // Who completed what: no task twice, none left out.
    let mut completed_by: BTreeMap<TaskId, &str> = BTreeMap::new();
    let mut split = Vec::new();
    for (name, lines) in names.iter().zip(&outputs) {
        let mut mine = 0;
        let mut steps = "";
        for line in lines {
            if let Some(id) = line.strip_prefix("done ") {
                let id: TaskId = id.parse().unwrap();
                if let Some(first) = completed_by.insert(id, name) {
                    panic!("task {id} completed by {first} and by {name}");
                }
                mine += 1;
            } else if let Some(rest) = line.strip_prefix("steps ") {
                steps = rest;
            }
        }
        // Tasks only go from pending to running to done here: a claim
        // that found nothing while one was pending missed it.
        assert!(
            steps.ends_with(" missed 0"),
            "{name}: claims that found nothing while tasks were pending ({steps})"
        );
        split.push(format!("{name}: {mine} tasks (steps {steps})"));
    }
    println!(
        "{TASKS} tasks, {PROCESSES} processes, {ran_for:?} from go: {}",
        split.join(", ")
    );
    let covered: BTreeSet<TaskId> = completed_by.keys().copied().collect();
    assert_eq!(covered, all, "tasks no process completed");
    // A fair share: the store's busy handler retries in short jittered
    // sleeps, so a process waiting for the lock is not starved by the one
    // that just committed (with SQLite's own handler, whose sleeps grow to
    // 100 ms, splits like 18/12/570 were seen; with this one, 143 was the
    // least of 27 shares measured over nine runs).
    for name in &names {
        let mine = completed_by.values().filter(|by| **by == name).count();
        assert!(
            mine >= TASKS / 10,
            "{name} completed {mine} of {TASKS} tasks: {}",
            split.join(", ")
        );
    }

    // The file agrees: each done, started and completed once, by the
    // process that said so, and its log replays to its record.
    let tasks = every_task(&store);
    assert_eq!(tasks.len(), TASKS);
    for task in &tasks {
        assert_eq!(task.status(), Status::Done, "{}", task.id());
        let log = log_of(&store, task.id());
        assert_eq!(
            log.iter().map(Event::action).collect::<Vec<_>>(),
            [Action::Create, Action::Start, Action::Complete],
            "{}",
            task.id()
        );
        task.check_log(&log).unwrap();
        let by = completed_by[&task.id()];
        let message = task
            .outcome()
            .and_then(|outcome| outcome.message.as_deref());
        assert_eq!(
            message,
            Some(format!("renewed by {by}").as_str()),
            "{}: the process that said it completed it is not the one its record names",
            task.id()
        );
    }
    println!("three processes: {:?} in all", started.elapsed());
}

/// The checks after a kill: the file's integrity, every row read, its
/// columns as its body says, no event without its task; and, for the
/// tasks created at `since` or later (older ones are settled, and a
/// round's checks have read their logs already), every record what its
/// log replays, as many starts as runs, no task completed twice. Returns
/// every task.
/// The rows whose `held` is not what the blocking rule says: pending
/// with a task in progress on the resource where either blocks.
const WRONGLY_HELD: &str = "SELECT count(*) FROM tasks AS t WHERE t.held !=
    (t.status = 'pending' AND EXISTS (SELECT 1 FROM tasks AS o
        WHERE o.status IN ('running', 'waiting', 'stalled')
          AND o.resource_kind = t.resource_kind AND o.resource_id = t.resource_id
          AND (t.blocking = 1 OR o.blocking = 1)))";

fn check_consistent(path: &Path, store: &Store, since: DateTime<Utc>) -> Vec<Task<NamedKind>> {
    let raw = rusqlite::Connection::open(path).unwrap();
    let integrity: Vec<String> = raw
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(integrity, ["ok"], "integrity_check");
    let orphans: i64 = raw
        .query_row(
            "SELECT count(*) FROM events WHERE task_id NOT IN (SELECT id FROM tasks)",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "events without their task");
    let wrongly_held: i64 = raw.query_row(WRONGLY_HELD, [], |row| row.get(0)).unwrap();
    assert_eq!(
        wrongly_held, 0,
        "rows whose `held` is not what the blocking rule says"
    );
    let columns: BTreeMap<String, (i64, String, Option<String>)> = raw
        .prepare("SELECT id, version, status, lease_until FROM tasks")
        .unwrap()
        .query_map([], |row| {
            Ok((row.get(0)?, (row.get(1)?, row.get(2)?, row.get(3)?)))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(raw);
    let tasks = every_task(store);
    assert_eq!(tasks.len(), columns.len(), "rows the listing left out");
    for task in &tasks {
        let (version, status, lease_until) = &columns[&task.id().to_string()];
        assert_eq!(
            (u64::try_from(*version).unwrap(), status.as_str()),
            (task.version(), task.status().as_str()),
            "{}: the columns disagree with the body",
            task.id()
        );
        assert_eq!(
            lease_until.is_some(),
            task.lease().is_some(),
            "{}: lease column {lease_until:?}, body {:?}",
            task.id(),
            task.lease()
        );
        if task.created_at() < since {
            continue;
        }
        let log = log_of(store, task.id());
        task.check_log(&log)
            .unwrap_or_else(|error| panic!("{}: {error}", task.id()));
        assert!(count(&log, Action::Complete) <= 1, "{}: {log:?}", task.id());
        assert_eq!(
            count(&log, Action::Start),
            usize::try_from(task.runs()).unwrap(),
            "{}",
            task.id()
        );
    }
    tasks
}

#[test]
fn a_process_killed_mid_claim_or_mid_save_leaves_the_file_consistent() {
    const PER_ROUND: usize = 250;
    // Milliseconds between the child's `ready` and its kill.
    const DELAYS: [u64; 10] = [0, 3, 7, 12, 20, 35, 60, 95, 140, 200];
    let started = Instant::now();
    let db = TempDb::new("killed");
    let mut ids = IdGenerator::seeded(11);
    let mut expected: BTreeSet<TaskId> = BTreeSet::new();
    let mut lines = Vec::new();
    // The version of every task settled in an earlier round.
    let mut settled: BTreeMap<TaskId, u64> = BTreeMap::new();
    // Rounds whose child had claimed something when it was killed.
    let mut interrupted = 0;
    for (round, delay) in (1_i64..).zip(DELAYS) {
        let start = round_start(round);
        let parent = db.open();
        expected.extend(insert_tasks(
            &parent,
            &mut ids,
            &format!("round{round}"),
            PER_ROUND,
            start,
        ));
        // Odd rounds keep this connection open across the kill (and check
        // through it); even ones close it, so that no connection is left
        // but the child's.
        let parent = (round % 2 == 1).then_some(parent);

        let name = format!("churn-{round}");
        let mut child = spawn("churn", &db.0, &name, &[(ROUND, round.to_string())]);
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        wait_ready(&mut stdout);
        std::thread::sleep(Wait::from_millis(delay));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let mut output = String::new();
        stdout.read_to_string(&mut output).unwrap();
        let said = said(&output);
        assert!(
            !status.success(),
            "round {round}: the child ended on its own: {status}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "round {round}: {status}");
        }
        // Consistent as the dead process left it: seen through the
        // connection that stayed open, or through a fresh one, which
        // recovers the WAL the dead process left.
        let store = parent.unwrap_or_else(|| db.open());
        let tasks = check_consistent(&db.0, &store, start);
        assert_eq!(
            tasks.iter().map(Task::id).collect::<BTreeSet<_>>(),
            expected,
            "round {round}: tasks lost or added"
        );
        let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
        for task in tasks.iter().filter(|task| task.created_at() >= start) {
            *statuses.entry(task.status().as_str()).or_default() += 1;
        }
        let left_running = statuses.get("running").copied().unwrap_or(0);
        if left_running + statuses.get("done").copied().unwrap_or(0) > 0 {
            interrupted += 1;
        }

        // Past the dead process's leases, the parent's own worker recovers
        // every task it left running, and runs the rest.
        let recover = start + Duration::seconds(500);
        let worker = Worker::new("recovery", Duration::minutes(5)).batch(64);
        let mut requeued = 0;
        loop {
            let report = work_once(&store, &worker, recover, |_, _| {
                HandlerReply::Complete(Outcome::new())
            })
            .unwrap();
            assert!(report.unreadable.is_empty(), "{report:?}");
            assert_eq!(report.refused, 0, "{report:?}");
            assert_eq!(report.cancelled + report.retried, 0, "{report:?}");
            requeued += report.requeued;
            if report.claimed == 0 && report.requeued == 0 {
                break;
            }
        }
        assert_eq!(
            requeued, left_running,
            "round {round}: every task left running, and only those, requeued"
        );
        let tasks = check_consistent(&db.0, &store, start);
        for task in &tasks {
            assert_eq!(task.status(), Status::Done, "{}", task.id());
            if task.created_at() >= start {
                let log = log_of(&store, task.id());
                assert_eq!(count(&log, Action::Complete), 1, "{}: {log:?}", task.id());
            }
        }
        // The dead process touched only its round's tasks.
        let now: BTreeMap<TaskId, u64> = tasks
            .iter()
            .map(|task| (task.id(), task.version()))
            .collect();
        for (id, version) in &settled {
            assert_eq!(
                now.get(id),
                Some(version),
                "{id}: a task of an earlier round moved"
            );
        }
        settled = now;
        lines.push(format!(
            "round {round}: killed {delay} ms after ready{}, left {statuses:?}, recovered {requeued}",
            if said.iter().any(|line| line == "idle") {
                " (it had run out of tasks)"
            } else {
                ""
            }
        ));
    }
    assert!(
        interrupted > 0,
        "no round killed the child after it had claimed anything: too slow a machine for {DELAYS:?}"
    );
    for line in &lines {
        println!("{line}");
    }
    println!("kills: {:?} in all", started.elapsed());
}
