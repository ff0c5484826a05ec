// tpark context telemetry [--watch] [--output FILE] [--output-rotate SIZE] [--output-dir DIR]
// tpark tools cache
#include <CLI/CLI.hpp>

#include <ctime>
#include <iostream>
#include <map>
#include <thread>

#include "commands/commands.h"
#include "event_stream.h"
#include "line_sink.h"
#include "output.h"

namespace tpark::cli {

namespace {

struct TelemetryOptions {
  bool watch = false;
  std::string output;
  std::string output_rotate;
  std::string output_dir;
};

std::string utc_now_rfc3339() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buffer, static_cast<int>(ms));
  return out;
}

// "a (3), b (2)" from the first entries of a top_* list.
std::string top_list(const Json& items, size_t limit = 3) {
  if (!items.is_array() || items.empty()) return "-";
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) {
    const Json& item = items[i];
    std::string text;
    if (item.is_object()) {
      auto it = item.begin();
      text = text_of(*it);
      if (++it != item.end()) text += " (" + text_of(*it) + ")";
    } else {
      text = text_of(item);
    }
    out += (i ? ", " : "") + text;
  }
  return out;
}

void print_context_summary(const Json& context, const Json& cache) {
  if (context.is_null()) {
    std::cout << "no context telemetry (the tp.section.context plugin is not loaded)\n";
    return;
  }
  Fields fields;
  const Json& coverage = context.value("coverage", Json());
  const Json& recall = context.value("recall_risk", Json());
  const Json& assembly = context.value("assembly", Json());
  if (coverage.is_object())
    fields.add("coverage", "needs more " + percent(coverage.value("needs_more_ratio", Json())) +
                               " of " + text_at(coverage, "samples") + " samples");
  else
    fields.add("coverage", "-");
  if (recall.is_object()) {
    const Json latest = recall.value("latest", Json());
    fields.add("recall risk", "avg " + text_at(recall, "avg_score") + ", at risk " +
                                  percent(recall.value("at_risk_ratio", Json())) + ", latest " +
                                  text_at(latest, "score") + " (" + text_at(latest, "level") + ")");
  } else {
    fields.add("recall risk", "-");
  }
  const Json slots = coverage.is_object() && coverage.contains("top_slots") ? coverage["top_slots"]
                     : recall.is_object() ? recall.value("top_slots", Json())
                                          : Json();
  fields.add("top slots", top_list(slots));
  if (assembly.is_object())
    fields.add("working set", text_at(assembly, "samples") + " iterations, needs more " +
                                  percent(assembly.value("needs_more_ratio", Json())));
  else
    fields.add("working set", "-");
  if (cache.is_object())
    fields.add("cache", "hit " + text_at(cache, "hit") + ", miss " + text_at(cache, "miss") +
                            ", coalesced " + text_at(cache, "coalesced") + ", bypass " +
                            text_at(cache, "bypass"));
  fields.add("window", text_at(context, "window") + " events");
  fields.print(std::cout);
}

std::unique_ptr<LineSink> telemetry_sink(const TelemetryOptions& options) {
  if (!options.output_dir.empty()) return daily_sink(options.output_dir, "context.log");
  if (options.output.empty()) return stdout_sink();
  std::optional<uint64_t> rotate;
  if (!options.output_rotate.empty()) rotate = parse_size(options.output_rotate, "--output-rotate");
  return file_sink(options.output, rotate);
}

void validate(const TelemetryOptions& options) {
  if (!options.output_rotate.empty()) {
    if (options.output.empty()) throw CliError(kExitUsage, "--output-rotate needs --output FILE");
    if (parse_size(options.output_rotate, "--output-rotate") < kMinRotateBytes)
      throw CliError(kExitUsage, "--output-rotate: at least 64K (65536 bytes)");
  }
  if (!options.output_dir.empty() && !options.output.empty())
    throw CliError(kExitUsage, "--output and --output-dir exclude each other: choose one");
}

void run_snapshot(CommandContext& ctx, const TelemetryOptions& options) {
  const Json snapshot = ctx.api().get_json("/state/training/telemetry");
  const Json context = snapshot.value("context", Json());
  if (!options.output.empty() || !options.output_dir.empty()) {
    telemetry_sink(options)->write_line(
        Json{{"generated", snapshot.value("generated", Json())}, {"context", context}}.dump());
    return;
  }
  if (ctx.globals.json_output())
    print_json(context, ctx.globals.pretty);
  else
    print_context_summary(context, snapshot.value("cache", Json()));
}

// Follows context_metrics (and training_metrics, for the cache counters of
// the human line) over SSE; writes each context_metrics version once per
// (instance_id, version), reconnecting with backoff until killed.
[[noreturn]] void run_watch(CommandContext& ctx, const TelemetryOptions& options) {
  Api& api = ctx.api();
  auto sink = telemetry_sink(options);
  const bool lines_as_json =
      ctx.globals.json_output() || !options.output.empty() || !options.output_dir.empty();
  EventStream stream(api, ctx.globals,
                     "prefix=state.read.model.patch&read_models=context_metrics,training_metrics");
  ReadModelFollower context("context_metrics");
  ReadModelFollower training("training_metrics");
  std::map<std::string, uint64_t> written;  // instance_id -> newest version written
  Backoff backoff;

  auto emit = [&](const std::string& generated) {
    const auto seen = written.find(context.instance_id);
    if (seen != written.end() && context.version <= seen->second) return;
    written[context.instance_id] = context.version;
    if (lines_as_json) {
      sink->write_line(Json{
          {"instance_id", context.instance_id},
          {"version", context.version},
          {"generated", generated},
          {"context",
           context.value}}.dump());
      return;
    }
    const Json& coverage =
        context.value.is_object() ? context.value.value("coverage", Json()) : Json();
    const Json& recall =
        context.value.is_object() ? context.value.value("recall_risk", Json()) : Json();
    const Json cache = training.value.is_object() ? training.value.value("cache", Json()) : Json();
    sink->write_line(
        generated.substr(0, 19) + "  v" + std::to_string(context.version) + "  needs more " +
        percent(coverage.is_object() ? coverage.value("needs_more_ratio", Json()) : Json()) +
        "  recall risk " +
        (recall.is_object() ? text_at(recall.value("latest", Json()), "score") : "-") +
        "  cache hit " + text_at(cache, "hit") + " / miss " + text_at(cache, "miss"));
  };

  for (;;) {
    try {
      stream.connect();
      // Prime after the hello so no patch falls between the GET and the stream.
      for (;;) {
        auto frame = stream.next(std::chrono::seconds(60));
        if (!frame) throw std::runtime_error("no frame for 60 s");
        if (frame->event == "service.connected") break;
      }
      context.prime(api);
      if (!lines_as_json) training.prime(api);
      emit(utc_now_rfc3339());
      backoff.reset();
      for (;;) {
        auto frame = stream.next(std::chrono::seconds(60));
        if (!frame) throw std::runtime_error("no frame or keep-alive for 60 s");
        if (frame->event != "state.read.model.patch") continue;
        const Json payload = frame->data.value("payload", Json());
        const std::string generated = frame->data.value("time", utc_now_rfc3339());
        if (!lines_as_json && training.on_patch(payload) == ReadModelFollower::Step::needs_prime)
          training.prime(api);
        switch (context.on_patch(payload)) {
          case ReadModelFollower::Step::applied:
            emit(generated);
            break;
          case ReadModelFollower::Step::needs_prime:
            context.prime(api);
            emit(generated);
            break;
          case ReadModelFollower::Step::ignored:
            break;
        }
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

void print_cache(const Json& cache) {
  if (!cache.is_object()) {
    std::cout << "no cache counters in the snapshot\n";
    return;
  }
  Fields fields;
  fields.add("hit", text_at(cache, "hit"));
  fields.add("miss", text_at(cache, "miss"));
  fields.add("coalesced", text_at(cache, "coalesced"));
  fields.add("bypass", text_at(cache, "bypass"));
  fields.add("errors", text_at(cache, "errors"));
  fields.add("stampede suppression", percent(cache.value("stampede_suppression_rate", Json())));
  fields.add("latency saved",
             milliseconds(cache.value("latency_saved_ms_total", Json())) + " total, " +
                 milliseconds(cache.value("avg_latency_saved_ms", Json())) + " avg");
  fields.add("payload saved", bytes(cache.value("payload_bytes_saved_total", Json())) + " total, " +
                                  bytes(cache.value("avg_payload_bytes_saved", Json())) + " avg");
  fields.add("entries", text_at(cache, "entries") + " of " + text_at(cache, "capacity"));
  fields.print(std::cout);
}

}  // namespace

void add_context_commands(CLI::App& app, CommandContext& ctx) {
  CLI::App* context = add_command(app, "context", "context telemetry", "tpark context telemetry");
  context->require_subcommand(1);
  auto options = std::make_shared<TelemetryOptions>();
  CLI::App* telemetry = add_command(
      *context, "telemetry",
      "the context section: coverage, recall risk, top slots, working set, cache counters; "
      "--watch follows its patches over SSE",
      "tpark context telemetry --watch --json --output-dir ~/tpark-logs");
  telemetry->add_flag("--watch", options->watch, "follow the live patches (SSE) until interrupted");
  telemetry->add_option("--output", options->output, "append each snapshot as a JSON line to FILE");
  telemetry->add_option("--output-rotate", options->output_rotate,
                        "rotate --output to FILE.1 at SIZE (K/M suffixes, at least 64K)");
  telemetry->add_option("--output-dir", options->output_dir,
                        "append to DIR/<YYYY-MM-DD>/context.log, rolling at midnight UTC");
  telemetry->callback([&ctx, options] {
    validate(*options);
    if (options->watch) run_watch(ctx, *options);
    run_snapshot(ctx, *options);
  });

  CLI::App* tools = add_command(app, "tools", "tool telemetry", "tpark tools cache");
  tools->require_subcommand(1);
  CLI::App* cache = add_command(*tools, "cache",
                                "cache counters: hit/miss/coalesced/bypass, stampede suppression, "
                                "latency and payload saved",
                                "tpark tools cache --json");
  cache->callback([&ctx] {
    const Json snapshot = ctx.api().get_json("/state/training/telemetry");
    const Json cache_section = snapshot.value("cache", Json());
    if (ctx.globals.json_output())
      print_json(cache_section, ctx.globals.pretty);
    else
      print_cache(cache_section);
  });
}

}  // namespace tpark::cli
