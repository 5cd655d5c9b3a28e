//! The HTTP contract: one async fn per behaviour a client relies on, run against any
//! [`Target`] (in-process over `MemoryStore`, or the real binary over each compiled backend).
//! Every behaviour makes its own rooms, so behaviours may share one server.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::{Payload, Reply, Target};

/// Expands each named behaviour into a `#[tokio::test]` that runs it against `$target`
/// (an async expression yielding a `Target` and a guard kept alive for the test).
#[macro_export]
macro_rules! contract_tests {
    ($make:path) => {
        $crate::contract_tests!(@expand $make;
            create_room_answers_201_with_code_and_room,
            create_room_requires_a_username,
            get_room_returns_room_with_tasks_or_404,
            joining_twice_does_not_duplicate_and_both_forms_work,
            list_requires_a_known_room,
            list_filters_by_status_and_priority_with_totals,
            create_task_takes_room_from_query_or_body,
            create_task_validates_title_and_due_date,
            update_is_partial_and_404_for_unknown,
            delete_answers_deleted_task_and_never_reuses_ids,
            complete_sets_completed_at,
            stats_have_the_original_keys,
            get_task_has_etag_and_if_match_guards_writes,
            idempotency_key_makes_create_retry_safe,
            hostile_input_gets_400_never_500,
            cursor_paging_visits_every_task_once,
            change_feed_follows_a_room,
            event_stream_pushes_changes_as_they_happen,
            event_stream_resumed_past_the_end_resyncs,
            malformed_requests_get_json_errors,
            health_and_api_describe_the_service,
            listings_and_rooms_revalidate_with_etags,
            a_room_under_the_budget_keeps_the_original_shape,
            rooms_export_as_json_and_csv,
        );
    };
    (@expand $make:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (target, _guard) = $make().await;
                support::contract::$name(&target).await;
            }
        )*
    };
}

pub async fn create_room_answers_201_with_code_and_room(api: &Target) {
    let reply = api.post("/rooms", json!({ "username": "alice" })).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let code = reply.json["room_code"].as_str().unwrap();
    assert_eq!(code.len(), 6);
    let room = &reply.json["room"];
    assert_eq!(room["code"], code);
    assert_eq!(room["owner"], "alice");
    assert_eq!(room["members"], json!(["alice"]));
    assert!(room["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(room["tasks"], json!([]));
}

pub async fn create_room_requires_a_username(api: &Target) {
    for body in [json!({}), json!({ "username": "   " }), json!({ "username": null })] {
        let reply = api.post("/rooms", body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        assert!(reply.json["error"].as_str().unwrap().to_lowercase().contains("username"));
        assert_eq!(reply.json["field"], "username");
    }
}

pub async fn get_room_returns_room_with_tasks_or_404(api: &Target) {
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "first" })).await;
    let reply = api.get(&format!("/rooms/{}", code.to_lowercase())).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["code"], code);
    assert_eq!(reply.json["tasks"][0]["title"], "first");
    assert_eq!(reply.json["tasks"][0]["id"], 1);
    let missing = api.get("/rooms/ZZZZ99").await;
    assert_eq!(missing.status, 404);
    assert!(missing.json["error"].as_str().unwrap().contains("not found"));
}

pub async fn joining_twice_does_not_duplicate_and_both_forms_work(api: &Target) {
    let code = api.room("alice").await;
    let first = api.post(&format!("/rooms/{code}/join"), json!({ "username": "bob" })).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.json["message"].is_string());
    let again = api.post("/rooms/join", json!({ "room_code": code.to_lowercase(), "username": "bob" })).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json["room"]["members"], json!(["alice", "bob"]));
    let unknown = api.post("/rooms/join", json!({ "room_code": "ZZZZ99", "username": "bob" })).await;
    assert_eq!(unknown.status, 404);
    let unknown_path = api.post("/rooms/ZZZZ99/join", json!({ "username": "bob" })).await;
    assert_eq!(unknown_path.status, 404);
    let no_name = api.post(&format!("/rooms/{code}/join"), json!({})).await;
    assert_eq!(no_name.status, 400);
    let no_code = api.post("/rooms/join", json!({ "username": "bob" })).await;
    assert_eq!(no_code.status, 400);
    assert_eq!(no_code.json["field"], "room_code");
}

pub async fn list_requires_a_known_room(api: &Target) {
    let none = api.get("/tasks").await;
    assert_eq!(none.status, 400);
    assert_eq!(none.json["field"], "room");
    let unknown = api.get("/tasks?room=ZZZZ99").await;
    assert_eq!(unknown.status, 404);
    let malformed = api.get("/tasks?room=no-such!").await;
    assert_eq!(malformed.status, 400);
}

pub async fn list_filters_by_status_and_priority_with_totals(api: &Target) {
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "a", "priority": "high" })).await;
    api.task(&code, json!({ "title": "b", "priority": "low" })).await;
    api.task(&code, json!({ "title": "c", "priority": "HIGH" })).await;
    assert_eq!(api.post(&format!("/tasks/1/complete?room={code}"), json!({})).await.status, 200);
    let all = api.get(&format!("/tasks?room={code}")).await;
    assert_eq!((all.json["total"].as_u64(), all.json["total_all"].as_u64()), (Some(3), Some(3)));
    let pending_high = api.get(&format!("/tasks?room={code}&status=pending&priority=high")).await;
    assert_eq!(pending_high.status, 200, "{}", pending_high.text);
    let titles: Vec<&str> =
        pending_high.json["tasks"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["c"]);
    assert_eq!((pending_high.json["total"].as_u64(), pending_high.json["total_all"].as_u64()), (Some(1), Some(3)));
    let completed = api.get(&format!("/tasks?room={code}&status=completed")).await;
    assert_eq!(completed.json["tasks"][0]["title"], "a");
    let sorted = api.get(&format!("/tasks?room={code}&sort=-priority&q=")).await;
    assert_eq!(sorted.status, 400, "empty search text is rejected: {}", sorted.text);
    let bad = api.get(&format!("/tasks?room={code}&status=done")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json["field"], "status");
}

pub async fn create_task_takes_room_from_query_or_body(api: &Target) {
    let code = api.room("alice").await;
    let reply = api
        .post(
            &format!("/tasks?room={code}"),
            json!({ "title": "  Query room ", "description": "d", "due_date": "2026-12-01" }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.json["message"], "Task created successfully");
    let task = &reply.json["task"];
    for key in [
        "id",
        "uuid",
        "title",
        "description",
        "priority",
        "due_date",
        "completed",
        "completed_at",
        "created_at",
        "updated_at",
        "tags",
        "assignee",
        "version",
    ] {
        assert!(task.get(key).is_some(), "task JSON has {key}: {task}");
    }
    assert_eq!(task["title"], "Query room");
    assert_eq!(task["priority"], "medium");
    assert_eq!(task["due_date"], "2026-12-01T00:00:00Z");
    assert_eq!(task["completed"], false);
    assert_eq!(task["completed_at"], Value::Null);
    assert_eq!(reply.header("etag"), Some("\"1\""));
    let body_room = api.post("/tasks", json!({ "room_code": code, "title": "Body room" })).await;
    assert_eq!(body_room.status, 201, "{}", body_room.text);
    assert_eq!(body_room.json["task"]["id"], 2);
}

pub async fn create_task_validates_title_and_due_date(api: &Target) {
    let code = api.room("alice").await;
    let no_title = api.post(&format!("/tasks?room={code}"), json!({ "description": "x" })).await;
    assert_eq!(no_title.status, 400);
    assert_eq!(no_title.json["field"], "title");
    let bad_due = api.post(&format!("/tasks?room={code}"), json!({ "title": "t", "due_date": "next week" })).await;
    assert_eq!(bad_due.status, 400);
    assert_eq!(bad_due.json["field"], "due_date");
    assert!(bad_due.json["error"].as_str().unwrap().contains("YYYY-MM-DD"), "{}", bad_due.text);
    let bad_priority = api.post(&format!("/tasks?room={code}"), json!({ "title": "t", "priority": "urgent" })).await;
    assert_eq!(bad_priority.status, 400);
    assert_eq!(bad_priority.json["field"], "priority");
    let wrong_type = api.post(&format!("/tasks?room={code}"), json!({ "title": 5 })).await;
    assert_eq!(wrong_type.status, 422, "{}", wrong_type.text);
    let list = api.get(&format!("/tasks?room={code}")).await;
    assert_eq!(list.json["total_all"], 0, "nothing was created by bad input");
}

pub async fn update_is_partial_and_404_for_unknown(api: &Target) {
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "t", "description": "keep", "priority": "high", "due_date": "2026-12-01" })).await;
    let reply = api.put(&format!("/tasks/1?room={code}"), json!({ "title": "renamed", "due_date": null })).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.json["message"].is_string());
    let task = &reply.json["task"];
    assert_eq!(task["title"], "renamed");
    assert_eq!(task["description"], "keep");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["due_date"], Value::Null);
    assert_eq!(task["version"], 2);
    let patch =
        api.send("PATCH", &format!("/tasks/1?room={code}"), &[], Payload::Json(json!({ "completed": true }))).await;
    assert_eq!(patch.status, 200);
    assert_eq!(patch.json["task"]["completed"], true);
    assert_eq!(api.put(&format!("/tasks/99?room={code}"), json!({ "title": "x" })).await.status, 404);
    let bad_id = api.put(&format!("/tasks/abc?room={code}"), json!({ "title": "x" })).await;
    assert_eq!(bad_id.status, 400);
    assert_eq!(bad_id.json["field"], "id");
}

pub async fn delete_answers_deleted_task_and_never_reuses_ids(api: &Target) {
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "one" })).await;
    api.task(&code, json!({ "title": "two" })).await;
    let reply = api.delete(&format!("/tasks/2?room={code}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["message"], "Task deleted successfully");
    assert_eq!(reply.json["deleted_task"]["title"], "two");
    assert_eq!(api.delete(&format!("/tasks/2?room={code}")).await.status, 404);
    assert_eq!(api.task(&code, json!({ "title": "three" })).await["id"], 3);
}

pub async fn complete_sets_completed_at(api: &Target) {
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "t" })).await;
    let reply = api.post(&format!("/tasks/1/complete?room={code}"), json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["task"]["completed"], true);
    assert!(reply.json["task"]["completed_at"].is_string());
    let reopened = api.post(&format!("/tasks/1/reopen?room={code}"), json!({})).await;
    assert_eq!(reopened.json["task"]["completed_at"], Value::Null);
    assert_eq!(api.post(&format!("/tasks/9/complete?room={code}"), json!({})).await.status, 404);
}

pub async fn stats_have_the_original_keys(api: &Target) {
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "a", "due_date": "2001-01-01" })).await;
    api.task(&code, json!({ "title": "b", "priority": "high" })).await;
    api.task(&code, json!({ "title": "c" })).await;
    api.post(&format!("/tasks/2/complete?room={code}"), json!({})).await;
    let reply = api.get(&format!("/tasks/stats?room={code}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["total_tasks"], 3);
    assert_eq!(reply.json["completed_tasks"], 1);
    assert_eq!(reply.json["pending_tasks"], 2);
    assert_eq!(reply.json["overdue_tasks"], 1);
    assert_eq!(reply.json["completion_rate"], 33.33);
    assert_eq!(reply.json["by_priority"], json!({ "low": 0, "medium": 2, "high": 1 }));
    assert_eq!(api.get("/tasks/stats").await.status, 400);
}

pub async fn get_task_has_etag_and_if_match_guards_writes(api: &Target) {
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "t" })).await;
    let got = api.get(&format!("/tasks/1?room={code}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json["title"], "t");
    assert_eq!(got.header("etag"), Some("\"1\""));
    let path = format!("/tasks/1?room={code}");
    let ok = api.send("PUT", &path, &[("if-match", "\"1\"")], Payload::Json(json!({ "title": "v2" }))).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.header("etag"), Some("\"2\""));
    let stale = api.send("PUT", &path, &[("if-match", "\"1\"")], Payload::Json(json!({ "title": "lost" }))).await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    assert_eq!(stale.json["task"]["title"], "v2");
    assert_eq!(stale.json["current_version"], 2);
    let stale_delete = api.send("DELETE", &path, &[("if-match", "\"1\"")], Payload::None).await;
    assert_eq!(stale_delete.status, 412);
    let body_version = api.put(&path, json!({ "title": "x", "expected_version": 1 })).await;
    assert_eq!(body_version.status, 409);
    let bad_header = api.send("PUT", &path, &[("if-match", "yesterday")], Payload::Json(json!({ "title": "x" }))).await;
    assert_eq!(bad_header.status, 400);
    assert_eq!(api.get(&path).await.json["title"], "v2");
    assert_eq!(api.get(&format!("/tasks/7?room={code}")).await.status, 404);
}

pub async fn idempotency_key_makes_create_retry_safe(api: &Target) {
    let code = api.room("alice").await;
    let path = format!("/tasks?room={code}");
    let body = json!({ "title": "once" });
    let first = api.send("POST", &path, &[("idempotency-key", "abc-123")], Payload::Json(body.clone())).await;
    let second = api.send("POST", &path, &[("idempotency-key", "abc-123")], Payload::Json(body.clone())).await;
    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(first.json["task"]["uuid"], second.json["task"]["uuid"]);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(api.get(&path).await.json["total_all"], 1);
    let bad = api.send("POST", &path, &[("idempotency-key", "")], Payload::Json(body.clone())).await;
    assert_eq!(bad.status, 400);
    // The same key with another body is refused, not answered with the first task.
    let other = json!({ "title": "something else" });
    let reused = api.send("POST", &path, &[("idempotency-key", "abc-123")], Payload::Json(other)).await;
    assert_eq!((reused.status, reused.json["code"].as_str()), (422, Some("idempotency_key_reused")), "{}", reused.text);
    assert_eq!(reused.json["field"], "Idempotency-Key");
    // The key of a deleted task is Gone, with a message saying what to do.
    let id = first.json["task"]["id"].as_u64().unwrap();
    assert_eq!(api.delete(&format!("/tasks/{id}?room={code}")).await.status, 200);
    let gone = api.send("POST", &path, &[("idempotency-key", "abc-123")], Payload::Json(body)).await;
    assert_eq!((gone.status, gone.json["code"].as_str()), (410, Some("idempotent_task_deleted")), "{}", gone.text);
    assert!(gone.json["error"].as_str().unwrap().contains("new key"), "{}", gone.text);
    assert_eq!(api.get(&path).await.json["total_all"], 0, "the deleted task is not made again");
}

/// Dates outside the years 1 to 9999 (after conversion to UTC) and control characters in search
/// text or a title cursor are 400 naming the parameter — never a 500, on any backend (PostgreSQL
/// cannot store NUL).
pub async fn hostile_input_gets_400_never_500(api: &Target) {
    let code = api.room("alice").await;
    let task = api.task(&code, json!({ "title": "t" })).await;
    let id = task["id"].as_u64().unwrap();
    for bad in ["-0001-01-01", "0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "10000-01-01"] {
        let create = api.post(&format!("/tasks?room={code}"), json!({ "title": "x", "due_date": bad })).await;
        assert_eq!((create.status, create.json["field"].as_str()), (400, Some("due_date")), "{bad}: {}", create.text);
        let update = api.put(&format!("/tasks/{id}?room={code}"), json!({ "due_date": bad })).await;
        assert_eq!((update.status, update.json["field"].as_str()), (400, Some("due_date")), "{bad}: {}", update.text);
        let encoded = bad.replace('+', "%2B");
        for field in ["due_before", "due_after"] {
            let list = api.get(&format!("/tasks?room={code}&{field}={encoded}")).await;
            assert_eq!((list.status, list.json["field"].as_str()), (400, Some(field)), "{bad}: {}", list.text);
        }
    }
    for q in ["a%00b", "%00", "x%07y", "%1B%5B31m"] {
        let list = api.get(&format!("/tasks?room={code}&q={q}")).await;
        assert_eq!((list.status, list.json["field"].as_str()), (400, Some("q")), "q={q}: {}", list.text);
    }
    for text in ["a\0", "\0", "t\u{1b}"] {
        let sort = taskcore::Sort { key: taskcore::SortKey::Title, dir: taskcore::SortDir::Asc };
        let cursor = taskcore::Cursor { sort, value: taskcore::store::SortValue::Text(text.to_owned()), number: 1 };
        let list = api.get(&format!("/tasks?room={code}&sort=title&limit=5&cursor={}", cursor.encode())).await;
        assert_eq!((list.status, list.json["field"].as_str()), (400, Some("cursor")), "{text:?}: {}", list.text);
    }
    let listed = api.get(&format!("/tasks?room={code}")).await;
    assert_eq!(listed.json["total_all"], 1, "nothing was written: {}", listed.text);
    assert_eq!(api.get(&format!("/tasks/{id}?room={code}")).await.json["due_date"], task["due_date"]);
}

pub async fn cursor_paging_visits_every_task_once(api: &Target) {
    let code = api.room("alice").await;
    for i in 0..7 {
        api.task(&code, json!({ "title": format!("t{i}") })).await;
    }
    let mut seen = Vec::new();
    let mut path = format!("/tasks?room={code}&limit=3&sort=-number");
    loop {
        let page = api.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        seen.extend(page.json["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_u64().unwrap()));
        match page.json["next_cursor"].as_str() {
            Some(cursor) => path = format!("/tasks?room={code}&limit=3&sort=-number&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, [7, 6, 5, 4, 3, 2, 1]);
    let bad = api.get(&format!("/tasks?room={code}&cursor=garbage&limit=3")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json["field"], "cursor");
}

pub async fn change_feed_follows_a_room(api: &Target) {
    let code = api.room("alice").await;
    api.post(&format!("/rooms/{code}/join"), json!({ "username": "bob" })).await;
    api.task(&code, json!({ "title": "t" })).await;
    api.delete(&format!("/tasks/1?room={code}")).await;
    let reply = api.get(&format!("/rooms/{code}/changes?since=0")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let kinds: Vec<&str> =
        reply.json["changes"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["member_joined", "task_created", "task_deleted"]);
    assert_eq!(reply.json["latest"], 3);
    assert_eq!(reply.json["changes"][2]["task_id"], 1);
    let tail = api.get(&format!("/rooms/{code}/changes?since=2")).await;
    assert_eq!(tail.json["changes"].as_array().unwrap().len(), 1);
    assert_eq!(api.get(&format!("/rooms/{code}/changes?since=9")).await.status, 400);
}

pub async fn event_stream_pushes_changes_as_they_happen(api: &Target) {
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "before" })).await;
    let replay = api
        .read_stream(&format!("/rooms/{code}/events?since=0"), std::time::Duration::from_secs(5), |t| {
            t.contains("id: 1")
        })
        .await;
    assert!(replay.contains("event: change"), "{replay}");
    assert!(replay.contains("\"title\":\"before\""), "{replay}");
    let path = format!("/rooms/{code}/events");
    let (text, _) = tokio::join!(
        api.read_stream(&path, std::time::Duration::from_secs(5), |t| t.contains("\"title\":\"live\"")),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            api.task(&code, json!({ "title": "live" })).await;
        }
    );
    assert!(text.contains("id: 2"), "a change made while listening arrives: {text}");
    assert!(!text.contains("\"title\":\"before\""), "without since, only new changes: {text}");
    assert_eq!(api.head_of_get("/rooms/ZZZZ99/events").await.0, 404);
}

/// A stream resumed past the end of the feed (after a restore, say) gets one `resync` event
/// carrying the latest sequence, then the changes made after it.
pub async fn event_stream_resumed_past_the_end_resyncs(api: &Target) {
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "one" })).await;
    let path = format!("/rooms/{code}/events?since=999999999");
    let (text, _) = tokio::join!(
        api.read_stream(&path, std::time::Duration::from_secs(5), |t| t.contains("\"title\":\"two\"")),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(800)).await;
            api.task(&code, json!({ "title": "two" })).await;
        }
    );
    assert_eq!(text.matches("event: resync").count(), 1, "one resync: {text}");
    let resync = text.find("event: resync").unwrap();
    assert!(text[resync..].starts_with("event: resync\nid: 1\n"), "the resync carries the latest sequence: {text}");
    let change = text.find("event: change").expect("the change after the resync arrives");
    assert!(resync < change && text[change..].contains("id: 2"), "{text}");
}

pub async fn malformed_requests_get_json_errors(api: &Target) {
    let code = api.room("alice").await;
    let path = format!("/tasks?room={code}");
    let syntax = api
        .send(
            "POST",
            &path,
            &[],
            Payload::Raw { content_type: Some("application/json"), bytes: b"{\"title\": ".to_vec() },
        )
        .await;
    assert_eq!(syntax.status, 400, "{}", syntax.text);
    assert_eq!(syntax.json["code"], "malformed_json");
    let wrong_type = api
        .send("POST", &path, &[], Payload::Raw { content_type: Some("text/plain"), bytes: b"title=x".to_vec() })
        .await;
    assert_eq!(wrong_type.status, 415, "{}", wrong_type.text);
    assert!(wrong_type.json["error"].is_string());
    let huge = serde_json::to_vec(&json!({ "title": "x", "description": "a".repeat(300_000) })).unwrap();
    let too_big =
        api.send("POST", &path, &[], Payload::Raw { content_type: Some("application/json"), bytes: huge }).await;
    assert_eq!(too_big.status, 413, "{}", too_big.text);
    assert_eq!(too_big.json["code"], "payload_too_large");
    let unknown = api.get("/no/such/route").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.json["error"].is_string());
    let method = api.send("DELETE", "/rooms", &[], Payload::None).await;
    assert_eq!(method.status, 405);
    assert!(method.json["error"].is_string(), "{}", method.text);
    assert!(method.header("allow").is_some());
    assert_eq!(api.get(&path).await.json["total_all"], 0, "nothing was created");
}

pub async fn health_and_api_describe_the_service(api: &Target) {
    let health = api.get("/health").await;
    assert_eq!(health.status, 200, "{}", health.text);
    assert_eq!(health.json["status"], "healthy");
    assert_eq!(health.json["storage"], "ok");
    for key in ["timestamp", "version", "uptime", "backend"] {
        assert!(health.json.get(key).is_some(), "health has {key}");
    }
    assert!(health.json["uptime"].is_u64());
    let api_text = api.get("/api").await;
    assert_eq!(api_text.status, 200);
    assert!(api_text.text.contains("Task Manager API"));
    assert_eq!(api.get("/livez").await.status, 200);
    assert_eq!(api.get("/readyz").await.status, 200);
    let metrics = api.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.text.contains("http_requests_total"), "{}", metrics.text);
    assert!(metrics.header("x-request-id").is_some(), "every response carries a request id");
}

/// `GET /tasks` and `GET /rooms/{code}` carry weak ETags that change with every write (of
/// any kind) and are answered 304 with an empty body while nothing changed.
pub async fn listings_and_rooms_revalidate_with_etags(api: &Target) {
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "one" })).await;
    for path in
        [format!("/tasks?room={code}"), format!("/tasks?room={code}&status=pending&limit=5"), format!("/rooms/{code}")]
    {
        let first = api.get(&path).await;
        assert_eq!(first.status, 200, "{path}: {}", first.text);
        assert_eq!(first.header("cache-control"), Some("no-cache"), "{path}");
        let tag = first.header("etag").unwrap_or_else(|| panic!("{path} has an ETag")).to_owned();
        assert!(tag.starts_with("W/\""), "{tag}");
        let again = api.send("GET", &path, &[("if-none-match", tag.as_str())], Payload::None).await;
        assert_eq!(again.status, 304, "{path} unchanged: {}", again.text);
        assert!(again.text.is_empty());
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        let other = api.send("GET", &path, &[("if-none-match", "W/\"l0.0.0\"")], Payload::None).await;
        assert_eq!(other.status, 200, "another tag gets the body");
    }
    let tag_of = |reply: &Reply| reply.header("etag").unwrap().to_owned();
    let list = format!("/tasks?room={code}");
    let mut tag = tag_of(&api.get(&list).await);
    let writes: Vec<(&str, String, Value)> = vec![
        ("POST", format!("/tasks?room={code}"), json!({ "title": "two" })),
        ("PUT", format!("/tasks/1?room={code}"), json!({ "title": "uno" })),
        ("POST", format!("/tasks/1/complete?room={code}"), Value::Null),
        ("POST", format!("/rooms/{code}/join"), json!({ "username": "bob" })),
        ("DELETE", format!("/tasks/2?room={code}"), Value::Null),
    ];
    for (method, path, body) in writes {
        let payload = if body.is_null() { Payload::None } else { Payload::Json(body) };
        let wrote = api.send(method, &path, &[], payload).await;
        assert!(wrote.status < 300, "{method} {path}: {}", wrote.text);
        let reply = api.send("GET", &list, &[("if-none-match", tag.as_str())], Payload::None).await;
        assert_eq!(reply.status, 200, "after {method} {path} the old tag is stale");
        assert_ne!(tag_of(&reply), tag);
        tag = tag_of(&reply);
    }
    let listed = api.get(&list).await;
    assert_eq!(listed.json["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(listed.json["tasks"][0]["title"], "uno");
    assert_eq!(listed.json["tasks"][0]["completed"], true);
}

/// A room with a few tasks is embedded whole, with exactly the original API's keys; an
/// unpaged listing has the keys the original's clients read.
pub async fn a_room_under_the_budget_keeps_the_original_shape(api: &Target) {
    let code = api.room("alice").await;
    for title in ["a", "b", "c"] {
        api.task(&code, json!({ "title": title, "description": "ünïcode ✓ \"quoted\"" })).await;
    }
    let room = api.get(&format!("/rooms/{code}")).await;
    assert_eq!(room.status, 200, "{}", room.text);
    let keys: Vec<&String> = room.json.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["code", "created_at", "members", "owner", "tasks"], "{}", room.text);
    let tasks = room.json["tasks"].as_array().unwrap();
    assert_eq!(tasks.iter().map(|t| t["title"].as_str().unwrap()).collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(tasks[0]["description"], "ünïcode ✓ \"quoted\"");
    let joined = api.post(&format!("/rooms/{code}/join"), json!({ "username": "bob" })).await;
    assert_eq!(joined.status, 200, "{}", joined.text);
    assert_eq!(joined.json["room"]["tasks"].as_array().unwrap().len(), 3);
    assert_eq!(joined.json["room"]["members"], json!(["alice", "bob"]));
    assert!(joined.json["room"].get("tasks_truncated").is_none());
    let listed = api.get(&format!("/tasks?room={code}")).await;
    let keys: Vec<&String> = listed.json.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["next_cursor", "tasks", "total", "total_all"], "{}", listed.text);
    assert_eq!(listed.json["next_cursor"], Value::Null);
}

/// A room exports whole as JSON (the room object, every task) or CSV (a header row and one row
/// per task, read back by an independent RFC 4180 reader), as a download; deleted tasks are
/// left out, text survives quoting, and cells a spreadsheet would run are defused.
pub async fn rooms_export_as_json_and_csv(api: &Target) {
    let code = api.room("alice").await;
    let due = "2031-05-06T07:08:09Z";
    api.task(
        &code,
        json!({ "title": "Plan, then \"act\"", "description": "line 1\nline 2, ✓", "priority": "high",
                "due_date": due, "tags": ["b", "a"], "assignee": "alice" }),
    )
    .await;
    api.task(&code, json!({ "title": "=HYPERLINK(\"http://x\")", "description": "-1" })).await;
    api.task(&code, json!({ "title": "gone" })).await;
    assert_eq!(api.delete(&format!("/tasks/3?room={code}")).await.status, 200);
    assert_eq!(api.post(&format!("/tasks/2/complete?room={code}"), json!({})).await.status, 200);
    let listed = api.get(&format!("/tasks?room={code}")).await.json["tasks"].clone();

    let exported = api.get(&format!("/rooms/{}/export", code.to_lowercase())).await;
    assert_eq!(exported.status, 200, "{}", exported.text);
    assert_eq!(exported.header("content-type"), Some("application/json"));
    let attachment = format!("attachment; filename=\"taskcore-room-{code}.json\"");
    assert_eq!(exported.header("content-disposition"), Some(attachment.as_str()));
    assert_eq!(exported.json["code"], code.as_str());
    assert_eq!(exported.json["members"], json!(["alice"]));
    assert_eq!(exported.json["tasks"], listed, "every task, as listed");

    let csv = api.get(&format!("/rooms/{code}/export?format=CSV")).await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv.header("content-disposition").unwrap().ends_with(".csv\""));
    assert!(csv.text.starts_with("id,title,description,priority,due_date,completed,"), "{}", csv.text);
    let mut reader = csv::Reader::from_reader(csv.text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "{}", csv.text);
    let field = |row: &csv::StringRecord, name: &str| row[header.iter().position(|h| h == name).unwrap()].to_owned();
    for (row, task) in rows.iter().zip(listed.as_array().unwrap()) {
        assert_eq!(field(row, "id"), task["id"].to_string());
        assert_eq!(field(row, "priority"), task["priority"].as_str().unwrap());
        assert_eq!(field(row, "completed"), task["completed"].to_string());
        assert_eq!(field(row, "created_at"), task["created_at"].as_str().unwrap());
        assert_eq!(field(row, "completed_at"), task["completed_at"].as_str().unwrap_or(""));
        let tags: Vec<&str> = task["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert_eq!(field(row, "tags"), tags.join(","));
        assert_eq!(field(row, "assignee"), task["assignee"].as_str().unwrap_or(""));
    }
    assert_eq!(field(&rows[0], "title"), "Plan, then \"act\"");
    assert_eq!(field(&rows[0], "description"), "line 1\nline 2, ✓");
    assert_eq!(field(&rows[0], "due_date"), listed[0]["due_date"].as_str().unwrap());
    assert_eq!(field(&rows[1], "title"), "'=HYPERLINK(\"http://x\")", "a formula is defused");
    assert_eq!(field(&rows[1], "description"), "'-1");

    let bad = api.get(&format!("/rooms/{code}/export?format=xml")).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.json["field"], "format");
    assert_eq!(api.get("/rooms/ZZZZZZ/export").await.status, 404);
}
