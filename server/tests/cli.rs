//! The `steadfast` binary as a person runs it: `token`, `serve` with a clean
//! shutdown on SIGTERM, and clear errors for bad flags.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn steadfast() -> Command {
    Command::new(env!("CARGO_BIN_EXE_steadfast"))
}

#[test]
fn token_prints_a_jwt_the_server_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let out = steadfast()
        .args(["token", "--user", "alice", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    // The secret was generated into the data folder; the same folder verifies it.
    let secret = std::fs::read_to_string(dir.path().join("jwt-secret")).unwrap();
    let auth = server::auth::Auth::new(secret.trim(), "unused");
    assert_eq!(auth.customer(Some(&token)).unwrap(), "alice");
}

#[test]
fn serve_prints_how_to_reach_it_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = steadfast()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let up = (0..300).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "the server listens");
    assert!(
        dir.path().join("steadfast.db").exists(),
        "SQLite created in the data folder"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no clean exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
    let printed = reader.join().unwrap();
    let token = std::fs::read_to_string(dir.path().join("operator-token")).unwrap();
    assert!(
        printed.contains(&format!("http://127.0.0.1:{port}")),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("/login?token={}", token.trim())),
        "{printed}"
    );
}

#[test]
fn bad_flags_are_refused_with_a_message() {
    let out = steadfast()
        .args(["serve", "--listen", "not-an-address"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
    let out = steadfast()
        .args(["serve", "--role", "nonsense"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn an_unwritable_data_folder_is_a_clear_error() {
    let out = steadfast()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            "/proc/steadfast-cannot-write",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("data folder"), "{stderr}");
}
