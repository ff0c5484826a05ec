// A deep-mode training job over N journaled iteration summaries (default
// 100,000): its wall time in the real host (started -> finished in the job
// view), against reading the same rows through the host API's journal_read
// slot alone, in process, in the pages the orchestrator reads (with and
// without parsing each envelope, as the orchestrator does). Target: <= 2 s
// and within 3x of the read. Usage: bench_training_job [N] [coverage]
// With "coverage", one context.coverage event follows the summaries: pairing
// then needs every summary of the window (the orchestrator's linear worst case).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "kernel/journal.h"
#include "plugins/host_api.h"
#include "plugins/plugin_manager.h"
#include "support/bench_support.h"
#include "support/host_process.h"
#include "support/http_client.h"
#include "util/json.h"
#include "util/time.h"

using namespace tpark::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kKind = "working_set.iteration.summary";

std::string payload(int64_t i) {
  const int64_t selected = i % 9;
  return R"({"iteration":0,"corr_id":"c)" + std::to_string(i) +
         R"(","summary":{"target_limit":8,"selected":)" + std::to_string(selected) +
         R"(,"lanes_requested":2,"lane_counts":{"semantic":)" + std::to_string(selected) +
         R"(},"slots":{"budgets":{"instructions":2},"counts":{"instructions":)" +
         std::to_string(i % 3) +
         R"(}},"avg_cscore":0.4,"max_cscore":0.7,"min_cscore":0.2,"min_score":0.3}})";
}

tp_status append_text(void* ctx, tp_str bytes) {
  static_cast<std::string*>(ctx)->append(bytes.ptr, bytes.len);
  return TP_OK;
}

// Seconds to read every row of kKind through journal_read (pages of 1000).
double read_seconds(tp_host* host, bool parse, int64_t* rows) {
  const tp_host_api* api = tpark::host_api_table();
  const auto start = Clock::now();
  int64_t after = 0;
  *rows = 0;
  for (;;) {
    std::string page;
    tp_writer writer{sizeof(tp_writer), &page, &append_text};
    if (api->journal_read(host, after, tp_str{kKind, std::strlen(kKind)}, 1000, &writer) != TP_OK)
      return -1;
    int64_t lines = 0;
    for (size_t start_at = 0; start_at < page.size();) {
      size_t end = page.find('\n', start_at);
      if (parse) {
        const auto envelope =
            nlohmann::json::parse(page.begin() + static_cast<std::ptrdiff_t>(start_at),
                                  page.begin() + static_cast<std::ptrdiff_t>(end));
        after = envelope.at("id").get<int64_t>();
      } else {
        const size_t colon = page.find(':', start_at);
        after = std::strtoll(page.c_str() + colon + 1, nullptr, 10);
      }
      start_at = end + 1;
      ++lines;
    }
    *rows += lines;
    if (lines < 1000) break;
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_training_job [N=100000] [coverage]\nA deep-mode training job over N "
          "journaled iteration summaries (default 100,000): its wall time in the real host "
          "(started -> finished in the job view), against reading the same rows through the host "
          "API's journal_read slot alone, in process, in the pages the orchestrator reads (with "
          "and without parsing each envelope, as the orchestrator does).\n"))
    return 0;
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 100000;
  const bool with_coverage = argc > 2 && std::string(argv[2]) == "coverage";
  TempDir dir;

  // 1. The read alone: the same rows in a journal of their own, through the slot.
  double read_raw = 0, read_parsed = 0;
  int64_t rows = 0;
  {
    tpark::Journal journal(std::filesystem::path(dir.file("read.db")));
    for (int64_t i = 0; i < n;) {
      std::vector<tpark::NewEvent> batch;
      for (int64_t j = 0; j < 5000 && i < n; ++j, ++i)
        batch.push_back({kKind, payload(i), tpark::now_ms(), "ingest", "", ""});
      journal.append(std::move(batch));
    }
    tpark::HostServices services;
    services.journal = &journal;
    tp_host host;
    host.plugin_id = "bench";
    host.services = std::make_shared<const tpark::HostServices>(std::move(services));
    read_raw = read_seconds(&host, false, &rows);
    read_parsed = read_seconds(&host, true, &rows);
  }

  // 2. The job in the real host over the same rows.
  HostProcess::Options o;
  o.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file("state")};
  o.env = {{"ARW_ADMIN_RATE_LIMIT", "0"}, {"TPARK_BUILTIN_PLUGIN_DIR", TPARK_BUILTIN_PLUGIN_DIR}};
  o.log_path = dir.file("host.log");
  HostProcess host(o);
  const HeaderList ndjson = {{"Content-Type", "application/x-ndjson"}};
  for (int64_t i = 0; i < n;) {
    std::string body;
    for (int64_t j = 0; j < 5000 && i < n; ++j, ++i)
      body += R"({"kind":")" + std::string(kKind) + R"(","payload":)" + payload(i) + "}\n";
    if (request("POST", "127.0.0.1", host.port(), "/events/ingest", ndjson, body).status != 200) {
      std::fprintf(stderr, "ingest failed\n");
      return 1;
    }
  }
  if (with_coverage &&
      request(
          "POST", "127.0.0.1", host.port(), "/events/ingest", ndjson,
          R"({"kind":"context.coverage","payload":{"corr_id":"unpaired","summary":{"target_limit":8,"selected":3}}})"
          "\n")
              .status != 200) {
    std::fprintf(stderr, "ingest failed\n");
    return 1;
  }
  // Let the host digest the ingest first (sections, read models), so the job
  // is timed alone: the snapshot's events section has seen every row.
  for (;;) {
    const HttpResult snapshot =
        request("GET", "127.0.0.1", host.port(), "/state/training/telemetry", {}, {});
    if (snapshot.status == 200 && snapshot.json()["events"]["total"].get<int64_t>() >= n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto submitted = Clock::now();
  const HttpResult started =
      request("POST", "127.0.0.1", host.port(), "/orchestrator/mini_agents/start_training",
              {{"Content-Type", "application/json"}}, R"({"goal":"bench","mode":"deep"})");
  const std::string id = started.json()["id"];
  tpark::Json job;
  for (;;) {
    job = request("GET", "127.0.0.1", host.port(), "/state/orchestrator/jobs/" + id, {}, {}).json();
    if (job["status_slug"] != "queued" && job["status_slug"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double client_s = std::chrono::duration<double>(Clock::now() - submitted).count();
  const auto t0 = tpark::parse_rfc3339_ms(job["started"].get<std::string>());
  const auto t1 = tpark::parse_rfc3339_ms(job["finished"].get<std::string>());
  const double job_s = (*t1 - *t0) / 1000.0;
  std::printf("rows %lld; journal_read alone %.3f s (%.3f s parsing each envelope)\n",
              static_cast<long long>(rows), read_raw, read_parsed);
  if (with_coverage) std::printf("with one coverage event: pairing reads every summary\n");
  std::printf("deep job %s: %.3f s started->finished (%.3f s seen by the client), %.2fx the read\n",
              job["status_slug"].get<std::string>().c_str(), job_s, client_s, job_s / read_raw);
  return job["status_slug"] == "completed" ? 0 : 1;
}
