// `tpark ingest FILE`: a file larger than the host's ingest limit goes in
// chunks of whole lines, and rejected lines come back by the file's numbers.
#include <catch2/catch.hpp>

#include <fstream>

#include "integration/cli_runner.h"
#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

TEST_CASE("cli_ingest_splits_a_large_file_on_lines_and_reports_rejected_lines_by_file_line",
          "[integration][cli]") {
  TestHostOptions options;
  options.env = {{"ARW_EVENTS_INGEST_MAX_BYTES", "65536"}};
  TestHost host(options);
  TempDir dir;
  const std::string path = dir.file("capture.ndjson");
  std::vector<uint64_t> bad_lines;
  uint64_t good = 0;
  {
    std::ofstream out(path);
    for (uint64_t line = 1; line <= 5000; ++line) {
      if (line == 7 || line == 2500 || line == 4999) {
        out << "{not json\n";
        bad_lines.push_back(line);
      } else if (line == 3000) {
        out << "\n";  // blank: skipped, counted nowhere, but still a line
      } else {
        out << "{\"kind\":\"cli.test\",\"payload\":{\"n\":" << line << ",\"pad\":\""
            << std::string(60, 'x') << "\"}}\n";
        ++good;
      }
    }
    out << "{\"kind\":\"cli.test.last\"}";  // no final newline
    ++good;
  }
  REQUIRE(std::filesystem::file_size(path) > 4 * 65536);

  // No --chunk-size: the CLI starts at the default limit and shrinks to the host's on 413.
  CliRun run = run_cli(cli_args(host.port(), {"ingest", path, "--json"}), cli_env_with_token());
  INFO(run.err);
  CHECK(run.exit_code == 1);  // some lines were rejected
  const Json report = Json::parse(run.out);
  CHECK(report["accepted"] == good);
  CHECK(report["chunks"].get<int>() > 4);
  REQUIRE(report["rejected"].size() == bad_lines.size());
  for (size_t i = 0; i < bad_lines.size(); ++i)
    CHECK(report["rejected"][i]["line"] == bad_lines[i]);

  HttpResult events = host.get("/state/events?prefix=cli.test&limit=1000");
  REQUIRE(events.status == 200);
  CHECK(events.json()["items"][0]["payload"]["n"] == 1);

  // The human report names the lines too; a clean file exits 0.
  CliRun human =
      run_cli(cli_args(host.port(), {"ingest", path, "--chunk-size", "60K"}), cli_env_with_token());
  CHECK(human.out.find("line 2500: ") != std::string::npos);
  CHECK(human.out.find("events/s") != std::string::npos);
  const std::string clean = dir.file("clean.ndjson");
  std::ofstream(clean) << "{\"kind\":\"cli.clean\"}\n{\"kind\":\"cli.clean\"}\n";
  CliRun ok = run_cli(cli_args(host.port(), {"ingest", clean}), cli_env_with_token());
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("accepted 2, rejected 0") != std::string::npos);
}
