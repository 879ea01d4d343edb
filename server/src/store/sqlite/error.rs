//! SQLite errors become the store's backend-neutral `StoreError` here, so nothing above `store/sqlite` sees
//! `rusqlite`.

use rusqlite::ErrorCode;

use crate::store::StoreError;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            // The busy timeout ran out (another process holds the database): worth a retry later.
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Unavailable(format!("sqlite: {e}"))
            }
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt(format!("sqlite: {e}")),
            _ => StoreError::Backend(format!("sqlite: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_errors_lose_their_backend_type() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let err: StoreError = conn.execute("SELECT * FROM missing", []).unwrap_err().into();
        assert!(matches!(&err, StoreError::Backend(m) if m.contains("missing")), "{err}");
        let busy = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None);
        assert!(matches!(StoreError::from(busy), StoreError::Unavailable(_)));
    }
}
