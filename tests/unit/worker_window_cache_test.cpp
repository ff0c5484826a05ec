// The worker's cache of the host's journal rows (worker/window_cache.h): the
// pages it serves are the host's pages cut at the job's window, and a range
// of ids read once is not asked for again.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "window_cache.h"

using tpark::worker::JournalRow;
using tpark::worker::WindowCache;

namespace {

// A journal as the host's GET /state/events pages it, counting the reads it
// answers.
struct HostRows {
  std::vector<JournalRow> rows;  // ascending ids
  int reads = 0;

  void append(int64_t id, std::string kind = "k") {
    rows.push_back({id, kind, "{\"id\":" + std::to_string(id) + ",\"kind\":\"" + kind + "\"}"});
  }

  WindowCache::Fetch fetch() {
    return [this](int64_t after, const std::vector<std::string>& prefixes, uint64_t limit) {
      ++reads;
      std::vector<JournalRow> page;
      for (const auto& row : rows)
        if (row.id > after && page.size() < limit && matches(row, prefixes)) page.push_back(row);
      return std::optional<std::vector<JournalRow>>(std::move(page));
    };
  }

  static bool matches(const JournalRow& row, const std::vector<std::string>& prefixes) {
    for (const auto& prefix : prefixes)
      if (row.kind.compare(0, prefix.size(), prefix) == 0) return true;
    return prefixes.empty();
  }

  // The host's page of one prefix cut at `until_id`, as the cache must serve it.
  std::string page(int64_t after, uint64_t limit, int64_t until_id,
                   const std::string& prefix = "k") const {
    std::string text;
    uint64_t lines = 0;
    for (const auto& row : rows)
      if (row.id > after && row.id <= until_id && matches(row, {prefix}) && lines++ < limit)
        text += row.envelope + "\n";
    return text;
  }
};

}  // namespace

TEST_CASE("window cache serves the host's page cut at the window's end", "[worker]") {
  HostRows host;
  for (int64_t id = 2; id <= 100; id += 3) host.append(id);
  WindowCache cache;
  auto fetch = host.fetch();
  CHECK(cache.read(0, "k", 5, 90, fetch) == host.page(0, 5, 90));
  CHECK(cache.read(10, "k", 1000, 50, fetch) == host.page(10, 1000, 50));
  CHECK(cache.read(40, "k", 3, 90, fetch) == host.page(40, 3, 90));
  CHECK(cache.read(95, "k", 10, 100, fetch) == host.page(95, 10, 100));
  CHECK(cache.read(100, "k", 10, 100, fetch).value().empty());
}

TEST_CASE("window cache reads a range once, then only the ids after it", "[worker]") {
  HostRows host;
  for (int64_t id = 1; id <= 300; ++id) host.append(id);
  WindowCache cache;
  auto fetch = host.fetch();
  // The first job reads its window in one page; the host answers one read.
  CHECK(cache.read(0, "k", 1000, 300, fetch) == host.page(0, 1000, 300));
  CHECK(host.reads == 1);
  // A second job reading the same window, in any pages, asks for nothing.
  CHECK(cache.read(100, "k", 50, 300, fetch) == host.page(100, 50, 300));
  CHECK(cache.read(0, "k", 1000, 250, fetch) == host.page(0, 1000, 250));
  CHECK(host.reads == 1);
  // The journal grew: a later window asks only for the new ids.
  for (int64_t id = 301; id <= 320; ++id) host.append(id);
  CHECK(cache.read(0, "k", 1000, 320, fetch) == host.page(0, 1000, 320));
  CHECK(host.reads == 2);
  CHECK(cache.read(0, "k", 1000, 320, fetch) == host.page(0, 1000, 320));
  CHECK(host.reads == 2);
}

TEST_CASE("window cache fills the gap between two ranges it read", "[worker]") {
  HostRows host;
  for (int64_t id = 1; id <= 1000; id += 2) host.append(id);
  WindowCache cache;
  auto fetch = host.fetch();
  CHECK(cache.read(900, "k", 1000, 1000, fetch) == host.page(900, 1000, 1000));  // newest first
  CHECK(cache.read(100, "k", 20, 1000, fetch) == host.page(100, 20, 1000));      // a full page
  CHECK(host.reads == 2);
  CHECK(cache.read(100, "k", 1000, 1000, fetch) == host.page(100, 1000, 1000));
  CHECK(host.reads == 3);  // one read from id 139 on
  CHECK(cache.read(0, "k", 1000, 1000, fetch) == host.page(0, 1000, 1000));
  CHECK(host.reads == 4);  // and (0, 100]
  CHECK(cache.read(0, "k", 1000, 1000, fetch) == host.page(0, 1000, 1000));
  CHECK(host.reads == 4);
}

TEST_CASE("window cache keeps each prefix apart and fails with the host", "[worker]") {
  HostRows host;
  for (int64_t id = 1; id <= 10; ++id) host.append(id, id % 2 ? "a" : "b");
  WindowCache cache;
  auto fetch = host.fetch();
  CHECK(cache.read(0, "a", 100, 10, fetch) == host.page(0, 100, 10, "a"));
  CHECK(cache.read(0, "b", 100, 10, fetch) == host.page(0, 100, 10, "b"));
  CHECK(cache.read(0, "a", 100, 10, fetch) == host.page(0, 100, 10, "a"));
  CHECK(host.reads == 2);
  const WindowCache::Fetch unreachable = [](int64_t, const std::vector<std::string>&, uint64_t) {
    return std::optional<std::vector<JournalRow>>();
  };
  CHECK_FALSE(cache.read(10, "a", 100, 20, unreachable).has_value());
}

TEST_CASE("window cache reads a short span to the window's end for every kind at once",
          "[worker]") {
  // The two kinds a job reads: a later job's chunk near its window's end is
  // one read of the host, for both kinds.
  HostRows host;
  for (int64_t id = 1; id <= 200; ++id) host.append(id, id % 10 ? "coverage" : "summary");
  WindowCache cache;
  auto fetch = host.fetch();
  CHECK(cache.read(100, "summary", 100, 200, fetch) == host.page(100, 100, 200, "summary"));
  CHECK(cache.read(100, "coverage", 100, 200, fetch) == host.page(100, 100, 200, "coverage"));
  CHECK(cache.read(0, "summary", 1000, 200, fetch) == host.page(0, 1000, 200, "summary"));
  CHECK(host.reads == 3);  // the first read knew of one kind; the last filled (0, 100]
  // The next job, the journal 40 ids longer: its chunk, then the pairing.
  for (int64_t id = 201; id <= 240; ++id) host.append(id, id % 10 ? "coverage" : "summary");
  CHECK(cache.read(140, "summary", 100, 240, fetch) == host.page(140, 100, 240, "summary"));
  CHECK(cache.read(140, "coverage", 100, 240, fetch) == host.page(140, 100, 240, "coverage"));
  CHECK(cache.read(0, "summary", 1000, 240, fetch) == host.page(0, 1000, 240, "summary"));
  CHECK(host.reads == 4);  // the new ids, of both kinds, in one read
}

TEST_CASE("window cache drops what it kept past its byte bound and reads again", "[worker]") {
  HostRows host;
  for (int64_t id = 1; id <= 100; ++id) host.append(id);
  WindowCache cache(200);
  auto fetch = host.fetch();
  CHECK(cache.read(0, "k", 20, 100, fetch) == host.page(0, 20, 100));
  CHECK(cache.read(50, "k", 20, 100, fetch) == host.page(50, 20, 100));
  CHECK(cache.bytes() <= 200);
  CHECK(cache.read(0, "k", 20, 100, fetch) == host.page(0, 20, 100));
  CHECK(host.reads == 3);
}
