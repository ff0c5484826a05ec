// tpark jobs start GOAL [--preset] [--diversity] [--recency] [--compression] [--persona-id]
// [--follow] tpark jobs list|show|cancel
#include <CLI/CLI.hpp>

#include <cmath>
#include <iostream>
#include <optional>
#include <thread>

#include "commands/commands.h"
#include "event_stream.h"
#include "output.h"

namespace tpark::cli {

namespace {

struct StartOptions {
  std::string goal;
  std::string preset;
  std::optional<double> diversity, recency, compression;
  std::string persona_id;
  bool follow = false;
};

bool terminal(const std::string& status) {
  return status == "completed" || status == "failed" || status == "cancelled";
}

constexpr int kStages = 5;

// A number member, or `fallback` when absent or null (a queued job has no progress).
double number_or(const Json& object, const char* key, double fallback) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : fallback;
}

// Draws the job's progress: a bar with the stage on a terminal, a line per
// stage change otherwise.
class ProgressView {
 public:
  explicit ProgressView(bool tty) : tty_(tty) {}

  void show(const Json& job) {
    const std::string status = job.value("status", "");
    const std::string stage =
        job.contains("stage") && job["stage"].is_string() ? job["stage"].get<std::string>() : "";
    double progress = number_or(job, "progress", 0.0);
    if (status == "completed") progress = 1.0;
    const std::string label = stage.empty() || terminal(status) ? status : stage;
    if (tty_) {
      constexpr int width = 30;
      const int filled = static_cast<int>(std::lround(progress * width));
      std::string bar(static_cast<size_t>(filled), '#');
      bar += std::string(static_cast<size_t>(width - filled), '-');
      if (colour_enabled()) bar = "\033[32m" + bar + "\033[0m";
      char pct[16];
      std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(std::lround(progress * 100)));
      std::string text = "[" + bar + "] " + pct + "  " + label;
      const size_t shown = text.size();
      if (shown < last_width_) text += std::string(last_width_ - shown, ' ');
      last_width_ = shown;
      std::cout << '\r' << text << std::flush;
      if (terminal(status)) std::cout << '\n';
      return;
    }
    if (label == last_label_) return;
    last_label_ = label;
    const int index = static_cast<int>(number_or(job, "stage_index", 0));
    std::cout << label;
    if (status == "running" && index > 0) std::cout << " (stage " << index << "/" << kStages << ")";
    std::cout << '\n' << std::flush;
  }

 private:
  bool tty_;
  size_t last_width_ = 0;
  std::string last_label_;
};

Json start_body(const StartOptions& options) {
  Json body{{"goal", options.goal}};
  if (!options.preset.empty()) body["preset"] = options.preset;
  if (options.diversity) body["diversity"] = *options.diversity;
  if (options.recency) body["recency"] = *options.recency;
  if (options.compression) body["compression"] = *options.compression;
  if (!options.persona_id.empty()) body["persona_id"] = options.persona_id;
  return body;
}

void print_job(const Json& job) {
  Fields fields;
  fields.add("id", text_at(job, "id"));
  fields.add("goal", text_at(job, "goal"));
  fields.add("status", text_at(job, "status"));
  fields.add("stage", text_at(job, "stage"));
  fields.add("progress", percent(job.value("progress", Json())));
  if (job.contains("logic_unit_id")) fields.add("logic unit", text_at(job, "logic_unit_id"));
  if (job.contains("error")) fields.add("error", text_at(job, "error"));
  if (job.contains("cancel_reason")) fields.add("cancel reason", text_at(job, "cancel_reason"));
  fields.add("created", text_at(job, "created"));
  fields.add("updated", text_at(job, "updated"));
  fields.print(std::cout);
}

// Prints the end of a followed job and returns its exit code.
int finish(CommandContext& ctx, const Json& job) {
  const std::string status = job.value("status", "");
  if (ctx.globals.json_output()) {
    print_json(job, ctx.globals.pretty);
  } else if (status == "completed") {
    const Json result = job.value("result", Json());
    if (result.is_object())
      for (const auto& [key, value] : result.items())
        if (!value.is_object() && !value.is_array())
          std::cout << key << ": " << text_of(value) << '\n';
    std::cout << "suggested logic unit: " << text_at(job, "logic_unit_id") << '\n'
              << "next: tpark logic-units dry-run " << text_at(job, "logic_unit_id") << '\n';
  }
  if (status == "completed") return kExitOk;
  std::string message = "job " + text_at(job, "id") + " " + status;
  if (job.contains("error")) message += ": " + text_at(job, "error");
  if (job.contains("cancel_reason")) message += ": " + text_at(job, "cancel_reason");
  throw CliError(kExitFailure, message);
}

// Starts the job after the stream is open, so every one of its events
// arrives: progress events draw the view, a terminal event (or, should the
// stream drop, a quiet spell) re-reads the job, which decides the end.
int start_and_follow(CommandContext& ctx, const StartOptions& options) {
  Api& api = ctx.api();
  EventStream stream(api, ctx.globals, "prefix=orchestrator.job.");
  stream.connect();
  while (auto frame = stream.next(ctx.globals.timeout()))
    if (frame->event == "service.connected") break;
  const Json created =
      api.post_json("/orchestrator/mini_agents/start_training", start_body(options));
  const std::string id = created.value("id", "");
  const bool human = !ctx.globals.json_output();
  if (human) std::cout << "job " << id << '\n' << std::flush;
  ProgressView view(stdout_is_terminal() && human);
  if (human) view.show(created);
  Backoff backoff;
  for (;;) {
    std::optional<SseFrame> frame;
    try {
      frame = stream.next(std::chrono::seconds(2));
      backoff.reset();
    } catch (const std::exception&) {
      std::this_thread::sleep_for(backoff.next());
      try {
        stream.connect();
      } catch (const CliError& again) {
        if (again.exit_code() == kExitUnauthorized) throw;
      }
    }
    const Json payload = frame ? frame->data.value("payload", Json()) : Json();
    if (frame && (!payload.is_object() || payload.value("id", "") != id)) continue;
    if (frame && frame->event == "orchestrator.job.progress") {
      if (human) view.show(payload);
      continue;
    }
    const Json job = api.get_json("/state/orchestrator/jobs/" + url_encode(id));
    if (terminal(job.value("status", ""))) {
      if (human) view.show(job);
      return finish(ctx, job);
    }
  }
}

}  // namespace

void add_job_commands(CLI::App& app, CommandContext& ctx) {
  CLI::App* jobs = add_command(app, "jobs", "training jobs", "tpark jobs list");
  jobs->require_subcommand(1);

  auto start = std::make_shared<StartOptions>();
  CLI::App* start_cmd =
      add_command(*jobs, "start", "queue a training job; --follow shows its progress",
                  "tpark jobs start \"fewer misses\" --diversity 0.4 --follow");
  start_cmd->add_option("goal", start->goal, "what the job should improve")->required();
  start_cmd->add_option("--preset", start->preset,
                        "preset deciding the mode (eco, balanced, turbo, ...)");
  start_cmd->add_option("--diversity", start->diversity, "requested diversity, 0..1")
      ->check(CLI::Range(0.0, 1.0));
  start_cmd->add_option("--recency", start->recency, "recency weight, 0..1")
      ->check(CLI::Range(0.0, 1.0));
  start_cmd->add_option("--compression", start->compression, "compression, 0..1")
      ->check(CLI::Range(0.0, 1.0));
  start_cmd->add_option("--persona-id", start->persona_id, "persona id (at most 128 characters)")
      ->check([](const std::string& v) { return v.size() > 128 ? "at most 128 characters" : ""; });
  start_cmd->add_flag("--follow", start->follow,
                      "follow the job to its end; exit 1 when it fails or is cancelled");
  start_cmd->callback([&ctx, start] {
    if (start->goal.find_first_not_of(" \t\r\n") == std::string::npos)
      throw CliError(kExitUsage, "GOAL must not be blank");
    if (start->follow) {
      const int code = start_and_follow(ctx, *start);
      if (code != kExitOk) throw CliError(code, "");
      return;
    }
    const Json created =
        ctx.api().post_json("/orchestrator/mini_agents/start_training", start_body(*start));
    if (ctx.globals.json_output())
      print_json(created, ctx.globals.pretty);
    else
      std::cout << "job " << text_at(created, "id") << " " << text_at(created, "status") << '\n'
                << "follow it: tpark jobs show " << text_at(created, "id") << '\n';
  });

  auto list_status = std::make_shared<std::string>();
  auto list_limit = std::make_shared<int>(20);
  CLI::App* list =
      add_command(*jobs, "list", "training jobs, newest first", "tpark jobs list --status running");
  list->add_option("--status", *list_status,
                   "only jobs with this status (queued, running, completed, ...)");
  list->add_option("--limit", *list_limit, "at most this many")->check(CLI::Range(1, 1000));
  list->callback([&ctx, list_status, list_limit] {
    std::string target = "/state/orchestrator/jobs?limit=" + std::to_string(*list_limit);
    if (!list_status->empty()) target += "&status=" + url_encode(*list_status);
    const Json body = ctx.api().get_json(target);
    if (ctx.globals.json_output()) return print_json(body, ctx.globals.pretty);
    Table table({"ID", "STATUS", "STAGE", "PROGRESS", "UPDATED", "GOAL"});
    for (const auto& job : body.value("items", Json::array()))
      table.add({text_at(job, "id"), text_at(job, "status"), text_at(job, "stage"),
                 percent(job.value("progress", Json())), text_at(job, "updated"),
                 text_at(job, "goal")});
    if (table.empty())
      std::cout << "no jobs\n";
    else
      table.print(std::cout);
  });

  auto show_id = std::make_shared<std::string>();
  CLI::App* show = add_command(*jobs, "show", "one training job", "tpark jobs show 01J9Z...");
  show->add_option("id", *show_id, "job id")->required();
  show->callback([&ctx, show_id] {
    const Json job = ctx.api().get_json("/state/orchestrator/jobs/" + url_encode(*show_id));
    if (ctx.globals.json_output())
      print_json(job, ctx.globals.pretty);
    else
      print_job(job);
  });

  auto cancel_id = std::make_shared<std::string>();
  auto cancel_reason = std::make_shared<std::string>();
  CLI::App* cancel = add_command(*jobs, "cancel", "cancel a queued or running job",
                                 "tpark jobs cancel 01J9Z... --reason enough");
  cancel->add_option("id", *cancel_id, "job id")->required();
  cancel->add_option("--reason", *cancel_reason, "why (stored with the job)");
  cancel->callback([&ctx, cancel_id, cancel_reason] {
    Json body = Json::object();
    if (!cancel_reason->empty()) body["reason"] = *cancel_reason;
    const Json result =
        ctx.api().post_json("/orchestrator/jobs/" + url_encode(*cancel_id) + "/cancel", body);
    if (ctx.globals.json_output())
      print_json(result, ctx.globals.pretty);
    else
      std::cout << "job " << text_at(result, "id") << " " << text_at(result, "status") << '\n';
  });
}

}  // namespace tpark::cli
