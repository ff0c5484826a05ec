// tp.applier.logic-units: computes logic-unit patches over the patch document
// (control.md 6.2-6.4) for the host's logic_unit.* actions, written only
// against the SDK. The host owns the action, leases, staging, the
// transaction and the snapshots; this plugin only answers what the document
// would become.
#include <new>
#include <string>
#include <string_view>
#include <variant>

#include <tpark/tp_plugin.hpp>

#include "logic_patch.h"

namespace {

namespace patch = tpark::logic_patch;
using patch::json;

const char* const kRoots[] = {"env", "governor", "*", nullptr};

class LogicUnitsApplier final : public tpark::Applier {
 public:
  LogicUnitsApplier(tpark::HostRef host, std::string_view /*config_json*/) : Applier(host) {}

  std::string dry_run(std::string_view document_json, std::string_view patches_json) override {
    return compute(document_json, patches_json);
  }
  std::string apply(std::string_view document_json, std::string_view patches_json) override {
    return compute(document_json, patches_json);
  }
  std::string revert(std::string_view document_json, std::string_view snapshot_json) override {
    json document, snapshot;
    try {
      document = json::parse(document_json);
      snapshot = json::parse(snapshot_json);
    } catch (const json::exception& e) {
      throw tpark::Error(TP_INVALID_ARG, std::string("snapshot: ") + e.what());
    }
    json body = patch::diff_documents(document, snapshot);
    body["document"] = snapshot;
    body["safety_issues"] = json::array();
    return body.dump();
  }

 private:
  // The document after the patches, or the first error as "<field>:
  // <message>" (TP_NOT_FOUND for a 409 conflict). Anything else that goes
  // wrong with the patches is a bad patch, as before the wrapper.
  static std::string compute(std::string_view document_json, std::string_view patches_json) {
    std::variant<json, patch::PatchError> applied;
    json document, patches;
    try {
      document = json::parse(document_json);
      patches = json::parse(patches_json);
      applied = patch::apply_patches(document, patches);
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      throw tpark::Error(TP_INVALID_ARG, std::string("patches: ") + e.what());
    }
    if (auto* error = std::get_if<patch::PatchError>(&applied))
      throw tpark::Error(error->conflict ? TP_NOT_FOUND : TP_INVALID_ARG,
                         error->field + ": " + error->message);
    const json& after = std::get<json>(applied);
    json body = patch::diff_documents(document, after);
    body["document"] = after;
    body["safety_issues"] = patch::safety_scan(patches);
    return body.dump();
  }
};

}  // namespace

TP_APPLIER_PLUGIN(LogicUnitsApplier, "logic-units", kRoots)
