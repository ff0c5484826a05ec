// Ingest first (start_pacer.h): job starts are paced only while the journal
// takes at least the busy rate of appends.
#include <catch2/catch.hpp>

#include "training/start_pacer.h"

using tpark::training::StartPacer;
using tpark::training::YieldSettings;
using namespace std::chrono_literals;

namespace {

const StartPacer::Clock::time_point t0{};

}  // namespace

TEST_CASE("starts_go_unpaced_while_the_journal_takes_fewer_appends_than_the_busy_rate") {
  StartPacer pacer({.busy_events_per_sec = 1000, .starts_per_sec = 10}, t0, 0);
  // 299 appends in 300 ms: 997/s, just under the busy rate.
  CHECK_FALSE(pacer.start_at(t0 + 300ms, 299));
  CHECK_FALSE(pacer.busy());
  // Back to back: nothing is paced.
  CHECK_FALSE(pacer.start_at(t0 + 301ms, 299));
  CHECK_FALSE(pacer.start_at(t0 + 302ms, 299));
  CHECK(pacer.paced_starts() == 0);
}

TEST_CASE("busy_ingest_spaces_starts_one_slot_apart") {
  StartPacer pacer({.busy_events_per_sec = 1000, .starts_per_sec = 10}, t0, 0);
  // 300 appends in 300 ms: 1,000/s, busy. The first start goes at once.
  CHECK_FALSE(pacer.start_at(t0 + 300ms, 300));
  CHECK(pacer.busy());
  // The next is due 100 ms (1/10 s) later, however often it is asked.
  CHECK(pacer.start_at(t0 + 310ms, 310) == t0 + 400ms);
  CHECK(pacer.start_at(t0 + 399ms, 399) == t0 + 400ms);
  CHECK_FALSE(pacer.start_at(t0 + 400ms, 400));
  CHECK(pacer.start_at(t0 + 450ms, 450) == t0 + 500ms);
  CHECK(pacer.paced_starts() == 2);
}

TEST_CASE("the_load_is_measured_over_spans_of_at_least_250_ms") {
  StartPacer pacer({.busy_events_per_sec = 1000, .starts_per_sec = 10}, t0, 0);
  // 100 appends in 100 ms would be busy, but a span is not over yet: the
  // pacer still counts the host idle.
  CHECK_FALSE(pacer.start_at(t0 + 100ms, 100));
  CHECK_FALSE(pacer.busy());
  CHECK_FALSE(pacer.start_at(t0 + 200ms, 200));
  // At 250 ms the span closes: 250 appends, 1,000/s. The start at 200 ms
  // booked the next slot at 300 ms.
  CHECK(pacer.start_at(t0 + 250ms, 250) == t0 + 300ms);
  CHECK(pacer.busy());
}

TEST_CASE("starts_go_unpaced_again_once_ingest_quietens") {
  StartPacer pacer({.busy_events_per_sec = 1000, .starts_per_sec = 4}, t0, 0);
  CHECK_FALSE(pacer.start_at(t0 + 250ms, 1000));  // 4,000/s: busy
  CHECK(pacer.start_at(t0 + 260ms, 1000) == t0 + 500ms);
  // The next span, 250..600 ms, holds 100 appends: 286/s, quiet.
  CHECK_FALSE(pacer.start_at(t0 + 600ms, 1100));
  CHECK_FALSE(pacer.busy());
  CHECK_FALSE(pacer.start_at(t0 + 601ms, 1100));
  CHECK(pacer.paced_starts() == 1);
}

TEST_CASE("zero_starts_per_second_turns_pacing_off") {
  StartPacer pacer({.busy_events_per_sec = 1, .starts_per_sec = 0}, t0, 0);
  CHECK_FALSE(pacer.start_at(t0 + 300ms, 1000000));
  CHECK_FALSE(pacer.start_at(t0 + 301ms, 1000000));
  CHECK_FALSE(pacer.busy());
  CHECK(pacer.paced_starts() == 0);
}
