// The host as the CLI sees it: admin requests on one kept-alive connection,
// answers checked and mapped to exit codes (401 -> 3, any other non-2xx or
// an unreachable host -> 1) with a message that names what to do next.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_error.h"
#include "globals.h"
#include "net/http_client.h"

namespace tpark::cli {

using Json = nlohmann::ordered_json;
using client::HeaderList;
using client::HttpResult;

// Percent-encodes a path segment or query value.
std::string url_encode(const std::string& text);

class Api {
 public:
  explicit Api(const Globals& globals);
  ~Api();

  const BaseUrl& base() const { return base_; }
  // The full URL of `target` ("/state/...") for messages.
  std::string url(const std::string& target) const;
  // Headers every request carries: the admin token when one is set.
  HeaderList auth_headers() const;

  // Sends a request and returns the answer whatever its status; throws
  // CliError (exit 1) when the host cannot be reached.
  HttpResult send(const std::string& method, const std::string& target,
                  const std::string& body = {}, const std::string& content_type = {});
  // send() that also throws CliError for any non-2xx status.
  HttpResult checked(const std::string& method, const std::string& target,
                     const std::string& body = {}, const std::string& content_type = {});
  Json get_json(const std::string& target);
  Json post_json(const std::string& target, const Json& body);
  Json delete_json(const std::string& target);

  // The CliError for a non-2xx answer (401 -> 3, else 1).
  CliError error_for(const std::string& method, const std::string& target,
                     const HttpResult& result) const;
  // The CliError for an unreachable host, naming the URL and --base/ARW_BASE.
  CliError unreachable(const std::string& target, const std::string& why) const;

 private:
  const Globals& globals_;
  BaseUrl base_;
  std::unique_ptr<client::HttpConnection> connection_;
};

}  // namespace tpark::cli
