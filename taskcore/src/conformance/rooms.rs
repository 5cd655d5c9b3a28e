//! Behaviours of rooms and members: creation, codes, lookup, joining.

use super::StoreFactory;
use super::support::{Ctx, START, assert_invalid, assert_not_found};
use crate::error::Error;
use crate::input::NewTask;
use crate::query::TaskQuery;
use crate::room::{MemberName, ROOM_CODE_ALPHABET, Room, RoomCode};

/// A new room has its owner as its only member and the creation time of the clock.
pub async fn create_room_makes_owner_the_first_member(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("  Alice ").await;
    assert_eq!(room.owner.as_str(), "Alice", "owner name is trimmed");
    assert_eq!(room.members, vec![room.owner.clone()]);
    assert_eq!(room.created_at, START);
    let read = ctx.tasks.room(&room.code).await.unwrap();
    assert_eq!(read, room, "a read returns the room as created");
    assert_eq!(read.members[0].as_str(), "Alice");
}

/// Generated codes are 6 characters from the alphabet without look-alikes, and distinct.
pub async fn generated_codes_use_the_unambiguous_alphabet(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let mut codes = Vec::new();
    for i in 0..20 {
        let room = ctx.room(&format!("owner{i}")).await;
        let code = room.code.as_str().to_owned();
        assert_eq!(code.len(), 6, "code {code}");
        assert!(code.bytes().all(|b| ROOM_CODE_ALPHABET.contains(&b)), "code {code} uses look-alikes");
        codes.push(code);
    }
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 20, "codes are distinct");
}

/// A room is found by its code in any case and with surrounding spaces.
pub async fn room_codes_are_case_insensitive(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let typed: RoomCode = format!(" {} ", room.code.as_str().to_lowercase()).parse().unwrap();
    assert_eq!(ctx.tasks.room(&typed).await.unwrap().code, room.code);
}

/// Every room-scoped operation on an unknown room is NotFound, and creates nothing.
pub async fn unknown_room_is_not_found_everywhere(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let code: RoomCode = "ZZZZ99".parse().unwrap();
    assert_not_found(ctx.tasks.room(&code).await, "room");
    assert_not_found(ctx.tasks.join_room(&code, "bob").await, "room");
    assert_not_found(ctx.tasks.create_task(&code, &NewTask::titled("x"), None).await, "room");
    assert_not_found(ctx.tasks.task(&code, 1).await, "room");
    assert_not_found(ctx.tasks.list_tasks(&code, &TaskQuery::default()).await, "room");
    assert_not_found(ctx.tasks.stats(&code).await, "room");
    assert_not_found(ctx.tasks.changes(&code, 0, None).await, "room");
    assert_not_found(ctx.tasks.delete_task(&code, 1, None).await, "room");
    assert_not_found(ctx.tasks.complete_task(&code, 1, None).await, "room");
    assert_not_found(ctx.tasks.room(&code).await, "room");
}

/// Joining twice, or under another case of the same name, keeps one member.
pub async fn joining_twice_keeps_one_member(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    ctx.tasks.join_room(&room.code, "bob").await.unwrap();
    ctx.tasks.join_room(&room.code, "bob").await.unwrap();
    let after = ctx.tasks.join_room(&room.code, "BOB").await.unwrap();
    let again_owner = ctx.tasks.join_room(&room.code, "Alice").await.unwrap();
    assert_eq!(after.members.len(), 2, "{:?}", after.members);
    assert_eq!(again_owner.members.len(), 2);
    assert_eq!(ctx.tasks.room(&room.code).await.unwrap().members.len(), 2);
}

/// Members are listed in joining order, each spelled as when they first joined.
pub async fn members_keep_joining_order_and_spelling(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("Alice").await;
    for name in ["Zoë", "bob", "Émile", "BOB", "carol"] {
        ctx.tasks.join_room(&room.code, name).await.unwrap();
    }
    let names: Vec<String> =
        ctx.tasks.room(&room.code).await.unwrap().members.iter().map(|m| m.as_str().to_owned()).collect();
    assert_eq!(names, ["Alice", "Zoë", "bob", "Émile", "carol"]);
}

/// Blank, overlong or control-character names are Invalid on `username`; nothing is created.
pub async fn blank_or_overlong_names_are_invalid(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    assert_invalid(ctx.tasks.create_room("").await, "username");
    assert_invalid(ctx.tasks.create_room("   ").await, "username");
    assert_invalid(ctx.tasks.create_room(&"x".repeat(65)).await, "username");
    assert_invalid(ctx.tasks.create_room("a\u{0}b").await, "username");
    let room = ctx.room(&"é".repeat(64)).await;
    assert_invalid(ctx.tasks.join_room(&room.code, " \t ").await, "username");
    assert_eq!(ctx.tasks.room(&room.code).await.unwrap().members.len(), 1);
}

/// Storing a room under a code that is taken is AlreadyExists and leaves the first room as is.
pub async fn a_taken_room_code_is_already_exists(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let intruder = Room::new(room.code.clone(), MemberName::parse("mallory").unwrap(), START);
    match ctx.store.insert_room(&intruder).await {
        Err(Error::AlreadyExists(crate::error::Existing::Room(_))) => {}
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(ctx.tasks.room(&room.code).await.unwrap().owner.as_str(), "alice");
}
