#include "http/problem.h"

#include <atomic>

namespace tpark::http {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

Response problem(const Request& request, int status, std::string_view code,
                 std::string_view detail, const Json& extras) {
  Json body;
  body["type"] = "about:blank";
  body["title"] = reason_phrase(status);
  body["status"] = status;
  body["detail"] = detail;
  body["code"] = code;
  body["request_id"] = request.request_id;
  if (extras.is_object())
    for (auto it = extras.begin(); it != extras.end(); ++it) body[it.key()] = it.value();
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  // Details may quote what the client sent; bytes that are not UTF-8 become
  // U+FFFD instead of an exception (a refusal must never turn into a 500).
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

std::string field_to_pointer(std::string_view field) {
  if (field.empty()) return "";
  std::string out = "/";
  for (char c : field) {
    if (c == '.') out += '/';
    else if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

Response validation_failed(const Request& request, const std::vector<FieldError>& errors) {
  Json list = Json::array();
  std::string detail = "invalid field";
  if (errors.size() > 1) detail += "s";
  detail += ": ";
  for (size_t i = 0; i < errors.size(); ++i) {
    list.push_back({{"field", errors[i].field},
                    {"pointer", field_to_pointer(errors[i].field)},
                    {"message", errors[i].message}});
    if (i) detail += ", ";
    detail += errors[i].field;
  }
  return problem(request, 400, "validation_failed", detail, {{"errors", list}});
}

Response malformed_json(const Request& request, std::string_view message, size_t offset) {
  return problem(request, 400, "malformed_json", "the body is not valid JSON",
                 {{"errors", Json::array({{{"pointer", ""}, {"message", message}, {"offset", offset}}})}});
}

namespace {
std::atomic<bool> g_envelope_by_default{false};
}  // namespace

void set_envelope_by_default(bool on) {
  g_envelope_by_default = on;
}

bool envelope_requested(const Request& request) {
  if (g_envelope_by_default) return true;
  if (auto h = request.headers.get("x-arw-envelope"); h && *h == "1") return true;
  if (auto q = request.query_one("arw-envelope"); q && *q == "1") return true;
  return false;
}

Response json_response(const Request& request, int status, const Json& body) {
  return json_text_response(request, status,
                            body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

Response json_text_response(const Request& request, int status, std::string body) {
  Response r;
  r.status = status;
  if (status >= 200 && status < 300 && envelope_requested(request)) {
    r.body = "{\"ok\":true,\"data\":" + body + "}";
    r.set_header("x-arw-envelope-applied", "1");
  } else {
    r.body = std::move(body);
  }
  return r;
}

}  // namespace tpark::http
