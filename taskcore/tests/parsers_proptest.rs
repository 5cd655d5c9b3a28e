//! Property tests of every parser that reads user input: none panics on any input, and each
//! value written by taskcore reads back to itself.

use proptest::prelude::*;
use taskcore::store::SortValue;
use taskcore::{
    Cursor, IdempotencyKey, MemberName, Priority, RoomCode, SearchText, Sort, SortDir, SortKey, StatusFilter, Tag,
    TaskPatch, TaskQuery, format_timestamp, parse_due_date,
};
use time::OffsetDateTime;

fn any_instant() -> impl Strategy<Value = OffsetDateTime> {
    // Years 1..=9999 at microsecond precision: everything the accepted formats can express.
    (-62_135_596_800_000_000_i64..253_402_300_799_999_999_i64)
        .prop_map(|micros| OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).expect("in range"))
}

fn sort_key() -> impl Strategy<Value = SortKey> {
    prop_oneof![
        Just(SortKey::Number),
        Just(SortKey::Created),
        Just(SortKey::Due),
        Just(SortKey::Priority),
        Just(SortKey::Title)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn room_code_parse_never_panics_and_normalises(input in "\\PC{0,24}") {
        if let Ok(code) = RoomCode::parse(&input) {
            prop_assert!(code.as_str().bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
            prop_assert_eq!(RoomCode::parse(&code.as_str().to_lowercase()).unwrap(), code.clone());
            prop_assert_eq!(RoomCode::parse(code.as_str()).unwrap(), code);
        }
    }

    #[test]
    fn valid_room_codes_are_accepted(code in "[A-Za-z0-9]{4,16}") {
        prop_assert_eq!(RoomCode::parse(&code).unwrap().as_str().to_owned(), code.to_ascii_uppercase());
    }

    #[test]
    fn generated_codes_parse_back(length in 4_usize..=16) {
        let generator = taskcore::RoomCodeGenerator::new(length).unwrap();
        let code = generator.generate();
        prop_assert_eq!(code.as_str().len(), length);
        prop_assert_eq!(RoomCode::parse(code.as_str()).unwrap(), code);
    }

    #[test]
    fn priority_parse_never_panics_and_round_trips(input in "\\PC{0,12}", pick in 0_usize..3) {
        let _ = Priority::parse(&input);
        let priority = Priority::ALL[pick];
        prop_assert_eq!(Priority::parse(&priority.as_str().to_uppercase()).unwrap(), priority);
        prop_assert_eq!(Priority::from_rank(priority.rank()), Some(priority));
    }

    #[test]
    fn due_date_parse_never_panics(input in "\\PC{0,40}") {
        let _ = parse_due_date(&input, "due_date");
    }

    #[test]
    fn due_date_near_misses_never_panic(input in "[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}([ Tt][0-9]{1,3}:[0-9]{1,3}(:[0-9]{1,3}(\\.[0-9]{0,10})?)?)?(Z|[+-][0-9]{2}:[0-9]{2})?") {
        let _ = parse_due_date(&input, "due_date");
    }

    #[test]
    fn written_timestamps_read_back(instant in any_instant()) {
        let text = format_timestamp(instant);
        prop_assert_eq!(parse_due_date(&text, "due_date").unwrap(), instant);
    }

    #[test]
    fn date_only_is_midnight_utc(instant in any_instant()) {
        let date = instant.date();
        let text = format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day());
        let parsed = parse_due_date(&text, "due_date").unwrap();
        prop_assert_eq!(parsed.date(), date);
        prop_assert_eq!(parsed.time(), time::Time::MIDNIGHT);
    }

    #[test]
    fn names_tags_keys_and_search_never_panic(input in "\\PC{0,80}") {
        if let Ok(name) = MemberName::parse(&input) {
            prop_assert_eq!(MemberName::parse(name.as_str()).unwrap().as_str().to_owned(), name.as_str());
        }
        if let Ok(tag) = Tag::parse(&input) {
            prop_assert_eq!(Tag::parse(tag.as_str()).unwrap(), tag);
        }
        if let Ok(key) = IdempotencyKey::parse(&input) {
            prop_assert_eq!(key.as_str(), input.as_str());
        }
        if let Ok(text) = SearchText::parse(&input) {
            prop_assert_eq!(SearchText::parse(text.as_str()).unwrap(), text);
        }
    }

    #[test]
    fn cursor_decode_never_panics(input in "\\PC{0,120}") {
        let _ = Cursor::decode(&input);
    }

    #[test]
    fn cursors_round_trip(key in sort_key(), desc in any::<bool>(), int in any::<i64>(), text in "\\PC{0,40}", number in any::<u64>()) {
        let value = if key == SortKey::Title { SortValue::Text(text) } else { SortValue::Int(int) };
        let dir = if desc { SortDir::Desc } else { SortDir::Asc };
        let cursor = Cursor { sort: Sort { key, dir }, value, number };
        prop_assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
    }

    #[test]
    fn query_params_never_panic(pairs in proptest::collection::vec(("\\PC{0,12}", "\\PC{0,24}"), 0..6)) {
        let _ = TaskQuery::from_params(pairs, &["room"]);
    }

    #[test]
    fn query_params_round_trip(
        status in prop_oneof![Just("all"), Just("pending"), Just("completed")],
        priority in prop_oneof![Just("low"), Just("MEDIUM"), Just("High")],
        key in sort_key(),
        desc in any::<bool>(),
        limit in 1_u32..=500,
        overdue in any::<bool>(),
        due in any_instant(),
    ) {
        let sort = if desc { format!("-{}", key.as_str()) } else { key.as_str().to_owned() };
        let due_text = format_timestamp(due);
        let params = vec![
            ("status", status.to_owned()),
            ("priority", priority.to_owned()),
            ("sort", sort),
            ("limit", limit.to_string()),
            ("overdue", overdue.to_string()),
            ("due_after", due_text),
            ("room", "ignored".to_owned()),
        ];
        let query = TaskQuery::from_params(params, &["room"]).unwrap();
        prop_assert_eq!(query.status, StatusFilter::parse(status).unwrap());
        prop_assert_eq!(query.priority, Some(Priority::parse(priority).unwrap()));
        prop_assert_eq!(query.sort, Sort { key, dir: if desc { SortDir::Desc } else { SortDir::Asc } });
        prop_assert_eq!(query.limit, limit);
        prop_assert_eq!(query.overdue, overdue);
        prop_assert_eq!(query.due_after, Some(due));
    }

    #[test]
    fn task_patch_json_never_panics(input in "\\PC{0,80}") {
        let _ = serde_json::from_str::<TaskPatch>(&input);
    }
}

#[test]
fn query_params_name_the_bad_parameter() {
    let field = |pairs: &[(&str, &str)]| match TaskQuery::from_params(pairs.iter().copied(), &["room"]) {
        Err(taskcore::Error::Invalid { field, .. }) => field,
        other => panic!("expected Invalid for {pairs:?}, got {other:?}"),
    };
    assert_eq!(field(&[("status", "done")]), "status");
    assert_eq!(field(&[("priority", "urgent")]), "priority");
    assert_eq!(field(&[("limit", "0")]), "limit");
    assert_eq!(field(&[("limit", "-3")]), "limit");
    assert_eq!(field(&[("limit", "501")]), "limit");
    assert_eq!(field(&[("sort", "colour")]), "sort");
    assert_eq!(field(&[("order", "up")]), "order");
    assert_eq!(field(&[("cursor", "%%%")]), "cursor");
    assert_eq!(field(&[("due_before", "soon")]), "due_before");
    assert_eq!(field(&[("overdue", "maybe")]), "overdue");
    assert_eq!(field(&[("prority", "high")]), "query");
    assert_eq!(field(&[("status", "pending"), ("status", "completed")]), "status");
}

#[test]
fn order_overrides_the_sort_prefix() {
    let query = TaskQuery::from_params([("sort", "-title"), ("order", "asc")], &[]).unwrap();
    assert_eq!(query.sort, Sort { key: SortKey::Title, dir: SortDir::Asc });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// The allocation-free text match gives the reference answer (a substring of the task's
    /// case-folded search text), ASCII or not, across the title/description boundary too.
    #[test]
    fn text_search_agrees_with_the_search_text(
        title in "[a-zA-Zé ]{1,12}",
        description in "[a-zA-Z\nÉ ]{0,24}",
        needle in "[a-zA-Z\né]{1,5}",
    ) {
        let Ok(text) = SearchText::parse(&needle) else { return Ok(()) };
        let mut task = taskcore::store::TaskDraft {
            id: uuid::Uuid::nil(),
            title: title.clone(),
            description: description.clone(),
            priority: Priority::Medium,
            due_date: None,
            tags: Vec::new(),
            assignee: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
        .into_task(1);
        task.title = title;
        prop_assert_eq!(text.found_in(&task), task.search_text().contains(text.as_str()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// The allocation-free timestamp text is exactly RFC 3339 as the `time` crate writes it.
    #[test]
    fn timestamp_text_is_rfc3339(instant in any_instant(), nanos in 0_u32..1_000_000_000, whole in any::<bool>()) {
        let instant = if whole { instant.replace_nanosecond(0).unwrap() } else { instant.replace_nanosecond(nanos).unwrap() };
        let reference = instant.format(&time::format_description::well_known::Rfc3339).unwrap();
        let text = taskcore::TimestampText::new(instant);
        prop_assert_eq!(text.as_str(), reference.as_str());
        prop_assert_eq!(format_timestamp(instant), reference);
    }
}
