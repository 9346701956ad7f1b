//! Cloudflare catalog tasks: a package install that completes with a
//! warning (and answers 303 to its install), and one that fails.
//!
//! Run: `cargo run --example cloudflare_install`
//!
//! Prints each task as Cloudflare's API shows it, and what an HTTP handler
//! answers for `GET /zones/{zone_id}/catalog_tasks/{task_id}`.

use chrono::{DateTime, Duration, TimeZone, Utc};
use taskstate::profiles::cloudflare::{CloudflareTask, HttpAnswer};
use taskstate::{
    Actor, Detail, Failure, IdGenerator, NamedKind, NewTask, Outcome, Owner, ResourceRef, Task,
    Warning,
};

fn show(step: &str, task: &Task<NamedKind>) -> Result<(), serde_json::Error> {
    let view = CloudflareTask::of(task);
    let answer = view.http_answer(|install| format!("/zones/z1/catalog_installs/{install}"));
    println!("== {step}");
    match answer {
        HttpAnswer::Ok => println!("HTTP 200\n{}\n", serde_json::to_string_pretty(&view)?),
        HttpAnswer::SeeOther { location } => println!("HTTP 303 See Other\nLocation: {location}\n"),
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0: DateTime<Utc> = Utc
        .with_ymd_and_hms(2019, 12, 27, 18, 11, 19)
        .single()
        .ok_or("bad time")?;
    let at = |seconds: i64| t0 + Duration::seconds(seconds);
    let mut ids = IdGenerator::seeded(27);
    let account = Actor::customer("z1-account");

    let new = NewTask::new(
        ids.next_id(t0),
        NamedKind::new("create"),
        Owner::new("z1-account"),
        ResourceRef::new("package", "waf-rules"),
    );
    let (mut task, _) = Task::create(new, account.clone(), t0)?;
    show("pending", &task)?;
    let (run, _) = task.start(at(60), None, at(1))?;
    show("running", &task)?;
    let outcome = Outcome::new()
        .produced(ResourceRef::new("install", "inst-7f3a"))
        .warning(
            Warning::new("conflict", "an adopted entity will be preserved on delete")
                .detail(Detail::new("conflict", "pre-existing rule kept").field("$.rules[2]")),
        );
    run.complete(&mut task, outcome, at(2))?;
    show("completed (the handler redirects to the install)", &task)?;
    println!(
        "the completed task itself:\n{}\n",
        serde_json::to_string_pretty(&CloudflareTask::of(&task))?
    );

    let new = NewTask::new(
        ids.next_id(at(3)),
        NamedKind::new("delete"),
        Owner::new("z1-account"),
        ResourceRef::new("package", "waf-rules"),
    );
    let (mut failing, _) = Task::create(new, account, at(3))?;
    let (run, _) = failing.start(at(60), None, at(4))?;
    run.fail(
        &mut failing,
        Failure::provider(
            "internal_error",
            "the catalog backend is unavailable",
            at(5),
        ),
        at(5),
    )?;
    show("failed", &failing)?;
    Ok(())
}
