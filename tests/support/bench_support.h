// Pieces the benchmarks share: driving NDJSON bodies into a host over several
// connections, and reading a process's CPU time.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.h"

namespace tpark::test {

// POSTs every body to /events/ingest on 127.0.0.1:`port`, `connections`
// keep-alive connections taking the next body in turn; the events accepted.
inline long post_ingest_bodies(int port, const std::vector<std::string>& bodies, int connections) {
  std::atomic<size_t> next{0};
  std::atomic<long> accepted{0};
  std::vector<std::thread> workers;
  for (int c = 0; c < connections; ++c)
    workers.emplace_back([&] {
      HttpConnection conn("127.0.0.1", port, std::chrono::seconds(120));
      for (size_t i = next++; i < bodies.size(); i = next++) {
        HttpResult r = conn.request("POST", "/events/ingest",
                                    {{"Content-Type", "application/x-ndjson"}}, bodies[i]);
        if (r.status == 200) accepted += r.json()["accepted"].get<long>();
      }
    });
  for (auto& worker : workers) worker.join();
  return accepted.load();
}

// CPU seconds (user + system) a process has used so far, from /proc; 0 when
// it is gone.
inline double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i)
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace tpark::test
