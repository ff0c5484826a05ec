// libFuzzer target: the request target as the server splits it (path
// percent-decoding, query splitting and decoding; host/http/request_target.h).
// It must never crash, and its output must be consistent: decoding never
// grows the text, the path of an origin-form target starts with '/', and
// every query pair comes from a non-empty '&'-separated part.
// fuzz-max-len: 16384
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/request_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  std::string path;
  tpark::http::QueryPairs query;
  tpark::http::split_request_target(target, path, query);
  if (path.size() > target.size()) std::abort();
  if (!target.empty() && target.front() == '/' && (path.empty() || path.front() != '/'))
    std::abort();
  size_t parts = 0;
  const size_t question = target.find('?');
  if (question != std::string_view::npos && !target.empty() && target.front() == '/') {
    std::string_view q = target.substr(question + 1);
    while (!q.empty()) {
      const size_t amp = q.find('&');
      if (amp != 0) ++parts;
      if (amp == std::string_view::npos) break;
      q.remove_prefix(amp + 1);
    }
    if (query.size() != parts) std::abort();
  }
  for (const auto& [key, value] : query)
    if (key.size() + value.size() > target.size()) std::abort();

  std::string decoded;
  tpark::http::percent_decode(target, true, decoded);
  if (decoded.size() > target.size()) std::abort();
  // Text without '%' or '+' decodes to itself.
  if (target.find_first_of("%+") == std::string_view::npos && decoded != target) std::abort();
  return 0;
}
