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
}

TEST_CASE("the_load_is_measured_over_spans_of_at_least_100_ms") {
  StartPacer pacer({.busy_events_per_sec = 1000, .starts_per_sec = 10}, t0, 0);
  // 90 appends in 90 ms would be busy, but a span is not over yet: the
  // pacer still counts the host quiet.
  CHECK_FALSE(pacer.start_at(t0 + 50ms, 50));
  CHECK_FALSE(pacer.start_at(t0 + 90ms, 90));
  CHECK_FALSE(pacer.busy());
  // At 100 ms the span closes: 100 appends, 1,000/s. The start at 90 ms
  // booked the next slot at 190 ms.
  CHECK(pacer.start_at(t0 + 100ms, 100) == t0 + 190ms);
  CHECK(pacer.busy());
}

TEST_CASE("starts_go_unpaced_again_a_second_after_the_last_busy_span") {
  StartPacer pacer({.busy_events_per_sec = 1000, .starts_per_sec = 4}, t0, 0);
  CHECK_FALSE(pacer.start_at(t0 + 250ms, 1000));  // 4,000/s in 0..250 ms: busy
  CHECK(pacer.start_at(t0 + 260ms, 1000) == t0 + 500ms);
  // 250..400 ms holds 50 appends (333/s): a quiet span, but not yet a second
  // of them, so starts stay paced.
  CHECK(pacer.start_at(t0 + 400ms, 1050) == t0 + 500ms);
  CHECK_FALSE(pacer.start_at(t0 + 600ms, 1100));
  CHECK(pacer.busy());
  CHECK_FALSE(pacer.start_at(t0 + 1200ms, 1100));  // the slot after 850 ms
  CHECK(pacer.busy());
  // The span closing at 1,300 ms ends a second after the last busy one
  // (which closed at 250 ms): quiet, starts go back to back.
  CHECK_FALSE(pacer.start_at(t0 + 1300ms, 1100));
  CHECK_FALSE(pacer.busy());
  CHECK_FALSE(pacer.start_at(t0 + 1301ms, 1100));
}

TEST_CASE("zero_starts_per_second_turns_pacing_off") {
  StartPacer pacer({.busy_events_per_sec = 1, .starts_per_sec = 0}, t0, 0);
  CHECK_FALSE(pacer.start_at(t0 + 300ms, 1000000));
  CHECK_FALSE(pacer.start_at(t0 + 301ms, 1000000));
  CHECK_FALSE(pacer.busy());
}
