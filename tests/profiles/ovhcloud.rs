//! OVHcloud's domain tasks as OVHcloud writes them: its argument objects
//! (nulls, formats, sizes, fields, templates), the guide's contact and
//! document arguments end to end, a task in `problem` with its next
//! automatic restart, and listings by OVHcloud's status words on both
//! stores.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use taskstate::Pause;
use taskstate::profiles::ovh::{OvhArgument, OvhQueryError, OvhStatus, OvhTask, OvhTaskQuery};
use taskstate::store::{MemoryStore, PageRequest, Scope, TaskStore};
use taskstate::{
    Actor, ArgumentSpec, Command, Failure, IdGenerator, NamedKind, NewTask, Owner, Rejection,
    ResourceRef, Status, Task, TaskId,
};
use taskstate::{ArgumentHints, IdFormat, Problem};
use taskstate_sqlite::SqliteStore;

use crate::common::{accept, alice, t};

#[test]
fn ovhclouds_argument_objects_read_and_write_back_as_printed() {
    let text = include_str!("../fixtures/ovh_arguments.json");
    let printed: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
    let read: Vec<OvhArgument> = serde_json::from_str(text).unwrap();
    for (argument, printed) in read.iter().zip(&printed) {
        assert_eq!(&serde_json::to_value(argument).unwrap(), printed);
    }
    assert_eq!(read[0].accepted_values, None, "null, not an empty list");
    assert_eq!(read[1].kind, "/me/contact");
    assert_eq!(read[1].fields.as_ref().map(Vec::len), Some(4));
    assert_eq!(read[2].kind, "/me/document");
    assert_eq!(read[2].maximum_size, Some(10_485_760));
    assert_eq!(read[3].read_only, Some(true));
    assert!(read[4].template.as_deref().unwrap().contains("{trademark}"));
    assert_eq!(
        (read[4].description.as_ref(), read[4].read_only),
        (None, None)
    );
    // A field left out reads as null; a wrong type is a typed error.
    let mut sparse = printed[0].clone();
    sparse.as_object_mut().unwrap().remove("template");
    let sparse: OvhArgument = serde_json::from_value(sparse).unwrap();
    assert_eq!(sparse.template, None);
    let mut bad = printed[0].clone();
    bad["minimumSize"] = "ten".into();
    assert!(serde_json::from_value::<OvhArgument>(bad).is_err());
}

/// A DomainTrade whose new owner is a contact, and a DomainCreate whose
/// justification is a document, as the guide's arguments name them.
fn trade_kind() -> NamedKind {
    NamedKind::new("DomainTrade")
        .argument(
            ArgumentSpec::reference("newOwnerContact", "/me/contact", IdFormat::Number)
                .required()
                .describe("The contact that becomes the owner of the domain")
                .hints(ArgumentHints::new().fields(["address.city", "legalForm"])),
        )
        .argument(
            ArgumentSpec::reference("legitimacyDocument", "/me/document", IdFormat::Token)
                .describe("A document proving the right to the name")
                .hints(
                    ArgumentHints::new()
                        .formats(["jpg", "pdf", "png"])
                        .sizes(1, 10_485_760),
                ),
        )
}

fn trade() -> Task<NamedKind> {
    let new = NewTask::new(
        IdGenerator::seeded(9).next_id(t(0)),
        trade_kind(),
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    )
    .argument("newOwnerContact", "12345678");
    Task::create(new, alice(), t(0)).unwrap().0
}

#[test]
fn the_guides_contact_and_document_arguments_work_end_to_end() {
    let mut task = trade();
    // The new owner is not eligible: the customer must name another
    // contact and a document.
    let (run, _) = task.start(t(300), None, t(1)).unwrap();
    let failure = Failure::customer("INELIGIBLE_OWNER", "the new owner is not eligible", t(2))
        .flag("newOwnerContact")
        .flag("legitimacyDocument");
    run.fail(&mut task, failure, t(2)).unwrap();
    assert_eq!(
        task.fields_to_correct(),
        ["newOwnerContact", "legitimacyDocument"]
    );

    // GET …/argument/newOwnerContact and …/legitimacyDocument.
    let contact = OvhArgument::of(&task, "newOwnerContact").unwrap();
    let json = serde_json::to_value(&contact).unwrap();
    assert_eq!(json["type"], "/me/contact");
    assert_eq!(json["value"], "12345678");
    assert_eq!(
        json["fields"],
        serde_json::json!(["address.city", "legalForm"])
    );
    assert_eq!(json["acceptedFormats"], serde_json::Value::Null);
    let document = OvhArgument::of(&task, "legitimacyDocument").unwrap();
    let json = serde_json::to_value(&document).unwrap();
    assert_eq!(json["type"], "/me/document");
    assert_eq!(
        json["acceptedFormats"],
        serde_json::json!(["jpg", "pdf", "png"])
    );
    assert_eq!(json["maximumSize"], 10_485_760);
    assert_eq!(json["value"], serde_json::Value::Null);

    // PUT with ids of the wrong form: refused, naming the resource, and
    // the task is unchanged.
    for (key, bad, resource) in [
        ("newOwnerContact", "john.doe@example.fr", "/me/contact"),
        ("newOwnerContact", "007", "/me/contact"),
        ("legitimacyDocument", "../../etc/passwd", "/me/document"),
    ] {
        let rejection =
            crate::common::reject(&mut task, Command::set_argument(key, bad), alice(), t(10));
        let Rejection::InvalidArgument(error) = rejection else {
            panic!("{key}={bad}: {rejection:?}");
        };
        assert_eq!(
            error.problem,
            Problem::NotAnId {
                resource: resource.to_owned(),
                id: if key == "newOwnerContact" {
                    IdFormat::Number
                } else {
                    IdFormat::Token
                },
            }
        );
    }
    // As text, the way OVHcloud's API sends it.
    let spec = task.argument("newOwnerContact").unwrap().spec;
    let value = spec.parse("87654321").unwrap();
    accept(
        &mut task,
        Command::set_argument("newOwnerContact", value),
        alice(),
        t(11),
    );
    accept(
        &mut task,
        Command::set_argument("legitimacyDocument", "doc-2026-11-23.kbis"),
        alice(),
        t(12),
    );
    assert!(task.fields_to_correct().is_empty());
    let contact = OvhArgument::of(&task, "newOwnerContact").unwrap();
    assert_eq!(contact.value.as_deref(), Some("87654321"));
    // POST …/relaunch, and the run succeeds.
    accept(&mut task, Command::relaunch(), alice(), t(13));
    assert_eq!(task.status(), Status::Pending);
}

#[test]
fn a_task_in_problem_shows_its_next_automatic_restart_as_its_todo_date() {
    let mut task = trade();
    let (run, _) = task.start(t(300), None, t(1)).unwrap();
    run.fail(&mut task, crate::common::provider_failure(t(2)), t(2))
        .unwrap();
    let restart = task.next_retry_at().expect("a provider failure is retried");
    let view = OvhTask::of(&task, 987_654_321, &alice(), t(3));
    assert_eq!(view.status.value, OvhStatus::Problem);
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(
        json["todoDate"],
        restart
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
            .as_str()
    );
    assert_eq!(json["creationDate"], "2026-11-23T09:00:00+00:00");

    // OVHcloud's own document: read, the restart in canonical terms, and
    // written back byte for byte, offsets kept.
    let text = include_str!("../fixtures/ovh_task_problem.json");
    let read: OvhTask = serde_json::from_str(text).unwrap();
    let snapshot = read.to_mirrored().unwrap();
    assert_eq!(snapshot.status, Some(Status::Failed));
    assert_eq!(snapshot.failure_origin, Some(taskstate::Origin::Provider));
    assert_eq!(
        snapshot.todo_at.map(|at| at.to_rfc3339()),
        Some("2026-11-23T10:05:00+00:00".to_owned())
    );
    let written = serde_json::to_string(&read).unwrap();
    for time in [
        "\"2026-11-23T11:05:00+01:00\"",
        "\"2026-11-23T10:00:00+01:00\"",
        "\"2026-11-23T10:03:12+01:00\"",
    ] {
        assert!(written.contains(time), "{time} lost in {written}");
    }
    let printed: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(serde_json::to_value(&read).unwrap(), printed);
}

/// Inserts into `store`, and returns, tasks on example.fr in every state
/// OVHcloud folds into fewer words, and a provider's failure on another
/// domain; each saved with the events that made it.
fn tasks_in_every_state<S: TaskStore<NamedKind>>(store: &S) -> Vec<Task<NamedKind>> {
    let mut ids = IdGenerator::seeded(11);
    let states = [
        ("example.fr", "pending"),
        ("example.fr", "running"),
        ("example.fr", "waiting"),
        ("example.fr", "stalled"),
        ("example.fr", "error"),
        ("example.fr", "problem"),
        ("other.fr", "problem"),
    ];
    let mut out = Vec::new();
    for (domain, state) in states {
        let new = NewTask::new(
            ids.next_id(t(0)),
            NamedKind::new("DomainCreate"),
            Owner::new("alice"),
            ResourceRef::new("domain", domain),
        );
        let (mut task, created) = Task::create(new, alice(), t(0)).unwrap();
        store.insert(task.clone(), created).unwrap();
        if state == "pending" {
            out.push(task);
            continue;
        }
        let version = task.version();
        let (run, started) = task.start(t(300), None, t(1)).unwrap();
        let mut events = vec![started];
        match state {
            "waiting" => {
                let pause = Pause::until(t(200)).reason("waiting for the registry");
                events.push(run.wait(&mut task, pause, t(2)).unwrap());
            }
            "stalled" => {
                let stalled = task.apply(Command::MarkStalled, Actor::System, t(400));
                events.extend(stalled.unwrap());
            }
            "error" => {
                let failure = Failure::customer("AFNIC", "justify", t(2));
                events.push(run.fail(&mut task, failure, t(2)).unwrap());
            }
            "problem" => {
                let failure = crate::common::provider_failure(t(2));
                events.push(run.fail(&mut task, failure, t(2)).unwrap());
            }
            _ => {}
        }
        store.save(&task, version, &events).unwrap();
        out.push(task);
    }
    out
}

/// What `GET /me/task/domain` answers for `params`: the ids listed.
fn listed<S: TaskStore<NamedKind>>(store: &S, query: &OvhTaskQuery) -> Vec<TaskId> {
    let Some(filter) = query.filter().unwrap() else {
        return Vec::new();
    };
    let scope = Scope::Owner(Owner::new("alice"));
    let page = store
        .list(&scope, &filter, PageRequest::first(100))
        .unwrap();
    page.tasks.iter().map(Task::id).collect()
}

fn listings_by_ovhclouds_words_are_exact_on<S: TaskStore<NamedKind>>(store: &S) {
    let tasks = tasks_in_every_state(store);
    let words = ["todo", "doing", "done", "cancelled", "error", "problem"];
    for word in words {
        let query = OvhTaskQuery::me([("domain", "example.fr"), ("status", word)]).unwrap();
        let mut want: Vec<TaskId> = tasks
            .iter()
            .filter(|task| task.resource().id == "example.fr")
            .filter(|task| OvhStatus::of(task).as_str() == word)
            .map(Task::id)
            .collect();
        want.sort();
        let mut got = listed(store, &query);
        got.sort();
        assert_eq!(got, want, "status={word}");
        // The other path lists the same.
        let service = OvhTaskQuery::service("example.fr", [("status", word)]).unwrap();
        let mut same = listed(store, &service);
        same.sort();
        assert_eq!(same, want, "/domain/example.fr/task?status={word}");
    }
    // `doing` holds the waiting and stalled tasks OVHcloud shows as doing.
    let doing = OvhTaskQuery::me([("status", "doing")]).unwrap();
    assert_eq!(listed(store, &doing).len(), 3);
    // `problem` across domains: the provider's failures only.
    let problem = OvhTaskQuery::me([("status", "problem")]).unwrap();
    assert_eq!(listed(store, &problem).len(), 2);
    let by_function = OvhTaskQuery::me([("function", "DomainTrade")]).unwrap();
    assert!(listed(store, &by_function).is_empty());
}

#[test]
fn listings_by_ovhclouds_words_are_exact() {
    listings_by_ovhclouds_words_are_exact_on(&MemoryStore::new());
    let path = taskstate_sqlite::temp_path("ovh-words");
    {
        let store: SqliteStore<NamedKind> = SqliteStore::open(&path).unwrap();
        listings_by_ovhclouds_words_are_exact_on(&store);
    }
    taskstate_sqlite::remove_files(&path).unwrap();
}

#[test]
fn listing_queries_ovhcloud_would_refuse_are_typed_errors() {
    assert_eq!(
        OvhTaskQuery::me([("state", "doing")]),
        Err(OvhQueryError::UnknownParameter("state".into()))
    );
    assert_eq!(
        OvhTaskQuery::me([("status", "doing"), ("status", "todo")]),
        Err(OvhQueryError::Repeated("status".into()))
    );
    assert_eq!(
        OvhTaskQuery::me([("domain", "")]),
        Err(OvhQueryError::Empty("domain".into()))
    );
    assert!(matches!(
        OvhTaskQuery::me([("status", "paused")]),
        Err(OvhQueryError::UnknownStatus(_))
    ));
    assert_eq!(
        OvhTaskQuery::service("example.fr", [("domain", "other.fr")]),
        Err(OvhQueryError::UnknownParameter("domain".into()))
    );
    assert!(OvhTaskQuery::service("", [("status", "todo")]).is_err());
}
