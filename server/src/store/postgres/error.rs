//! PostgreSQL errors become the store's backend-neutral `StoreError` here, so nothing above `store/postgres` sees
//! the `postgres` crate.

use ::postgres::error::SqlState;

use crate::store::StoreError;

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        let Some(code) = e.code() else {
            // No SQLSTATE: the connection failed or closed (server restart, network): worth a retry later.
            return StoreError::Unavailable(format!("postgres: {e}"));
        };
        let message = e.as_db_error().map_or_else(|| e.to_string(), |db| db.message().to_owned());
        if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || *code == SqlState::TOO_MANY_CONNECTIONS
            || *code == SqlState::LOCK_NOT_AVAILABLE
            || *code == SqlState::QUERY_CANCELED
        {
            return StoreError::Unavailable(format!("postgres: {message} ({})", code.code()));
        }
        if *code == SqlState::DATA_CORRUPTED || *code == SqlState::INDEX_CORRUPTED {
            return StoreError::Corrupt(format!("postgres: {message}"));
        }
        StoreError::Backend(format!("postgres: {message} ({})", code.code()))
    }
}

/// Whether `e` is a unique-constraint violation (a key that must be unique is taken).
pub(super) fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}
