//! The README's demo command, end to end: `scripts/demo.sh tour` starts the server on a free loopback port with the
//! demo seed (or the test seed), writes the SDK config, runs the scripted tour against it and stops the server at
//! exit. The binaries under test are handed over (`CHATFLOW_SERVER_BIN`, `CHATFLOW_CLI_BIN`) so the script does not
//! run a nested `cargo build` (whose feature set could differ from a workspace-wide test build and rebuild the
//! dependencies); its build path is the same two `cargo build` commands anyone runs.

mod support;

use std::process::{Command, Stdio};

#[test]
fn the_demo_script_runs_the_tour_and_stops_the_server() {
    let root = support::workspace();
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(root.join("scripts/demo.sh"))
        .arg("tour")
        .current_dir(&root)
        // Not a terminal: the scripted tour, plain text.
        .stdin(Stdio::null())
        .env("TMPDIR", tmp.path())
        .env("CHATFLOW_SERVER_BIN", support::server_bin())
        .env("CHATFLOW_CLI_BIN", support::cli_bin())
        .env_remove("CHATFLOW_CONFIG")
        .env_remove("CHATFLOW_DATA_DIR")
        .output()
        .expect("run scripts/demo.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo.sh failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status.code());
    for step in [
        "[1/7] resolve the mobile tag `support`",
        "why: chatflow",
        "[2/7] the chat screen",
        "[3/7] consent",
        "[4/7] knowledge-base search",
        "[5/7] send a message",
        "[6/7] the",
        "[7/7] a message sent while offline",
        "delivered after reconnect",
        "tour complete",
    ] {
        assert!(stdout.contains(step), "`{step}` missing from the tour:\n{stdout}\nstderr:\n{stderr}");
    }
    assert!(stderr.contains("server on http://127.0.0.1:"), "{stderr}");
    // The trap removed the temp directory (and with it the database): nothing is left behind.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
