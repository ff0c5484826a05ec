// tp.exporter.pushgateway: every interval_ms, the newest metric samples the
// host handed over (Prometheus text, as GET /metrics serves them) are PUT to
// the Pushgateway under the job and grouping labels from YAML, replacing that
// group's previous push. HTTP is Boost.Beast over the text as it comes.
//
// A push that fails (gateway down, timeout, a non-2xx answer) answers RETRY:
// the host backs off and marks the exporter unhealthy with the reason until a
// push succeeds again. Samples are state, not a log: of each batch only the
// newest samples are pushed (a push replaces the group), and samples that
// arrive before the interval is up are acknowledged without a push.
#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <tpark/tp_plugin.hpp>

#include "push_target.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tpark::pushgateway::PushTarget;

struct Settings {
  PushTarget target;
  int64_t interval_ms = 10000;
  std::chrono::milliseconds timeout{2000};
  std::string url;
};

// The block has been validated against plugin.yaml (defaults filled in).
Settings read_settings(std::string_view config_json) {
  const auto config = nlohmann::json::parse(config_json);
  Settings s;
  // `url` is required: the host refuses a block without it before create;
  // a runner that creates with the defaults alone gets the usual local port.
  s.url = config.value("url", std::string("http://127.0.0.1:9091"));
  std::map<std::string, std::string> grouping;
  for (const auto& [label, value] : config.at("grouping").items())
    grouping[label] = value.get<std::string>();
  std::string error;
  auto target = tpark::pushgateway::make_push_target(s.url, config.at("job").get<std::string>(),
                                                     grouping, error);
  if (!target) throw tpark::Error(TP_INVALID_ARG, "config." + error);
  s.target = std::move(*target);
  s.interval_ms = config.at("interval_ms").get<int64_t>();
  s.timeout = std::chrono::milliseconds(config.at("timeout_ms").get<int64_t>());
  return s;
}

// One PUT with an overall deadline; returns an empty string or what failed.
std::string put_text(const PushTarget& target, std::string_view body,
                     std::chrono::milliseconds timeout) {
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  http::request<http::string_body> request{http::verb::put, target.path, 11};
  request.set(http::field::host, target.host + ":" + target.port);
  request.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  request.body() = std::string(body);
  request.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  std::string error;
  auto fail = [&](const char* what, beast::error_code ec) {
    error = std::string(what) + " " + target.host + ":" + target.port + ": " + ec.message();
  };

  stream.expires_after(timeout);
  resolver.async_resolve(target.host, target.port, [&](beast::error_code ec, auto results) {
    if (ec) return fail("resolve", ec);
    stream.async_connect(results, [&](beast::error_code ec, const auto&) {
      if (ec) return fail("connect", ec);
      http::async_write(stream, request, [&](beast::error_code ec, size_t) {
        if (ec) return fail("write to", ec);
        http::async_read(stream, buffer, response, [&](beast::error_code ec, size_t) {
          if (ec) return fail("read from", ec);
        });
      });
    });
  });
  io.run_for(timeout + std::chrono::milliseconds(100));
  if (!error.empty()) return error;
  if (response.result_int() == 0) return "no answer from " + target.host + ":" + target.port;
  if (response.result_int() / 100 != 2) {
    std::string text = response.body().substr(0, 300);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return "PUT " + target.path + " answered " + std::to_string(response.result_int()) +
           (text.empty() ? "" : ": " + text);
  }
  return {};
}

class PushgatewayExporter final : public tpark::Exporter {
 public:
  PushgatewayExporter(tpark::HostRef host, std::string_view config_json)
      : Exporter(host), settings_(read_settings(config_json)) {}

  tpark::ExportResult export_batch(const std::vector<tpark::ExportItem>& items,
                                   uint32_t attempt) override {
    const tpark::ExportItem* newest = nullptr;
    for (const auto& item : items)
      if (item.type == TP_EXPORT_METRICS) newest = &item;
    if (newest == nullptr) return tpark::ExportResult::Ok;
    const int64_t now = host().now_ms();
    // Not yet due: the newest samples wait here and go out at the interval.
    if (attempt == 0 && last_push_ms_ != 0 && now - last_push_ms_ < settings_.interval_ms - 50) {
      return tpark::ExportResult::Ok;
    }
    if (auto error = put_text(settings_.target, newest->body, settings_.timeout); !error.empty())
      throw tpark::Error(TP_RETRY, "push to " + settings_.url + ": " + error);
    last_push_ms_ = now;
    return tpark::ExportResult::Ok;
  }

 private:
  Settings settings_;
  int64_t last_push_ms_ = 0;
};

}  // namespace

// Metric samples every second; pushed every interval_ms (at least 1000).
TP_EXPORTER_PLUGIN(PushgatewayExporter, "pushgateway", TP_EXPORT_WANTS_METRICS, 1000)
