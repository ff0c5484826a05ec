// The journal (telemetry.md 1.1-1.2, 1.5; control.md 1.5): durable ids, group
// commit with per-item savepoints, prefix reads, retention.
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "kernel/event.h"
#include "kernel/journal.h"
#include "util/json.h"
#include "util/time.h"

using namespace tpark;

namespace {

class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("tpark-journal-test-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::filesystem::path db() const { return path_ / "journal.db"; }

 private:
  std::filesystem::path path_;
};

NewEvent new_event(std::string kind, int64_t time_ms = 1767225600000, std::string payload = "{}") {
  NewEvent event;
  event.kind = std::move(kind);
  event.payload = std::move(payload);
  event.time_ms = time_ms;
  event.source = "host";
  return event;
}

std::vector<NewEvent> events_of(std::initializer_list<const char*> kinds) {
  std::vector<NewEvent> out;
  for (const char* kind : kinds) out.push_back(new_event(kind));
  return out;
}

std::vector<int64_t> ids_of(const std::vector<EventPtr>& events) {
  std::vector<int64_t> ids;
  for (const auto& event : events) ids.push_back(event->id);
  return ids;
}

std::vector<std::string> kinds_of(const std::vector<EventPtr>& events) {
  std::vector<std::string> kinds;
  for (const auto& event : events) kinds.push_back(event->kind);
  return kinds;
}

void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "sqlite error";
    sqlite3_free(message);
    throw std::runtime_error(text);
  }
}

// Runs on the writer thread inside work items, so it reports by exception, not by REQUIRE.
int64_t count_rows(sqlite3* db, const char* sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) != SQLITE_OK)
    throw std::runtime_error(sqlite3_errmsg(db));
  const bool has_row = sqlite3_step(statement) == SQLITE_ROW;
  const int64_t value = has_row ? sqlite3_column_int64(statement, 0) : -1;
  sqlite3_finalize(statement);
  if (!has_row) throw std::runtime_error(std::string("no row for ") + sql);
  return value;
}

// Holds the writer thread inside a unit of work until released, so that work
// queued meanwhile is taken as one group.
class WriterGate {
 public:
  explicit WriterGate(Journal& journal) {
    held_ = std::async(std::launch::async, [&journal, this] {
      return journal.transact([this](WriteTx&) {
        entered_.set_value();
        release_.get_future().wait();
      });
    });
    entered_.get_future().wait();
  }
  void open() {
    release_.set_value();
    held_.get();
  }

 private:
  std::promise<void> entered_, release_;
  std::future<std::vector<EventPtr>> held_;
};

void wait_until_queued(const Journal& journal, size_t items) {
  while (journal.pending_items() < items) std::this_thread::yield();
}

}  // namespace

TEST_CASE("journal_opens_with_schema_version_1_and_empty_head", "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  CHECK(journal.schema_version() == 1);
  CHECK(journal.head_id() == 0);
  CHECK(journal.pruned_through() == 0);
  CHECK(journal.read_after(0, {}, 10).items.empty());
}

TEST_CASE("journal_append_assigns_ascending_ids_and_fills_the_envelope", "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  NewEvent event = new_event("a.one", 1767225600123, R"({"x":1})");
  event.node = "node-1";
  event.corr_id = "req-7";
  auto committed = journal.append({event, new_event("a.two")});
  REQUIRE(committed.size() == 2);
  CHECK(ids_of(committed) == std::vector<int64_t>{1, 2});
  CHECK(journal.head_id() == 2);
  const Event& first = *committed[0];
  CHECK(first.time == "2026-01-01T00:00:00.123Z");
  CHECK(first.node == "node-1");
  CHECK(first.corr_id == "req-7");
  CHECK(envelope_json(first) ==
        R"({"id":1,"time":"2026-01-01T00:00:00.123Z","kind":"a.one","payload":{"x":1},)"
        R"("source":"host","node":"node-1"})");
  // Host events carry no node: the key is omitted.
  CHECK(
      envelope_json(*committed[1]) ==
      R"({"id":2,"time":"2026-01-01T00:00:00.000Z","kind":"a.two","payload":{},"source":"host"})");

  auto page = journal.read_after(0, {}, 10);
  REQUIRE(page.items.size() == 2);
  CHECK(envelope_json(*page.items[0]) == envelope_json(first));
  CHECK(page.items[0]->corr_id == "req-7");
}

TEST_CASE("journal_event_time_is_the_rfc3339_text_of_time_ms", "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  const std::vector<int64_t> times_ms = {
      1767225600123, 1767225600124, 1767225600999, 1767225601000, 1767225600000, 0, -1, -1001};
  std::vector<NewEvent> events;
  for (int64_t time_ms : times_ms) events.push_back(new_event("a.t", time_ms));
  auto committed = journal.append(std::move(events));
  auto read_back = journal.read_after(0, {}, 100).items;
  REQUIRE(committed.size() == times_ms.size());
  REQUIRE(read_back.size() == times_ms.size());
  for (size_t i = 0; i < times_ms.size(); ++i) {
    INFO(times_ms[i]);
    CHECK(committed[i]->time_ms == times_ms[i]);
    CHECK(committed[i]->time == format_rfc3339_ms(times_ms[i]));
    CHECK(read_back[i]->time == format_rfc3339_ms(times_ms[i]));
  }
  CHECK(committed[6]->time == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("envelope_json_escapes_strings_like_the_json_writer", "[kernel][journal]") {
  Event event;
  event.id = 5;
  event.time = "t";
  event.kind = "k\"\\\n\x01";
  event.payload = "[1]";
  event.source = "host";
  const std::string text = envelope_json(event);
  CHECK(text ==
        "{\"id\":5,\"time\":\"t\",\"kind\":\"k\\\"\\\\\\n\\u0001\",\"payload\":[1],"
        "\"source\":\"host\"}");
  CHECK(Json::parse(text)["kind"].get<std::string>() == event.kind);
}

TEST_CASE("journal_ids_continue_after_reopening_the_file", "[kernel][journal]") {
  TempDir dir;
  {
    Journal journal(dir.db());
    journal.append(events_of({"a.x", "a.y", "a.z"}));
  }
  Journal reopened(dir.db());
  CHECK(reopened.schema_version() == 1);
  CHECK(reopened.head_id() == 3);
  auto committed = reopened.append(events_of({"a.w"}));
  CHECK(ids_of(committed) == std::vector<int64_t>{4});
  CHECK(ids_of(reopened.read_after(0, {}, 10).items) == std::vector<int64_t>{1, 2, 3, 4});
}

TEST_CASE("journal_ids_are_never_reused_after_pruning_everything_and_reopening",
          "[kernel][journal]") {
  TempDir dir;
  {
    Journal journal(dir.db());
    journal.append(events_of({"a.x", "a.y", "a.z"}));
    CHECK(journal.prune(0, 1767225600001) == 3);  // all three are older
    CHECK(journal.read_after(0, {}, 10).items.empty());
    CHECK(journal.head_id() == 3);
  }
  Journal reopened(dir.db());
  CHECK(reopened.head_id() == 3);
  CHECK(reopened.pruned_through() == 3);
  CHECK(ids_of(reopened.append(events_of({"a.w"}))) == std::vector<int64_t>{4});
}

TEST_CASE("journal_prune_row_cap_keeps_the_newest_rows_and_marks_truncation", "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  journal.append(events_of({"a.1", "b.2", "a.3", "b.4", "a.5"}));
  CHECK(journal.prune(2, 0) == 3);
  CHECK(journal.pruned_through() == 3);
  CHECK(journal.prune(2, 0) == 0);  // already within the cap

  auto from_start = journal.read_after(0, {}, 10);
  CHECK(ids_of(from_start.items) == std::vector<int64_t>{4, 5});
  CHECK(from_start.truncated);
  CHECK(journal.read_after(2, {}, 10).truncated);
  CHECK_FALSE(journal.read_after(3, {}, 10).truncated);
  CHECK_FALSE(journal.read_after(4, {}, 10).truncated);
  CHECK(ids_of(journal.append(events_of({"a.6"}))) == std::vector<int64_t>{6});
}

TEST_CASE("journal_prune_age_cap_removes_the_leading_old_rows", "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  journal.append({new_event("a.1", 1000), new_event("a.2", 2000), new_event("a.3", 5000),
                  new_event("a.4", 1500), new_event("a.5", 6000)});
  // Rows 1 and 2 are older than 3000; row 3 is younger, so oldest-first stops there.
  CHECK(journal.prune(0, 3000) == 2);
  CHECK(ids_of(journal.read_after(0, {}, 10).items) == std::vector<int64_t>{3, 4, 5});
  CHECK(journal.pruned_through() == 2);
  // Both caps together: the row cap of 1 wins.
  CHECK(journal.prune(1, 3000) == 2);
  CHECK(ids_of(journal.read_after(0, {}, 10).items) == std::vector<int64_t>{5});
}

TEST_CASE("journal_prune_deletes_in_bounded_batches_oldest_first", "[kernel][journal]") {
  TempDir dir;
  JournalOptions options;
  options.prune_batch_rows = 10;
  Journal journal(dir.db(), options);
  std::vector<NewEvent> batch;
  for (int i = 0; i < 25; ++i) batch.push_back(new_event("a.x"));
  journal.append(std::move(batch));
  // 22 rows go in transactions of at most 10: 10, 10, 2.
  uint64_t transactions = 0;
  CHECK(journal.prune(3, 0, &transactions) == 22);
  CHECK(transactions == 3);
  CHECK(journal.pruned_through() == 22);
  CHECK(ids_of(journal.read_after(0, {}, 100).items) == std::vector<int64_t>{23, 24, 25});
  CHECK(journal.prune(3, 0, &transactions) == 0);
  CHECK(transactions == 0);
  // Ids are never reused.
  CHECK(ids_of(journal.append(events_of({"a.y"}))) == std::vector<int64_t>{26});

  // An age cap over exactly one batch's worth takes one transaction.
  std::vector<NewEvent> old_rows;
  for (int i = 0; i < 10; ++i) old_rows.push_back(new_event("b.x", 1000));
  journal.append(std::move(old_rows));
  CHECK(journal.prune(0, 1767225600001, &transactions) == 14);  // 23..26 and the ten old ones
  CHECK(transactions == 2);
  CHECK(journal.pruned_through() == 36);
}

TEST_CASE("journal_read_after_filters_by_prefix_in_id_order_with_a_limit", "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  journal.append(events_of({"a.x", "b.y", "c.z", "ab.q", "a.w", "c.v", "a.u"}));

  auto page = journal.read_after(0, {"a.", "c."}, 10);
  CHECK(ids_of(page.items) == std::vector<int64_t>{1, 3, 5, 6, 7});
  CHECK_FALSE(page.truncated);

  CHECK(ids_of(journal.read_after(0, {"a.", "c."}, 2).items) == std::vector<int64_t>{1, 3});
  CHECK(ids_of(journal.read_after(3, {"a.", "c."}, 2).items) == std::vector<int64_t>{5, 6});
  CHECK(ids_of(journal.read_after(0, {"a"}, 10).items) == std::vector<int64_t>{1, 4, 5, 7});
  CHECK(ids_of(journal.read_after(0, {"a.x"}, 10).items) == std::vector<int64_t>{1});
  // Overlapping prefixes still give each row once.
  CHECK(ids_of(journal.read_after(0, {"a.", "a.x"}, 10).items) == std::vector<int64_t>{1, 5, 7});
  CHECK(kinds_of(journal.read_after(4, {"c.", "a."}, 10).items) ==
        std::vector<std::string>{"a.w", "c.v", "a.u"});
  CHECK(journal.read_after(0, {"zz."}, 10).items.empty());
  CHECK(journal.read_after(7, {}, 10).items.empty());
  CHECK(journal.read_after(0, {}, 0).items.empty());
}

TEST_CASE("journal_newest_returns_the_last_n_matching_rows_up_to_max_id_ascending",
          "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  journal.append(events_of({"a.x", "b.y", "a.x", "a.z", "b.y", "a.x"}));
  CHECK(ids_of(journal.newest("a.", 2, 100)) == std::vector<int64_t>{4, 6});
  CHECK(ids_of(journal.newest("a.", 2, 5)) == std::vector<int64_t>{3, 4});
  CHECK(ids_of(journal.newest("a.", 10, 6)) == std::vector<int64_t>{1, 3, 4, 6});
  CHECK(ids_of(journal.newest("b.y", 1, 6)) == std::vector<int64_t>{5});
  CHECK(ids_of(journal.newest("", 3, 6)) == std::vector<int64_t>{4, 5, 6});
  CHECK(journal.newest("a.", 0, 6).empty());
  CHECK(kinds_of(journal.newest("a.", 2, 4)) == std::vector<std::string>{"a.x", "a.z"});
}

TEST_CASE("journal_transact_commits_rows_and_events_together", "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  int64_t id_inside = 0;
  auto committed = journal.transact([&](WriteTx& tx) {
    exec(tx.db(), "CREATE TABLE notes(text TEXT)");
    exec(tx.db(), "INSERT INTO notes VALUES('one')");
    id_inside = tx.append(new_event("a.note"))->id;
  });
  CHECK(id_inside == 1);
  CHECK(ids_of(committed) == std::vector<int64_t>{1});
  int64_t notes = 0;
  journal.transact([&](WriteTx& tx) { notes = count_rows(tx.db(), "SELECT count(*) FROM notes"); });
  CHECK(notes == 1);
}

TEST_CASE("journal_transact_throwing_item_rolls_back_only_itself_within_its_group",
          "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  std::mutex sink_mutex;
  std::vector<std::vector<int64_t>> commits;
  journal.set_commit_sink([&](std::vector<EventPtr>&& events) {
    std::lock_guard lock(sink_mutex);
    commits.push_back(ids_of(events));
  });
  journal.transact([](WriteTx& tx) { exec(tx.db(), "CREATE TABLE notes(text TEXT)"); });

  WriterGate gate(journal);
  auto good_before = std::async(std::launch::async, [&] {
    return journal.transact([](WriteTx& tx) {
      exec(tx.db(), "INSERT INTO notes VALUES('before')");
      tx.append(new_event("a.before"));
    });
  });
  wait_until_queued(journal, 1);
  auto failing = std::async(std::launch::async, [&] {
    return journal.transact([](WriteTx& tx) {
      exec(tx.db(), "INSERT INTO notes VALUES('failing')");
      tx.append(new_event("a.failing"));
      throw std::logic_error("work item failed");
    });
  });
  wait_until_queued(journal, 2);
  auto good_after =
      std::async(std::launch::async, [&] { return journal.append(events_of({"a.after"})); });
  wait_until_queued(journal, 3);
  gate.open();

  CHECK(kinds_of(good_before.get()) == std::vector<std::string>{"a.before"});
  CHECK_THROWS_MATCHES(failing.get(), std::logic_error,
                       Catch::Matchers::Message("work item failed"));
  auto after = good_after.get();
  CHECK(kinds_of(after) == std::vector<std::string>{"a.after"});

  // One group of three items: one commit with the two surviving events in id order.
  {
    std::lock_guard lock(sink_mutex);
    REQUIRE(commits.size() == 1);
    CHECK(commits[0] == std::vector<int64_t>{1, after[0]->id});
    CHECK(after[0]->id == 2);
  }
  CHECK(kinds_of(journal.read_after(0, {}, 10).items) ==
        std::vector<std::string>{"a.before", "a.after"});
  int64_t failing_notes = -1, notes = -1;
  journal.transact([&](WriteTx& tx) {
    failing_notes = count_rows(tx.db(), "SELECT count(*) FROM notes WHERE text = 'failing'");
    notes = count_rows(tx.db(), "SELECT count(*) FROM notes");
  });
  CHECK(failing_notes == 0);
  CHECK(notes == 1);
  CHECK(journal.head_id() == 2);
}

TEST_CASE("journal_full_database_fails_only_the_item_that_hit_it", "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  journal.append(events_of({"a.first"}));
  journal.transact([](WriteTx& tx) {
    const int64_t pages = count_rows(tx.db(), "PRAGMA page_count");
    exec(tx.db(), ("PRAGMA max_page_count = " + std::to_string(pages)).c_str());
  });
  std::vector<NewEvent> too_big;
  too_big.push_back(new_event("a.big", 0, "\"" + std::string(1 << 20, 'x') + "\""));
  CHECK_THROWS_AS(journal.append(std::move(too_big)), JournalUnavailable);
  CHECK(journal.head_id() == 1);
  // Small rows still fit in the pages the database already has.
  CHECK(ids_of(journal.append(events_of({"a.small"}))) == std::vector<int64_t>{2});
  CHECK(kinds_of(journal.read_after(0, {}, 10).items) ==
        std::vector<std::string>{"a.first", "a.small"});
}

TEST_CASE("journal_concurrent_appends_from_8_threads_all_commit_with_unique_ids",
          "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  std::mutex sink_mutex;
  std::vector<int64_t> sunk;
  bool sink_in_order = true;
  journal.set_commit_sink([&](std::vector<EventPtr>&& events) {
    std::lock_guard lock(sink_mutex);
    for (const auto& event : events) {
      if (!sunk.empty() && event->id <= sunk.back()) sink_in_order = false;
      sunk.push_back(event->id);
    }
  });

  constexpr int kThreads = 8, kCallsPerThread = 25, kEventsPerCall = 4;
  std::vector<std::vector<int64_t>> ids_by_thread(kThreads);
  std::atomic<bool> calls_consecutive{true};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int call = 0; call < kCallsPerThread; ++call) {
        std::vector<NewEvent> batch;
        for (int i = 0; i < kEventsPerCall; ++i)
          batch.push_back(new_event("t" + std::to_string(t) + ".e"));
        auto committed = journal.append(std::move(batch));
        // One call's events are consecutive: they share a savepoint.
        for (size_t i = 1; i < committed.size(); ++i)
          if (committed[i]->id != committed[i - 1]->id + 1) calls_consecutive = false;
        for (const auto& event : committed) ids_by_thread[t].push_back(event->id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(calls_consecutive);

  constexpr int64_t kTotal = kThreads * kCallsPerThread * kEventsPerCall;
  std::set<int64_t> unique;
  for (const auto& ids : ids_by_thread) unique.insert(ids.begin(), ids.end());
  CHECK(unique.size() == static_cast<size_t>(kTotal));
  CHECK(*unique.begin() == 1);
  CHECK(*unique.rbegin() == kTotal);
  CHECK(journal.head_id() == kTotal);
  CHECK(journal.read_after(0, {}, 1000).items.size() == static_cast<size_t>(kTotal));
  std::lock_guard lock(sink_mutex);
  CHECK(sink_in_order);
  CHECK(sunk.size() == static_cast<size_t>(kTotal));
}

TEST_CASE("journal_sink_runs_before_the_caller_is_released", "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  std::atomic<int64_t> sunk_through{0};
  journal.set_commit_sink(
      [&](std::vector<EventPtr>&& events) { sunk_through = events.back()->id; });
  for (int i = 1; i <= 5; ++i) {
    auto committed = journal.append(events_of({"a.x"}));
    CHECK(sunk_through.load() == committed.back()->id);
  }
}

TEST_CASE("journal_refuses_a_schema_newer_than_it_knows", "[kernel][journal]") {
  TempDir dir;
  { Journal journal(dir.db()); }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
  exec(db, "PRAGMA user_version = 99");
  sqlite3_close(db);
  CHECK_THROWS_WITH(Journal(dir.db()), Catch::Matchers::Contains("schema version 99"));
}

TEST_CASE("journal_after_commit_hooks_run_before_the_commit_sink_and_only_on_success",
          "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  std::mutex order_mutex;
  std::vector<std::string> order;
  auto note = [&](std::string what) {
    std::lock_guard lock(order_mutex);
    order.push_back(std::move(what));
  };
  journal.set_commit_sink([&](std::vector<EventPtr>&& events) {
    for (const auto& event : events) note("sink " + event->kind);
  });
  journal.transact([&](WriteTx& tx) {
    tx.append(new_event("a.changed", 0, "{}"));
    tx.after_commit([&] { note("hook"); });
  });
  CHECK_THROWS_AS(journal.transact([&](WriteTx& tx) {
    tx.append(new_event("a.failed", 0, "{}"));
    tx.after_commit([&] { note("hook of failed work"); });
    throw std::logic_error("work failed");
  }),
                  std::logic_error);
  std::lock_guard lock(order_mutex);
  CHECK(order == std::vector<std::string>{"hook", "sink a.changed"});
}

TEST_CASE("journal_is_usable_until_its_file_is_gone_or_a_commit_fails", "[kernel][journal]") {
  TempDir dir;
  {
    Journal journal(dir.db());
    journal.append(events_of({"a.first"}));
    CHECK(journal.usable());
    // A full database: not ready until a commit goes through again.
    journal.transact([](WriteTx& tx) {
      const int64_t pages = count_rows(tx.db(), "PRAGMA page_count");
      exec(tx.db(), ("PRAGMA max_page_count = " + std::to_string(pages)).c_str());
    });
    std::vector<NewEvent> too_big;
    too_big.push_back(new_event("a.big", 0, "\"" + std::string(1 << 20, 'x') + "\""));
    CHECK_THROWS_AS(journal.append(std::move(too_big)), JournalUnavailable);
    CHECK_FALSE(journal.usable());
    journal.append(events_of({"a.small"}));
    CHECK(journal.usable());
  }
  Journal journal(dir.db());
  CHECK(journal.usable());
  std::filesystem::remove(dir.db());
  CHECK_FALSE(journal.usable());
}

TEST_CASE("journal_checkpointer_copies_the_wal_into_the_database_in_the_background",
          "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  // About 3,000 pages of WAL: past the background threshold (1,000 pages),
  // far below the size at which the writer would copy it back itself.
  const std::string payload = "\"" + std::string(1000, 'x') + "\"";
  for (int batch = 0; batch < 24; ++batch) {
    std::vector<NewEvent> events;
    for (int i = 0; i < 500; ++i) events.push_back(new_event("a.bulk", 0, payload));
    journal.append(std::move(events));
  }
  const uintmax_t copied_bytes = 8u << 20;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::filesystem::file_size(dir.db()) < copied_bytes &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(std::filesystem::file_size(dir.db()) >= copied_bytes);
}

TEST_CASE("journal_visit_after_renders_the_rows_read_after_returns", "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  std::vector<NewEvent> events;
  for (int i = 0; i < 30; ++i) {
    NewEvent event = new_event(i % 3 ? "a.one" : "b.two", 1767225600000 + i * 7,
                               "{\"n\":" + std::to_string(i) + "}");
    if (i % 4 == 0) event.node = "n-" + std::to_string(i);
    events.push_back(std::move(event));
  }
  journal.append(std::move(events));
  for (const std::vector<std::string>& prefixes :
       {std::vector<std::string>{}, std::vector<std::string>{"b."},
        std::vector<std::string>{"a.", "b."}}) {
    const Journal::Page page = journal.read_after(4, prefixes, 12);
    std::string expected, visited;
    for (const auto& event : page.items) expected += envelope_json(*event);
    const Journal::PageInfo info = journal.visit_after(
        4, prefixes, 12, [&](const EventView& row) { append_envelope_json(visited, row); });
    CHECK(visited == expected);
    CHECK(info.count == page.items.size());
    CHECK(info.last_id == page.items.back()->id);
    CHECK(info.truncated == page.truncated);
  }
}

// Plain appends go in several rows per INSERT; every row must still get its
// own id, in order, matching what a read returns for that id, across batch
// sizes around the statement's row count and after pruning everything (the
// next id continues from the largest ever used).
TEST_CASE("journal_batched_appends_give_each_row_its_own_id_at_every_batch_size",
          "[kernel][journal]") {
  TempDir dir;
  Journal journal(dir.db());
  int64_t expected_id = 0;
  int serial = 0;
  auto append_batch = [&](size_t size) {
    std::vector<NewEvent> batch;
    for (size_t i = 0; i < size; ++i, ++serial) {
      NewEvent event = new_event(serial % 3 == 0 ? "b.kind" : "a.kind", 1767225600000 + serial,
                                 R"({"serial":)" + std::to_string(serial) + "}");
      if (serial % 2 == 0) event.node = "n" + std::to_string(serial);
      batch.push_back(std::move(event));
    }
    const int first_serial = serial - static_cast<int>(size);
    auto committed = journal.append(std::move(batch));
    REQUIRE(committed.size() == size);
    for (size_t i = 0; i < size; ++i) {
      const Event& event = *committed[i];
      CHECK(event.id == ++expected_id);
      CHECK(event.payload == R"({"serial":)" + std::to_string(first_serial + i) + "}");
    }
  };
  for (size_t size : {1, 31, 32, 33, 64, 65, 100, 1000}) append_batch(size);
  CHECK(journal.head_id() == expected_id);

  // Every row as read back carries the payload its id was given for.
  auto page = journal.read_after(0, {}, 10000);
  REQUIRE(page.items.size() == static_cast<size_t>(expected_id));
  for (const EventPtr& event : page.items) {
    const int64_t s = event->id - 1;
    CHECK(event->payload == R"({"serial":)" + std::to_string(s) + "}");
    CHECK(event->kind == (s % 3 == 0 ? "b.kind" : "a.kind"));
    CHECK(event->node == (s % 2 == 0 ? "n" + std::to_string(s) : ""));
  }

  CHECK(journal.prune(0, 1767225600000 + serial + 1) == static_cast<uint64_t>(expected_id));
  append_batch(70);
  CHECK(journal.read_after(0, {}, 100).items.front()->id == expected_id - 69);
}
