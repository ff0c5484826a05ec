// Problems (control.md 1.4): the one place that builds error responses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/json.h"

#include "http/http_types.h"

namespace tpark::http {
using tpark::Json;

// The HTTP reason phrase for a status ("Not Found"), "Unknown" for one the
// host never sends: a problem's title and the server's status line.
std::string_view reason_phrase(int status);

// application/problem+json {type:"about:blank",title,status,detail,code,request_id,...extras}
Response problem(const Request& request, int status, std::string_view code,
                 std::string_view detail, const Json& extras = Json::object());

struct FieldError {
  std::string field;    // dotted path as sent, or the query parameter name
  std::string message;
};
// 400 validation_failed listing every error as {field,pointer,message}.
Response validation_failed(const Request& request, const std::vector<FieldError>& errors);

// 400 malformed_json: the body is not JSON (control.md 1.3 step 5).
Response malformed_json(const Request& request, std::string_view message, size_t offset);

// A JSON response; applies the ARW envelope ({ok:true,data}) when the request
// asks for it (control.md 1.3) and status is 2xx.
Response json_response(const Request& request, int status, const Json& body);
// The same for a body that is already compact JSON text (spliced, not re-parsed).
Response json_text_response(const Request& request, int status, std::string body);
// Whether the ARW envelope applies to this request (ARW_API_ENVELOPE=1,
// X-ARW-Envelope: 1 or ?arw-envelope=1).
bool envelope_requested(const Request& request);
// ARW_API_ENVELOPE=1, as the settings read it: the envelope on every request.
// Set once at boot, before serving.
void set_envelope_by_default(bool on);

// RFC 6901 pointer for a dotted field path: "patches.0.op" -> "/patches/0/op".
std::string field_to_pointer(std::string_view field);

}  // namespace tpark::http
