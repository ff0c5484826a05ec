// tpark logic-units list|show|dry-run|apply|revert|promote, tpark history
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#include "commands/commands.h"
#include "output.h"

namespace tpark::cli {

namespace {

template <class Human>
void show(CommandContext& ctx, const Json& body, Human human) {
  if (ctx.globals.json_output())
    print_json(body, ctx.globals.pretty);
  else
    human(body);
}

void print_unit(const Json& unit) {
  Fields fields;
  const Json manifest = unit.value("manifest", Json::object());
  fields.add("id", text_at(unit, "id"));
  fields.add("name", text_at(manifest, "name"));
  fields.add("status", text_at(unit, "status"));
  fields.add("category", text_at(manifest, "category"));
  fields.add("version", text_at(manifest, "version"));
  if (unit.contains("job_id")) fields.add("job", text_at(unit, "job_id"));
  fields.add("patches", manifest.contains("patches") ? manifest["patches"].dump() : "-");
  fields.add("updated", text_at(unit, "updated"));
  fields.print(std::cout);
}

void print_apply(const Json& result) {
  Fields fields;
  for (const auto& [key, value] : result.items())
    fields.add(key, brief(value));
  fields.print(std::cout);
}

}  // namespace

void add_logic_unit_commands(CLI::App& app, CommandContext& ctx) {
  CLI::App* units =
      add_command(app, "logic-units", "logic units: suggestions, installs, apply and revert",
                  "tpark logic-units list --status suggested");
  units->require_subcommand(1);

  auto status = std::make_shared<std::string>();
  CLI::App* list =
      add_command(*units, "list", "logic units", "tpark logic-units list --status suggested");
  list->add_option("--status", *status,
                   "only units with this status (suggested, installed, applied, ...)");
  list->callback([&ctx, status] {
    show(ctx,
         ctx.api().get_json("/logic-units" +
                            (status->empty() ? "" : "?status=" + url_encode(*status))),
         [](const Json& body) {
           Table table({"ID", "STATUS", "NAME", "JOB", "UPDATED"});
           for (const auto& unit : body.value("items", Json::array()))
             table.add({text_at(unit, "id"), text_at(unit, "status"),
                        text_at(unit.value("manifest", Json::object()), "name"),
                        text_at(unit, "job_id"), text_at(unit, "updated")});
           if (table.empty())
             std::cout << "no logic units: start a job with tpark jobs start GOAL\n";
           else
             table.print(std::cout);
         });
  });

  auto show_id = std::make_shared<std::string>();
  CLI::App* show_cmd = add_command(*units, "show", "one logic unit with its manifest",
                                   "tpark logic-units show lu-01J9Z...");
  show_cmd->add_option("id", *show_id, "unit id")->required();
  show_cmd->callback([&ctx, show_id] {
    show(ctx, ctx.api().get_json("/logic-units/" + url_encode(*show_id)), print_unit);
  });

  auto dry_id = std::make_shared<std::string>();
  CLI::App* dry =
      add_command(*units, "dry-run", "what applying a unit would change; needs no lease",
                  "tpark logic-units dry-run lu-01J9Z...");
  dry->add_option("id", *dry_id, "unit id")->required();
  dry->callback([&ctx, dry_id] {
    show(ctx,
         ctx.api().post_json("/logic-units/apply",
                             Json{{"id", *dry_id}, {"dry_run", true}, {"via", "cli"}}),
         print_apply);
  });

  auto apply_id = std::make_shared<std::string>();
  CLI::App* apply = add_command(
      *units, "apply", "apply a unit (needs a logic:apply lease; risky units are staged)",
      "tpark leases grant logic:apply && tpark logic-units apply lu-01J9Z...");
  apply->add_option("id", *apply_id, "unit id")->required();
  apply->callback([&ctx, apply_id] {
    show(ctx, ctx.api().post_json("/logic-units/apply", Json{{"id", *apply_id}, {"via", "cli"}}),
         [](const Json& result) {
           print_apply(result);
           if (result.contains("snapshot_id"))
             std::cout << "undo: tpark logic-units revert " << text_at(result, "snapshot_id")
                       << '\n';
         });
  });

  auto snapshot = std::make_shared<std::string>();
  CLI::App* revert =
      add_command(*units, "revert", "return to a config snapshot (needs a logic:apply lease)",
                  "tpark logic-units revert SNAPSHOT_ID");
  revert->add_option("snapshot_id", *snapshot, "the snapshot_id an apply printed")->required();
  revert->callback([&ctx, snapshot] {
    show(ctx,
         ctx.api().post_json("/logic-units/revert",
                             Json{{"snapshot_id", *snapshot}, {"via", "cli"}}),
         print_apply);
  });

  struct Promote {
    std::string name, snapshot_id, version, category;
  };
  auto promote = std::make_shared<Promote>();
  CLI::App* promote_cmd = add_command(
      *units, "promote", "turn a config snapshot (default: the current one) into an installed unit",
      "tpark logic-units promote --name \"K 24\" --category retrieval");
  promote_cmd->add_option("--name", promote->name, "the unit's name")->required();
  promote_cmd->add_option("--snapshot-id", promote->snapshot_id, "config snapshot to promote");
  promote_cmd->add_option("--version", promote->version, "semantic version, e.g. 1.0.0");
  promote_cmd->add_option("--category", promote->category, "category, e.g. retrieval");
  promote_cmd->callback([&ctx, promote] {
    Json body{{"name", promote->name}};
    if (!promote->snapshot_id.empty()) body["snapshot_id"] = promote->snapshot_id;
    if (!promote->version.empty()) body["version"] = promote->version;
    if (!promote->category.empty()) body["category"] = promote->category;
    show(ctx, ctx.api().post_json("/logic-units/promote", body), print_unit);
  });

  struct History {
    std::string format = "json", output, kind;
    int limit = 100;
  };
  auto history = std::make_shared<History>();
  CLI::App* history_cmd = add_command(app, "history", "logic-unit history, newest first",
                                      "tpark history --format csv --output training-actions.csv");
  history_cmd->add_option("--format", history->format, "json, ndjson or csv")
      ->check(CLI::IsMember({"json", "ndjson", "csv"}));
  history_cmd->add_option("--output", history->output, "write to FILE instead of stdout");
  history_cmd->add_option("--kind", history->kind, "kinds, comma-separated (applied,reverted,...)");
  history_cmd->add_option("--limit", history->limit, "at most this many rows")
      ->check(CLI::Range(1, 1000));
  history_cmd->callback([&ctx, history] {
    std::string target = "/state/training/actions?format=" + history->format +
                         "&limit=" + std::to_string(history->limit);
    if (!history->kind.empty()) target += "&kind=" + url_encode(history->kind);
    const HttpResult result = ctx.api().checked("GET", target);
    std::string text = result.body;
    if (history->format == "json" && ctx.globals.pretty) text = Json::parse(text).dump(2) + "\n";
    if (history->output.empty()) {
      std::cout << text;
      if (!text.empty() && text.back() != '\n') std::cout << '\n';
      return;
    }
    std::ofstream out(history->output, std::ios::binary);
    out << text;
    if (!out) throw CliError(kExitFailure, "cannot write " + history->output);
    std::cerr << "wrote " << text.size() << " bytes to " << history->output << '\n';
  });
}

}  // namespace tpark::cli
