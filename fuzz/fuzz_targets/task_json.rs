//! Any bytes read as a stored task: an error, or a task that writes back
//! to JSON that reads back to the same task. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskstate::{NamedKind, Task};

fuzz_target!(|data: &[u8]| {
    let Ok(task) = serde_json::from_slice::<Task<NamedKind>>(data) else {
        return;
    };
    let json = serde_json::to_vec(&task).expect("a task read back writes");
    let again: Task<NamedKind> = serde_json::from_slice(&json).expect("a written task reads");
    assert_eq!(again, task);
});
