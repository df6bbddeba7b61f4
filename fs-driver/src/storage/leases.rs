//! Actor lifecycles guarded across drivers that share databases but no kernel: leases in
//! the index database.
//!
//! A driver registers itself in `driver (owner, expires)` and renews its row from a
//! background thread every third of the lease timeout. Waking, creating or destroying an
//! actor takes its row in `lease (id, owner, epoch)`, in one transaction that succeeds
//! only when the lease is free, already ours, or held by a driver whose registration has
//! expired (a new holder gets the next epoch; see below). So two drivers never both have
//! an actor awake (the second gets [`Error::ActorOwnedElsewhere`]), never both create one
//! id, and a driver that dies lets others take its actors over once its registration has
//! expired.
//!
//! Unlike the kernel's locks on a local root (which let several processes have one actor
//! awake, SQLite serializing their writes), a lease is exclusive: on a shared engine the
//! drivers are usually on different hosts, and an actor runs in one place. Expiry
//! compares one driver's clock with another's, so the hosts' clocks must agree to well
//! within the timeout (NTP does). Renewals use a connection of their own and retry
//! quickly after a failure, so a leader election (seconds) does not let a live driver's
//! leases lapse under the default timeout (30 s). A driver cut off from the engine for
//! longer than the timeout loses its leases without being told: its next lifecycle
//! operation finds out, and its writes to actors it still has awake are refused once
//! another driver has taken them over. Each lease taken by a new holder gets an epoch
//! (from a counter in the index database) larger than every earlier one; the driver
//! claims the actor's database with it, and every KV write checks the claim
//! (`kv::fence`), while writes of its state and alarm rows check the lease itself in the
//! same statement. A release that fails (the engine unreachable at that moment) leaves
//! the lease to this driver until it wakes and puts the actor to sleep again, or closes.

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sqlite_runtime::{SqliteDatabase, params};

use super::LifecycleLocks;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::kv::fence::Claim;
use crate::kv::lease_clock::LeaseClock;

const SCHEMA_SQL: &str = "\
CREATE TABLE IF NOT EXISTS driver (owner TEXT PRIMARY KEY NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS lease (
    id TEXT PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    epoch INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS lease_epoch (id INTEGER PRIMARY KEY CHECK (id = 0), last INTEGER NOT NULL);
INSERT OR IGNORE INTO lease_epoch (id, last) VALUES (0, 0);";

const RENEW_SQL: &str = "INSERT INTO driver (owner, expires) VALUES (?1, ?2) \
     ON CONFLICT (owner) DO UPDATE SET expires = excluded.expires";

/// Draws the next epoch (kept only if the lease is taken).
const NEXT_EPOCH_SQL: &str = "UPDATE lease_epoch SET last = last + 1";
/// Takes the lease when it is free, ours, or its owner's registration has expired; a new
/// holder gets the epoch just drawn, a holder taking its own lease again keeps its own.
const ACQUIRE_SQL: &str = "INSERT INTO lease (id, owner, epoch) \
     VALUES (?1, ?2, (SELECT last FROM lease_epoch)) \
     ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, \
     epoch = CASE WHEN lease.owner = excluded.owner THEN lease.epoch ELSE excluded.epoch END \
     WHERE lease.owner = excluded.owner OR NOT EXISTS \
     (SELECT 1 FROM driver WHERE driver.owner = lease.owner AND driver.expires > ?3)";

const HOLDER_SQL: &str = "SELECT owner, epoch FROM lease WHERE id = ?1";
const RELEASE_SQL: &str = "DELETE FROM lease WHERE id = ?1 AND owner = ?2";
const RELEASE_ALL_SQL: &str = "DELETE FROM lease WHERE owner = ?1";
const UNREGISTER_SQL: &str = "DELETE FROM driver WHERE owner = ?1";

/// Registrations expired this long ago are deleted, with their leases, when a driver
/// starts: their drivers are long gone (a live one would have renewed).
const FORGET_AFTER: Duration = Duration::from_secs(24 * 60 * 60);
const FORGET_DRIVERS_SQL: &str = "DELETE FROM driver WHERE expires < ?1";
const FORGET_LEASES_SQL: &str = "DELETE FROM lease WHERE owner NOT IN (SELECT owner FROM driver)";

/// How long a create waits for another driver's create or destroy of the same id.
const WAIT: Duration = Duration::from_secs(5);

/// The shortest lease (a `DriverOptions` literal may hold less).
const MIN_TIMEOUT: Duration = Duration::from_millis(300);

/// The pause before retrying a failed renewal: short, since the lease is running out.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

type Index = Arc<Mutex<Box<dyn SqliteDatabase>>>;

fn lock(index: &Index) -> MutexGuard<'_, Box<dyn SqliteDatabase>> {
    index.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long after a renewal is sent the leases are certain (see [`LeaseClock`]).
fn certain_for(timeout: Duration) -> Duration {
    timeout - timeout / 3
}

/// This driver's leases and the thread that renews them.
pub(crate) struct Leases {
    owner: String,
    index: Index,
    clock: LeaseClock,
    /// The epoch of each lease this driver holds, and the clock's generation when it
    /// was taken (`None`: the clock was not certain then).
    epochs: Mutex<Epochs>,
    renewer: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl Leases {
    /// Registers a new driver in `index` (creating the tables) and starts renewing it
    /// through `renewals`, a connection of its own to the same database (so that a
    /// renewal never waits behind the driver's other work on the index).
    pub(crate) fn start(
        index: Index,
        renewals: Box<dyn SqliteDatabase>,
        timeout: Duration,
    ) -> Result<Self> {
        let timeout = timeout.max(MIN_TIMEOUT);
        let owner = owner_name();
        let clock = LeaseClock::new();
        {
            let mut db = lock(&index);
            db.exec(SCHEMA_SQL)?;
            let sent = Instant::now();
            renew(&mut **db, &owner, timeout)?;
            clock.renewed(sent, certain_for(timeout));
            let forget_before = now_ms().saturating_sub(millis(FORGET_AFTER));
            // Forgetting is housekeeping: a failure is logged, not fatal.
            if let Err(error) = forget(&mut **db, forget_before) {
                tracing::warn!(%error, "expired driver registrations could not be removed");
            }
        }
        let (stop, stopped) = mpsc::channel();
        let renewer = {
            let (owner, clock) = (owner.clone(), clock.clone());
            let mut renewals = renewals;
            std::thread::Builder::new()
                .name("fs-driver-leases".to_owned())
                .spawn(move || {
                    renew_until_stopped(&mut *renewals, &owner, timeout, &clock, &stopped)
                })
                .map_err(|error| {
                    sqlite_runtime::Error::new(
                        sqlite_runtime::ErrorKind::Other,
                        format!("cannot start the lease renewal thread: {error}"),
                    )
                })?
        };
        Ok(Leases {
            owner,
            index,
            clock,
            epochs: Mutex::default(),
            renewer: Some((stop, renewer)),
        })
    }

    /// This driver's name in leases (`host:pid:uuid`).
    pub(crate) fn owner(&self) -> &str {
        &self.owner
    }

    /// `Ok` when `held` (a write conditioned on holding actor `id`'s lease applied);
    /// otherwise [`Error::ActorOwnedElsewhere`] naming the lease's holder.
    pub(crate) fn held_if(&self, id: &str, held: bool) -> Result<()> {
        if held {
            return Ok(());
        }
        let holder = self.holder(id)?;
        Err(Error::ActorOwnedElsewhere {
            id: id.to_owned(),
            owner: holder.map_or_else(|| "no driver".to_owned(), |(owner, _)| owner),
        })
    }

    /// `Ok` when this driver holds actor `id`'s lease now.
    pub(crate) fn ensure_held(&self, id: &str) -> Result<()> {
        let held = self
            .holder(id)?
            .is_some_and(|(owner, _)| owner == self.owner);
        self.held_if(id, held)
    }

    /// Who holds actor `id`'s lease, and its epoch.
    fn holder(&self, id: &str) -> Result<Option<(String, i64)>> {
        read_holder(&mut **lock(&self.index), id)
    }

    /// Takes actor `id`'s lease and notes its epoch; `Err(owner)` when a live driver
    /// holds it.
    fn acquire(&self, id: &str) -> Result<std::result::Result<(), String>> {
        // Read before the lease is taken: certain from then on, it was ours all along.
        let generation = self.clock.certain();
        let taken = {
            let mut db = lock(&self.index);
            match take(&mut **db, id, &self.owner) {
                Ok(taken) => taken,
                // The take may have been applied (a remote engine's lost commit): the
                // lease says. Unread, a lease taken unknowingly would stay this driver's.
                Err(error) => match read_holder(&mut **db, id) {
                    Ok(Some((owner, epoch))) if owner == self.owner => Ok(epoch),
                    _ => return Err(error),
                },
            }
        };
        match taken {
            Ok(epoch) => {
                lock_epochs(&self.epochs).insert(id.to_owned(), (epoch, generation));
                Ok(Ok(()))
            }
            Err(owner) => Ok(Err(owner)),
        }
    }
}

/// Takes actor `id`'s lease for `owner` in one transaction: its epoch, or
/// `Err(the holder)`.
fn take(
    db: &mut dyn SqliteDatabase,
    id: &str,
    owner: &str,
) -> Result<std::result::Result<i64, String>> {
    let mut tx = db.transaction()?;
    tx.run(NEXT_EPOCH_SQL, params![])?;
    let taken = tx.run(ACQUIRE_SQL, params![id, owner, sql_ms(now_ms())])?;
    let holder = read_holder(&mut *tx, id)?;
    match holder {
        Some((holder, epoch)) if taken.changes > 0 && holder == owner => {
            tx.commit()?;
            Ok(Ok(epoch))
        }
        // Not taken: the transaction rolls back (the epoch drawn is not used).
        Some((holder, _)) => Ok(Err(holder)),
        None => Ok(Err("a driver that just released it".to_owned())),
    }
}

/// Who holds actor `id`'s lease in `db`, and its epoch.
fn read_holder(db: &mut dyn SqliteDatabase, id: &str) -> Result<Option<(String, i64)>> {
    Ok(db.query_row(HOLDER_SQL, params![id], |row| {
        Ok((row.get(0)?, row.get(1)?))
    })?)
}

/// Each held lease's epoch, and the clock's generation when it was taken.
type Epochs = HashMap<String, (i64, Option<u64>)>;

fn lock_epochs(epochs: &Mutex<Epochs>) -> MutexGuard<'_, Epochs> {
    epochs.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LifecycleLocks for Leases {
    /// Takes the lease; another live driver's is [`Error::ActorOwnedElsewhere`].
    fn wake(&self, id: &str) -> Result<bool> {
        match self.acquire(id)? {
            Ok(()) => Ok(false),
            Err(owner) => Err(Error::ActorOwnedElsewhere {
                id: id.to_owned(),
                owner,
            }),
        }
    }

    /// Takes the lease, waiting while another driver creates or destroys the actor.
    fn create(&self, id: &str, exists: &dyn Fn() -> Result<bool>) -> Result<()> {
        let started = Instant::now();
        loop {
            match self.acquire(id)? {
                Ok(()) => return Ok(()),
                Err(_) if exists()? => return Err(Error::ActorExists(id.to_owned())),
                Err(_) if started.elapsed() >= WAIT => {
                    return Err(Error::ActorBusy(id.to_owned()));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// Takes the lease; fails at once when another driver holds it.
    fn destroy(&self, id: &str) -> Result<()> {
        match self.acquire(id)? {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::ActorInUse(id.to_owned())),
        }
    }

    /// A lease is exclusive already.
    fn share(&self, _id: &str) -> Result<()> {
        Ok(())
    }

    /// No other driver has an actor whose lease this one holds.
    fn others_awake(&self, _id: &str) -> bool {
        false
    }

    /// This driver's name and the lease's epoch, while it holds the lease.
    fn lease_clock(&self, id: &str) -> Option<(LeaseClock, u64)> {
        let (_, generation) = *lock_epochs(&self.epochs).get(id)?;
        Some((self.clock.clone(), generation?))
    }

    fn fence(&self, id: &str) -> Option<Claim> {
        let (epoch, _) = *lock_epochs(&self.epochs).get(id)?;
        Some(Claim {
            owner: self.owner.clone(),
            epoch,
        })
    }

    /// Gives the lease back (a failure is logged: the lease then lapses with this
    /// driver's registration, or is taken back by its next wake).
    fn release(&self, id: &str) {
        lock_epochs(&self.epochs).remove(id);
        if let Err(error) = lock(&self.index).run(RELEASE_SQL, params![id, &self.owner]) {
            tracing::warn!(actor = %id, %error, "releasing an actor's lease failed");
        }
    }
}

impl Drop for Leases {
    /// Stops renewing, then gives back every lease and the registration, so that other
    /// drivers need not wait for them to expire.
    fn drop(&mut self) {
        if let Some((stop, renewer)) = self.renewer.take() {
            drop(stop);
            let _ = renewer.join();
        }
        let mut db = lock(&self.index);
        for sql in [RELEASE_ALL_SQL, UNREGISTER_SQL] {
            if let Err(error) = db.run(sql, params![&self.owner]) {
                tracing::warn!(%error, "giving back this driver's leases failed; they will expire");
            }
        }
    }
}

/// Renews the registration every third of `timeout` (sooner after a failure) until
/// `stopped` says so (or its sender is gone).
fn renew_until_stopped(
    db: &mut dyn SqliteDatabase,
    owner: &str,
    timeout: Duration,
    clock: &LeaseClock,
    stopped: &mpsc::Receiver<()>,
) {
    let mut last_renewed = Instant::now();
    let mut pause = timeout / 3;
    loop {
        match stopped.recv_timeout(pause) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let sent = Instant::now();
        pause = match renew(db, owner, timeout) {
            Ok(()) => {
                clock.renewed(sent, certain_for(timeout));
                last_renewed = Instant::now();
                timeout / 3
            }
            Err(error) if last_renewed.elapsed() >= timeout => {
                tracing::error!(%error, "this driver's leases have expired: other drivers may take its actors over");
                RETRY_PAUSE
            }
            Err(error) => {
                tracing::warn!(%error, "renewing this driver's leases failed; retrying");
                RETRY_PAUSE
            }
        };
    }
}

fn renew(db: &mut dyn SqliteDatabase, owner: &str, timeout: Duration) -> Result<()> {
    let expires = now_ms().saturating_add(millis(timeout));
    db.run(RENEW_SQL, params![owner, sql_ms(expires)])?;
    Ok(())
}

fn forget(db: &mut dyn SqliteDatabase, before: u64) -> Result<()> {
    db.run(FORGET_DRIVERS_SQL, params![sql_ms(before)])?;
    db.exec(FORGET_LEASES_SQL)?;
    Ok(())
}

/// `host:pid:uuid`: unique, and telling where the driver runs.
fn owner_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!(
        "{host}:{}:{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn sql_ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sqlite_runtime::{OpenOptions, SqliteRuntime, Target};
    use sqlite_runtime_backends::RusqliteRuntime;

    use super::*;

    /// Epochs grow with each new holder, so that a claim of an older lease never wins
    /// (see `kv::fence`); a holder taking its own lease again keeps its epoch.
    #[test]
    fn each_new_holder_gets_a_later_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("actors.db");
        let open = || {
            RusqliteRuntime::new()
                .open(&Target::file(&path), &OpenOptions::new())
                .unwrap()
        };
        let start = || {
            let index = Arc::new(Mutex::new(open()));
            Leases::start(index, open(), Duration::from_secs(60)).unwrap()
        };
        let (a, b) = (start(), start());
        let epoch = |leases: &Leases| leases.fence("x").map(|claim| claim.epoch);

        a.wake("x").unwrap();
        let first = epoch(&a).unwrap();
        a.wake("x").unwrap();
        assert_eq!(epoch(&a), Some(first), "taken again by its holder");
        assert!(matches!(
            b.wake("x"),
            Err(Error::ActorOwnedElsewhere { .. })
        ));
        assert_eq!(epoch(&b), None);

        // A's registration lapses (as if it had stopped renewing): B takes over.
        open()
            .run(
                "UPDATE driver SET expires = 0 WHERE owner = ?1",
                params![a.owner()],
            )
            .unwrap();
        b.wake("x").unwrap();
        let second = epoch(&b).unwrap();
        assert!(second > first);
        b.release("x");
        assert_eq!(epoch(&b), None);
        a.wake("x").unwrap();
        assert!(epoch(&a).unwrap() > second, "a free lease taken anew");
    }
}
