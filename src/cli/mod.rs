//! The pieces of the `podsift` binary beyond argument parsing (src/main.rs): output, the
//! service set-up, and subscription management. Library code lives in the other modules of src/.

pub mod output;
pub mod service;
pub mod subs;

use std::path::Path;

use anyhow::Result;
use podsift::store::Store;

pub fn open_store(dir: &Path) -> Result<Store> {
    Ok(Store::open(dir)?)
}
