//! The order of settings of the `sync-server` binary: a flag wins over a `SYNC_*` variable,
//! which wins over the `--config` file, which wins over the default.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sync-server"));
    for (name, _) in std::env::vars() {
        if name.starts_with("SYNC_") {
            command.env_remove(name);
        }
    }
    command
}

/// Runs `admin entity list` and says which of the SQLite files in `dir` exist afterwards.
fn databases_after(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Vec<String> {
    let output = binary()
        .current_dir(dir)
        .args(args)
        .args(["admin", "entity", "list"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut found: Vec<String> = [
        "file.sqlite",
        "env.sqlite",
        "flag.sqlite",
        "sync-server.sqlite",
    ]
    .into_iter()
    .filter(|name| dir.join(name).exists())
    .map(str::to_string)
    .collect();
    found.sort();
    for name in &found {
        std::fs::remove_file(dir.join(name)).unwrap();
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("{name}{suffix}")));
        }
    }
    found
}

#[test]
fn the_database_comes_from_the_flag_then_the_variable_then_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sync-server.toml");
    std::fs::write(&config, "db = \"sqlite:file.sqlite\"\n").unwrap();
    let config = config.to_str().unwrap();
    let env = [("SYNC_DB", "sqlite:env.sqlite".to_string())];

    assert_eq!(
        databases_after(dir.path(), &[], &[]),
        ["sync-server.sqlite"]
    );
    assert_eq!(
        databases_after(dir.path(), &["--config", config], &[]),
        ["file.sqlite"]
    );
    assert_eq!(
        databases_after(dir.path(), &["--config", config], &env),
        ["env.sqlite"]
    );
    assert_eq!(
        databases_after(
            dir.path(),
            &["--config", config, "--db", "sqlite:flag.sqlite"],
            &env
        ),
        ["flag.sqlite"]
    );
    // The file can also be named by SYNC_CONFIG.
    let by_variable = [("SYNC_CONFIG", config.to_string())];
    assert_eq!(
        databases_after(dir.path(), &[], &by_variable),
        ["file.sqlite"]
    );
}

/// Serves with `args` and `env`, reads the records limit from the capabilities, stops.
fn served_max_records(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> u64 {
    let mut child = binary()
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let address = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.split("address=").nth(1).map(|rest| {
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
        })
        .expect("the server logs the address it listens on");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let capabilities: Value = runtime.block_on(async {
        reqwest::get(format!("http://{address}/api/v1/capabilities"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "stops cleanly on interrupt"
    );
    capabilities["max_records_per_upload"].as_u64().unwrap()
}

#[test]
fn serve_settings_come_from_the_flag_then_the_variable_then_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sync-server.toml");
    std::fs::write(
        &config,
        "db = \"sqlite:served.sqlite\"\nlisten = \"127.0.0.1:0\"\nmax_records = 7\n\n[webhooks]\nmax_attempts = 4\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let serve = ["--config", config, "serve"];
    assert_eq!(served_max_records(dir.path(), &serve, &[]), 7);
    let env = [("SYNC_MAX_RECORDS", "8")];
    assert_eq!(served_max_records(dir.path(), &serve, &env), 8);
    let flagged = ["--config", config, "serve", "--max-records", "9"];
    assert_eq!(served_max_records(dir.path(), &flagged, &env), 9);
}

#[test]
fn a_bad_config_file_is_refused_with_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "listn = \"127.0.0.1:0\"\n").unwrap();
    let output = binary()
        .current_dir(dir.path())
        .args(["--config", config.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("bad.toml") && message.contains("listn"),
        "the error names the file and the key: {message}"
    );
    let missing = binary()
        .args([
            "--config",
            "/nonexistent/sync.toml",
            "admin",
            "entity",
            "list",
        ])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/sync.toml"));
}
