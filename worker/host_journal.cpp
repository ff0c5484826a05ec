#include "host_journal.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "net/http_client.h"
#include "util/json.h"

namespace tpark::worker {
namespace {

constexpr uint64_t kRoutePageRows = 1000;  // GET /state/events' largest `limit`

// A kind prefix as a query value: the unreserved characters as they are,
// every other byte %-encoded.
std::string query_value(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

}  // namespace

std::optional<HostAddress> parse_host_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  std::string_view rest = url.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return std::nullopt;
  HostAddress address;
  const size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos) {
    const std::string_view port = rest.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
      return std::nullopt;
    address.port = static_cast<uint16_t>(value);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return std::nullopt;
  address.host = std::string(rest);
  return address;
}

HostJournal::HostJournal(HostAddress address, std::string admin_token)
    : address_(std::move(address)), admin_token_(std::move(admin_token)) {}

HostJournal::~HostJournal() = default;

std::optional<std::vector<JournalRow>> HostJournal::read(
    int64_t after, const std::vector<std::string>& kind_prefixes, uint64_t limit,
    std::string& error) {
  uint64_t wanted = limit == 0 ? kRoutePageRows : limit;
  client::HeaderList headers;
  if (!admin_token_.empty()) headers.emplace_back("X-ARW-Admin", admin_token_);
  std::vector<JournalRow> rows;
  try {
    // The route's pages hold at most 1,000 rows: a larger limit takes several.
    while (wanted > 0) {
      const uint64_t page = std::min(wanted, kRoutePageRows);
      std::string target =
          "/state/events?after=" + std::to_string(after) + "&limit=" + std::to_string(page);
      if (std::none_of(kind_prefixes.begin(), kind_prefixes.end(),
                       [](const std::string& prefix) { return prefix.empty(); }))
        for (const auto& prefix : kind_prefixes) target += "&prefix=" + query_value(prefix);
      if (!connection_)
        connection_ = std::make_unique<client::HttpConnection>(address_.host, address_.port);
      const client::HttpResult result = connection_->request("GET", target, headers);
      if (result.status != 200) {
        error = "GET " + target + " answered " + std::to_string(result.status);
        connection_.reset();
        return std::nullopt;
      }
      const Json body = Json::parse(result.body);
      const Json& items = body.at("items");
      for (const Json& item : items)
        rows.push_back(
            {item.at("id").get<int64_t>(), item.at("kind").get<std::string>(), item.dump()});
      if (items.size() < page) break;
      after = body.at("next_after").get<int64_t>();
      wanted -= page;
    }
  } catch (const std::exception& e) {
    error = std::string("reading the host's journal at ") + address_.host + ":" +
            std::to_string(address_.port) + ": " + e.what();
    connection_.reset();
    return std::nullopt;
  }
  return rows;
}

}  // namespace tpark::worker
