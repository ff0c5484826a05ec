// Time from process start to the first 200 from /readyz, with the built-in
// plugins, on a fresh state dir each run. Target <= 150 ms. Prints the median
// and the worst of N runs (default 10).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "support/bench_support.h"
#include "support/host_process.h"
#include "support/http_client.h"

using namespace tpark::test;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_startup_readyz [runs=10]\nTime from process start to the first 200 from "
          "/readyz, with the built-in plugins, on a fresh state dir each run.\n"))
    return 0;
  const int runs = argc > 1 ? std::atoi(argv[1]) : 10;
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    TempDir dir;
    HostProcess::Options o;
    o.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file("state")};
    o.log_path = dir.file("host.log");
    o.wait_for_listening = false;
    auto start = Clock::now();
    HostProcess host(o);
    if (!host.wait_listening(std::chrono::seconds(20))) {
      std::fprintf(stderr, "host did not start:\n%s\n", host.log().c_str());
      return 1;
    }
    while (true) {
      try {
        if (request("GET", "127.0.0.1", host.port(), "/readyz", {}, {}, std::chrono::seconds(2))
                .status == 200)
          break;
      } catch (const std::exception&) {
      }
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    host.stop();
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "startup_readyz: start to /readyz 200: median %.1f ms, worst %.1f ms over %d runs "
      "(target <= 150 ms)\n",
      ms[ms.size() / 2], ms.back(), runs);
  return 0;
}
