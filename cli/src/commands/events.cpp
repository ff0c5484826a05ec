// tpark events tail [--prefix] [--replay N], tpark ingest FILE
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "commands/commands.h"
#include "event_stream.h"
#include "line_sink.h"
#include "output.h"

namespace tpark::cli {

namespace {

struct TailOptions {
  std::string prefix;
  std::optional<int> replay;
};

[[noreturn]] void tail(CommandContext& ctx, const TailOptions& options) {
  std::string query;
  if (!options.prefix.empty()) query = "prefix=" + url_encode(options.prefix);
  if (options.replay)
    query += std::string(query.empty() ? "" : "&") + "replay=" + std::to_string(*options.replay);
  EventStream stream(ctx.api(), ctx.globals, query);
  Backoff backoff;
  for (;;) {
    try {
      stream.connect();
      for (;;) {
        auto frame = stream.next(std::chrono::seconds(60));
        if (!frame) throw std::runtime_error("no frame or keep-alive for 60 s");
        backoff.reset();
        if (ctx.globals.json_output()) {
          Json line = frame->data;
          if (frame->id && line.is_object()) line["id"] = *frame->id;
          print_json(line, ctx.globals.pretty);
        } else {
          std::string payload = frame->data.value("payload", Json()).dump();
          if (payload.size() > 120) payload = payload.substr(0, 117) + "...";
          std::cout << dim(frame->data.value("time", "-")) << "  "
                    << (frame->id ? std::to_string(*frame->id) : "-") << "  " << bold(frame->event)
                    << "  " << payload << '\n';
        }
        std::cout << std::flush;
      }
    } catch (const CliError& e) {
      if (e.exit_code() == kExitUnauthorized || e.exit_code() == kExitUsage) throw;
      std::cerr << "tpark: " << e.what() << "\n";
    } catch (const std::exception& e) {
      std::cerr << "tpark: the stream dropped (" << e.what() << ")\n";
    }
    const auto delay = backoff.next();
    std::cerr << "tpark: reconnecting in " << delay.count() << " ms\n";
    std::this_thread::sleep_for(delay);
  }
}

// The default body limit of POST /events/ingest; a host with a smaller one
// answers 413 with `limit`, and the chunks shrink to it.
constexpr uint64_t kDefaultIngestLimit = 4194304;

struct IngestReport {
  uint64_t accepted = 0;
  Json rejected = Json::array();  // [{line, error}] by the file's line numbers
  uint64_t chunks = 0;
  uint64_t bytes = 0;
};

// Sends `file` in chunks of whole lines no larger than the limit.
IngestReport ingest(Api& api, const std::string& path, uint64_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliError(kExitUsage, "cannot read " + path + ": " + std::strerror(errno));
  IngestReport report;
  std::string buffer;       // file bytes not yet sent, starting at line `first_line`
  uint64_t first_line = 1;  // the file's line number of buffer[0]
  bool eof = false;
  std::vector<char> block(8u << 20);
  for (;;) {
    while (!eof && buffer.size() < limit + 1) {
      in.read(block.data(), static_cast<std::streamsize>(block.size()));
      buffer.append(block.data(), static_cast<size_t>(in.gcount()));
      if (!in) eof = true;
    }
    if (buffer.empty()) break;
    // The chunk: whole lines up to `limit` bytes (all of it at the end of the file).
    size_t size = buffer.size();
    if (size > limit) {
      const void* newline = memrchr(buffer.data(), '\n', limit);
      size =
          newline ? static_cast<size_t>(static_cast<const char*>(newline) - buffer.data()) + 1 : 0;
    }
    if (size == 0) {
      // One line larger than the limit: the host would refuse it whole.
      const size_t end = buffer.find('\n');
      report.rejected.push_back({{"line", first_line}, {"error", "line_too_large"}});
      buffer.erase(0, end == std::string::npos ? buffer.size() : end + 1);
      ++first_line;
      continue;
    }
    const HttpResult result =
        api.send("POST", "/events/ingest", buffer.substr(0, size), "application/x-ndjson");
    if (result.status == 413) {
      uint64_t host_limit = 0;
      try {
        host_limit = result.json().value("limit", uint64_t{0});
      } catch (const nlohmann::json::exception&) {
      }
      if (host_limit == 0 || host_limit >= limit)
        throw api.error_for("POST", "/events/ingest", result);
      limit = host_limit;
      continue;
    }
    if (result.status != 200) throw api.error_for("POST", "/events/ingest", result);
    const Json body = result.json();
    report.accepted += body.value("accepted", uint64_t{0});
    for (const auto& rejected : body.value("rejected", Json::array()))
      report.rejected.push_back({{"line", first_line + rejected.value("line", uint64_t{1}) - 1},
                                 {"error", rejected.value("error", "")}});
    ++report.chunks;
    report.bytes += size;
    first_line += static_cast<uint64_t>(std::count(buffer.data(), buffer.data() + size, '\n'));
    buffer.erase(0, size);
  }
  return report;
}

}  // namespace

void add_event_commands(CLI::App& app, CommandContext& ctx) {
  CLI::App* events =
      add_command(app, "events", "the live event stream", "tpark events tail --prefix context.");
  events->require_subcommand(1);
  auto tail_options = std::make_shared<TailOptions>();
  CLI::App* tail_cmd =
      add_command(*events, "tail", "print events as they arrive (SSE) until interrupted",
                  "tpark events tail --prefix orchestrator.job. --replay 20");
  tail_cmd->add_option("--prefix", tail_options->prefix, "kind prefixes, comma-separated");
  tail_cmd->add_option("--replay", tail_options->replay, "first replay the newest N journal events")
      ->check(CLI::NonNegativeNumber);
  tail_cmd->callback([&ctx, tail_options] { tail(ctx, *tail_options); });

  struct IngestOptions {
    std::string file;
    std::string chunk_size;
  };
  auto ingest_options = std::make_shared<IngestOptions>();
  CLI::App* ingest_cmd =
      add_command(app, "ingest",
                  "send an NDJSON file of events in chunks of whole lines no larger than the "
                  "ingest limit; rejected lines are reported by the file's line numbers",
                  "tpark ingest capture.ndjson");
  ingest_cmd->add_option("file", ingest_options->file, "NDJSON file, one event per line")
      ->required();
  ingest_cmd
      ->add_option(
          "--chunk-size", ingest_options->chunk_size,
          "largest request body (K/M suffixes); default 4M, shrunk to the host's limit on 413")
      ->envname("ARW_EVENTS_INGEST_MAX_BYTES");
  ingest_cmd->callback([&ctx, ingest_options] {
    const uint64_t limit = ingest_options->chunk_size.empty()
                               ? kDefaultIngestLimit
                               : parse_size(ingest_options->chunk_size, "--chunk-size");
    if (limit == 0) throw CliError(kExitUsage, "--chunk-size must be at least 1 byte");
    const auto started = std::chrono::steady_clock::now();
    const IngestReport report = ingest(ctx.api(), ingest_options->file, limit);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (ctx.globals.json_output()) {
      print_json(Json{{"accepted", report.accepted},
                      {"rejected", report.rejected},
                      {"rejected_total", report.rejected.size()},
                      {"chunks", report.chunks},
                      {"bytes", report.bytes},
                      {"seconds", seconds}},
                 ctx.globals.pretty);
    } else {
      for (const auto& rejected : report.rejected)
        std::cout << "line " << rejected["line"].get<uint64_t>() << ": "
                  << rejected["error"].get<std::string>() << '\n';
      char rate[64];
      std::snprintf(rate, sizeof rate, "%.0f events/s",
                    seconds > 0 ? report.accepted / seconds : 0.0);
      std::cout << "accepted " << report.accepted << ", rejected " << report.rejected.size() << " ("
                << report.chunks << " chunks, " << bytes(report.bytes) << ", " << rate << ")\n";
    }
    if (!report.rejected.empty())
      throw CliError(kExitFailure, std::to_string(report.rejected.size()) +
                                       " lines rejected (listed above by line number)");
  });
}

}  // namespace tpark::cli
