//! Actors' lives: create, wake, list, sleep, destroy, and the state-file steps that go
//! with them (timestamps as rivetkit writes them, the destroy's tombstone).

use std::sync::Arc;

use super::{FsDriver, SLOT_RETRIES, StopHook, check_id, lock, run_hook};
use crate::actor::{ActorInfo, Loaded, Slot, Status};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::kv::KvStore;
use crate::state::ActorState;
use crate::storage::Storage;

impl FsDriver {
    /// Whether the actor exists: it has a state file that is not a destroy's tombstone.
    fn exists(&self, id: &str) -> Result<bool> {
        Ok(live_state(&*self.storage, id)?.is_some())
    }

    /// Wakes the actor (its slot locked by the caller): takes its cross-process lock,
    /// reads its state, opens its database and records the wake in its state file
    /// (`startTs = connectableTs = now`, no `sleepTs`) as rivetkit does, unless another
    /// process has it awake already. `None` when the actor does not exist.
    pub(super) fn wake(&self, id: &str, slot: &Arc<Slot>) -> Result<Option<Loaded>> {
        if !self.storage.persistent() {
            // An in-memory actor is never asleep: not running means not there.
            return Ok(None);
        }
        let locks = self.storage.locks();
        let awake_elsewhere = match locks {
            Some(locks) => locks.wake(id)?,
            None => false,
        };
        self.budget.admit(slot);
        let woken = self.open_awake(id, awake_elsewhere);
        if !matches!(woken, Ok(Some(_))) {
            self.budget.release(slot);
            if let Some(locks) = locks {
                locks.release(id);
            }
        }
        woken
    }

    fn open_awake(&self, id: &str, awake_elsewhere: bool) -> Result<Option<Loaded>> {
        let Some(mut state) = live_state(&*self.storage, id)? else {
            return Ok(None);
        };
        let mut kv = KvStore::open(
            self.runtime.clone(),
            id,
            self.storage.database(id),
            self.options.max_storage_bytes,
        )?;
        self.claim(id, &mut kv)?;
        if !awake_elsewhere {
            let now = now_ms();
            state.start_ts = Some(now);
            state.connectable_ts = Some(now);
            state.sleep_ts = None;
            // Recording the wake must not make the actor unreadable (on a full disk, say):
            // a failure leaves the older timestamps in the file, and is logged.
            let written = forget_migrated_entries(&mut state, &mut kv)
                .and_then(|()| self.storage.write_state(id, &state));
            match written {
                Ok(()) => {}
                // Not a failure to record: the actor is another driver's.
                Err(error @ Error::ActorOwnedElsewhere { .. }) => return Err(error),
                Err(error) => {
                    tracing::warn!(actor = %id, %error, "the wake could not be recorded in the state file");
                }
            }
        }
        tracing::debug!(actor = %id, awake_elsewhere, "actor woken");
        Ok(Some(Loaded {
            id: id.to_owned(),
            state,
            kv,
        }))
    }

    /// Claims actor `id`'s store, just opened under a lease, so that its writes are
    /// fenced.
    fn claim(&self, id: &str, kv: &mut KvStore) -> Result<()> {
        let Some(locks) = self.storage.locks() else {
            return Ok(());
        };
        if let Some(claim) = locks.fence(id) {
            kv.claim(claim)?;
            if let Some((clock, generation)) = locks.lease_clock(id) {
                kv.serve_reads_from(self.read_cache.cell(clock, generation));
            }
        }
        Ok(())
    }

    /// Creates an actor with `name`, `key` and `initial` KV entries (written in the same
    /// step, under the put limits). Fails with [`Error::ActorExists`] when the id is
    /// taken; leftover files of a previous actor with this id (a destroy or a create that
    /// did not finish) are removed first, so the new actor starts empty.
    pub fn create_actor<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        id: &str,
        name: &str,
        key: Vec<String>,
        initial: &[(K, V)],
    ) -> Result<ActorInfo> {
        check_id(id)?;
        crate::limits::check_put(initial, 0, self.options.max_storage_bytes)?;
        for _ in 0..SLOT_RETRIES {
            let slot = self.slot(id)?;
            let mut status = slot.lock();
            match &*status {
                Status::Running(_) => return Err(Error::ActorExists(id.to_owned())),
                Status::Stopping => return Err(Error::ActorStopping(id.to_owned())),
                Status::Destroyed | Status::Retired => continue,
                Status::Unloaded => {}
            }
            let locks = self.storage.locks();
            if let Some(locks) = locks {
                locks.create(id, &|| self.exists(id))?;
            }
            let created = self.create_locked(id, name, key, initial, &slot);
            if let Some(locks) = locks {
                match &created {
                    // Still held exclusively: stricter than needed (other processes wait
                    // to wake it until it sleeps), never wrong, so the actor runs.
                    Ok(_) => {
                        if let Err(error) = locks.share(id) {
                            tracing::warn!(actor = %id, %error, "keeping the exclusive lifecycle lock of a created actor");
                        }
                    }
                    Err(_) => locks.release(id),
                }
            }
            let loaded = created?;
            let info = loaded.info();
            *status = Status::Running(Box::new(loaded));
            tracing::debug!(actor = %id, "actor created");
            return Ok(info);
        }
        Err(Error::ActorStopping(id.to_owned()))
    }

    fn create_locked<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        id: &str,
        name: &str,
        key: Vec<String>,
        initial: &[(K, V)],
        slot: &Arc<Slot>,
    ) -> Result<Loaded> {
        if self.exists(id)? {
            return Err(Error::ActorExists(id.to_owned()));
        }
        let now = now_ms();
        let state = ActorState {
            actor_id: id.to_owned(),
            name: name.to_owned(),
            key,
            created_at: now,
            // Created and running, as rivetkit's create followed by its start.
            start_ts: Some(now),
            connectable_ts: Some(now),
            ..ActorState::default()
        };
        if !self.is_memory() {
            self.budget.admit(slot);
        }
        let kv = self.create_store(id, &state, initial);
        if kv.is_err() {
            self.budget.release(slot);
        }
        Ok(Loaded {
            id: id.to_owned(),
            state,
            kv: kv?,
        })
    }

    fn create_store<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        id: &str,
        state: &ActorState,
        initial: &[(K, V)],
    ) -> Result<KvStore> {
        let storage = &*self.storage;
        // No live state record: whatever else carries this id is a leftover (of a
        // destroy that did not finish, or of a create that crashed), removed first.
        storage.remove_actor(id)?;
        let max = self.options.max_storage_bytes;
        let mut kv = match KvStore::create(self.runtime.clone(), id, storage.database(id), max) {
            Ok(kv) => kv,
            Err(error) => {
                // The open may have created the file before failing.
                let _ = storage.remove_actor(id);
                return Err(error);
            }
        };
        // The database first, the state record last: until it exists there is no
        // actor, and a crash leaves only leftovers that the next create removes.
        let written = self
            .claim(id, &mut kv)
            .and_then(|()| kv.put(initial))
            .and_then(|()| storage.write_state(id, state));
        if let Err(error) = written {
            let _ = kv.close();
            let _ = storage.remove_actor(id);
            return Err(error);
        }
        Ok(kv)
    }

    /// Makes sure the actor is running (opening its database) and returns its metadata.
    pub fn load_actor(&self, id: &str) -> Result<ActorInfo> {
        self.with_actor(id, |loaded| Ok(loaded.info()))
    }

    /// Whether the actor is awake in this driver (its database may be closed by the
    /// open-database budget; in memory mode: whether it exists).
    pub fn is_running(&self, id: &str) -> bool {
        let slot = lock(&self.actors).get(id).cloned();
        slot.is_some_and(|slot| matches!(&*slot.lock(), Status::Running(_)))
    }

    /// Up to `limit` actors with ids after `after` (exclusive), sorted by id. Pass the
    /// last id of a page as `after` to get the next one. Actors whose state file cannot be
    /// decoded, or names another actor, are skipped (and logged).
    pub fn list_actors(&self, after: Option<&str>, limit: usize) -> Result<Vec<ActorInfo>> {
        let mut actors = Vec::new();
        let mut cursor = after.map(str::to_owned);
        // Ids are read in pages; tombstones and unreadable records are skipped.
        while actors.len() < limit {
            let page = self
                .storage
                .actor_ids(cursor.as_deref(), limit - actors.len())?;
            let Some(last) = page.last() else { break };
            cursor = Some(last.clone());
            for id in page {
                match live_state(&*self.storage, &id) {
                    Ok(Some(state)) => actors.push(ActorInfo::from_state(&id, &state)),
                    Ok(None) => {}
                    Err(error) => tracing::warn!(actor = %id, %error, "actor skipped in listing"),
                }
            }
        }
        Ok(actors)
    }

    /// Puts the actor to sleep: runs `hook`, then closes its database, even when the hook
    /// fails (its error is returned after the actor is stopped), and records the sleep in
    /// its state file (unless another process still has it awake). Sleeping an actor
    /// that is not running does nothing. The next operation on the actor wakes it again.
    ///
    /// In memory mode the database stays open (closing it would erase the data); only
    /// the hook runs.
    pub fn sleep_actor(&self, id: &str, hook: Option<StopHook<'_>>) -> Result<()> {
        check_id(id)?;
        for _ in 0..SLOT_RETRIES {
            let slot = self.slot(id)?;
            let mut status = slot.lock();
            match &*status {
                Status::Stopping | Status::Destroyed => {
                    return Err(Error::ActorStopping(id.to_owned()));
                }
                Status::Retired => continue,
                Status::Unloaded => {
                    let exists = self.exists(id);
                    *status = Status::Retired;
                    self.unmap(id, &slot);
                    return match exists? {
                        true => Ok(()),
                        false => Err(Error::ActorNotFound(id.to_owned())),
                    };
                }
                Status::Running(_) => {}
            }
            let loaded = match std::mem::replace(&mut *status, Status::Stopping) {
                Status::Running(loaded) => loaded,
                other => {
                    *status = other;
                    return Err(Error::ActorStopping(id.to_owned()));
                }
            };
            drop(status);
            let hooked = run_hook(id, hook);
            if !self.storage.persistent() {
                *slot.lock() = Status::Running(loaded);
                return hooked;
            }
            let Loaded { mut state, kv, .. } = *loaded;
            let closed = kv.close();
            self.budget.release(&slot);
            // As rivetkit records a sleep: no longer connectable, asleep since now. Done
            // before the lock is released, so that no destroy can come in between.
            let locks = self.storage.locks();
            let awake_elsewhere = locks.is_some_and(|locks| locks.others_awake(id));
            let recorded = if awake_elsewhere {
                Ok(())
            } else {
                state.connectable_ts = None;
                state.sleep_ts = Some(now_ms());
                self.storage.write_state(id, &state)
            };
            if let Some(locks) = locks {
                locks.release(id);
            }
            let mut status = slot.lock();
            *status = Status::Retired;
            self.unmap(id, &slot);
            drop(status);
            tracing::debug!(actor = %id, "actor asleep");
            return hooked.and(closed).and(recorded);
        }
        Err(Error::ActorStopping(id.to_owned()))
    }

    /// Destroys the actor: runs `hook` if it is running, closes its database (even when
    /// the hook fails), then removes its files. A hook failure is returned after the actor
    /// is gone. Creating the id again gives an empty actor.
    ///
    /// All or nothing from the caller's view: the destroy first rewrites the state file
    /// with `destroyTs` (as rivetkit does), and that is the point of no return. When it
    /// fails, the actor is intact (asleep) and the error says why. After it, the actor is
    /// gone (not found, not listed) even if removing a file then fails: the error names
    /// the file, and a retry of the destroy (or a create of the same id) finishes the job.
    /// While another process has the actor awake, the destroy fails at once with
    /// [`Error::ActorInUse`] and changes nothing.
    pub fn destroy_actor(&self, id: &str, hook: Option<StopHook<'_>>) -> Result<()> {
        check_id(id)?;
        for _ in 0..SLOT_RETRIES {
            let slot = self.slot(id)?;
            let mut status = slot.lock();
            match &*status {
                Status::Stopping | Status::Destroyed => {
                    return Err(Error::ActorStopping(id.to_owned()));
                }
                Status::Retired => continue,
                Status::Unloaded | Status::Running(_) => {}
            }
            let locks = self.storage.locks();
            if let Some(locks) = locks
                && let Err(error) = locks.destroy(id)
            {
                if matches!(*status, Status::Unloaded) {
                    *status = Status::Retired;
                    self.unmap(id, &slot);
                }
                return Err(error);
            }
            let loaded = match std::mem::replace(&mut *status, Status::Stopping) {
                Status::Running(loaded) => Some(loaded),
                _ => None,
            };
            let was_running = loaded.is_some();
            let (hooked, closed) = match loaded {
                Some(loaded) => {
                    drop(status);
                    let hooked = run_hook(id, hook);
                    let closed = loaded.kv.close();
                    status = slot.lock();
                    (hooked, closed)
                }
                None => (Ok(()), Ok(())),
            };
            self.budget.release(&slot);
            let removed = if self.storage.persistent() {
                destroy_records(&*self.storage, id)
            } else {
                // In memory an actor is its open database.
                self.storage
                    .remove_actor(id)
                    .map_err(DestroyError::Intact)
                    .map(|()| was_running)
            };
            if let Some(locks) = locks {
                locks.release(id);
            }
            let removed = match removed {
                Ok(true) => Ok(()),
                Ok(false) => {
                    *status = Status::Retired;
                    self.unmap(id, &slot);
                    return Err(Error::ActorNotFound(id.to_owned()));
                }
                Err(DestroyError::Intact(error)) => {
                    // Nothing was removed: the actor stays, asleep.
                    *status = Status::Retired;
                    self.unmap(id, &slot);
                    return Err(error);
                }
                Err(DestroyError::Unfinished(error)) => Err(error),
            };
            *status = Status::Destroyed;
            self.unmap(id, &slot);
            drop(status);
            tracing::debug!(actor = %id, "actor destroyed");
            return hooked.and(closed).and(removed);
        }
        Err(Error::ActorStopping(id.to_owned()))
    }
}

/// The actor's state, `None` when it has no state record or only the tombstone of a
/// destroy that did not finish.
fn live_state(storage: &dyn Storage, id: &str) -> Result<Option<ActorState>> {
    Ok(storage
        .read_state(id)?
        .filter(|state| state.destroy_ts.is_none()))
}

/// Why a destroy failed.
enum DestroyError {
    /// Before the point of no return: the actor is intact.
    Intact(Error),
    /// After it: the actor is gone, some of its records are left; a retry finishes.
    Unfinished(Error),
}

/// Destroys the actor's records (its database closed, and claimed where leases fence
/// it): the tombstone first, then the rest. `Ok(false)` when there is no actor (nor
/// tombstone) to destroy.
fn destroy_records(storage: &dyn Storage, id: &str) -> std::result::Result<bool, DestroyError> {
    let state = storage.read_state(id).map_err(DestroyError::Intact)?;
    let Some(mut state) = state else {
        return Ok(false);
    };
    storage.claim_database(id).map_err(DestroyError::Intact)?;
    if state.destroy_ts.is_none() {
        state.destroy_ts = Some(now_ms());
        storage.write_state(id, &state).map_err(|error| {
            // A tombstone that may have been written (a remote engine's lost commit) may
            // have passed the point of no return: a retry finishes the destroy.
            if error.is_outcome_unknown() {
                DestroyError::Unfinished(error)
            } else {
                DestroyError::Intact(error)
            }
        })?;
    }
    storage.remove_actor(id).map_err(DestroyError::Unfinished)?;
    Ok(true)
}

/// Drops the legacy entries of a state file about to be rewritten once its database
/// carries the migrated mark (they are in SQLite, and rivetkit rewrites the file without
/// them too); without the mark they stay, so a root opened with the migration disabled
/// loses nothing.
fn forget_migrated_entries(state: &mut ActorState, kv: &mut KvStore) -> Result<()> {
    if !state.kv_storage.is_empty() && kv.is_migrated()? {
        state.kv_storage.clear();
    }
    Ok(())
}
