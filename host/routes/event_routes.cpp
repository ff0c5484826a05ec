// POST /events/ingest (telemetry.md 1.3) and GET /state/events (1.5).
#include <charconv>

#include <spdlog/spdlog.h>

#include "http/problem.h"
#include "kernel/ingest.h"
#include "kernel/journal.h"
#include "kernel/kinds.h"
#include "routes/routes.h"
#include "telemetry/host_telemetry.h"
#include "util/time.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

namespace {

constexpr size_t kRejectedListCap = 1000;

bool content_type_accepted(const Request& req) {
  auto value = req.headers.get("content-type");
  if (!value) return true;
  std::string_view v = *value;
  if (auto semi = v.find(';'); semi != std::string_view::npos) v = v.substr(0, semi);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  std::string lower(v);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.empty() || lower == "application/x-ndjson" || lower == "application/jsonl" ||
         lower == "application/json" || lower == "text/plain";
}

Response ingest(AppContext& app, const Request& req) {
  if (!content_type_accepted(req))
    return http::problem(req, 415, "unsupported_media_type",
                         "POST /events/ingest takes application/x-ndjson, application/jsonl, "
                         "application/json or text/plain");
  IngestOptions options;
  options.max_line_bytes = app.settings.ingest_max_line_bytes;
  options.corr_id = req.request_id;
  IngestBatch batch = parse_ndjson(req.body, now_ms(), options);
  if (app.telemetry) app.telemetry->on_ingest_rejections(options.source, batch.rejected);

  std::vector<EventPtr> committed;
  if (!batch.events.empty()) {
    try {
      committed = app.journal->append(std::move(batch.events));
    } catch (const JournalUnavailable& e) {
      spdlog::error("ingest commit failed: {}", e.what());
      return http::problem(req, 503, "unavailable",
                           "the journal could not commit; nothing was accepted");
    }
  }
  Json rejected = Json::array();
  for (size_t i = 0; i < batch.rejected.size() && i < kRejectedListCap; ++i)
    rejected.push_back({{"line", batch.rejected[i].line}, {"error", batch.rejected[i].error}});
  Json body;
  body["accepted"] = committed.size();
  body["rejected"] = std::move(rejected);
  body["rejected_total"] = batch.rejected.size();
  body["first_id"] = committed.empty() ? Json(nullptr) : Json(committed.front()->id);
  body["last_id"] = committed.empty() ? Json(nullptr) : Json(committed.back()->id);
  return http::json_response(req, 200, body);
}

// A non-negative decimal integer that fits in int64, or nullopt.
std::optional<int64_t> parse_non_negative(const std::string& text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

Response read_events(AppContext& app, const Request& req) {
  std::vector<http::FieldError> errors;
  int64_t after = 0;
  if (auto v = req.query_one("after")) {
    if (auto n = parse_non_negative(*v)) after = *n;
    else errors.push_back({"after", "expected an integer >= 0"});
  }
  int64_t limit = 200;
  if (auto v = req.query_one("limit")) {
    auto n = parse_non_negative(*v);
    if (n && *n >= 1 && *n <= 1000) limit = *n;
    else errors.push_back({"limit", "expected an integer in [1,1000]"});
  }
  if (!errors.empty()) return http::validation_failed(req, errors);
  std::vector<std::string> prefixes = parse_prefix_filter(req.query_all("prefix"));

  // Rows are rendered straight from the database into the body: the
  // journal's envelope is the one format, and no event is built to be dropped.
  std::string body = "{\"items\":[";
  body.reserve(static_cast<size_t>(limit) * 512);
  auto append_item = [&body](const EventView& row) {
    if (body.back() != '[') body += ',';
    append_envelope_json(body, row);
  };
  const Journal::PageInfo page =
      app.journal->visit_after(after, prefixes, static_cast<size_t>(limit), append_item);
  const int64_t next_after = page.count == 0 ? after : page.last_id;
  body += "],\"next_after\":" + std::to_string(next_after) +
          ",\"truncated\":" + (page.truncated ? "true" : "false") + "}";
  return http::json_text_response(req, 200, std::move(body));
}

}  // namespace

void add_event_routes(http::Router& router, AppContext& app) {
  router.add({"POST", "/events/ingest", Access::Admin,
              [&app](const Request& req) { return ingest(app, req); },
              static_cast<size_t>(app.settings.ingest_max_bytes)});
  router.add({"GET", "/state/events", Access::Admin,
              [&app](const Request& req) { return read_events(app, req); }, 0, true});
}

}  // namespace tpark
