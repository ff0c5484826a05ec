// The host's journal read over HTTP, for jobs whose message carries only the
// window's bounds (the host's ARW_TRAINING_NATS_WINDOW=fetch, docs/deploy.md
// "How a worker gets the journal"). Each read is one GET /state/events page
// on a kept-alive connection: the same rows, in the same order, as the host's
// journal_read slot gives tp.orchestrator.local under local dispatch, so the
// computation reads exactly what it would read in the host, and no more.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "window_cache.h"

namespace tpark::client {
class HttpConnection;
}

namespace tpark::worker {

// http://HOST[:PORT] (the host's base URL, as the CLI's ARW_BASE); nullopt
// when `url` is not one.
struct HostAddress {
  std::string host;
  uint16_t port = 80;
};
std::optional<HostAddress> parse_host_url(std::string_view url);

class HostJournal {
 public:
  // `admin_token` (ARW_ADMIN_TOKEN) is sent as X-ARW-Admin when not empty.
  HostJournal(HostAddress address, std::string admin_token);
  ~HostJournal();
  HostJournal(const HostJournal&) = delete;
  HostJournal& operator=(const HostJournal&) = delete;

  // Rows with id > after whose kind starts with one of `kind_prefixes` (none:
  // any kind), ascending, at most `limit` (0 = 1000), each envelope as the
  // host API's journal_read writes it. nullopt when the host could not be
  // read (`error` says why); the next call opens a new connection.
  std::optional<std::vector<JournalRow>> read(int64_t after,
                                              const std::vector<std::string>& kind_prefixes,
                                              uint64_t limit, std::string& error);

 private:
  const HostAddress address_;
  const std::string admin_token_;
  std::unique_ptr<client::HttpConnection> connection_;
};

}  // namespace tpark::worker
