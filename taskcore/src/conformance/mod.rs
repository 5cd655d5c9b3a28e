//! The conformance suite: one `async fn` per behaviour of the [`TaskStore`] contract, run
//! through a [`TaskManager`](crate::TaskManager) against a store that a backend's [`StoreFactory`] opens, and the
//! [`conformance_tests!`](crate::conformance_tests) macro that expands every behaviour into a
//! named `#[tokio::test]`.
//!
//! A backend crate runs the whole suite with three lines in a test file (its dev-dependencies
//! need `tokio` with the `macros` and `rt-multi-thread` features, and `taskcore` with the
//! `conformance` feature):
//!
//! ```no_run
//! async fn open(options: taskcore::StoreOptions) -> std::sync::Arc<dyn taskcore::TaskStore> {
//!     std::sync::Arc::new(taskcore::MemoryStore::with_options(options))
//! }
//! taskcore::conformance_tests!(open);
//! # fn main() {}
//! ```
//!
//! The factory must return a store that shares nothing with stores it returned before (a fresh
//! database, schema or key prefix), so that behaviours run in parallel. Wrap it with [`guarded`]
//! to have that schema or prefix removed when the behaviour is done with the store.
//! Each behaviour panics with a message saying what broke, as tests do.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::cache::CacheOptions;
use crate::store::{StoreOptions, TaskStore};

pub mod cache;
pub mod changes;
pub mod concurrency;
mod guarded;
pub mod notices;
pub mod query;
pub mod quotas;
pub mod rooms;
pub mod stats;
pub mod support;
pub mod tasks;
pub mod transfer;

pub use guarded::guarded;

#[doc(hidden)]
pub use tokio as __tokio;

/// Opens a fresh, empty store with the given options for one behaviour.
///
/// Implemented for every `Fn(StoreOptions) -> impl Future<Output = Arc<dyn TaskStore>>`, so a
/// plain `async fn open(options: StoreOptions) -> Arc<dyn TaskStore>` is a factory.
pub trait StoreFactory: Send + Sync {
    /// A fresh store.
    fn open(&self, options: StoreOptions) -> Pin<Box<dyn Future<Output = Arc<dyn TaskStore>> + Send + '_>>;

    /// The read cache the behaviours' manager uses over the store, if any. Plain factories have
    /// none; [`Cached`] runs the same behaviours through a [`RoomCache`](crate::RoomCache).
    fn cache(&self) -> Option<CacheOptions> {
        None
    }
}

/// A factory whose stores the behaviours read through a manager with a read cache, so every
/// behaviour of the contract also holds for cached reads.
#[derive(Debug, Clone, Copy)]
pub struct Cached<F>(pub F);

impl<F: StoreFactory> StoreFactory for Cached<F> {
    fn open(&self, options: StoreOptions) -> Pin<Box<dyn Future<Output = Arc<dyn TaskStore>> + Send + '_>> {
        self.0.open(options)
    }

    fn cache(&self) -> Option<CacheOptions> {
        Some(CacheOptions::default())
    }
}

impl<F, Fut> StoreFactory for F
where
    F: Fn(StoreOptions) -> Fut + Send + Sync,
    Fut: Future<Output = Arc<dyn TaskStore>> + Send + 'static,
{
    fn open(&self, options: StoreOptions) -> Pin<Box<dyn Future<Output = Arc<dyn TaskStore>> + Send + '_>> {
        Box::pin(self(options))
    }
}

/// Expands into one `#[tokio::test]` per behaviour of the suite, each opening its own store
/// with `$factory` (a path to a [`StoreFactory`], usually an `async fn`), and the same behaviours
/// again in a module `through_cache` reading through a [`RoomCache`](crate::RoomCache)
/// ([`Cached`]), plus the behaviours of the cache itself.
///
/// Behaviours run on a multi-threaded runtime so that concurrency behaviours really race.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::conformance_tests!(@expand $factory;
            rooms::create_room_makes_owner_the_first_member,
            rooms::generated_codes_use_the_unambiguous_alphabet,
            rooms::room_codes_are_case_insensitive,
            rooms::unknown_room_is_not_found_everywhere,
            rooms::joining_twice_keeps_one_member,
            rooms::members_keep_joining_order_and_spelling,
            rooms::blank_or_overlong_names_are_invalid,
            rooms::a_taken_room_code_is_already_exists,
            tasks::create_applies_defaults,
            tasks::titles_are_trimmed_and_required,
            tasks::length_limits_count_characters,
            tasks::unicode_round_trips,
            tasks::priority_is_case_insensitive_and_validated,
            tasks::due_dates_accept_three_forms_as_utc,
            tasks::bad_due_dates_name_the_accepted_forms,
            tasks::due_dates_at_the_ends_of_the_range_round_trip,
            tasks::tags_are_normalised,
            tasks::assignee_must_be_a_member,
            tasks::numbers_count_up_per_room,
            tasks::numbers_are_never_reused_after_delete,
            tasks::a_read_returns_exactly_what_was_written,
            tasks::missing_tasks_are_not_found,
            tasks::update_changes_only_given_fields,
            tasks::null_clears_fields,
            tasks::update_bumps_version_and_updated_at,
            tasks::a_patch_that_changes_nothing_writes_nothing,
            tasks::an_update_reports_the_write_it_recorded,
            tasks::complete_and_reopen_track_completed_at,
            tasks::stale_conditional_update_conflicts,
            tasks::stale_conditional_delete_conflicts,
            tasks::delete_returns_the_task_and_removes_it,
            tasks::rooms_do_not_share_tasks,
            tasks::idempotent_create_returns_the_original,
            tasks::idempotency_keys_are_scoped_to_a_room,
            tasks::idempotency_key_with_another_request_is_reused,
            query::default_listing_is_by_number_with_totals,
            query::status_filter,
            query::priority_filter,
            query::tag_filter,
            query::assignee_filter_ignores_case,
            query::text_search_looks_in_title_and_description,
            query::due_range_is_half_open,
            query::overdue_filter_follows_the_clock,
            query::filters_combine,
            query::every_sort_pages_in_reference_order,
            query::filtered_paging_visits_each_match_once,
            query::limits_are_bounded,
            query::cursor_of_another_sort_is_rejected,
            query::an_empty_room_lists_nothing,
            query::control_characters_in_search_and_cursors_are_invalid,
            stats::empty_room_stats_are_zero,
            stats::stats_count_by_state_and_priority,
            stats::overdue_follows_the_clock,
            stats::deleted_tasks_leave_the_stats,
            changes::every_mutation_is_recorded_in_order,
            changes::since_and_limit_select_changes,
            changes::deletes_are_tombstones,
            changes::retention_drops_old_changes_and_asks_for_resync,
            changes::since_beyond_latest_is_invalid,
            changes::rejected_writes_record_nothing,
            changes::feeds_are_per_room,
            changes::latest_seq_follows_every_write,
            concurrency::concurrent_creates_are_numbered_densely,
            concurrency::concurrent_conditional_updates_have_one_winner,
            concurrency::concurrent_idempotent_creates_make_one_task,
            concurrency::concurrent_unconditional_updates_all_apply,
            concurrency::concurrent_deletes_have_one_winner,
            concurrency::concurrent_joins_keep_each_member_once,
            concurrency::paging_while_inserting_visits_each_task_once,
            concurrency::a_write_the_store_cannot_store_fails_alone,
            concurrency::invalid_writes_fail_alone_among_valid_ones,
            quotas::tasks_per_room_quota_is_enforced,
            quotas::members_per_room_quota_is_enforced,
            quotas::concurrent_creates_stop_at_the_quota,
            quotas::concurrent_joins_stop_at_the_quota,
            transfer::a_snapshot_imports_field_for_field,
            transfer::import_of_a_taken_code_fails_skips_or_replaces,
            transfer::a_bad_snapshot_writes_nothing,
            transfer::room_codes_page_in_code_order,
            transfer::a_snapshot_under_concurrent_writes_is_consistent,
        );
        $crate::conformance_tests!(@once $factory;
            cache::a_cached_reader_sees_every_kind_of_write_at_once,
            cache::a_gap_in_the_feed_reloads_the_room,
            cache::eviction_keeps_answers_correct,
            cache::rooms_too_large_to_cache_are_read_from_the_store,
            cache::readers_never_miss_an_acknowledged_write,
            cache::listings_stream_in_chunks_up_to_the_cap,
        );
    };
    (@expand $factory:path; $($module:ident :: $behaviour:ident),* $(,)?) => {
        $(
            #[$crate::conformance::__tokio::test(flavor = "multi_thread", worker_threads = 4, crate = "taskcore::conformance::__tokio")]
            async fn $behaviour() {
                $crate::conformance::$module::$behaviour(&$factory).await;
            }
        )*
        /// The same behaviours, read through a cached manager.
        mod through_cache {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[$crate::conformance::__tokio::test(flavor = "multi_thread", worker_threads = 4, crate = "taskcore::conformance::__tokio")]
                async fn $behaviour() {
                    $crate::conformance::$module::$behaviour(&$crate::conformance::Cached($factory)).await;
                }
            )*
        }
    };
    (@once $factory:path; $($module:ident :: $behaviour:ident),* $(,)?) => {
        $(
            #[$crate::conformance::__tokio::test(flavor = "multi_thread", worker_threads = 4, crate = "taskcore::conformance::__tokio")]
            async fn $behaviour() {
                $crate::conformance::$module::$behaviour(&$factory).await;
            }
        )*
    };
}
