#include "api.h"

#include <cctype>
#include <stdexcept>

#include "cli_error.h"

namespace tpark::cli {

std::string url_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Api::Api(const Globals& globals) : globals_(globals), base_(parse_base_url(globals.base)) {}
Api::~Api() = default;

std::string Api::url(const std::string& target) const {
  return "http://" + base_.host + ":" + std::to_string(base_.port) + base_.prefix + target;
}

HeaderList Api::auth_headers() const {
  HeaderList headers;
  if (!globals_.admin_token.empty()) headers.emplace_back("X-ARW-Admin", globals_.admin_token);
  return headers;
}

HttpResult Api::send(const std::string& method, const std::string& target, const std::string& body,
                     const std::string& content_type) {
  HeaderList headers = auth_headers();
  if (!content_type.empty()) headers.emplace_back("Content-Type", content_type);
  // A kept-alive connection the host closed while idle fails at once; a read
  // (never a POST, which might have been taken) is retried on a fresh one.
  const bool retry_allowed = method == "GET" || method == "HEAD" || method == "DELETE";
  for (int attempt = 0;; ++attempt) {
    const bool reused = connection_ != nullptr;
    try {
      if (!connection_)
        connection_ =
            std::make_unique<client::HttpConnection>(base_.host, base_.port, globals_.timeout());
      HttpResult result = connection_->request(method, base_.prefix + target, headers, body);
      const auto connection = result.header("connection");
      if (connection && *connection == "close") connection_.reset();
      return result;
    } catch (const std::runtime_error& e) {
      connection_.reset();
      if (!(reused && retry_allowed && attempt == 0)) throw unreachable(target, e.what());
    }
  }
}

HttpResult Api::checked(const std::string& method, const std::string& target,
                        const std::string& body, const std::string& content_type) {
  HttpResult result = send(method, target, body, content_type);
  if (result.status < 200 || result.status > 299) throw error_for(method, target, result);
  return result;
}

Json Api::get_json(const std::string& target) {
  HttpResult result = checked("GET", target);
  try {
    return result.json();
  } catch (const nlohmann::json::exception&) {
    throw CliError(kExitFailure, "GET " + url(target) + ": the answer is not JSON");
  }
}

Json Api::post_json(const std::string& target, const Json& body) {
  HttpResult result = checked("POST", target, body.dump(), "application/json");
  if (result.body.empty()) return Json::object();
  return result.json();
}

Json Api::delete_json(const std::string& target) {
  HttpResult result = checked("DELETE", target);
  if (result.body.empty()) return Json::object();
  return result.json();
}

CliError Api::error_for(const std::string& method, const std::string& target,
                        const HttpResult& result) const {
  Json problem = Json::object();
  try {
    problem = result.json();
  } catch (const nlohmann::json::exception&) {
  }
  auto text = [&](const char* key) {
    auto it = problem.is_object() ? problem.find(key) : problem.end();
    return it != problem.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string message = method + " " + url(target) + ": " + std::to_string(result.status);
  if (!text("title").empty()) message += " " + text("title");
  if (!text("detail").empty() && text("detail") != text("title")) message += ": " + text("detail");
  if (!text("code").empty()) message += " [" + text("code") + "]";
  if (result.status == 401)
    return CliError(
        kExitUnauthorized,
        message +
            "\nthe host wants an admin token: pass --admin-token TOKEN or set ARW_ADMIN_TOKEN");
  if (result.status == 403 && text("code") == "lease_required") {
    const std::string capability = text("require_capability");
    return CliError(kExitFailure, message + "\ngrant a lease first: tpark leases grant " +
                                      (capability.empty() ? "CAPABILITY" : capability));
  }
  if (result.status == 429) {
    const auto retry = result.header("retry-after");
    return CliError(kExitFailure, message + "\nrate limited: retry" +
                                      (retry ? " in " + *retry + " s" : " later"));
  }
  return CliError(kExitFailure, message);
}

CliError Api::unreachable(const std::string& target, const std::string& why) const {
  return CliError(
      kExitFailure,
      "cannot reach " + url(target) + ": " + why +
          "\nis tpark-host running there? point the CLI at it with --base URL or ARW_BASE");
}

}  // namespace tpark::cli
