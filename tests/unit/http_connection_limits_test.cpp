// Admission limits of the HTTP server (host/http/connection_limits.h).
#include <catch2/catch.hpp>

#include "http/connection_limits.h"

using tpark::http::ConnectionCounter;
using tpark::http::PublicRateLimiter;

TEST_CASE("connection_counter_refuses_past_the_address_cap_then_the_total_cap", "[http][limits]") {
  ConnectionCounter counter(4, 2);
  CHECK(counter.admit("a") == ConnectionCounter::Verdict::Admitted);
  CHECK(counter.admit("a") == ConnectionCounter::Verdict::Admitted);
  CHECK(counter.admit("a") == ConnectionCounter::Verdict::AddressFull);
  CHECK(counter.admit("b") == ConnectionCounter::Verdict::Admitted);
  CHECK(counter.admit("c") == ConnectionCounter::Verdict::Admitted);
  CHECK(counter.admit("d") == ConnectionCounter::Verdict::TotalFull);
  CHECK(counter.open() == 4);
  counter.release("a");
  CHECK(counter.admit("a") == ConnectionCounter::Verdict::Admitted);
}

TEST_CASE("connection_counter_with_zero_caps_admits_everyone", "[http][limits]") {
  ConnectionCounter counter(0, 0);
  for (int i = 0; i < 100; ++i) CHECK(counter.admit("a") == ConnectionCounter::Verdict::Admitted);
  CHECK(counter.open() == 100);
}

TEST_CASE("public_limiter_allows_a_window_burst_then_refills_at_the_window_rate",
          "[http][limits]") {
  PublicRateLimiter limiter(6, 60);  // one request per 10 s, a burst of 6
  for (int i = 0; i < 6; ++i) CHECK(limiter.admit("ip", 1000).allowed);
  const auto refused = limiter.admit("ip", 1000);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_s == 10);
  CHECK(limiter.admit("other", 1000).allowed);
  CHECK_FALSE(limiter.admit("ip", 10990).allowed);
  CHECK(limiter.admit("ip", 11001).allowed);
}

TEST_CASE("public_limiter_zero_disables_and_keys_stay_bounded", "[http][limits]") {
  PublicRateLimiter off(0, 60);
  for (int i = 0; i < 10; ++i) CHECK(off.admit("ip", 0).allowed);
  CHECK(off.tracked() == 0);

  PublicRateLimiter bounded(10, 1, 4);
  for (int i = 0; i < 100; ++i) CHECK(bounded.admit("ip" + std::to_string(i), 0).allowed);
  CHECK(bounded.tracked() == 8);
  // A second later every bucket is full again and the sweep drops them.
  CHECK(bounded.admit("late", 2000).allowed);
  CHECK(bounded.tracked() == 1);
}
