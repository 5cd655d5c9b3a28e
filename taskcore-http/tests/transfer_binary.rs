//! `taskcore-server export` and `import`, black-box: a dump taken from a running server's SQLite
//! file loads into another store and serves the same rooms; a taken code fails, skips or is
//! replaced by choice; a cut or broken dump is refused naming its line, with nothing of the
//! room at fault written.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::json;
use support::ServerProcess;

async fn run(args: &[&str], stdin: Option<&Path>) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcore-server"));
    command.args(args).args(["--log", "warn"]);
    if let Some(path) = stdin {
        command.stdin(std::fs::File::open(path).unwrap());
    }
    command.output().await.unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dump_of_a_running_server_loads_into_another_store() {
    let dir = tempfile::tempdir().unwrap();
    let live = format!("sqlite://{}", dir.path().join("live.db").display());
    let server = ServerProcess::start(&live, &[]).await;
    let api = server.target();
    let code = api.room("alice").await;
    api.post(&format!("/rooms/{code}/join"), json!({ "username": "Bob" })).await;
    for title in ["first", "second", "third 📅"] {
        let reply =
            api.post(&format!("/tasks?room={code}"), json!({ "title": title, "tags": ["x"], "assignee": "bob" })).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    assert_eq!(api.send("DELETE", &format!("/tasks/2?room={code}"), &[], support::Payload::None).await.status, 200);
    let before = api.get(&format!("/rooms/{code}")).await.json;

    // Online: the server keeps running while the dump is taken.
    let dump = dir.path().join("dump.jsonl");
    let exported = run(&["export", "--store", &live, "--output", dump.to_str().unwrap()], None).await;
    assert!(exported.status.success(), "{}", stderr(&exported));
    assert!(stderr(&exported).contains("exported 1 rooms, 2 tasks"), "{}", stderr(&exported));
    assert!(!dir.path().join("dump.jsonl.partial").exists(), "the partial file was renamed");
    let to_stdout = run(&["export", "--store", &live, "--room", &code.to_lowercase()], None).await;
    assert!(to_stdout.status.success(), "{}", stderr(&to_stdout));
    let header = String::from_utf8(to_stdout.stdout.clone()).unwrap();
    assert!(header.starts_with(r#"{"header":{"format":"taskcore-dump","version":1,"source":"sqlite""#), "{header}");
    assert_eq!(
        header.lines().skip(1).collect::<Vec<_>>(),
        std::fs::read_to_string(&dump).unwrap().lines().skip(1).collect::<Vec<_>>()
    );

    let moved = format!("sqlite://{}", dir.path().join("moved.db").display());
    let imported = run(&["import", "--store", &moved], Some(&dump)).await;
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert!(
        stderr(&imported).contains("imported 1 rooms into sqlite (1 created, 0 replaced, 0 skipped), 2 tasks"),
        "{}",
        stderr(&imported)
    );

    drop(server);

    // A server on the new store serves the moved room as before.
    let server = ServerProcess::start(&moved, &[]).await;
    let api = server.target();
    let after = api.get(&format!("/rooms/{code}")).await.json;
    assert_eq!(after, before, "the moved room answers as before");

    let again = run(&["import", "--store", &moved, "--input", dump.to_str().unwrap()], None).await;
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));
    let skipped =
        run(&["import", "--store", &moved, "--input", dump.to_str().unwrap(), "--on-conflict", "skip"], None).await;
    assert!(skipped.status.success() && stderr(&skipped).contains("1 skipped"), "{}", stderr(&skipped));

    // Replacing the room under a live event stream: the stream is told to resync.
    let events = format!("/rooms/{code}/events");
    let (text, replaced) = tokio::join!(
        api.read_stream(&events, std::time::Duration::from_secs(10), |t| t.contains("event: resync")),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let args = ["import", "--store", &moved, "--input", dump.to_str().unwrap(), "--on-conflict", "replace"];
            run(&args, None).await
        }
    );
    assert!(replaced.status.success() && stderr(&replaced).contains("1 replaced"), "{}", stderr(&replaced));
    assert!(text.contains("event: resync"), "a live stream of a replaced room resyncs: {text}");
    assert_eq!(api.get(&format!("/rooms/{code}")).await.json, before, "and reads the imported room");
    let next = api.post(&format!("/tasks?room={code}"), json!({ "title": "after the move" })).await;
    assert_eq!(next.json["task"]["id"], 4, "number 2 was deleted and stays used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_or_broken_dump_is_refused_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}", dir.path().join("source.db").display());
    let server = ServerProcess::start(&source, &[]).await;
    let api = server.target();
    let first = api.room("alice").await;
    let second = api.room("bob").await;
    for code in [&first, &second] {
        api.post(&format!("/tasks?room={code}"), json!({ "title": "t" })).await;
    }
    drop(server);
    let dump = dir.path().join("dump.jsonl");
    assert!(run(&["export", "--store", &source, "-o", dump.to_str().unwrap()], None).await.status.success());
    let text = std::fs::read_to_string(&dump).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "header, two rooms of one task each, end:\n{text}");

    let cut = dir.path().join("cut.jsonl");
    std::fs::write(&cut, lines[..4].join("\n") + "\n").unwrap();
    let target = format!("sqlite://{}", dir.path().join("target.db").display());
    let refused = run(&["import", "--store", &target, "-i", cut.to_str().unwrap()], None).await;
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(said.contains("line 4") && said.contains("cut short"), "{said}");
    assert!(said.contains("import stopped after 1 rooms"), "{said}");

    let broken = dir.path().join("broken.jsonl");
    let mut bad: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    bad[4] = bad[4].replace("\"title\":\"t\"", "\"title\":[]");
    std::fs::write(&broken, bad.join("\n") + "\n").unwrap();
    let fresh = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let refused = run(&["import", "--store", &fresh, "-i", broken.to_str().unwrap()], None).await;
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("line 5"), "{}", stderr(&refused));

    // The room before the fault is there, the room at fault is not, and nothing is half-written.
    let server = ServerProcess::start(&fresh, &[]).await;
    let api = server.target();
    let codes: Vec<String> = lines[1..=4]
        .iter()
        .filter(|l| l.starts_with("{\"room\""))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["room"]["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(api.get(&format!("/rooms/{}", codes[0])).await.status, 200);
    assert_eq!(api.get(&format!("/rooms/{}", codes[1])).await.status, 404);

    let not_a_dump = run(&["import", "--store", &fresh], Some(&dir.path().join("source.db"))).await;
    assert!(!not_a_dump.status.success());
    assert!(stderr(&not_a_dump).contains("line 1"), "{}", stderr(&not_a_dump));
}
