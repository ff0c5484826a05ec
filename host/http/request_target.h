// The request target (RFC 9112 3.2) as handlers see it: the percent-decoded
// path and the decoded query pairs. Pure functions, no Beast, so the fuzz
// build compiles them on their own.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tpark::http {

using QueryPairs = std::vector<std::pair<std::string, std::string>>;

// %XX decoding into `out` (cleared first). A malformed or truncated escape is
// kept literally; with `plus_is_space`, '+' becomes ' ' (query strings only).
void percent_decode(std::string_view in, bool plus_is_space, std::string& out);

// Appends the pairs of a query string ("a=1&b&c=%20") to `out`, decoded, in
// order, repeats kept; empty parts ("&&") are skipped, a part without '='
// has an empty value.
void parse_query(std::string_view query, QueryPairs& out);

// Splits a raw target into the decoded path and query pairs (appended to
// `query`). The absolute form ("http://host/p?q") loses its scheme and
// authority; an authority without a path is "/".
void split_request_target(std::string_view target, std::string& path, QueryPairs& query);

}  // namespace tpark::http
