#include "abi_peer.h"

#include <string>

namespace {

class CountingSection final : public tpark::Section {
 public:
  CountingSection(tpark::HostRef host, std::string_view) : Section(host) {}
  void reset() override { count_ = 0; }
  void on_event(const tpark::EventView& event) override { count_ += event.kind().size() != 0; }
  bool render(std::string& out) override {
    out = std::to_string(count_);
    return true;
  }

 private:
  uint64_t count_ = 0;
};

}  // namespace

extern "C" tpark::Section* bench_abi_peer_new_section() {
  return new CountingSection(tpark::HostRef(), "{}");
}

TP_SECTION_PLUGIN(CountingSection, "bench")
