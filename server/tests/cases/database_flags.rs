//! Choosing the database at start: `--db FILE` (SQLite) or `--database-url URL` (PostgreSQL), never both, never
//! neither; a PostgreSQL start without an attachments directory, with a URL that is not PostgreSQL's, an unreachable
//! server or a bad `pool_size` stops with a message that says what to fix (and never prints the password).

use std::process::{Command, Stdio};

/// Runs the server binary with `args`, which it must refuse at start: returns its stderr.
fn refused(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_chatflow-server"))
        .current_dir(dir.path())
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .env_remove("CHATFLOW_DB")
        .env_remove("CHATFLOW_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("run chatflow-server");
    assert!(!out.status.success(), "the server started with {args:?}");
    assert!(out.stdout.is_empty(), "nothing listened: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_start_names_exactly_one_database() {
    let neither = refused(&[]);
    assert!(neither.contains("--db") && neither.contains("--database-url"), "{neither}");
    let both = refused(&["--db", "x.db", "--database-url", "postgres://u@127.0.0.1/db", "--blob-dir", "files"]);
    assert!(both.contains("cannot be used with"), "{both}");
}

#[test]
fn postgres_needs_a_directory_for_attachments() {
    let err = refused(&["--database-url", "postgres://u@127.0.0.1:1/db"]);
    assert!(err.contains("--blob-dir"), "{err}");
}

#[test]
fn a_bad_postgres_url_or_pool_size_is_refused_with_what_to_fix() {
    let err = refused(&["--database-url", "mysql://u@127.0.0.1/db", "--blob-dir", "files"]);
    assert!(err.contains("not a PostgreSQL URL"), "{err}");
    let err = refused(&["--database-url", "postgres://u@127.0.0.1:1/db?pool_size=0", "--blob-dir", "files"]);
    assert!(err.contains("pool_size") && err.contains("1 to 1000"), "{err}");
    let err = refused(&["--database-url", "postgres://u@127.0.0.1:1/db?sslmode=require", "--blob-dir", "files"]);
    assert!(err.contains("sslmode=require") && err.contains("TLS"), "{err}");
}

#[test]
fn an_unreachable_postgres_stops_the_start_without_printing_the_password() {
    // Port 1 on loopback: nothing listens there.
    let err = refused(&["--database-url", "postgres://chat:s3cret-pw@127.0.0.1:1/db", "--blob-dir", "files"]);
    assert!(err.contains("cannot connect"), "{err}");
    assert!(err.contains("postgres://chat:***@127.0.0.1:1/db"), "names the database: {err}");
    assert!(!err.contains("s3cret-pw"), "{err}");
}
