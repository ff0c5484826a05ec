// SSE fan-out: 1,000 concurrent GET /events clients on loopback (read by
// BENCH_READERS epoll threads, 2 by default, each owning a share of the
// sockets), the agent simulator feeding the real host, and read-model patches
// measured at the clients. Prints:
//   - patch delivery latency p50/p99: the patch frame's `time` (the host's
//     publish time, ms precision) to receipt at the client, stamped as the
//     read that completed the frame returns (before any parsing);
//   - the host's share of it: the same frame's kernel receive stamp
//     (SO_TIMESTAMPNS: when the host's write put its last bytes into the
//     client's socket), which no delay of this reader can move;
//   - the host's RSS (VmRSS and peak VmHWM);
//   - the same with one more client that never reads (p99 change);
//   - bytes of training_metrics patches per minute vs full snapshots at the
//     same cadence;
//   - where the latency goes, per publication (a model's version): publish ->
//     the first client's receipt (the host's path to its first socket) and the
//     first -> the last client's receipt (writing the frame to every client and
//     the readers taking it in), the bytes each publication sends to all
//     clients, and how busy the busiest reader thread was (when it is near
//     100%, the figure measures the reader, not the host).
// The latency starts at the publish time the host stamps once the diff is
// computed: the coalescing delay (C/M, by design) and the render are not in it.
// Usage: bench_sse_fanout [clients=1000] [seconds per phase=30] [events/s=200]
//   env: BENCH_HOST_BINARY (another tpark-host build to measure, e.g. an older one),
//        BENCH_READERS (reader threads, default 2)
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/bench_support.h"
#include "support/host_process.h"
#include "support/http_client.h"
#include "util/json.h"
#include "util/time.h"

using namespace tpark::test;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kToken = "t";

double wall_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2026-11-28T17:16:57.123Z" -> epoch ms.
double parse_time_ms(std::string_view text) {
  std::tm tm{};
  if (text.size() < 24) return 0;
  tm.tm_year = std::stoi(std::string(text.substr(0, 4))) - 1900;
  tm.tm_mon = std::stoi(std::string(text.substr(5, 2))) - 1;
  tm.tm_mday = std::stoi(std::string(text.substr(8, 2)));
  tm.tm_hour = std::stoi(std::string(text.substr(11, 2)));
  tm.tm_min = std::stoi(std::string(text.substr(14, 2)));
  tm.tm_sec = std::stoi(std::string(text.substr(17, 2)));
  const int ms = std::stoi(std::string(text.substr(20, 3)));
  return static_cast<double>(timegm(&tm)) * 1000.0 + ms;
}

struct Client {
  int fd = -1;
  std::string buffer;
  size_t used = 0;  // bytes of `buffer` received and not yet taken as frames
  bool header_done = false;
};

// When one read returned: the reader's clock as the call returned, and the
// kernel's receive stamp of the last bytes it read (0 when none came).
struct ReadStamps {
  double read_ms = 0;
  double kernel_ms = 0;
};

// One publication (model id + version) as the clients received it.
struct Publication {
  double published_ms = 0, first_ms = 0, last_ms = 0;
  uint64_t receipts = 0, bytes = 0;
};

struct Samples {
  std::vector<double> latency_ms;                   // publish -> read by the client
  std::vector<double> kernel_latency_ms;            // publish -> in the client's socket
  std::map<std::string, Publication> publications;  // by "id/version"
  std::map<std::string, uint64_t> patch_bytes;      // per model, summed over one client
  std::map<std::string, uint64_t> patches;          // per model, one client
};

int connect_client(uint16_t port, int receive_buffer) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  if (receive_buffer > 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 &&
      errno != EINPROGRESS)
    throw std::runtime_error("connect failed");
  return fd;
}

void send_request(int fd) {
  // HTTP/1.0: a close-delimited body, so frames are read without chunk parsing.
  const std::string request =
      std::string("GET /events?prefix=state.read.model.patch HTTP/1.0\r\nHost: bench\r\n") +
      "X-ARW-Admin: " + kToken + "\r\n\r\n";
  size_t sent = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0)
      sent += static_cast<size_t>(n);
    else if (Clock::now() > deadline)
      throw std::runtime_error("send timed out");
  }
}

// Pulls complete frames out of a client's buffer, recording patch frames
// with the stamps of the read that completed them.
void take_frames(Client& client, Samples& samples, bool first_client, const ReadStamps& stamps) {
  std::string_view received(client.buffer.data(), client.used);
  size_t start = 0;
  if (!client.header_done) {
    const size_t end = received.find("\r\n\r\n");
    if (end == std::string_view::npos) return;
    if (received.compare(0, 12, "HTTP/1.1 200") != 0 &&
        received.compare(0, 12, "HTTP/1.0 200") != 0)
      throw std::runtime_error("client refused: " +
                               std::string(received.substr(0, received.find("\r\n"))));
    client.header_done = true;
    start = end + 4;
  }
  for (;;) {
    const size_t end = received.find("\n\n", start);
    if (end == std::string_view::npos) break;
    std::string_view frame = received.substr(start, end - start);
    start = end + 2;
    if (frame.rfind("event: state.read.model.patch\n", 0) != 0) continue;
    const size_t time_at = frame.find("\"time\":\"");
    if (time_at == std::string_view::npos) continue;
    const double published_ms = parse_time_ms(frame.substr(time_at + 8, 24));
    samples.latency_ms.push_back(stamps.read_ms - published_ms);
    if (stamps.kernel_ms > 0) samples.kernel_latency_ms.push_back(stamps.kernel_ms - published_ms);
    const double received_ms = stamps.read_ms;
    const size_t id_key = frame.find("\"payload\":{\"id\":\"");
    const size_t version_key =
        frame.find("\"version\":", id_key == std::string_view::npos ? 0 : id_key);
    if (id_key != std::string_view::npos && version_key != std::string_view::npos) {
      const size_t id_from = id_key + 17;
      std::string key(frame.substr(id_from, frame.find('"', id_from) - id_from));
      key += "/";
      key += frame.substr(version_key + 10,
                          frame.find_first_of(",}", version_key + 10) - version_key - 10);
      Publication& publication = samples.publications[key];
      if (publication.receipts++ == 0) {
        publication.published_ms = published_ms;
        publication.first_ms = received_ms;
      }
      publication.first_ms = std::min(publication.first_ms, received_ms);
      publication.last_ms = std::max(publication.last_ms, received_ms);
      publication.bytes += frame.size() + 2;
    }
    if (first_client) {
      const size_t id_at = frame.find("\"payload\":{\"id\":\"");
      const size_t patch_at = frame.find(",\"patch\":");
      if (id_at != std::string_view::npos && patch_at != std::string_view::npos) {
        const size_t id_start = id_at + 17;
        std::string id(frame.substr(id_start, frame.find('"', id_start) - id_start));
        samples.patch_bytes[id] += frame.size() - patch_at - 9 - 2;  // the patch array's text
        ++samples.patches[id];
      }
    }
  }
  // Only a partial frame is kept: it moves to the front, complete ones are dropped.
  if (start > 0) {
    std::memmove(client.buffer.data(), client.buffer.data() + start, client.used - start);
    client.used -= start;
  }
}

// Reads what a client's socket holds straight into its buffer, one read at a
// time, taking the frames each read completes. False when the host closed it.
bool read_client(Client& client, Samples& samples, bool first_client) {
  for (;;) {
    if (client.buffer.size() - client.used < 65536) client.buffer.resize(client.used + 262144);
    iovec into{client.buffer.data() + client.used, client.buffer.size() - client.used};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr message{};
    message.msg_iov = &into;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    const ssize_t got = ::recvmsg(client.fd, &message, 0);
    ReadStamps stamps;
    stamps.read_ms = wall_ms();
    if (got == 0) return false;
    if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec at{};
        std::memcpy(&at, CMSG_DATA(c), sizeof at);
        stamps.kernel_ms =
            static_cast<double>(at.tv_sec) * 1000.0 + static_cast<double>(at.tv_nsec) / 1e6;
      }
    client.used += static_cast<size_t>(got);
    take_frames(client, samples, first_client, stamps);
  }
}

struct PhaseResult {
  double p50 = 0, p99 = 0, max = 0;
  double kernel_p50 = 0, kernel_p99 = 0;
  size_t samples = 0;
  Samples raw;
  double reader_busy = 0;  // the busiest reader's share of the phase spent reading and parsing
};

double nearest_rank(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// One reader thread: its own epoll over every `readers`-th client.
void read_share(std::vector<Client>& clients, size_t share, size_t readers, Clock::time_point end,
                Samples& samples, double& busy_share) {
  int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  for (size_t i = share; i < clients.size(); i += readers) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, clients[i].fd, &event);
  }
  std::vector<epoll_event> events(256);
  const auto start = Clock::now();
  std::chrono::duration<double> busy{0};
  while (Clock::now() < end) {
    const int n = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 100);
    const auto woke = Clock::now();
    for (int e = 0; e < n; ++e) {
      const size_t index = events[static_cast<size_t>(e)].data.u64;
      Client& client = clients[index];
      if (!read_client(client, samples, index == 0))
        ::epoll_ctl(epoll, EPOLL_CTL_DEL, client.fd, nullptr);
    }
    busy += Clock::now() - woke;
  }
  busy_share = busy.count() / std::chrono::duration<double>(Clock::now() - start).count();
  ::close(epoll);
}

// Reads every client for `seconds` on `readers` threads; returns the latency figures.
PhaseResult run_phase(std::vector<Client>& clients, int seconds, size_t readers) {
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  std::vector<Samples> shares(readers);
  std::vector<double> busy(readers, 0.0);
  std::vector<std::thread> threads;
  for (size_t r = 0; r < readers; ++r)
    threads.emplace_back([&, r] { read_share(clients, r, readers, end, shares[r], busy[r]); });
  for (auto& thread : threads) thread.join();

  PhaseResult result;
  for (size_t r = 0; r < readers; ++r) {
    Samples& share = shares[r];
    Samples& all = result.raw;
    all.latency_ms.insert(all.latency_ms.end(), share.latency_ms.begin(), share.latency_ms.end());
    all.kernel_latency_ms.insert(all.kernel_latency_ms.end(), share.kernel_latency_ms.begin(),
                                 share.kernel_latency_ms.end());
    for (const auto& [key, part] : share.publications) {
      Publication& merged = all.publications[key];
      if (merged.receipts == 0) {
        merged = part;
        continue;
      }
      merged.first_ms = std::min(merged.first_ms, part.first_ms);
      merged.last_ms = std::max(merged.last_ms, part.last_ms);
      merged.receipts += part.receipts;
      merged.bytes += part.bytes;
    }
    for (const auto& [id, bytes] : share.patch_bytes) all.patch_bytes[id] += bytes;
    for (const auto& [id, count] : share.patches) all.patches[id] += count;
    result.reader_busy = std::max(result.reader_busy, busy[r]);
  }
  result.samples = result.raw.latency_ms.size();
  result.p50 = nearest_rank(result.raw.latency_ms, 0.50);
  result.p99 = nearest_rank(result.raw.latency_ms, 0.99);
  result.max = result.raw.latency_ms.empty() ? 0 : result.raw.latency_ms.back();
  result.kernel_p50 = nearest_rank(result.raw.kernel_latency_ms, 0.50);
  result.kernel_p99 = nearest_rank(result.raw.kernel_latency_ms, 0.99);
  return result;
}

std::string proc_status_field(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) {
      std::string value = line.substr(field.size() + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_sse_fanout [clients=1000] [seconds per phase=30] [events/s=200]\nSSE "
          "fan-out: 1,000 concurrent GET /events clients on loopback (read by BENCH_READERS epoll "
          "threads, 2 by default, each owning a share of the sockets), the agent simulator feeding "
          "the real host, and read-model patches measured at the clients.\n"))
    return 0;
  const size_t client_count = argc > 1 ? std::stoul(argv[1]) : 1000;
  const int seconds = argc > 2 ? std::stoi(argv[2]) : 30;
  const std::string rate = argc > 3 ? argv[3] : "200";
  const char* readers_env = std::getenv("BENCH_READERS");
  const size_t readers = std::max<size_t>(1, readers_env ? std::stoul(readers_env) : 2);

  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);

  TempDir dir;
  HostProcess::Options host_options;
  if (const char* binary = std::getenv("BENCH_HOST_BINARY")) host_options.binary = binary;
  host_options.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file("state")};
  host_options.env = {{"ARW_ADMIN_TOKEN", kToken},
                      {"ARW_ADMIN_RATE_LIMIT", "0"},
                      // Every client is on loopback: lift the connection caps.
                      {"ARW_HTTP_MAX_CONC", "65536"},
                      {"ARW_HTTP_MAX_CONC_PER_IP", "0"},
                      // ...and the worker queue: every client's GET /events arrives at once.
                      {"ARW_HTTP_QUEUE_MAX", "1000000"},
                      {"ARW_PUBLIC_RATE_LIMIT", "0"},
                      {"TPARK_BUILTIN_PLUGIN_DIR", TPARK_BUILTIN_PLUGIN_DIR}};
  host_options.log_path = dir.file("host.log");
  HostProcess host(std::move(host_options));
  const uint16_t port = host.port();

  std::vector<Client> clients(client_count);
  for (auto& client : clients) client.fd = connect_client(port, 0);
  for (auto& client : clients) send_request(client.fd);

  HostProcess::Options sim_options;
  sim_options.binary = TPARK_AGENT_SIM_BINARY;
  sim_options.args = {
      "--target", "http://127.0.0.1:" + std::to_string(port), "--rate", rate, "--seed", "7"};
  sim_options.env = {{"ARW_ADMIN_TOKEN", kToken}};
  sim_options.log_path = dir.file("sim.log");
  sim_options.wait_for_listening = false;
  HostProcess simulator(std::move(sim_options));

  // Warm-up: every client connected and primed by the first patches.
  run_phase(clients, 3, readers);
  PhaseResult baseline = run_phase(clients, seconds, readers);
  const std::string rss = proc_status_field(host.pid(), "VmRSS");
  const std::string hwm = proc_status_field(host.pid(), "VmHWM");

  // One more client that connects and never reads.
  Client stalled;
  stalled.fd = connect_client(port, 4096);
  send_request(stalled.fd);
  PhaseResult with_stalled = run_phase(clients, seconds, readers);
  const std::string rss_stalled = proc_status_field(host.pid(), "VmRSS");

  // Full snapshots at the same cadence: the size of the current value per patch.
  HttpResult snapshot = request("GET", "127.0.0.1", port, "/state/read_models/training_metrics",
                                {{"X-ARW-Admin", kToken}});
  const size_t snapshot_bytes = snapshot.json()["value"].dump().size();

  std::printf(
      "sse_fanout: %zu clients (%zu reader threads), %d s per phase, agent-sim at %s events/s\n",
      client_count, readers, seconds, rate.c_str());
  std::printf(
      "  patch latency (publish -> receipt): p50 %.2f ms, p99 %.2f ms, max %.2f ms over %zu "
      "receipts\n",
      baseline.p50, baseline.p99, baseline.max, baseline.samples);
  std::printf(
      "  the host's share (publish -> the frame's last byte in the client's socket, kernel receive "
      "stamp): p50 %.2f ms, p99 %.2f ms\n",
      baseline.kernel_p50, baseline.kernel_p99);
  std::printf("  host RSS: %s (peak %s)\n", rss.c_str(), hwm.c_str());
  std::printf(
      "  with one stalled client: p50 %.2f ms, p99 %.2f ms over %zu receipts; p99 change %+.1f%%; "
      "RSS %s\n",
      with_stalled.p50, with_stalled.p99, with_stalled.samples,
      baseline.p99 > 0 ? (with_stalled.p99 - baseline.p99) / baseline.p99 * 100.0 : 0.0,
      rss_stalled.c_str());
  for (const auto& [id, bytes] : baseline.raw.patch_bytes) {
    const uint64_t count = baseline.raw.patches[id];
    const double per_minute = static_cast<double>(bytes) * 60.0 / seconds;
    std::printf("  %s: %llu patches in %d s, %.0f patch bytes/min per client", id.c_str(),
                static_cast<unsigned long long>(count), seconds, per_minute);
    if (id == "training_metrics") {
      const double snapshots_per_minute =
          static_cast<double>(snapshot_bytes * count) * 60.0 / seconds;
      std::printf(" vs %.0f snapshot bytes/min (%zu B each): %.2f%%", snapshots_per_minute,
                  snapshot_bytes,
                  snapshots_per_minute > 0 ? per_minute / snapshots_per_minute * 100.0 : 0.0);
    }
    std::printf("\n");
  }
  // Where the latency goes, per publication.
  {
    std::vector<double> to_first, spread;
    double bytes = 0;
    if (std::getenv("BENCH_TIMELINE")) {
      std::vector<std::pair<double, std::string>> order;
      for (const auto& [key, publication] : baseline.raw.publications)
        order.emplace_back(publication.published_ms, key);
      std::sort(order.begin(), order.end());
      for (const auto& [at, key] : order) {
        const Publication& p = baseline.raw.publications[key];
        std::printf("  timeline %s published %.0f first +%.1f last +%.1f ms\n", key.c_str(),
                    std::fmod(p.published_ms, 100000.0), p.first_ms - p.published_ms,
                    p.last_ms - p.published_ms);
      }
    }
    for (const auto& [key, publication] : baseline.raw.publications) {
      if (publication.receipts < client_count) continue;  // began before the phase
      to_first.push_back(publication.first_ms - publication.published_ms);
      spread.push_back(publication.last_ms - publication.first_ms);
      bytes += static_cast<double>(publication.bytes);
    }
    const double count = static_cast<double>(std::max<size_t>(to_first.size(), 1));
    std::printf(
        "  breakdown over %zu publications: publish -> first client p50 %.2f ms, p99 %.2f ms; "
        "first -> last client p50 %.2f ms, p99 %.2f ms; %.1f MB per publication to all clients; "
        "busiest reader thread busy %.0f%% of the phase\n",
        to_first.size(), nearest_rank(to_first, 0.5), nearest_rank(to_first, 0.99),
        nearest_rank(spread, 0.5), nearest_rank(spread, 0.99), bytes / count / 1e6,
        baseline.reader_busy * 100.0);
  }
  // The targets, each beside its figure.
  const double peak_mb = std::strtod(hwm.c_str(), nullptr) / 1024.0;
  const double stalled_change =
      baseline.p99 > 0 ? std::fabs(with_stalled.p99 - baseline.p99) / baseline.p99 * 100.0 : 0.0;
  std::printf(
      "sse_fanout: patch p99 %.2f ms (target <= 25 ms) %s; peak RSS %.0f MB (target <= 150 MB) %s; "
      "one stalled client moves p99 by %.1f%% (target <= 10%%) %s\n",
      baseline.p99, baseline.p99 <= 25 ? "MET" : "MISSED", peak_mb,
      peak_mb <= 150 ? "MET" : "MISSED", stalled_change, stalled_change <= 10 ? "MET" : "MISSED");
  for (auto& client : clients) ::close(client.fd);
  ::close(stalled.fd);
  return 0;
}
