// The pure parts of the built-in exporters: the jsonl exporter's dated file
// (UTC dates, rotation, retention, whole-batch appends) and the pushgateway
// exporter's grouping-key path.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "daily_log.h"
#include "push_target.h"
#include "support/host_process.h"  // TempDir

namespace fs = std::filesystem;
using namespace tpark;

namespace {
std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

TEST_CASE("utc_date_turns_at_midnight_utc", "[jsonl]") {
  CHECK(jsonl::utc_date(1772409599999) == "2026-03-01");  // 23:59:59.999Z
  CHECK(jsonl::utc_date(1772409600000) == "2026-03-02");  // 00:00:00.000Z
  CHECK(jsonl::utc_date(0) == "1970-01-01");
}

TEST_CASE("daily_log_rotates_past_max_bytes_and_expires_days_past_retention", "[jsonl]") {
  test::TempDir dir;
  const fs::path root = dir.file("logs");
  fs::create_directories(root / "2026-02-26");  // 3 days before 03-01: expired
  fs::create_directories(root / "2026-02-27");  // 2 days before: kept
  fs::create_directories(root / "notes");       // not a date: left alone
  jsonl::DailyLog log({root, 10, 3, false});
  const int64_t march1 = 1772323200000;  // 2026-03-01T00:00:00Z
  REQUIRE(log.append(march1, "{\"a\":1}\n").empty());
  REQUIRE(log.append(march1, "{\"b\":2}\n").empty());  // 8 + 8 > 10: rotates first
  REQUIRE(log.append(march1 + 86400000, "{\"c\":3}\n").empty());
  CHECK(slurp(root / "2026-03-01" / "context.log.1") == "{\"a\":1}\n");
  CHECK(slurp(root / "2026-03-01" / "context.log") == "{\"b\":2}\n");
  CHECK(slurp(root / "2026-03-02" / "context.log") == "{\"c\":3}\n");
  CHECK_FALSE(fs::exists(root / "2026-02-26"));
  CHECK_FALSE(fs::exists(root / "2026-02-27"));  // 3 days before 03-02 once the day turned
  CHECK(fs::exists(root / "notes"));
  CHECK(log.current_path(march1) == root / "2026-03-01" / "context.log");
}

TEST_CASE("push_target_encodes_job_and_grouping_labels_as_base64url_segments", "[pushgateway]") {
  std::string error;
  auto target = pushgateway::make_push_target("http://gw.example:9091/prefix/", "tpark/a",
                                              {{"site", "lab 1"}, {"empty", ""}}, error);
  REQUIRE(target);
  CHECK(target->host == "gw.example");
  CHECK(target->port == "9091");
  // Labels in name order; "" is the Pushgateway's "=" form.
  CHECK(target->path ==
        "/prefix/metrics/job@base64/dHBhcmsvYQ==/empty@base64/=/site@base64/bGFiIDE=");
  CHECK(pushgateway::base64url("\xfb\xff") == "-_8=");
}

TEST_CASE("push_target_refuses_a_url_that_is_not_http_and_a_bad_label_naming_the_field",
          "[pushgateway]") {
  std::string error;
  CHECK_FALSE(pushgateway::make_push_target("https://gw:9091", "j", {}, error));
  CHECK_THAT(error, Catch::StartsWith("url: "));
  CHECK_FALSE(pushgateway::make_push_target("http://gw:port", "j", {}, error));
  CHECK_THAT(error, Catch::StartsWith("url: "));
  CHECK_FALSE(pushgateway::make_push_target("http://gw", "j", {{"9lives", "x"}}, error));
  CHECK_THAT(error, Catch::StartsWith("grouping.9lives: "));
  auto plain = pushgateway::make_push_target("http://gw", "j", {}, error);
  REQUIRE(plain);
  CHECK(plain->port == "80");
}
