// `journal.note`: a host-executed action kind that records an operator's note
// on the event timeline (`journal.note {text,action_id}`), e.g. "rolled out
// new retriever". It changes no configuration, so its evidence diff is empty.
#pragma once

#include "kernel/action_kinds.h"

namespace tpark::control {

class JournalNoteKind final : public ActionKind {
 public:
  std::vector<InputError> validate(const Json& input) const override;
  std::vector<std::string> scope_targets(const Json& input) const override;
  ActionPreview preview(const Json& input) const override;
  ActionOutcome execute(const Json& input, const ActionRun& run, WriteTx& tx) override;
};

}  // namespace tpark::control
