// tpark presets list|show|apply, leases grant|list|revoke,
// staging list|approve|deny, plugins list
#include <CLI/CLI.hpp>

#include <iostream>

#include "commands/commands.h"
#include "output.h"

namespace tpark::cli {

namespace {

// The list in `body[key]` as a table of `columns` (JSON keys, shown uppercased).
void print_items(const Json& body, const char* key, const std::vector<std::string>& columns,
                 const std::string& empty_text) {
  std::vector<std::string> header;
  for (const auto& column : columns) {
    std::string title = column;
    for (char& c : title)
      c = static_cast<char>(c == '_' ? ' ' : std::toupper(static_cast<unsigned char>(c)));
    header.push_back(title);
  }
  Table table(header);
  const Json items = body.is_array() ? body : body.value(key, Json::array());
  for (const auto& item : items) {
    std::vector<std::string> row;
    for (const auto& column : columns) row.push_back(text_at(item, column.c_str()));
    table.add(std::move(row));
  }
  if (table.empty())
    std::cout << empty_text << '\n';
  else
    table.print(std::cout);
}

void print_object(const Json& object) {
  Fields fields;
  for (const auto& [key, value] : object.items())
    fields.add(key, brief(value));
  fields.print(std::cout);
}

// Prints `body` as JSON or through `human`.
template <class Human>
void show(CommandContext& ctx, const Json& body, Human human) {
  if (ctx.globals.json_output())
    print_json(body, ctx.globals.pretty);
  else
    human(body);
}

void add_presets(CLI::App& app, CommandContext& ctx) {
  CLI::App* presets = add_command(app, "presets", "context presets", "tpark presets list");
  presets->require_subcommand(1);
  add_command(*presets, "list", "the loaded presets and load errors", "tpark presets list")
      ->callback([&ctx] {
        show(ctx, ctx.api().get_json("/state/presets"), [](const Json& body) {
          print_items(body, "items", {"name", "kind", "risky", "aliases", "file"}, "no presets");
          for (const auto& error : body.value("errors", Json::array()))
            std::cerr << "load error: "
                      << (error.is_string() ? error.get<std::string>() : error.dump()) << '\n';
        });
      });
  auto name = std::make_shared<std::string>();
  CLI::App* show_cmd = add_command(*presets, "show", "one preset", "tpark presets show balanced");
  show_cmd->add_option("name", *name, "preset name")->required();
  show_cmd->callback([&ctx, name] {
    const Json body = ctx.api().get_json("/state/presets");
    for (const auto& item : body.value("items", Json::array()))
      if (item.value("name", "") == *name) return show(ctx, item, print_object);
    throw CliError(kExitFailure, "no preset named '" + *name + "': see tpark presets list");
  });
  auto apply_name = std::make_shared<std::string>();
  CLI::App* apply = add_command(
      *presets, "apply", "apply a preset (the preset.apply action; risky presets are staged)",
      "tpark presets apply balanced");
  apply->add_option("name", *apply_name, "preset name")->required();
  apply->callback([&ctx, apply_name] {
    const Json result = ctx.api().post_json(
        "/actions", Json{{"kind", "preset.apply"}, {"input", {{"preset", *apply_name}}}});
    show(ctx, result, [](const Json& body) {
      std::cout << "action " << text_at(body, "id");
      if (body.value("staged", false))
        std::cout << " staged: approve it with tpark staging approve ID";
      std::cout << '\n';
    });
  });
}

void add_leases(CLI::App& app, CommandContext& ctx) {
  CLI::App* leases = add_command(app, "leases", "capability leases", "tpark leases list");
  leases->require_subcommand(1);
  struct Grant {
    std::string capability;
    int ttl_secs = 600;
    std::optional<int> budget;
    std::string scope;
  };
  auto grant = std::make_shared<Grant>();
  CLI::App* grant_cmd = add_command(*leases, "grant", "grant a lease on a capability",
                                    "tpark leases grant logic:apply --ttl 600");
  grant_cmd
      ->add_option("capability", grant->capability, "capability, e.g. logic:apply or context:tune")
      ->required();
  grant_cmd->add_option("--ttl", grant->ttl_secs, "seconds the lease lasts")
      ->check(CLI::PositiveNumber);
  grant_cmd->add_option("--budget", grant->budget, "uses allowed")->check(CLI::PositiveNumber);
  grant_cmd->add_option("--scope", grant->scope, "scope the lease applies to");
  grant_cmd->callback([&ctx, grant] {
    Json body{{"capability", grant->capability}, {"ttl_secs", grant->ttl_secs}};
    if (grant->budget) body["budget"] = *grant->budget;
    if (!grant->scope.empty()) body["scope"] = grant->scope;
    show(ctx, ctx.api().post_json("/leases", body), [](const Json& lease) {
      std::cout << "lease " << text_at(lease, "id") << " on " << text_at(lease, "capability")
                << " until " << text_at(lease, "expires_at") << '\n';
    });
  });
  auto all = std::make_shared<bool>(false);
  CLI::App* list = add_command(*leases, "list", "active leases", "tpark leases list --all");
  list->add_flag("--all", *all, "include expired and revoked leases");
  list->callback([&ctx, all] {
    show(ctx,
         ctx.api().get_json(std::string("/state/leases") + (*all ? "?include_inactive=1" : "")),
         [](const Json& body) {
           print_items(body, "items",
                       {"id", "capability", "scope", "expires_at", "budget_remaining"},
                       "no active leases: grant one with tpark leases grant CAPABILITY");
         });
  });
  auto id = std::make_shared<std::string>();
  CLI::App* revoke =
      add_command(*leases, "revoke", "revoke a lease", "tpark leases revoke LEASE_ID");
  revoke->add_option("id", *id, "lease id")->required();
  revoke->callback([&ctx, id] {
    show(ctx, ctx.api().delete_json("/leases/" + url_encode(*id)),
         [&](const Json&) { std::cout << "lease " << *id << " revoked\n"; });
  });
}

void add_staging(CLI::App& app, CommandContext& ctx) {
  CLI::App* staging = add_command(app, "staging", "staged (risky) actions awaiting a decision",
                                  "tpark staging list");
  staging->require_subcommand(1);
  auto status = std::make_shared<std::string>("pending");
  CLI::App* list =
      add_command(*staging, "list", "staged actions", "tpark staging list --status pending");
  list->add_option("--status", *status, "pending, approved, denied or all");
  list->callback([&ctx, status] {
    const std::string target =
        "/state/staging/actions" +
        (*status == "all" ? std::string() : "?status=" + url_encode(*status));
    show(ctx, ctx.api().get_json(target), [](const Json& body) {
      print_items(body, "items", {"id", "action_kind", "status", "created", "reason"},
                  "nothing staged");
    });
  });
  for (const char* verb : {"approve", "deny"}) {
    struct Decision {
      std::string id, reason;
    };
    auto decision = std::make_shared<Decision>();
    const std::string name = verb;
    CLI::App* cmd = add_command(*staging, name, name + " a staged action",
                                "tpark staging " + name + " STAGING_ID --reason \"checked\"");
    cmd->add_option("id", decision->id, "staging id")->required();
    cmd->add_option("--reason", decision->reason, "why (stored with the decision)");
    cmd->callback([&ctx, decision, name] {
      Json body = Json::object();
      if (!decision->reason.empty()) body["reason"] = decision->reason;
      show(ctx,
           ctx.api().post_json("/staging/actions/" + url_encode(decision->id) + "/" + name, body),
           [&](const Json& result) {
             std::cout << "staging " << decision->id << " " << text_at(result, "status") << '\n';
           });
    });
  }
}

void add_plugins(CLI::App& app, CommandContext& ctx) {
  CLI::App* plugins = add_command(app, "plugins", "loaded plugins", "tpark plugins list");
  plugins->require_subcommand(1);
  add_command(*plugins, "list", "plugins with their kind, version and health",
              "tpark plugins list --json")
      ->callback([&ctx] {
        show(ctx, ctx.api().get_json("/admin/plugins"), [](const Json& body) {
          Table table({"ID", "KIND", "VERSION", "STATE", "HEALTH"});
          for (const auto& plugin : body.value("items", Json::array())) {
            const Json health = plugin.value("health", Json::object());
            table.add({text_at(plugin, "id"), text_at(plugin, "kind"), text_at(plugin, "version"),
                       text_at(plugin, "state"),
                       health.value("ok", false)
                           ? "ok"
                           : "failing (" + text_at(health, "error_count") + " errors)"});
          }
          if (table.empty())
            std::cout << "no plugins\n";
          else
            table.print(std::cout);
        });
      });
}

}  // namespace

void add_control_commands(CLI::App& app, CommandContext& ctx) {
  add_presets(app, ctx);
  add_leases(app, ctx);
  add_staging(app, ctx);
  add_plugins(app, ctx);
}

}  // namespace tpark::cli
