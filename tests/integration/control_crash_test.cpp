// Durability under a crash (control.md 1.5, check 37): clients submit 2,000
// actions, approve staged ones and create and revoke leases concurrently; the
// host is killed with SIGKILL at a random moment, restarted, and every
// acknowledged request must be there with its events, nothing half-written,
// and every admitted action must complete.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "integration/test_host.h"

using namespace tpark::test;
using tpark::Json;

namespace {

constexpr int kActions = 2000;
constexpr int kClientThreads = 6;
constexpr int kLeaseOps = 150;

struct Acknowledged {
  std::mutex mutex;
  std::set<std::string> staged;    // 202 from POST /actions
  std::set<std::string> approved;  // 200 from approve
  std::set<std::string> leases;    // 201 from POST /leases
  std::set<std::string> revoked;   // 200 from DELETE /leases/{id}
};

// Every event of the given prefix (paging through the journal).
std::vector<Json> all_events(TestHost& host, const std::string& prefix) {
  std::vector<Json> out;
  int64_t after = 0;
  for (;;) {
    Json page =
        host.get("/state/events?limit=1000&prefix=" + prefix + "&after=" + std::to_string(after))
            .json();
    for (auto& item : page["items"]) out.push_back(item);
    if (page["items"].empty()) return out;
    after = page["next_after"];
  }
}

std::set<std::string> payload_ids(const std::vector<Json>& events) {
  std::set<std::string> ids;
  for (const auto& e : events) ids.insert(e["payload"]["id"].get<std::string>());
  return ids;
}

}  // namespace

TEST_CASE("a_kill_9_under_concurrent_load_loses_no_acknowledged_change",
          "[integration][durability][crash]") {
  TestHostOptions options;
  options.env = {{"ARW_ACTION_STAGING_MODE", "always"}};
  TestHost host(options);
  const uint16_t port = host.port();
  Acknowledged acked;
  std::atomic<int> next_action{0};
  std::atomic<bool> host_gone{false};
  const HeaderList admin = {{"X-ARW-Admin", kToken}, {"Content-Type", "application/json"}};

  auto client = [&] {
    while (!host_gone) {
      const int n = next_action++;
      if (n >= kActions) return;
      try {
        HttpResult r = request(
            "POST", "127.0.0.1", port, "/actions", admin,
            Json{{"kind", "journal.note"}, {"input", {{"text", "note " + std::to_string(n)}}}}
                .dump());
        if (r.status != 202) continue;
        const std::string id = r.json()["id"];
        {
          std::lock_guard lock(acked.mutex);
          acked.staged.insert(id);
        }
        if (n % 4 == 3) continue;  // some stay pending
        HttpResult a =
            request("POST", "127.0.0.1", port, "/staging/actions/" + id + "/approve", admin, "{}");
        if (a.status == 200) {
          std::lock_guard lock(acked.mutex);
          acked.approved.insert(id);
        }
      } catch (const std::exception&) {
        host_gone = true;  // the host was killed mid-request
      }
    }
  };
  auto leaser = [&] {
    std::vector<std::string> mine;
    for (int i = 0; i < kLeaseOps && !host_gone; ++i) {
      try {
        HttpResult r = request("POST", "127.0.0.1", port, "/leases", admin,
                               R"({"capability":"notes:write","ttl_secs":3600,"budget":5})");
        if (r.status == 201) {
          const std::string id = r.json()["id"];
          mine.push_back(id);
          std::lock_guard lock(acked.mutex);
          acked.leases.insert(id);
        }
        if (i % 3 == 2) {
          HttpResult d =
              request("DELETE", "127.0.0.1", port, "/leases/" + mine[mine.size() / 2], admin);
          if (d.status == 200) {
            std::lock_guard lock(acked.mutex);
            acked.revoked.insert(mine[mine.size() / 2]);
          }
        }
      } catch (const std::exception&) {
        host_gone = true;
      }
    }
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < kClientThreads; ++i) threads.emplace_back(client);
  threads.emplace_back(leaser);
  // Kill once a random share of the work has been acknowledged.
  std::mt19937 random(std::random_device{}());
  const size_t kill_after = std::uniform_int_distribution<size_t>(100, kActions - 200)(random);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  for (;;) {
    size_t done;
    {
      std::lock_guard lock(acked.mutex);
      done = acked.staged.size();
    }
    if (done >= kill_after || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  host.process().kill9();
  host_gone = true;
  for (auto& t : threads) t.join();
  INFO("killed after " << acked.staged.size() << " staged, " << acked.approved.size()
                       << " approved, " << acked.leases.size() << " leases");
  REQUIRE(acked.staged.size() >= kill_after);

  host.start();
  // Every admitted (approved) action completes after the restart.
  for (const auto& id : acked.approved) {
    Json action;
    const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(3);
    for (;;) {
      action = host.get("/actions/" + id).json();
      const std::string state = action["state"];
      if (state != "queued" && state != "running") break;
      REQUIRE(std::chrono::steady_clock::now() < until);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(action["state"] == "completed");
  }
  // Every acknowledged staged action exists; the store is consistent with
  // the journal for every action it holds.
  std::map<std::string, std::string> states;
  for (int64_t offset = 0;; offset += 1000) {
    Json page = host.get("/state/actions?limit=1000&offset=" + std::to_string(offset)).json();
    for (const auto& a : page["items"]) states[a["id"]] = a["state"];
    if (page["items"].size() < 1000) break;
  }
  for (const auto& id : acked.staged) CHECK(states.count(id) == 1);
  const auto pending = payload_ids(all_events(host, "staging.pending"));
  const auto decided = payload_ids(all_events(host, "staging.decided"));
  const auto submitted = payload_ids(all_events(host, "actions.submitted"));
  const auto completed = payload_ids(all_events(host, "actions.completed"));
  const auto notes = all_events(host, "journal.note");
  size_t completed_rows = 0;
  for (const auto& [id, state] : states) {
    CHECK(pending.count(id) == 1);
    if (state == "staged") {
      CHECK(decided.count(id) == 0);
    } else {
      CHECK(decided.count(id) == 1);
      CHECK(submitted.count(id) == 1);
    }
    if (state == "completed") {
      ++completed_rows;
      CHECK(completed.count(id) == 1);
    }
  }
  CHECK(pending.size() == states.size());
  CHECK(completed.size() == completed_rows);
  CHECK(notes.size() == completed_rows);
  for (const auto& id : acked.approved) CHECK(decided.count(id) == 1);

  // Leases: every 201 exists, every revocation stuck.
  Json leases = host.get("/state/leases?include_inactive=1").json();
  std::map<std::string, std::string> lease_status;
  for (const auto& l : leases["items"]) lease_status[l["id"]] = l["status"];
  for (const auto& id : acked.leases) CHECK(lease_status.count(id) == 1);
  for (const auto& id : acked.revoked) CHECK(lease_status[id] == "revoked");
  const auto created_events = payload_ids(all_events(host, "leases.created"));
  CHECK(created_events.size() == lease_status.size());
}
