// The fleet over NATS, measured against a real nats-server -js, the real
// host and real tpark-worker processes (docs/deploy.md):
//  1. NATS ingest events/s into the journal against the raw publish rate of
//     the same client to the same server in the same run (target >= 0.5x);
//  2. jobs/s for quick-mode training jobs on two workers against local
//     dispatch (the same concurrency, the same journal);
//  3. HTTP ingest events/s while the workers train, against the same host
//     idle (target: at most 10% slower).
//
// Usage: bench_nats_fleet [nats_events=200000] [jobs=200] [parts=ingest,jobs,slowdown]
// (parts: any of ingest (1.), jobs (2. and the local dispatch reference of
// 3.), slowdown (3.), comma-separated)
#include <nats/nats.h>

#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/bench_support.h"
#include "support/host_process.h"
#include "support/http_client.h"
#include "support/metrics_text.h"

using namespace tpark::test;
using Clock = std::chrono::steady_clock;

namespace {

// Debian's nats-server with JetStream on a free loopback port (the tests'
// NatsServer helper reports through Catch, which a benchmark does not run).
struct Nats {
  std::unique_ptr<HostProcess> process;
  std::string url;
};

Nats start_nats(const TempDir& dir) {
  HostProcess::Options o;
  o.binary = "/usr/sbin/nats-server";
  o.args = {"-a", "127.0.0.1", "-p", "-1", "-js", "-sd", dir.file("jetstream")};
  o.log_path = dir.file("nats.log");
  o.wait_for_listening = false;
  Nats nats;
  nats.process = std::make_unique<HostProcess>(std::move(o));
  nats.process->wait_for_log("Server is ready", std::chrono::seconds(20));
  std::smatch m;
  const std::string log = nats.process->log();
  static const std::regex port(R"(Listening for client connections on [0-9.]+:([0-9]+))");
  if (std::regex_search(log, m, port)) nats.url = "nats://127.0.0.1:" + m[1].str();
  return nats;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string coverage_body(int i) {
  return R"({"payload":{"needs_more":)" + std::string(i % 3 ? "false" : "true") +
         R"(,"reasons":["below_target_limit"],"summary":{"target_limit":8,"lanes_requested":2,"selected":)" +
         std::to_string(i % 9) +
         R"(,"avg_cscore":0.25,"max_cscore":0.3,"min_score":0.6,"lane_counts":{"semantic":3}},"corr_id":"c-)" +
         std::to_string(i) + R"("}})";
}

// A first-pass iteration summary, the training jobs' evidence.
std::string summary_line(int i) {
  return R"({"kind":"working_set.iteration.summary","payload":{"iteration":0,"corr_id":"s-)" +
         std::to_string(i) + R"(","summary":{"target_limit":8,"selected":)" +
         std::to_string(2 + i % 7) +
         R"(,"lanes_requested":2,"lane_counts":{"semantic":3},"avg_cscore":0.)" +
         std::to_string(2 + i % 7) + R"(,"max_cscore":0.9,"min_score":0.6}}})" + "\n";
}

std::unique_ptr<HostProcess> start_host(const TempDir& dir, const std::string& name, EnvList env) {
  HostProcess::Options o;
  o.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file(name)};
  env.emplace_back("ARW_ADMIN_RATE_LIMIT", "0");
  env.emplace_back("ARW_PUBLIC_RATE_LIMIT", "0");
  // To measure another trade between training and ingest (docs/deploy.md).
  for (const char* name :
       {"ARW_TRAINING_YIELD_STARTS_PER_SEC", "ARW_TRAINING_YIELD_EVENTS_PER_SEC"})
    if (const char* value = std::getenv(name)) env.emplace_back(name, value);
  env.emplace_back("TPARK_BUILTIN_PLUGIN_DIR", TPARK_BUILTIN_PLUGIN_DIR);
  o.env = std::move(env);
  o.log_path = dir.file(name + ".log");
  return std::make_unique<HostProcess>(std::move(o));
}

// A worker that reads the job windows from `host` (which dispatches with
// ARW_TRAINING_NATS_WINDOW=fetch).
std::unique_ptr<HostProcess> start_worker(const TempDir& dir, const Nats& nats,
                                          const std::string& id, const HostProcess& host,
                                          int nice = 0) {
  HostProcess::Options o;
  o.binary = std::string(TPARK_BINARY_DIR) + "/worker/tpark-worker";
  o.args = {"--worker-id", id, "--base", "http://127.0.0.1:" + std::to_string(host.port())};
  if (nice > 0) o.args.insert(o.args.end(), {"--nice", std::to_string(nice)});
  // Progress at most every 250 ms (a quick job sends none): the fleet setting
  // docs/deploy.md recommends when jobs are many and short.
  o.env = {{"ARW_NATS_URL", nats.url},
           {"ARW_ORCH_PROGRESS_MIN_MS", "250"},
           {"TPARK_BUILTIN_PLUGIN_DIR", TPARK_BUILTIN_PLUGIN_DIR}};
  o.log_path = dir.file(id + ".log");
  o.wait_for_listening = false;
  auto worker = std::make_unique<HostProcess>(std::move(o));
  worker->wait_for_log("serving group", std::chrono::seconds(30));
  return worker;
}

// A label-less series of the host's /metrics; 0 when absent. (The
// exposition writes the shortest exact form: 200000 is "2e+05".)
int64_t metric_value(HostProcess& host, const std::string& name) {
  HttpResult r = request("GET", "127.0.0.1", host.port(), "/metrics", {});
  return static_cast<int64_t>(tpark::test::metric_value(r.body, name).value_or(0));
}

int64_t journal_head(HostProcess& host) {
  return metric_value(host, "arw_events_journal_last_id");
}

// Whether the journal holds an event with an id above `id`: one index seek,
// cheap enough to poll during a measurement (a /metrics scrape is not).
bool journal_passed(HttpConnection& conn, int64_t id) {
  HttpResult r = conn.request("GET", "/state/events?limit=1&after=" + std::to_string(id), {}, "");
  return r.status == 200 && !r.json()["items"].empty();
}

int64_t completed_jobs(HostProcess& host) {
  HttpResult r = request("GET", "127.0.0.1", host.port(),
                         "/state/orchestrator/jobs?status=completed&limit=1", {});
  return r.status == 200 ? r.json()["total"].get<int64_t>() : 0;
}

// Starts `jobs` quick-mode jobs and waits for all of them; jobs/s.
double run_jobs(HostProcess& host, int jobs) {
  const int64_t before = completed_jobs(host);
  const auto start = Clock::now();
  for (int i = 0; i < jobs; ++i)
    request("POST", "127.0.0.1", host.port(), "/orchestrator/mini_agents/start_training",
            {{"Content-Type", "application/json"}}, R"({"goal":"bench","mode":"quick"})");
  while (completed_jobs(host) < before + jobs && seconds_since(start) < 600)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return jobs / seconds_since(start);
}

// Keeps `in_flight` quick jobs queued or running on the host until `stop`,
// then waits until none is; how many it started. It counts the queued and
// the running jobs (at most `in_flight` each): counting the completed ones
// would cost the host more with every job done, and the measurement would
// grow with its own polls.
int keep_training(HostProcess& host, const std::atomic<bool>& stop, int in_flight) {
  // One connection for all of it, as an HTTP client library keeps one.
  HttpConnection conn("127.0.0.1", host.port(), std::chrono::seconds(60));
  auto count = [&](const char* status) -> int64_t {
    HttpResult r = conn.request(
        "GET", std::string("/state/orchestrator/jobs?status=") + status + "&limit=1", {}, "");
    return r.status == 200 ? r.json()["total"].get<int64_t>() : 0;
  };
  auto pending = [&] { return count("queued") + count("running"); };
  int started = 0;
  // One poll tops the jobs in flight up: a poll per started job would cost
  // the host as much as a job's own requests.
  while (!stop) {
    const int64_t missing = in_flight - pending();
    for (int64_t i = 0; i < missing && !stop; ++i) {
      conn.request("POST", "/orchestrator/mini_agents/start_training",
                   {{"Content-Type", "application/json"}}, R"({"goal":"bench","mode":"quick"})");
      ++started;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto start = Clock::now();
  while (pending() > 0 && seconds_since(start) < 120)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return started;
}

// HTTP ingest for `secs` seconds from one connection, events/s.
double http_ingest_rate(HostProcess& host, double secs) {
  std::string body;
  for (int i = 0; i < 2000; ++i)
    body += R"({"kind":"context.coverage",)" + coverage_body(i).substr(1) + "\n";
  HttpConnection conn("127.0.0.1", host.port(), std::chrono::seconds(60));
  long accepted = 0;
  const auto start = Clock::now();
  while (seconds_since(start) < secs) {
    HttpResult r =
        conn.request("POST", "/events/ingest", {{"Content-Type", "application/x-ndjson"}}, body);
    if (r.status == 200) accepted += r.json()["accepted"].get<long>();
  }
  return accepted / seconds_since(start);
}

// CPU seconds of the processes in `pids`, summed.
double cpu_of(const std::vector<pid_t>& pids) {
  double sum = 0;
  for (const pid_t pid : pids) sum += cpu_seconds(pid);
  return sum;
}

// Two processes that only spin at nice 19 and SCHED_IDLE, as the idle
// workers run, until destroyed: what idle-class load alone costs the host on
// this machine, with no training and no request to the host.
class IdleSpinners {
 public:
  IdleSpinners() {
    for (pid_t& pid : pids_) {
      pid = fork();
      if (pid == 0) {
        sched_param param{};
        setpriority(PRIO_PROCESS, 0, 19);
        sched_setscheduler(0, SCHED_IDLE, &param);
        std::atomic<uint64_t> spin{0};
        for (;;) spin.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  ~IdleSpinners() {
    for (const pid_t pid : pids_) {
      if (pid <= 0) continue;
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  IdleSpinners(const IdleSpinners&) = delete;
  IdleSpinners& operator=(const IdleSpinners&) = delete;
  std::vector<pid_t> pids() const { return {pids_[0], pids_[1]}; }

 private:
  pid_t pids_[2] = {0, 0};
};

// Stand-ins for workers on machines of their own: they take the submits
// from the workers' consumer as tpark-worker does, read the newest 100 ids of
// each job's window from the host (the read a worker with warm rows makes,
// about one per job), and publish, with the job's ids, the result a real
// worker published for an earlier job: no computation. What they cost the
// host is its own work per job; what they cost this machine is small.
class StandInWorkers {
 public:
  // `result_template`: a worker's result message for job `template_id`.
  StandInWorkers(const std::string& nats_url, int host_port, std::string result_template,
                 std::string template_id)
      : template_(std::move(result_template)), template_id_(std::move(template_id)) {
    natsConnection_ConnectTo(&connection_, nats_url.c_str());
    natsConnection_JetStream(&js_, connection_, nullptr);
    jsSubOptions options;
    jsSubOptions_Init(&options);
    options.Stream = "ARW_TRAINING_JOBS";
    options.Consumer = "workers";
    jsErrCode error = static_cast<jsErrCode>(0);
    js_PullSubscribe(&subscription_, js_, nullptr, "workers", nullptr, &options, &error);
    thread_ = std::thread([this, host_port] { run(host_port); });
  }
  ~StandInWorkers() {
    stop_ = true;
    thread_.join();
    natsSubscription_Destroy(subscription_);
    jsCtx_Destroy(js_);
    natsConnection_Destroy(connection_);
  }
  StandInWorkers(const StandInWorkers&) = delete;
  StandInWorkers& operator=(const StandInWorkers&) = delete;

 private:
  void run(int host_port) {
    HttpConnection host("127.0.0.1", host_port, std::chrono::seconds(30));
    while (!stop_) {
      natsMsgList list{};
      jsErrCode error = static_cast<jsErrCode>(0);
      if (natsSubscription_Fetch(&list, subscription_, 16, 100, &error) != NATS_OK) continue;
      for (int i = 0; i < list.Count; ++i) {
        natsMsg* msg = list.Msgs[i];
        const auto submit = nlohmann::json::parse(
            std::string_view(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)), nullptr, false);
        const std::string id = submit.value("id", "");
        const int64_t until =
            submit.is_object() ? submit["payload"]["window"].value("until_id", int64_t{0}) : 0;
        host.request("GET",
                     "/state/events?after=" + std::to_string(std::max<int64_t>(0, until - 100)) +
                         "&limit=100&prefix=context.coverage&prefix=working_set.iteration.summary",
                     {}, "");
        std::string result = template_;
        for (size_t at = result.find(template_id_); at != std::string::npos;
             at = result.find(template_id_, at + id.size()))
          result.replace(at, template_id_.size(), id);
        const std::string subject = "arw.training.jobs.result." + id;
        const std::string msg_id = "result-" + id;
        jsPubOptions options;
        jsPubOptions_Init(&options);
        options.MsgId = msg_id.c_str();
        js_Publish(nullptr, js_, subject.c_str(), result.data(), static_cast<int>(result.size()),
                   &options, &error);
        natsMsg_Ack(msg, nullptr);
      }
      natsMsgList_Destroy(&list);
    }
  }

  std::string template_, template_id_;
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
  natsSubscription* subscription_ = nullptr;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A worker's result message for a job the host completed: rebuilt from the
// job's stored result and its logic.unit.suggested event; {id, message}.
std::pair<std::string, std::string> a_result_message(HostProcess& host) {
  // The journal's first suggestion, and the job it came from.
  const auto suggested = request("GET", "127.0.0.1", host.port(),
                                 "/state/events?after=0&limit=1&prefix=logic.unit.suggested", {})
                             .json()["items"][0]["payload"];
  const std::string id = suggested["job_id"].get<std::string>();
  const nlohmann::json changes = suggested["changes"];
  const auto job =
      request("GET", "127.0.0.1", host.port(), "/state/orchestrator/jobs/" + id, {}).json();
  const auto& stored = job["result"];
  const nlohmann::json message = {{"job_id", id},
                                  {"ok", true},
                                  {"worker", "stand-in"},
                                  {"attempt", 1},
                                  {"latency_ms", 1},
                                  {"manifest", stored["logic_unit"]},
                                  {"result",
                                   {{"candidate_id", stored["candidate_id"]},
                                    {"baseline", stored["baseline"]},
                                    {"predicted", stored["predicted"]},
                                    {"evidence_window", stored["evidence_window"]},
                                    {"changes", changes}}}};
  return {id, message.dump()};
}

struct Slowdown {
  double median = 0;                // percent
  double idle_rate = 0;             // events/s, mean of the idle windows
  double busy_rate = 0;             // events/s, mean of the busy windows
  double paced_starts_per_sec = 0;  // jobs the host started paced in the busy windows, mean
  double completed_per_sec = 0;     // jobs completed in the busy windows, mean
};

// HTTP ingest while `host` keeps 16 jobs in flight, against the same host
// idle; the host paces job starts while ingest is busy (ARW_TRAINING_YIELD_*,
// docs/training.md "Ingest first"). The windows alternate idle, busy, idle,
// ..., idle (kBusyWindows busy ones, each 2 s), and each busy window is compared with the mean of
// the idle windows on either side of it, so a drift of the machine's speed during the run does not
// count as slowdown. Prints each window and who used the CPU in it (`workers` and `nats`, when
// given, besides the host). With `spinners`, the busy windows run IdleSpinners instead of jobs.
Slowdown slowdown_while_training(HostProcess& host, const char* label,
                                 const std::vector<pid_t>& workers = {},
                                 const std::vector<pid_t>& nats = {}, bool spinners = false) {
  constexpr int kBusyWindows = 7;
  constexpr double kWindowSecs = 2.0;
  struct Window {
    double rate, host_cpu, workers_cpu, nats_cpu;
    int jobs;              // posted by the client
    int64_t paced_starts;  // started by the host at its paced rate during the window
    int64_t completed;     // jobs completed during the window
  };
  auto measure = [&](bool busy) {
    std::atomic<bool> stop{false};
    int started = 0;
    std::thread training;
    std::unique_ptr<IdleSpinners> spinning;
    if (busy && spinners) spinning = std::make_unique<IdleSpinners>();
    if (busy && !spinners) {
      training = std::thread([&] { started = keep_training(host, stop, 16); });
      std::this_thread::sleep_for(std::chrono::milliseconds(300));  // jobs under way
    }
    const std::vector<pid_t> others = spinning ? spinning->pids() : workers;
    const int64_t paced = metric_value(host, "arw_training_starts_paced_total");
    const int64_t completed = busy && !spinners ? completed_jobs(host) : 0;
    const double host_cpu = cpu_seconds(host.pid()), workers_cpu = cpu_of(others),
                 nats_cpu = cpu_of(nats);
    Window w{http_ingest_rate(host, kWindowSecs),
             cpu_seconds(host.pid()) - host_cpu,
             cpu_of(others) - workers_cpu,
             cpu_of(nats) - nats_cpu,
             0,
             0,
             0};
    w.paced_starts = metric_value(host, "arw_training_starts_paced_total") - paced;
    w.completed = busy && !spinners ? completed_jobs(host) - completed : 0;
    spinning.reset();
    stop = true;
    if (training.joinable()) training.join();
    w.jobs = started;
    return w;
  };
  std::vector<Window> idle{measure(false)};
  std::vector<Window> busy;
  std::vector<double> slowdowns;
  Slowdown out;
  for (int round = 0; round < kBusyWindows; ++round) {
    busy.push_back(measure(true));
    idle.push_back(measure(false));
    const Window &before = idle[idle.size() - 2], &b = busy.back(), &after = idle.back();
    const double reference = (before.rate + after.rate) / 2;
    slowdowns.push_back(100.0 * (1.0 - b.rate / reference));
    std::printf(
        "nats_fleet:   %s, round %d: HTTP ingest %.0f events/s idle before, %.0f while jobs "
        "ran (%d posted; in the window %lld completed, %lld started paced), %.0f idle after: "
        "%.1f%% slower; CPU s per 2 s window, idle/busy: host %.2f/%.2f",
        label, round + 1, before.rate, b.rate, b.jobs, static_cast<long long>(b.completed),
        static_cast<long long>(b.paced_starts), after.rate, slowdowns.back(), after.host_cpu,
        b.host_cpu);
    if (!workers.empty() || spinners)
      std::printf(", %s %.2f/%.2f", spinners ? "spinners" : "workers", after.workers_cpu,
                  b.workers_cpu);
    if (!nats.empty()) std::printf(", nats-server %.2f/%.2f", after.nats_cpu, b.nats_cpu);
    std::printf("\n");
    out.busy_rate += b.rate / kBusyWindows;
    out.paced_starts_per_sec += static_cast<double>(b.paced_starts) / kWindowSecs / kBusyWindows;
    out.completed_per_sec += static_cast<double>(b.completed) / kWindowSecs / kBusyWindows;
  }
  for (const Window& w : idle) out.idle_rate += w.rate / static_cast<double>(idle.size());
  std::sort(slowdowns.begin(), slowdowns.end());
  out.median = slowdowns[kBusyWindows / 2];
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (tpark::test::help_requested(
          argc, argv,
          "usage: bench_nats_fleet [nats_events=200000] [jobs=200] "
          "[parts=ingest,jobs,slowdown]\nThe fleet over NATS against a real nats-server -js, the "
          "real host and real tpark-worker processes: NATS ingest against the raw publish rate "
          "(ingest), jobs/s on two workers against local dispatch (jobs), HTTP ingest while the "
          "workers train against the same host idle (slowdown).\n"))
    return 0;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures show as they come
  const int events = argc > 1 ? std::atoi(argv[1]) : 200000;
  const int jobs = argc > 2 ? std::atoi(argv[2]) : 200;
  const std::string parts = argc > 3 ? argv[3] : "ingest,jobs,slowdown";
  auto runs = [&parts](const char* part) { return parts.find(part) != std::string::npos; };
  TempDir dir;
  Nats nats = start_nats(dir);
  int64_t journaled = events;
  if (runs("ingest")) {
    // 1. NATS ingest against the raw publish rate.
    auto host = start_host(dir, "ingest", {{"ARW_NATS_URL", nats.url}, {"ARW_NODE_ID", "bench"}});
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the subscription settles
    natsConnection* hub = nullptr;
    natsConnection_ConnectTo(&hub, nats.url.c_str());
    std::vector<std::string> bodies;
    for (int i = 0; i < events; ++i) bodies.push_back(coverage_body(i));
    const int64_t head = journal_head(*host);
    const auto start = Clock::now();
    for (const auto& body : bodies)
      natsConnection_Publish(hub, "arw.events.node.n1.context.coverage", body.data(),
                             static_cast<int>(body.size()));
    natsConnection_FlushTimeout(hub, 60000);
    const double publish_secs = seconds_since(start);
    HttpConnection probe("127.0.0.1", host->port(), std::chrono::seconds(60));
    while (!journal_passed(probe, head + events - 1) && seconds_since(start) < 300)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const double ingest_secs = seconds_since(start);
    journaled = journal_head(*host) - head;
    natsConnection_Destroy(hub);
    host->stop();
    const double publish_rate = events / publish_secs;
    const double ingest_rate = journaled / ingest_secs;
    // What SQLite alone inserts of the same payloads on this machine, in the
    // same run: no ingest path journals faster than that for long.
    std::vector<std::string> payloads;
    payloads.reserve(bodies.size());
    for (const auto& body : bodies) {
      const size_t open = body.find('{', 1);
      payloads.push_back(body.substr(open, body.size() - open - 1));
    }
    const double sqlite_rate = raw_sqlite_insert_rate(dir.file("raw.db"), payloads);
    std::printf(
        "nats_fleet: %d events published at %.0f/s (raw publish, the limit); %lld journaled "
        "at %.0f/s; ratio %.2fx (target >= 0.5x)\n",
        events, publish_rate, static_cast<long long>(journaled), ingest_rate,
        ingest_rate / publish_rate);
    std::printf(
        "nats_fleet: raw SQLite batched insert of the same payloads %.0f rows/s in the same run: "
        "NATS ingest is %.2fx of it; 0.5x the publish rate would be %.0f events/s, %.2fx what "
        "SQLite alone inserts\n",
        sqlite_rate, ingest_rate / sqlite_rate, publish_rate / 2, publish_rate / 2 / sqlite_rate);
  }

  // 2. Jobs/s: two workers against local dispatch, the same evidence.
  std::string window;
  for (int i = 0; i < 300; ++i) window += summary_line(i);
  if (runs("jobs")) {
    auto local = start_host(dir, "local", {{"ARW_TRAINING_CONCURRENCY", "16"}});
    request("POST", "127.0.0.1", local->port(), "/events/ingest",
            {{"Content-Type", "application/x-ndjson"}}, window);
    const double local_rate = run_jobs(*local, jobs);
    std::printf("nats_fleet: %d quick jobs: local dispatch %.1f jobs/s\n", jobs, local_rate);
    // The reference for 3.: what training costs HTTP ingest without NATS.
    const Slowdown local_slowdown = slowdown_while_training(*local, "local dispatch");
    std::printf(
        "nats_fleet: HTTP ingest while local dispatch trains (no NATS, no workers): %.1f%% "
        "slower (median of 7 bracketed rounds); under that ingest jobs completed at %.1f/s, "
        "%.1f/s started paced\n",
        local_slowdown.median, local_slowdown.completed_per_sec,
        local_slowdown.paced_starts_per_sec);
    local->stop();
  }

  auto trainer = start_host(dir, "trainer",
                            {{"ARW_NATS_URL", nats.url},
                             {"ARW_NODE_ID", "bench"},
                             {"ARW_TRAINING_DISPATCH", "nats"},
                             {"ARW_TRAINING_NATS_WINDOW", "fetch"},
                             {"ARW_TRAINING_CONCURRENCY", "16"}});
  request("POST", "127.0.0.1", trainer->port(), "/events/ingest",
          {{"Content-Type", "application/x-ndjson"}}, window);
  auto w1 = start_worker(dir, nats, "bench-w1", *trainer);
  auto w2 = start_worker(dir, nats, "bench-w2", *trainer);
  if (runs("jobs")) {
    const double host_cpu_before = cpu_seconds(trainer->pid());
    const double workers_cpu_before = cpu_seconds(w1->pid()) + cpu_seconds(w2->pid());
    const double nats_cpu_before = cpu_seconds(nats.process->pid());
    const double nats_rate = run_jobs(*trainer, jobs);
    const double host_ms_per_job = 1000.0 * (cpu_seconds(trainer->pid()) - host_cpu_before) / jobs;
    const double worker_ms_per_job =
        1000.0 * (cpu_seconds(w1->pid()) + cpu_seconds(w2->pid()) - workers_cpu_before) / jobs;
    const double nats_ms_per_job =
        1000.0 * (cpu_seconds(nats.process->pid()) - nats_cpu_before) / jobs;
    std::printf(
        "nats_fleet: %d quick jobs: two workers %.1f jobs/s (ARW_TRAINING_CONCURRENCY=16, workers "
        "with ARW_ORCH_PROGRESS_MIN_MS=250)\n"
        "nats_fleet: CPU per job: host %.2f ms (submit, progress, result), workers %.2f ms, "
        "nats-server %.2f ms\n",
        jobs, nats_rate, host_ms_per_job, worker_ms_per_job, nats_ms_per_job);
  }

  // 3. HTTP ingest while the workers train (16 jobs kept in flight), against
  // the same host idle, in bracketed rounds. On one machine the workers
  // compete with the host for the CPU; on their own machines they do not.
  // So twice: the workers at the host's priority, then at nice 19, which is
  // also SCHED_IDLE (what docs/deploy.md's one-machine trial does): they then
  // run only on CPU the host, nats-server and this client leave idle.
  for (const int nice : {0, 19}) {
    if (!runs("slowdown")) break;
    if (nice > 0) {
      w1->stop();
      w2->stop();
      w1 = start_worker(dir, nats, "bench-w1-idle", *trainer, nice);
      w2 = start_worker(dir, nats, "bench-w2-idle", *trainer, nice);
    }
    const std::string label =
        std::string("workers ") + (nice > 0 ? "idle (nice 19, SCHED_IDLE)" : "at nice 0");
    const Slowdown slowdown = slowdown_while_training(
        *trainer, label.c_str(), {w1->pid(), w2->pid()}, {nats.process->pid()});
    std::printf(
        "nats_fleet: HTTP ingest %.0f events/s idle, %.0f events/s while two workers train %s: "
        "%.1f%% slower (median of 7 bracketed rounds; target <= 10%%); under that ingest jobs "
        "completed at %.1f/s, %.1f/s started paced (ARW_TRAINING_YIELD_STARTS_PER_SEC)\n",
        slowdown.idle_rate, slowdown.busy_rate,
        nice > 0 ? "idle (nice 19, SCHED_IDLE)" : "at nice 0", slowdown.median,
        slowdown.completed_per_sec, slowdown.paced_starts_per_sec);
    if (nice > 0) {
      // The floor of this one-machine figure: idle-class load with no
      // training at all. What the workers cost beyond it is the host's own
      // per-job work (and the workers' memory traffic).
      const Slowdown floor =
          slowdown_while_training(*trainer, "two idle spinners, no jobs", {}, {}, true);
      std::printf(
          "nats_fleet: HTTP ingest %.0f events/s idle, %.0f events/s beside two idle-class (nice "
          "19, SCHED_IDLE) spinners and no training: %.1f%% slower (median of 7 bracketed rounds): "
          "this machine's floor for the figure above\n",
          floor.idle_rate, floor.busy_rate, floor.median);
      // Workers on machines of their own, as far as one machine can show it:
      // the real workers stop, stand-ins answer every job at once.
      w1->stop();
      w2->stop();
      const auto [template_id, result] = a_result_message(*trainer);
      StandInWorkers stand_ins(nats.url, trainer->port(), result, template_id);
      const Slowdown own =
          slowdown_while_training(*trainer, "stand-in workers", {}, {nats.process->pid()});
      std::printf(
          "nats_fleet: HTTP ingest %.0f events/s idle, %.0f events/s while stand-in workers "
          "answer every job at once (no computation on this machine: the host's own work per "
          "job): %.1f%% slower (median of 7 bracketed rounds; target <= 10%%); under that ingest "
          "jobs completed at %.1f/s, %.1f/s started paced\n",
          own.idle_rate, own.busy_rate, own.median, own.completed_per_sec,
          own.paced_starts_per_sec);
    }
    if (nice == 0)
      std::printf(
          "nats_fleet:   (one machine: the workers' computation, nats-server and this client "
          "compete with the host for 2 cores; workers on their own machines take none of the "
          "host's CPU, and only the host's own per-job work stays)\n");
  }
  w1->stop();
  w2->stop();
  trainer->stop();
  return journaled >= events ? 0 : 1;
}
