//! Uploads being written right now, and the running SHA-256 of each upload between its `PATCH`es.
//!
//! One `PATCH` at a time per upload: a second one while the first streams is told the confirmed offset
//! (`upload_offset_mismatch`), so two bodies never interleave in the partial file. Between requests the hash state
//! at the confirmed offset is kept here, so a resumed upload hashes each byte once; after a restart (the state is in
//! memory only) the partial file's bytes are hashed again once, on the first `PATCH`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::Sha256;

use crate::store::attachments::Owner;

type Key = (Owner, String);

#[derive(Default)]
pub struct InFlight {
    slots: Mutex<HashMap<Key, Slot>>,
}

enum Slot {
    Busy,
    /// The hash of the first `offset` bytes.
    Idle {
        offset: u64,
        hasher: Box<Sha256>,
    },
}

/// The right to write an upload; dropping it without `release` frees the upload and forgets its hash state.
pub struct Lease {
    owner: Arc<InFlight>,
    key: Key,
    released: bool,
}

impl InFlight {
    /// Takes the upload for one `PATCH`, with its hash state at `offset` when known. `None`: another `PATCH` is on.
    pub fn acquire(this: &Arc<Self>, owner: &Owner, upload_id: &str, offset: u64) -> Option<(Lease, Option<Sha256>)> {
        let key = (owner.clone(), upload_id.to_owned());
        let mut slots = this.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let hasher = match slots.insert(key.clone(), Slot::Busy) {
            Some(Slot::Busy) => return None,
            Some(Slot::Idle { offset: at, hasher }) if at == offset => Some(*hasher),
            _ => None,
        };
        Some((Lease { owner: Arc::clone(this), key, released: false }, hasher))
    }

    /// Waits (at most `patience`) until no `PATCH` holds the upload. A status asked right after a cut connection is
    /// then the offset the cut request ended at, not the one before it: a client resuming from a stale offset would
    /// stream bytes the server can only refuse.
    pub async fn settled(&self, owner: &Owner, upload_id: &str, patience: Duration) {
        let deadline = Instant::now() + patience;
        let key = (owner.clone(), upload_id.to_owned());
        while Instant::now() < deadline {
            let busy = matches!(self.slots.lock().unwrap_or_else(PoisonError::into_inner).get(&key), Some(Slot::Busy));
            if !busy {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Forgets an upload (completed, refused or expired).
    pub fn forget(&self, owner: &Owner, upload_id: &str) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(Slot::Idle { .. }) = slots.get(&(owner.clone(), upload_id.to_owned())) {
            slots.remove(&(owner.clone(), upload_id.to_owned()));
        }
    }
}

impl Lease {
    /// Frees the upload, keeping the hash of its first `offset` bytes for the next `PATCH`.
    pub fn release(mut self, offset: u64, hasher: Sha256) {
        let mut slots = self.owner.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.insert(self.key.clone(), Slot::Idle { offset, hasher: Box::new(hasher) });
        self.released = true;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.released {
            let mut slots = self.owner.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots.remove(&self.key);
        }
    }
}
