//! The fence of an actor guarded by a lease: the lease holder's claim recorded in the
//! actor's own database, checked by every write inside its transaction.
//!
//! A lease alone cannot stop a driver that lost it without knowing (paused, or cut off
//! from the engine, for longer than the lease) from writing to an actor another driver
//! has since taken over. So a driver that takes an actor's lease also claims the actor's
//! database (`kv_owner`) with the lease's epoch, a number the index database gives each
//! new holder, larger than every earlier one. A claim never replaces one of a larger
//! epoch, so a driver that comes back late cannot take the database back. Each write
//! first reads the claim in the same `BEGIN IMMEDIATE` transaction (or, on an engine
//! without local files, in the one statement that is the whole write, e.g.
//! [`sql::PUT_PACKED_FENCED`](crate::sql::PUT_PACKED_FENCED)): the database's write
//! lock orders the claim and the write, so a write either commits before the new
//! holder's claim (and the new holder, which reads only after claiming, sees it) or
//! finds the claim and writes nothing ([`Error::ActorOwnedElsewhere`]). A destroy claims
//! the database before emptying it, so a driver that lost the actor is told who
//! destroyed it. Reads are not fenced: a driver that lost an actor may still serve what
//! it had until it puts the actor to sleep.

use sqlite_runtime::{ErrorKind, SqliteDatabase, params};

use crate::error::{Error, Result};

/// The claim's table (one row), created by the first claim.
const TABLE_SQL: &str = "CREATE TABLE IF NOT EXISTS kv_owner (\
     id INTEGER PRIMARY KEY CHECK (id = 0), owner TEXT NOT NULL, epoch INTEGER NOT NULL)";
/// Claims the database unless a later lease (larger epoch) claimed it.
const CLAIM_SQL: &str = "INSERT INTO kv_owner (id, owner, epoch) VALUES (0, ?1, ?2) \
     ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, epoch = excluded.epoch \
     WHERE excluded.epoch >= kv_owner.epoch";
const HOLDER_SQL: &str = "SELECT owner, epoch FROM kv_owner";

/// A lease holder's claim on an actor's database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Claim {
    /// The driver (`host:pid:uuid`).
    pub(crate) owner: String,
    /// The lease's epoch.
    pub(crate) epoch: i64,
}

/// Records `claim` as the database's holder, unless a later lease claimed it (then
/// [`Error::ActorOwnedElsewhere`] naming that one). Run inside a write transaction.
pub(crate) fn claim(db: &mut dyn SqliteDatabase, id: &str, claim: &Claim) -> Result<()> {
    db.exec(TABLE_SQL)?;
    let claimed = db.run(CLAIM_SQL, params![&claim.owner, claim.epoch])?;
    if claimed.changes > 0 {
        return Ok(());
    }
    Err(owned_elsewhere(id, holder(db)?))
}

/// The database's claim; `None` when it was never claimed.
pub(crate) fn holder(db: &mut dyn SqliteDatabase) -> Result<Option<Claim>> {
    let read = db.query_row(HOLDER_SQL, params![], |row| {
        Ok(Claim {
            owner: row.get(0)?,
            epoch: row.get(1)?,
        })
    });
    match read {
        Ok(holder) => Ok(holder),
        Err(error) if error.kind() == ErrorKind::Sql => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Checks that `claim` still holds actor `id`'s database. Run inside the write
/// transaction it guards.
pub(crate) fn check(db: &mut dyn SqliteDatabase, id: &str, claim: &Claim) -> Result<()> {
    match holder(db)? {
        Some(holder) if holder == *claim => Ok(()),
        holder => Err(owned_elsewhere(id, holder)),
    }
}

fn owned_elsewhere(id: &str, holder: Option<Claim>) -> Error {
    Error::ActorOwnedElsewhere {
        id: id.to_owned(),
        owner: holder.map_or_else(|| "no driver".to_owned(), |holder| holder.owner),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sqlite_runtime::{OpenOptions, SqliteRuntime, Target};
    use sqlite_runtime_backends::RusqliteRuntime;

    use super::*;

    fn claim_of(owner: &str, epoch: i64) -> Claim {
        Claim {
            owner: owner.to_owned(),
            epoch,
        }
    }

    fn owner_of(error: Error) -> String {
        match error {
            Error::ActorOwnedElsewhere { owner, .. } => owner,
            other => panic!("{other:?}"),
        }
    }

    /// A driver that claims late (it took an earlier lease, then was paused) cannot take
    /// the database back from a later lease's holder, and its writes stay refused.
    #[test]
    fn a_later_lease_wins_whatever_order_the_claims_arrive_in() {
        let mut db = RusqliteRuntime::new()
            .open(&Target::Memory, &OpenOptions::new())
            .unwrap();
        let (early, late) = (claim_of("a", 5), claim_of("b", 6));
        assert_eq!(holder(&mut *db).unwrap(), None);
        claim(&mut *db, "x", &late).unwrap();
        assert_eq!(owner_of(claim(&mut *db, "x", &early).unwrap_err()), "b");
        assert_eq!(holder(&mut *db).unwrap(), Some(late.clone()));
        check(&mut *db, "x", &late).unwrap();
        assert_eq!(owner_of(check(&mut *db, "x", &early).unwrap_err()), "b");
        // The same claim again is fine; a later one takes over.
        claim(&mut *db, "x", &late).unwrap();
        claim(&mut *db, "x", &claim_of("a", 7)).unwrap();
        assert_eq!(owner_of(check(&mut *db, "x", &late).unwrap_err()), "a");
    }

    #[test]
    fn an_unclaimed_database_refuses_every_fenced_write() {
        let mut db = RusqliteRuntime::new()
            .open(&Target::Memory, &OpenOptions::new())
            .unwrap();
        let error = check(&mut *db, "x", &claim_of("a", 1)).unwrap_err();
        assert_eq!(owner_of(error), "no driver");
    }
}
