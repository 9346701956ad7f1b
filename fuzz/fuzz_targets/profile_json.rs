//! Any bytes read as each provider's JSON view: an error, or a view that
//! converts to a snapshot (or a typed unknown-status error) and writes
//! back to JSON that reads back to the same view. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use taskstate::profiles::cloudflare::CloudflareTask;
use taskstate::profiles::dyn_dns::DynTask;
use taskstate::profiles::ovh::OvhTask;
use taskstate::profiles::vcf::{VcfTask, VcfTaskList};

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    data: &[u8],
) -> Option<T> {
    let view = serde_json::from_slice::<T>(data).ok()?;
    let json = serde_json::to_vec(&view).expect("a view read back writes");
    let again: T = serde_json::from_slice(&json).expect("a written view reads");
    assert_eq!(again, view);
    Some(view)
}

fuzz_target!(|data: &[u8]| {
    if let Some(view) = round_trip::<OvhTask>(data) {
        let _ = view.to_mirrored();
    }
    if let Some(view) = round_trip::<DynTask>(data) {
        let _ = view.to_mirrored();
    }
    if let Some(view) = round_trip::<VcfTask>(data) {
        let _ = view.to_mirrored();
    }
    if let Some(list) = round_trip::<VcfTaskList>(data) {
        for view in &list.elements {
            let _ = view.to_mirrored();
        }
    }
    if let Some(view) = round_trip::<CloudflareTask>(data) {
        let _ = view.to_mirrored();
    }
});
