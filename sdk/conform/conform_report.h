// The runner's report: one line per check, naming the rule it belongs to
// (the numbered rules of docs/abi-policy.md, also listed at the top of
// tp_plugin.h), and the verdict at the end.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>

#include <tpark/tp_plugin.h>

namespace tpark::conform {

// The ABI rules, numbered as in docs/abi-policy.md and tp_plugin.h. A check
// names the rule it enforces; PASS/FAIL lines print the number.
namespace rule {
constexpr int kEntry = 1;           // one entry symbol, negotiation
constexpr int kMajor = 2;           // the major must match exactly
constexpr int kMinHostMinor = 3;    // the lowest host minor the plugin needs
constexpr int kStructSize = 4;      // uint32_t struct_size first
constexpr int kAppendOnly = 5;      // fields and slots only appended
constexpr int kDescriptorSize = 6;  // descriptors: older refused, newer read by prefix
constexpr int kSlotVersions = 7;    // host API slots newer than 1.0 checked first
constexpr int kNoCppAcross = 8;     // C only at the boundary: no exception escapes
constexpr int kStrings = 9;         // borrowed strings, JSON crosses as text
constexpr int kWhoFrees = 10;       // whoever allocates frees
constexpr int kStatus = 11;         // every call returns a tp_status
constexpr int kThreading = 12;      // threading per callback; callbacks return
constexpr int kLifecycle = 13;      // lifecycle with quiescence
constexpr int kManifest = 14;       // manifests first
constexpr int kHygiene = 15;        // one exported symbol, loads with RTLD_NOW
}  // namespace rule

inline std::string status_name(tp_status status) {
  switch (status) {
    case TP_OK: return "TP_OK";
    case TP_RETRY: return "TP_RETRY";
    case TP_INVALID_ARG: return "TP_INVALID_ARG";
    case TP_UNSUPPORTED: return "TP_UNSUPPORTED";
    case TP_UNAVAILABLE: return "TP_UNAVAILABLE";
    case TP_INTERNAL: return "TP_INTERNAL";
    case TP_NOT_FOUND: return "TP_NOT_FOUND";
    case TP_NO_MEMORY: return "TP_NO_MEMORY";
    case TP_TOO_LARGE: return "TP_TOO_LARGE";
    default: return "unknown status " + std::to_string(status);
  }
}

// Thread-safe: plugin threads may report through host API misuse.
class Report {
 public:
  explicit Report(std::string subject) : subject_(std::move(subject)) {}

  void pass(int rule, const std::string& what) { line("PASS", rule, what); }
  void fail(int rule, const std::string& what) {
    std::lock_guard lock(mutex_);
    ++failures_;
    print_check("FAIL", rule, what);
  }
  // A line of output that is not a check (the --events renders).
  void print(const std::string& text) {
    std::lock_guard lock(mutex_);
    std::cout << text << "\n";
  }
  void note(const std::string& what) {
    std::lock_guard lock(mutex_);
    std::cout << "NOTE          " << what << "\n";
  }
  // Prints the verdict; the exit status for main.
  int finish() {
    std::lock_guard lock(mutex_);
    std::cout << (failures_ == 0 ? "RESULT: PASS" : "RESULT: FAIL") << " (" << checks_
              << " checks, " << failures_ << " failed) " << subject_ << "\n"
              << std::flush;
    return failures_ == 0 ? 0 : 1;
  }
  // A call into the plugin never returned: the executor thread is lost inside
  // it, so nothing can be stopped or destroyed. Report and leave at once.
  [[noreturn]] void abandon() {
    finish();
    std::fflush(nullptr);
    std::_Exit(1);
  }

 private:
  void line(const char* verdict, int rule, const std::string& what) {
    std::lock_guard lock(mutex_);
    print_check(verdict, rule, what);
  }
  void print_check(const char* verdict, int rule, const std::string& what) {
    ++checks_;
    std::string tag = "rule " + std::to_string(rule);
    tag.resize(8, ' ');
    std::cout << verdict << " " << tag << " " << what << "\n";
  }

  std::mutex mutex_;
  std::string subject_;
  int checks_ = 0;
  int failures_ = 0;
};

}  // namespace tpark::conform
