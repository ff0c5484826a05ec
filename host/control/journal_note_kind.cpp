#include "control/journal_note_kind.h"

#include "kernel/journal.h"
#include "util/time.h"

namespace tpark::control {

namespace {
constexpr size_t kNoteMaxChars = 4096;
}

std::vector<InputError> JournalNoteKind::validate(const Json& input) const {
  std::vector<InputError> errors;
  auto text = input.find("text");
  if (text == input.end())
    errors.push_back({"text", "required"});
  else if (!text->is_string() || text->get_ref<const std::string&>().empty() ||
           text->get_ref<const std::string&>().size() > kNoteMaxChars)
    errors.push_back({"text", "expected a string of 1-4096 characters"});
  return errors;
}

std::vector<std::string> JournalNoteKind::scope_targets(const Json&) const {
  return {"journal.note"};
}

ActionPreview JournalNoteKind::preview(const Json&) const {
  return {};
}

ActionOutcome JournalNoteKind::execute(const Json& input, const ActionRun& run, WriteTx& tx) {
  NewEvent event;
  event.kind = "journal.note";
  event.payload = Json{{"text", input["text"]}, {"action_id", run.action_id}}.dump();
  event.time_ms = now_ms();
  event.source = "host";
  event.corr_id = run.corr_id;
  EventPtr appended = tx.append(std::move(event));
  ActionOutcome outcome;
  outcome.output = {{"changed", false}, {"event_id", appended->id}};
  return outcome;
}

}  // namespace tpark::control
