//! Corrections, relaunches and failure classification, seen from outside
//! the crate: every argument problem reached through a task command, who
//! may edit a task's arguments and when, the kind's relaunch rules (budget,
//! corrections, operators only, provider failures, final failures, the
//! dedicated route of VMware's credential tasks), and how failure rules
//! reclassify what an executor reports.
//!
//! Every rejection goes through the `reject` helper, which checks that the
//! whole record is unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;

use taskstate::Problem;
use taskstate::{
    Action, Actor, ArgumentError, ArgumentSpec, ArgumentType, ArgumentValue, Arguments, CodeMatch,
    Command, Decision, Event, Failure, FailureRule, FollowUp, IdGenerator, NamedKind, NewTask,
    OnFailure, Origin, Owner, Rejection, RelaunchRefusal, RelaunchRules, ResourceRef, RetryPolicy,
    Role, RuleName, Rules, Run, Status, StatusSet, Task,
};

use crate::common::{Logged, accept, alice, bob, logged_of, mallory, provider_failure, reject, t};

type T = Task<NamedKind>;

/// Creates a task of `kind` for alice at `t(0)` with the given first
/// argument values, with its log.
fn create(kind: NamedKind, arguments: &[(&str, ArgumentValue)]) -> Result<Logged, Rejection> {
    let mut new = NewTask::new(
        IdGenerator::seeded(1).next_id(t(0)),
        kind,
        Owner::new("alice"),
        ResourceRef::new("domain", "example.fr"),
    );
    for (key, value) in arguments {
        new = new.argument(*key, value.clone());
    }
    Task::create(new, alice(), t(0)).map(Logged::new)
}

/// Starts `task` for an executor, logging the start.
fn start(task: &mut Logged, lease_until: DateTime<Utc>, now: DateTime<Utc>) -> Run {
    let (run, started) = task.task.start(lease_until, None, now).unwrap();
    task.push(started);
    run
}

/// Has `run` fail `task`, logging the failure.
fn fail(task: &mut Logged, run: Run, failure: Failure, now: DateTime<Utc>) {
    let failed = run.fail(&mut task.task, failure, now).unwrap();
    task.push(failed);
}

/// Starts `task` at `t(at)` and has its executor fail it at `t(at + 1)`.
fn fail_run(task: &mut Logged, failure: Failure, at: i64) {
    let (run, started) = task
        .task
        .start(t(at + 300), Some("worker-1".into()), t(at))
        .unwrap();
    task.push(started);
    fail(task, run, failure, t(at + 1));
    assert_eq!(task.task.status(), Status::Failed);
}

/// A customer-origin failure flagging `keys`.
fn customer_failure(at: i64, keys: &[&str]) -> Failure {
    keys.iter().fold(
        Failure::customer(
            "AUTH_CODE_INVALID",
            "the registry refused the auth code",
            t(at),
        ),
        |failure, key| failure.flag(*key),
    )
}

fn invalid(key: &str, problem: Problem) -> Rejection {
    Rejection::InvalidArgument(ArgumentError {
        key: key.to_owned(),
        problem,
    })
}

fn set(key: &str, value: Option<ArgumentValue>) -> Command<NamedKind> {
    Command::SetArgument {
        key: key.to_owned(),
        value,
    }
}

fn relaunch_with(values: &[(&str, ArgumentValue)]) -> Command<NamedKind> {
    Command::Relaunch {
        arguments: values
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone()))
            .collect(),
    }
}

fn previous(entries: &[(&str, Option<ArgumentValue>)]) -> Decision {
    Decision::Replaced {
        previous: entries
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone()))
            .collect(),
    }
}

fn cannot_relaunch(reason: RelaunchRefusal) -> Rejection {
    Rejection::CannotRelaunch { reason }
}

fn last_event(task: &Logged) -> &Event<NamedKind> {
    task.log.last().unwrap()
}

/// The log rebuilds the record.
fn replays(task: &Logged) {
    task.task.check_log(&task.log).unwrap();
    assert_eq!(T::replay(&task.log).unwrap(), task.task);
}

// ---------------------------------------------------------------------
// 1. Argument validation through task commands
// ---------------------------------------------------------------------

/// A kind with an argument of every type, a read-only one and a required
/// one.
fn every_type_kind() -> NamedKind {
    NamedKind::new("DomainCreate")
        .argument(ArgumentSpec::text("domain", 1, 255).read_only())
        .argument(ArgumentSpec::text("authCode", 4, 32).required())
        .argument(ArgumentSpec::text("legitimacyAfnic", 10, 2000))
        .argument(ArgumentSpec::one_of("use", ["personal", "business"]))
        .argument(ArgumentSpec::integer("duration", 1, 10))
        .argument(ArgumentSpec::new("owo", ArgumentType::Boolean))
        .argument(ArgumentSpec::new("birthDate", ArgumentType::Date))
        .argument(ArgumentSpec::new("contactEmail", ArgumentType::Email))
        .argument(ArgumentSpec::new("contactPhone", ArgumentType::Phone))
        .argument(ArgumentSpec::new("extra", ArgumentType::Json))
}

fn first_values() -> Vec<(&'static str, ArgumentValue)> {
    vec![("domain", "example.fr".into()), ("authCode", "0000".into())]
}

/// A task of [`every_type_kind`] that failed for the customer's
/// information, so that alice may edit its arguments.
fn failed_with_every_type() -> Logged {
    let mut task = create(every_type_kind(), &first_values()).unwrap();
    fail_run(&mut task, customer_failure(2, &["authCode"]), 1);
    task
}

fn date(y: i32, m: u32, d: u32) -> ArgumentValue {
    ArgumentValue::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn problem_name(problem: &Problem) -> &'static str {
    match problem {
        Problem::UnknownKey => "UnknownKey",
        Problem::ReadOnly => "ReadOnly",
        Problem::Required => "Required",
        Problem::WrongType { .. } => "WrongType",
        Problem::Unparsable { .. } => "Unparsable",
        Problem::TooShort { .. } => "TooShort",
        Problem::TooLong { .. } => "TooLong",
        Problem::BelowMinimum { .. } => "BelowMinimum",
        Problem::AboveMaximum { .. } => "AboveMaximum",
        Problem::NotAccepted { .. } => "NotAccepted",
        Problem::InvalidEmail => "InvalidEmail",
        Problem::InvalidPhone => "InvalidPhone",
        _ => "other",
    }
}

#[test]
fn every_argument_problem_is_reachable_through_set_argument_and_names_the_key() {
    let mut task = failed_with_every_type();
    let wrong = |expected, found| Problem::WrongType { expected, found };
    let cases: Vec<(&str, Option<ArgumentValue>, Problem)> = vec![
        ("nope", Some("x".into()), Problem::UnknownKey),
        ("nope", None, Problem::UnknownKey),
        ("domain", Some("example.com".into()), Problem::ReadOnly),
        ("domain", None, Problem::ReadOnly),
        ("authCode", None, Problem::Required),
        // A value of the wrong type, for every type.
        (
            "legitimacyAfnic",
            Some(ArgumentValue::Integer(3)),
            wrong("text", "integer"),
        ),
        ("use", Some(true.into()), wrong("one_of", "boolean")),
        ("duration", Some("3".into()), wrong("integer", "text")),
        ("owo", Some("true".into()), wrong("boolean", "text")),
        (
            "birthDate",
            Some("2000-01-01".into()),
            wrong("date", "text"),
        ),
        (
            "contactEmail",
            Some(json!("a@example.fr").into()),
            wrong("email", "json"),
        ),
        (
            "contactPhone",
            Some(ArgumentValue::Integer(33_123_456_789)),
            wrong("phone", "integer"),
        ),
        ("extra", Some("{}".into()), wrong("json", "text")),
        ("extra", Some(date(2026, 1, 1)), wrong("json", "date")),
        // Bounds.
        (
            "legitimacyAfnic",
            Some("short".into()),
            Problem::TooShort { min: 10 },
        ),
        ("authCode", Some("abc".into()), Problem::TooShort { min: 4 }),
        (
            "legitimacyAfnic",
            Some("x".repeat(2001).into()),
            Problem::TooLong { max: 2000 },
        ),
        ("duration", Some(0.into()), Problem::BelowMinimum { min: 1 }),
        (
            "duration",
            Some(11.into()),
            Problem::AboveMaximum { max: 10 },
        ),
        (
            "use",
            Some("Personal".into()),
            Problem::NotAccepted {
                accepted: vec!["personal".into(), "business".into()],
            },
        ),
        (
            "contactEmail",
            Some("alice at example.fr".into()),
            Problem::InvalidEmail,
        ),
        (
            "contactPhone",
            Some("0123456789".into()),
            Problem::InvalidPhone,
        ),
    ];
    let mut seen = BTreeSet::new();
    for (i, (key, value, problem)) in cases.into_iter().enumerate() {
        seen.insert(problem_name(&problem));
        let rejection = reject(
            &mut task.task,
            set(key, value.clone()),
            alice(),
            t(10 + i as i64),
        );
        assert_eq!(rejection, invalid(key, problem), "{key} = {value:?}");
    }
    let expected: BTreeSet<_> = [
        "UnknownKey",
        "ReadOnly",
        "Required",
        "WrongType",
        "TooShort",
        "TooLong",
        "BelowMinimum",
        "AboveMaximum",
        "NotAccepted",
        "InvalidEmail",
        "InvalidPhone",
    ]
    .into_iter()
    .collect();
    assert_eq!(seen, expected);
    // Nothing was recorded by all those refusals.
    assert_eq!(task.task.version(), 3);

    // The same keys take valid values, at their bounds.
    let valid: Vec<(&str, ArgumentValue)> = vec![
        ("authCode", "abcd".into()),
        ("legitimacyAfnic", "I am mayor".into()),
        ("legitimacyAfnic", "x".repeat(2000).into()),
        ("use", "business".into()),
        ("duration", 1.into()),
        ("duration", 10.into()),
        ("owo", false.into()),
        ("birthDate", date(2000, 1, 1)),
        ("contactEmail", "alice@example.fr".into()),
        ("contactPhone", "+33.123456789".into()),
        ("extra", json!({"ns": ["ns1.example.fr"]}).into()),
    ];
    for (i, (key, value)) in valid.into_iter().enumerate() {
        accept(
            &mut task,
            Command::set_argument(key, value.clone()),
            alice(),
            t(100 + i as i64),
        );
        assert_eq!(task.task.arguments().get(key), Some(&value));
    }
    replays(&task);
}

#[test]
fn argument_errors_read_as_the_key_and_the_problem() {
    let mut task = failed_with_every_type();
    let rejection = reject(
        &mut task.task,
        Command::set_argument("legitimacyAfnic", "short"),
        alice(),
        t(10),
    );
    assert_eq!(
        rejection.to_string(),
        "argument legitimacyAfnic: shorter than 10 characters"
    );
    let rejection = reject(&mut task.task, set("authCode", None), alice(), t(11));
    assert_eq!(rejection.to_string(), "argument authCode: required");
    let rejection = reject(
        &mut task.task,
        Command::set_argument("nope", 1),
        alice(),
        t(12),
    );
    assert_eq!(
        rejection.to_string(),
        "argument nope: not an argument of this kind"
    );
    // The argument error itself carries the key and the problem.
    let Rejection::InvalidArgument(error) = rejection else {
        panic!("expected an argument error");
    };
    assert_eq!(error.key, "nope");
    assert_eq!(error.problem, Problem::UnknownKey);
}

#[test]
fn unparsable_text_is_refused_only_by_parse() {
    let unparsable = |spec: &ArgumentSpec, text: &str| {
        let error = spec.parse(text).unwrap_err();
        assert_eq!(error.key, spec.key);
        error.problem
    };
    let duration = ArgumentSpec::integer("duration", 1, 10);
    assert_eq!(
        unparsable(&duration, "two"),
        Problem::Unparsable {
            expected: "integer"
        }
    );
    assert_eq!(
        duration.parse("two").unwrap_err().to_string(),
        "argument duration: does not read as a value of type integer"
    );
    // Text that reads is then checked against the bounds.
    assert_eq!(
        unparsable(&duration, "42"),
        Problem::AboveMaximum { max: 10 }
    );
    assert_eq!(duration.parse(" 7 ").unwrap(), ArgumentValue::Integer(7));

    let owo = ArgumentSpec::new("owo", ArgumentType::Boolean);
    assert_eq!(
        unparsable(&owo, "yes"),
        Problem::Unparsable {
            expected: "boolean"
        }
    );
    let birth = ArgumentSpec::new("birthDate", ArgumentType::Date);
    assert_eq!(
        unparsable(&birth, "23/11/2026"),
        Problem::Unparsable { expected: "date" }
    );
    assert_eq!(birth.parse("2026-11-23").unwrap(), date(2026, 11, 23));
    let extra = ArgumentSpec::new("extra", ArgumentType::Json);
    assert_eq!(
        unparsable(&extra, "{\"ns\": "),
        Problem::Unparsable { expected: "json" }
    );
    assert_eq!(
        extra.parse(r#"{"ns": [1]}"#).unwrap(),
        ArgumentValue::Json(json!({"ns": [1]}))
    );

    // Text types always read; their problems are the check's.
    let email = ArgumentSpec::new("contactEmail", ArgumentType::Email);
    assert_eq!(unparsable(&email, "nope"), Problem::InvalidEmail);
    let afnic = ArgumentSpec::text("legitimacyAfnic", 10, 2000);
    assert_eq!(unparsable(&afnic, "short"), Problem::TooShort { min: 10 });
}

#[test]
fn create_refuses_unknown_keys_bad_values_and_missing_required_arguments() {
    let mut unknown = first_values();
    unknown.push(("nope", "x".into()));
    assert_eq!(
        create(every_type_kind(), &unknown).unwrap_err(),
        invalid("nope", Problem::UnknownKey)
    );

    let mut bad = first_values();
    bad.push(("duration", 0.into()));
    assert_eq!(
        create(every_type_kind(), &bad).unwrap_err(),
        invalid("duration", Problem::BelowMinimum { min: 1 })
    );

    let mut wrong_type = first_values();
    wrong_type.push(("contactPhone", true.into()));
    assert_eq!(
        create(every_type_kind(), &wrong_type).unwrap_err(),
        invalid(
            "contactPhone",
            Problem::WrongType {
                expected: "phone",
                found: "boolean"
            }
        )
    );

    let missing = [("domain", ArgumentValue::from("example.fr"))];
    let rejection = create(every_type_kind(), &missing).unwrap_err();
    assert_eq!(rejection, invalid("authCode", Problem::Required));
    assert_eq!(rejection.to_string(), "argument authCode: required");

    // A read-only argument takes its first value at creation.
    let task = create(every_type_kind(), &first_values()).unwrap();
    assert_eq!(
        task.task.arguments().get("domain"),
        Some(&ArgumentValue::from("example.fr"))
    );
}

// ---------------------------------------------------------------------
// 2. Who may edit, and when
// ---------------------------------------------------------------------

fn auth_code_kind(rules: Rules) -> NamedKind {
    NamedKind::with_rules("DomainTransfer", rules)
        .argument(ArgumentSpec::text("domain", 1, 255).read_only())
        .argument(ArgumentSpec::text("authCode", 4, 32).required())
        .argument(ArgumentSpec::text("note", 0, 20))
}

fn auth_code_task(rules: Rules) -> Logged {
    create(
        auth_code_kind(rules),
        &[("domain", "example.fr".into()), ("authCode", "0000".into())],
    )
    .unwrap()
}

#[test]
fn editing_is_refused_while_running() {
    let mut task = auth_code_task(Rules::new());
    let run = start(&mut task, t(300), t(1));
    for actor in [alice(), bob()] {
        let rejection = reject(
            &mut task.task,
            Command::set_argument("authCode", "s3cr3t"),
            actor.clone(),
            t(2),
        );
        let Rejection::IllegalMove {
            status,
            action,
            legal,
        } = rejection
        else {
            panic!("expected an illegal move, got {rejection:?}");
        };
        assert_eq!((status, action), (Status::Running, Action::SetArgument));
        assert!(!legal.contains(&Action::SetArgument));
        assert!(!task.task.can_edit("authCode", &actor, t(2)));
        assert!(!task.task.can_edit("note", &actor, t(2)));
    }
    fail(&mut task, run, customer_failure(3, &["authCode"]), t(3));
    assert!(task.task.can_edit("authCode", &alice(), t(4)));
}

#[test]
fn a_provider_failure_is_corrected_by_an_operator_not_by_the_customer() {
    let mut task = auth_code_task(Rules::new());
    fail_run(&mut task, provider_failure(t(2)), 1);
    let rejection = reject(
        &mut task.task,
        Command::set_argument("authCode", "s3cr3t"),
        alice(),
        t(3),
    );
    assert_eq!(
        rejection,
        Rejection::CannotCorrect {
            reason: RelaunchRefusal::ProviderFailure
        }
    );
    assert!(!task.task.can_edit("authCode", &alice(), t(3)));
    assert!(task.task.can_edit("authCode", &bob(), t(3)));

    accept(
        &mut task,
        Command::set_argument("authCode", "s3cr3t"),
        bob(),
        t(4),
    );
    let event = last_event(&task);
    assert_eq!(event.actor, bob());
    assert_eq!(
        event.effect.as_deref(),
        Some(&previous(&[("authCode", Some("0000".into()))]))
    );
    assert_eq!(
        task.task.arguments().get("authCode"),
        Some(&ArgumentValue::from("s3cr3t"))
    );
    assert_eq!(task.task.status(), Status::Failed);
    replays(&task);
}

#[test]
fn the_edit_rule_decides_the_statuses() {
    // Editable while pending only.
    let rules = Rules::new().edit(StatusSet::of(&[Status::Pending]));
    let mut task = auth_code_task(rules);
    assert!(task.task.can_edit("note", &alice(), t(1)));
    accept(
        &mut task,
        Command::set_argument("note", "first try"),
        alice(),
        t(1),
    );
    assert_eq!(task.task.status(), Status::Pending);
    assert_eq!(
        last_event(&task).effect.as_deref(),
        Some(&previous(&[("note", None)]))
    );

    fail_run(&mut task, customer_failure(3, &["authCode"]), 2);
    for actor in [alice(), bob()] {
        let rejection = reject(
            &mut task.task,
            Command::set_argument("authCode", "s3cr3t"),
            actor.clone(),
            t(5),
        );
        assert_eq!(
            rejection,
            Rejection::RefusedByRule {
                kind: "DomainTransfer".into(),
                rule: RuleName::Edit,
                action: Action::SetArgument,
                status: Status::Failed,
                role: actor.role(),
            }
        );
        assert!(!task.task.can_edit("authCode", &actor, t(5)));
    }

    // The standard rules: failed only, so a pending task is not editable.
    let mut standard = auth_code_task(Rules::new());
    let rejection = reject(
        &mut standard.task,
        Command::set_argument("note", "x"),
        alice(),
        t(1),
    );
    assert!(matches!(
        rejection,
        Rejection::RefusedByRule {
            rule: RuleName::Edit,
            status: Status::Pending,
            role: Role::Customer,
            ..
        }
    ));
    assert!(!standard.task.can_edit("note", &alice(), t(1)));
}

#[test]
fn another_customer_cannot_edit() {
    let mut task = auth_code_task(Rules::new());
    fail_run(&mut task, customer_failure(2, &["authCode"]), 1);
    let rejection = reject(
        &mut task.task,
        Command::set_argument("authCode", "s3cr3t"),
        mallory(),
        t(3),
    );
    assert_eq!(
        rejection,
        Rejection::NotOwner {
            actor: "mallory".into(),
            action: Action::SetArgument,
        }
    );
    assert!(!task.task.can_edit("authCode", &mallory(), t(3)));
    assert!(task.task.can_edit("authCode", &alice(), t(3)));
}

#[test]
fn can_edit_agrees_with_set_argument_key_by_key() {
    let mut task = auth_code_task(Rules::new());
    fail_run(&mut task, customer_failure(2, &["authCode"]), 1);
    // Required: clearing is refused, but setting is an edit alice may make.
    assert!(task.task.can_edit("authCode", &alice(), t(3)));
    assert_eq!(
        reject(&mut task.task, set("authCode", None), alice(), t(3)),
        invalid("authCode", Problem::Required)
    );
    // Read-only and unknown: no edit at all.
    assert!(!task.task.can_edit("domain", &alice(), t(3)));
    assert!(!task.task.can_edit("domain", &bob(), t(3)));
    assert_eq!(
        reject(
            &mut task.task,
            Command::set_argument("domain", "example.com"),
            bob(),
            t(3)
        ),
        invalid("domain", Problem::ReadOnly)
    );
    assert!(!task.task.can_edit("nope", &alice(), t(3)));
    assert_eq!(
        reject(
            &mut task.task,
            Command::set_argument("nope", "x"),
            alice(),
            t(3)
        ),
        invalid("nope", Problem::UnknownKey)
    );
    // Optional: both setting and clearing are accepted.
    assert!(task.task.can_edit("note", &alice(), t(3)));
    accept(
        &mut task,
        Command::set_argument("authCode", "s3cr3t"),
        alice(),
        t(4),
    );
    accept(
        &mut task,
        Command::set_argument("note", "renewed"),
        alice(),
        t(5),
    );
    accept(&mut task, set("note", None), bob(), t(6));
    assert!(!task.task.arguments().contains_key("note"));
}

#[test]
fn every_accepted_edit_records_the_value_it_replaced_and_who_made_it() {
    let mut task = auth_code_task(Rules::new());
    fail_run(&mut task, customer_failure(2, &["authCode"]), 1);
    let edits: Vec<(Command<NamedKind>, Actor, Decision)> = vec![
        (
            Command::set_argument("note", "first"),
            alice(),
            previous(&[("note", None)]),
        ),
        (
            Command::set_argument("note", "second"),
            bob(),
            previous(&[("note", Some("first".into()))]),
        ),
        (
            set("note", None),
            alice(),
            previous(&[("note", Some("second".into()))]),
        ),
        (
            Command::set_argument("authCode", "s3cr3t"),
            alice(),
            previous(&[("authCode", Some("0000".into()))]),
        ),
    ];
    for (i, (command, actor, effect)) in edits.into_iter().enumerate() {
        let at = t(10 + i as i64);
        let version = task.task.version();
        accept(&mut task, command.clone(), actor.clone(), at);
        let event = last_event(&task);
        assert_eq!(event.version, version + 1);
        assert_eq!(event.command, command);
        assert_eq!(event.actor, actor);
        assert_eq!(event.at, at);
        assert_eq!(
            (event.from, event.to),
            (Some(Status::Failed), Status::Failed)
        );
        assert_eq!(event.effect.as_deref(), Some(&effect));
    }
    assert_eq!(task.task.fields_to_correct(), Vec::<&str>::new());
    replays(&task);
}

// ---------------------------------------------------------------------
// 3. Relaunch rules
// ---------------------------------------------------------------------

#[test]
fn the_customer_budget_is_spent_but_operators_relaunch_without_one() {
    let mut task = logged_of(NamedKind::with_rules(
        "DomainCreate",
        Rules::new().relaunch(RelaunchRules::STANDARD.max(1)),
    ));
    fail_run(&mut task, customer_failure(2, &[]), 1);
    assert!(task.task.can_relaunch(&alice(), t(3)));
    accept(&mut task, Command::relaunch(), alice(), t(3));
    assert_eq!(task.task.relaunches(), 1);

    fail_run(&mut task, customer_failure(5, &[]), 4);
    let spent = cannot_relaunch(RelaunchRefusal::BudgetSpent { used: 1, max: 1 });
    assert_eq!(
        reject(&mut task.task, Command::relaunch(), alice(), t(6)),
        spent
    );
    assert_eq!(
        spent.to_string(),
        "cannot relaunch: the relaunches allowed (1) are spent"
    );
    assert!(!task.task.can_relaunch(&alice(), t(6)));
    assert_eq!(
        task.task.relaunch_rejection(&alice(), t(6)),
        Some(spent.clone())
    );
    // With the budget spent, the customer cannot correct either.
    assert_eq!(
        reject(
            &mut task.task,
            Command::set_argument("x", "y"),
            alice(),
            t(6)
        ),
        Rejection::CannotCorrect {
            reason: RelaunchRefusal::BudgetSpent { used: 1, max: 1 }
        }
    );

    assert!(task.task.can_relaunch(&bob(), t(6)));
    assert_eq!(task.task.relaunch_rejection(&bob(), t(6)), None);
    accept(&mut task, Command::relaunch(), bob(), t(7));
    assert_eq!(task.task.status(), Status::Pending);
    assert_eq!(
        task.task.relaunches(),
        1,
        "operator relaunches do not count"
    );
    assert_eq!(last_event(&task).actor, bob());

    fail_run(&mut task, customer_failure(9, &[]), 8);
    assert_eq!(
        reject(&mut task.task, Command::relaunch(), alice(), t(10)),
        spent
    );
    accept(&mut task, Command::relaunch(), bob(), t(11));
    assert_eq!(task.task.relaunches(), 1);
    replays(&task);
}

fn two_flags_kind(relaunch: RelaunchRules) -> NamedKind {
    NamedKind::with_rules("DomainCreate", Rules::new().relaunch(relaunch))
        .argument(ArgumentSpec::text("authCode", 4, 32))
        .argument(ArgumentSpec::text("legitimacyAfnic", 10, 2000))
}

#[test]
fn flagged_arguments_must_be_corrected_before_a_relaunch() {
    let mut task = logged_of(two_flags_kind(RelaunchRules::STANDARD));
    fail_run(
        &mut task,
        customer_failure(2, &["authCode", "legitimacyAfnic"]),
        1,
    );
    assert_eq!(
        task.task.fields_to_correct(),
        ["authCode", "legitimacyAfnic"]
    );
    assert_eq!(
        reject(&mut task.task, Command::relaunch(), alice(), t(3)),
        cannot_relaunch(RelaunchRefusal::Uncorrected {
            keys: vec!["authCode".into(), "legitimacyAfnic".into()]
        })
    );
    accept(
        &mut task,
        Command::set_argument("authCode", "s3cr3t"),
        alice(),
        t(4),
    );
    assert_eq!(task.task.fields_to_correct(), ["legitimacyAfnic"]);
    let uncorrected = cannot_relaunch(RelaunchRefusal::Uncorrected {
        keys: vec!["legitimacyAfnic".into()],
    });
    assert_eq!(
        reject(&mut task.task, Command::relaunch(), alice(), t(5)),
        uncorrected
    );
    assert_eq!(
        uncorrected.to_string(),
        "cannot relaunch: correct legitimacyAfnic first"
    );
    // Carrying a correction of another key does not help.
    assert_eq!(
        reject(
            &mut task.task,
            relaunch_with(&[("authCode", "0th3r".into())]),
            alice(),
            t(5)
        ),
        uncorrected
    );
    assert!(!task.task.can_relaunch(&alice(), t(5)));
    accept(
        &mut task,
        Command::set_argument("legitimacyAfnic", "I am the mayor of this town"),
        alice(),
        t(6),
    );
    assert!(task.task.fields_to_correct().is_empty());
    assert!(task.task.can_relaunch(&alice(), t(7)));
    accept(&mut task, Command::relaunch(), alice(), t(7));
    assert_eq!(task.task.status(), Status::Pending);
    replays(&task);
}

#[test]
fn a_relaunch_carrying_the_corrections_is_accepted_at_once() {
    let mut task = logged_of(two_flags_kind(RelaunchRules::STANDARD));
    // The standard rules allow no edit while pending: the values come
    // from the relaunch alone.
    assert!(task.task.arguments().is_empty());
    assert!(!task.task.can_edit("authCode", &alice(), t(0)));
    fail_run(
        &mut task,
        customer_failure(2, &["authCode", "legitimacyAfnic"]),
        1,
    );
    assert_eq!(task.task.attempts(), 1);
    assert_eq!(task.task.done_at(), Some(t(2)));
    assert!(task.task.failure().is_some());
    let legitimacy = ArgumentValue::from("I am the mayor of this town");
    accept(
        &mut task,
        relaunch_with(&[
            ("authCode", "s3cr3t".into()),
            ("legitimacyAfnic", legitimacy.clone()),
        ]),
        alice(),
        t(3),
    );
    assert_eq!(
        last_event(&task).effect.as_deref(),
        Some(&previous(&[("authCode", None), ("legitimacyAfnic", None)]))
    );
    // The state after a relaunch.
    assert_eq!(task.task.status(), Status::Pending);
    assert_eq!(task.task.attempts(), 0);
    assert_eq!(task.task.failure(), None);
    assert_eq!(task.task.follow_up(), None);
    assert_eq!(task.task.done_at(), None);
    assert_eq!(task.task.comment(), None);
    assert_eq!(task.task.relaunches(), 1);
    let expected: Arguments = BTreeMap::from([
        ("authCode".to_owned(), ArgumentValue::from("s3cr3t")),
        ("legitimacyAfnic".to_owned(), legitimacy),
    ]);
    assert_eq!(task.task.arguments(), &expected);
    replays(&task);
}

#[test]
fn without_corrections_a_flagged_task_relaunches_uncorrected() {
    let mut task = logged_of(two_flags_kind(
        RelaunchRules::STANDARD.without_corrections(),
    ));
    fail_run(&mut task, customer_failure(2, &["authCode"]), 1);
    assert_eq!(task.task.fields_to_correct(), ["authCode"]);
    assert!(task.task.can_relaunch(&alice(), t(3)));
    accept(&mut task, Command::relaunch(), alice(), t(3));
    assert_eq!(task.task.status(), Status::Pending);
    assert!(task.task.arguments().is_empty());
}

#[test]
fn operators_only_refuses_customers() {
    let mut task = logged_of(two_flags_kind(RelaunchRules::OPERATORS_ONLY));
    fail_run(&mut task, customer_failure(2, &["authCode"]), 1);
    assert_eq!(
        reject(&mut task.task, Command::relaunch(), alice(), t(3)),
        cannot_relaunch(RelaunchRefusal::OperatorsOnly)
    );
    // Corrections do not change that, and editing is refused for the same
    // reason.
    assert_eq!(
        reject(
            &mut task.task,
            relaunch_with(&[("authCode", "s3cr3t".into())]),
            alice(),
            t(3)
        ),
        cannot_relaunch(RelaunchRefusal::OperatorsOnly)
    );
    assert_eq!(
        reject(
            &mut task.task,
            Command::set_argument("authCode", "s3cr3t"),
            alice(),
            t(3)
        ),
        Rejection::CannotCorrect {
            reason: RelaunchRefusal::OperatorsOnly
        }
    );
    accept(&mut task, Command::relaunch(), bob(), t(4));
    assert_eq!(task.task.status(), Status::Pending);
    assert_eq!(task.task.relaunches(), 0);
}

#[test]
fn provider_failures_are_relaunched_by_customers_only_when_the_kind_says_so() {
    let mut standard = logged_of(NamedKind::new("HostCommission"));
    fail_run(&mut standard, provider_failure(t(2)), 1);
    assert!(matches!(
        standard.task.follow_up(),
        Some(FollowUp::Retry { .. })
    ));
    assert_eq!(
        reject(&mut standard.task, Command::relaunch(), alice(), t(3)),
        cannot_relaunch(RelaunchRefusal::ProviderFailure)
    );

    let mut vmware = logged_of(NamedKind::with_rules(
        "HostCommission",
        Rules::new().relaunch(RelaunchRules::STANDARD.provider_failures()),
    ));
    fail_run(&mut vmware, provider_failure(t(2)), 1);
    assert_eq!(vmware.task.attempts(), 1);
    assert!(vmware.task.can_relaunch(&alice(), t(3)));
    accept(&mut vmware, Command::relaunch(), alice(), t(3));
    assert_eq!(vmware.task.status(), Status::Pending);
    assert_eq!(vmware.task.attempts(), 0);
    assert_eq!(vmware.task.relaunches(), 1);
}

#[test]
fn a_final_failure_refuses_the_customer() {
    let mut kind = two_flags_kind(RelaunchRules::STANDARD);
    kind.rules = kind.rules.failures(vec![FailureRule::exact(
        "QUOTA_EXCEEDED",
        Origin::Customer,
        OnFailure::Final,
    )]);
    let mut task = logged_of(kind);
    let failure = Failure::customer("QUOTA_EXCEEDED", "too many domains", t(2)).flag("authCode");
    fail_run(&mut task, failure, 1);
    assert_eq!(task.task.follow_up(), Some(FollowUp::Final));
    assert_eq!(
        reject(
            &mut task.task,
            relaunch_with(&[("authCode", "s3cr3t".into())]),
            alice(),
            t(3)
        ),
        cannot_relaunch(RelaunchRefusal::Final)
    );
    assert_eq!(
        task.task.relaunch_rejection(&alice(), t(3)),
        Some(cannot_relaunch(RelaunchRefusal::Final))
    );
    assert_eq!(
        reject(
            &mut task.task,
            Command::set_argument("authCode", "s3cr3t"),
            alice(),
            t(3)
        ),
        Rejection::CannotCorrect {
            reason: RelaunchRefusal::Final
        }
    );
    // No retry is scheduled either.
    assert!(matches!(
        reject(&mut task.task, Command::Retry, Actor::System, t(10_000)),
        Rejection::NoRetryScheduled {
            follow_up: Some(FollowUp::Final)
        }
    ));
    accept(&mut task, Command::relaunch(), bob(), t(4));
    assert_eq!(task.task.status(), Status::Pending);
}

// ---------------------------------------------------------------------
// 4. The dedicated route of VMware's credential tasks
// ---------------------------------------------------------------------

const CREDENTIALS_ROUTE: &str =
    "credential tasks are retried through the credentials route with a new spec";

fn credentials_task() -> Logged {
    let kind = NamedKind::with_rules(
        "HostCredentialsUpdate",
        Rules::new().relaunch(RelaunchRules::dedicated_route(CREDENTIALS_ROUTE)),
    )
    .argument(ArgumentSpec::new("credentials", ArgumentType::Json).required())
    .argument(ArgumentSpec::text("username", 1, 32));
    let mut task = create(
        kind,
        &[
            ("credentials", json!({"ssh_key": "old"}).into()),
            ("username", "root".into()),
        ],
    )
    .unwrap();
    let failure =
        Failure::customer("SSH_AUTH_FAILED", "the host refused the key", t(2)).flag("credentials");
    fail_run(&mut task, failure, 1);
    task
}

#[test]
fn the_generic_relaunch_is_refused_with_the_kinds_reason() {
    let mut task = credentials_task();
    let refusal = cannot_relaunch(RelaunchRefusal::DedicatedRoute {
        reason: CREDENTIALS_ROUTE.into(),
    });
    for actor in [alice(), bob()] {
        assert_eq!(
            reject(&mut task.task, Command::relaunch(), actor.clone(), t(3)),
            refusal
        );
        assert!(!task.task.can_relaunch(&actor, t(3)));
    }
    assert_eq!(
        refusal.to_string(),
        format!("cannot relaunch: {CREDENTIALS_ROUTE}")
    );
    // Correcting first does not open the generic route either.
    accept(
        &mut task,
        Command::set_argument("credentials", json!({"ssh_key": "new"})),
        alice(),
        t(4),
    );
    assert_eq!(
        reject(&mut task.task, Command::relaunch(), alice(), t(5)),
        refusal
    );
}

#[test]
fn a_relaunch_carrying_a_new_credentials_spec_is_accepted() {
    let mut task = credentials_task();
    let spec = json!({"ssh_key": "new", "port": 2222});
    accept(
        &mut task,
        relaunch_with(&[("credentials", spec.clone().into())]),
        alice(),
        t(3),
    );
    assert_eq!(task.task.status(), Status::Pending);
    assert_eq!(
        task.task.arguments().get("credentials"),
        Some(&ArgumentValue::Json(spec))
    );
    assert_eq!(
        task.task.arguments().get("username"),
        Some(&ArgumentValue::from("root"))
    );
    assert_eq!(
        last_event(&task).effect.as_deref(),
        Some(&previous(&[(
            "credentials",
            Some(json!({"ssh_key": "old"}).into())
        )]))
    );
    assert_eq!(task.task.relaunches(), 1);
    replays(&task);
}

#[test]
fn a_relaunch_with_one_invalid_value_changes_nothing() {
    let mut task = credentials_task();
    let before = task.task.arguments().clone();
    let rejection = reject(
        &mut task.task,
        relaunch_with(&[
            ("credentials", json!({"ssh_key": "new"}).into()),
            ("username", "".into()),
        ]),
        alice(),
        t(3),
    );
    assert_eq!(rejection, invalid("username", Problem::TooShort { min: 1 }));
    assert_eq!(task.task.arguments(), &before);
    assert_eq!(
        task.task.arguments().get("credentials"),
        Some(&ArgumentValue::Json(json!({"ssh_key": "old"})))
    );
    assert_eq!(
        task.task.arguments().get("username"),
        Some(&ArgumentValue::from("root"))
    );
    assert_eq!(task.task.status(), Status::Failed);

    // Invalid first, valid second: the same.
    let rejection = reject(
        &mut task.task,
        relaunch_with(&[
            ("credentials", "not json".into()),
            ("username", "admin".into()),
        ]),
        alice(),
        t(4),
    );
    assert_eq!(
        rejection,
        invalid(
            "credentials",
            Problem::WrongType {
                expected: "json",
                found: "text"
            }
        )
    );
    // An unknown key in the bundle refuses the whole of it too.
    let rejection = reject(
        &mut task.task,
        relaunch_with(&[
            ("credentials", json!({"ssh_key": "new"}).into()),
            ("password", "hunter2".into()),
        ]),
        alice(),
        t(5),
    );
    assert_eq!(rejection, invalid("password", Problem::UnknownKey));
    // A relaunch does not reach around a read-only argument: the kind
    // without a dedicated route, to be sure the values are what refuses.
    let mut transfer = auth_code_task(Rules::new());
    fail_run(&mut transfer, customer_failure(2, &["authCode"]), 1);
    let rejection = reject(
        &mut transfer.task,
        relaunch_with(&[
            ("authCode", "s3cr3t".into()),
            ("domain", "example.com".into()),
        ]),
        alice(),
        t(3),
    );
    assert_eq!(rejection, invalid("domain", Problem::ReadOnly));
    assert_eq!(
        transfer.task.arguments().get("authCode"),
        Some(&ArgumentValue::from("0000"))
    );
    assert_eq!(task.task.arguments(), &before);
    assert_eq!(task.task.relaunches(), 0);
}

// ---------------------------------------------------------------------
// 5. Classification
// ---------------------------------------------------------------------

fn classified_kind() -> NamedKind {
    NamedKind::with_rules(
        "DomainTransfer",
        Rules::new()
            .retry(RetryPolicy::STANDARD.jitter(0.0))
            .failures(vec![
                FailureRule::prefix(
                    "REGISTRY_TIMEOUT",
                    Origin::Provider,
                    OnFailure::RetryUncounted,
                ),
                FailureRule::exact(
                    "AUTH_CODE_INVALID",
                    Origin::Customer,
                    OnFailure::AwaitCorrection,
                ),
                FailureRule {
                    code: CodeMatch::Exact("QUOTA".into()),
                    origin: None,
                    then: OnFailure::Final,
                },
            ]),
    )
}

#[test]
fn an_uncounted_retry_leaves_attempts_alone_and_schedules_a_retry() {
    let mut task = logged_of(classified_kind());
    let failure = Failure::provider("REGISTRY_TIMEOUT_EPP", "the registry timed out", t(2));
    fail_run(&mut task, failure, 1);
    assert_eq!(task.task.attempts(), 0);
    assert_eq!(task.task.attempts_left(), 5);
    let due = t(2) + Duration::seconds(60);
    assert_eq!(task.task.follow_up(), Some(FollowUp::Retry { at: due }));
    assert_eq!(task.task.next_retry_at(), Some(due));
    assert_eq!(
        last_event(&task).effect.as_deref(),
        Some(&Decision::Failed {
            follow_up: FollowUp::Retry { at: due },
            counted: false,
            notice: None,
        })
    );
    assert_eq!(task.task.failure().unwrap().origin, Origin::Provider);

    // Retried, and timed out again: still not counted.
    accept(&mut task, Command::Retry, Actor::System, due);
    let run = start(&mut task, due + Duration::minutes(5), due);
    let again = Failure::provider("REGISTRY_TIMEOUT", "the registry timed out", due);
    fail(&mut task, run, again, due + Duration::seconds(1));
    assert_eq!(task.task.attempts(), 0);
    assert_eq!(task.task.runs(), 2);
    assert!(matches!(
        task.task.follow_up(),
        Some(FollowUp::Retry { .. })
    ));

    // A failure no rule matches keeps its origin and counts.
    let at = task.task.next_retry_at().unwrap();
    accept(&mut task, Command::Retry, Actor::System, at);
    let run = start(&mut task, at + Duration::minutes(5), at);
    fail(&mut task, run, provider_failure(at), at);
    assert_eq!(task.task.attempts(), 1);
    assert_eq!(task.task.failure().unwrap().origin, Origin::Provider);
    assert!(matches!(
        task.task.follow_up(),
        Some(FollowUp::Retry { .. })
    ));
    replays(&task);
}

#[test]
fn a_rule_can_make_a_reported_provider_failure_the_customers() {
    let mut task = logged_of(classified_kind());
    let reported = Failure::provider(
        "AUTH_CODE_INVALID",
        "the registry refused the auth code",
        t(2),
    );
    assert_eq!(reported.origin, Origin::Provider);
    fail_run(&mut task, reported, 1);
    let failure = task.task.failure().unwrap();
    assert_eq!(failure.origin, Origin::Customer);
    assert_eq!(failure.code, "AUTH_CODE_INVALID");
    assert_eq!(task.task.follow_up(), Some(FollowUp::AwaitCorrection));
    assert_eq!(task.task.next_retry_at(), None);
    // The recorded command carries the classified origin, so replay and
    // the relaunch rules see the customer's failure.
    match &last_event(&task).command {
        Command::Fail { failure, .. } => assert_eq!(failure.origin, Origin::Customer),
        other => panic!("expected a fail, got {other:?}"),
    }
    assert!(task.task.can_relaunch(&alice(), t(3)));
    replays(&task);
}

#[test]
fn without_a_matching_rule_the_reported_origin_is_kept() {
    let mut provider = logged_of(classified_kind());
    fail_run(&mut provider, provider_failure(t(2)), 1);
    assert_eq!(provider.task.failure().unwrap().origin, Origin::Provider);
    assert_eq!(
        provider.task.follow_up(),
        Some(FollowUp::Retry {
            at: t(2) + Duration::seconds(60)
        })
    );
    assert_eq!(provider.task.attempts(), 1);

    let mut customer = logged_of(classified_kind());
    fail_run(&mut customer, customer_failure(2, &[]), 1);
    let failure = customer.task.failure().unwrap();
    assert_eq!(failure.origin, Origin::Customer);
    assert_eq!(failure.code, "AUTH_CODE_INVALID");
    // That code has a rule; a customer failure with another code has none.
    let mut other = logged_of(classified_kind());
    fail_run(
        &mut other,
        Failure::customer("CONTACT_INCOMPLETE", "the contact lacks a city", t(2)),
        1,
    );
    assert_eq!(other.task.failure().unwrap().origin, Origin::Customer);
    assert_eq!(other.task.follow_up(), Some(FollowUp::AwaitCorrection));

    // A rule without an origin keeps the reported one too.
    let mut quota = logged_of(classified_kind());
    fail_run(
        &mut quota,
        Failure::provider("QUOTA", "the registrar quota is spent", t(2)),
        1,
    );
    assert_eq!(quota.task.failure().unwrap().origin, Origin::Provider);
    assert_eq!(quota.task.follow_up(), Some(FollowUp::Final));
}

#[test]
fn a_relaunch_carrying_corrections_obeys_the_edit_rule() {
    let kind = NamedKind::with_rules("DomainCreate", Rules::new().edit(StatusSet::EMPTY))
        .argument(ArgumentSpec::text("authCode", 4, 32));
    let mut task = logged_of(kind);
    let run = start(&mut task, t(300), t(1));
    let failure = Failure::customer("AUTH", "bad auth code", t(2)).flag("authCode");
    fail(&mut task, run, failure, t(2));
    let corrections: taskstate::Arguments = [("authCode".to_owned(), "s3cr3t".into())].into();
    let rejection = reject(
        &mut task.task,
        Command::Relaunch {
            arguments: corrections,
        },
        alice(),
        t(3),
    );
    assert!(matches!(
        rejection,
        Rejection::RefusedByRule {
            rule: RuleName::Edit,
            ..
        }
    ));
}

#[test]
fn clearing_a_flagged_argument_does_not_correct_it() {
    let kind = NamedKind::new("DomainCreate").argument(ArgumentSpec::text("authCode", 4, 32));
    let mut task = logged_of(kind);
    let run = start(&mut task, t(300), t(1));
    let failure = Failure::customer("AUTH", "bad auth code", t(2)).flag("authCode");
    fail(&mut task, run, failure, t(2));
    accept(
        &mut task,
        Command::SetArgument {
            key: "authCode".into(),
            value: None,
        },
        alice(),
        t(3),
    );
    assert_eq!(task.task.fields_to_correct(), ["authCode"]);
    assert!(!task.task.can_relaunch(&alice(), t(4)));
}
