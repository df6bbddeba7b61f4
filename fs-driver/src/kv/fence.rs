//! The fence of an actor guarded by a lease: the lease holder recorded in the actor's own
//! database, checked by every write inside its transaction.
//!
//! A lease alone cannot stop a driver that lost it without knowing (paused, or cut off
//! from the engine, for longer than the lease) from writing to an actor another driver
//! has since taken over. So a driver that takes an actor's lease also claims the actor's
//! database (`kv_owner`), and each of its writes first reads the claim in the same
//! `BEGIN IMMEDIATE` transaction: the database's write lock orders the claim and the
//! write, so a write either commits before the new holder's claim (and the new holder,
//! which reads only after claiming, sees it) or finds the claim and writes nothing
//! ([`Error::ActorOwnedElsewhere`]). A destroy claims the database before emptying it,
//! so a driver that lost the actor is told who destroyed it. Reads are not fenced: a driver that lost an actor
//! may still serve what it had until it puts the actor to sleep.

use sqlite_runtime::{ErrorKind, SqliteDatabase, params};

use crate::error::{Error, Result};

/// The claim's table (one row), created by the first claim.
const TABLE_SQL: &str = "CREATE TABLE IF NOT EXISTS kv_owner (id INTEGER PRIMARY KEY CHECK (id = 0), owner TEXT NOT NULL)";
const CLAIM_SQL: &str = "INSERT INTO kv_owner (id, owner) VALUES (0, ?1) \
     ON CONFLICT (id) DO UPDATE SET owner = excluded.owner";
const HOLDER_SQL: &str = "SELECT owner FROM kv_owner";

/// Records `owner` as the database's holder. Run inside a write transaction.
pub(crate) fn claim(db: &mut dyn SqliteDatabase, owner: &str) -> Result<()> {
    db.exec(TABLE_SQL)?;
    db.run(CLAIM_SQL, params![owner])?;
    Ok(())
}

/// The database's holder; `None` when it was never claimed.
pub(crate) fn holder(db: &mut dyn SqliteDatabase) -> Result<Option<String>> {
    match db.query_row(HOLDER_SQL, params![], |row| row.get::<String>(0)) {
        Ok(holder) => Ok(holder),
        Err(error) if error.kind() == ErrorKind::Sql => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Checks that `owner` still holds actor `id`'s database. Run inside the write
/// transaction it guards.
pub(crate) fn check(db: &mut dyn SqliteDatabase, id: &str, owner: &str) -> Result<()> {
    match holder(db)? {
        Some(holder) if holder == owner => Ok(()),
        holder => Err(Error::ActorOwnedElsewhere {
            id: id.to_owned(),
            owner: holder.unwrap_or_else(|| "no driver".to_owned()),
        }),
    }
}
