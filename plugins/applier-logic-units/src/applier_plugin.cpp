// tp.applier.logic-units: computes logic-unit patches over the patch document
// (control.md 6.2-6.4) for the host's logic_unit.* actions, written only
// against the SDK. The host owns the action, leases, staging, the
// transaction and the snapshots; this plugin only answers what the document
// would become.
#include <cstring>
#include <new>
#include <string>

#include <tpark/tp_plugin.hpp>

#include "logic_patch.h"

namespace {

namespace patch = tpark::logic_patch;
using patch::json;

const char* const kRoots[] = {"env", "governor", "*", nullptr};

tp_status refuse(tp_error* err, tp_status status, const std::string& message) {
  tpark::set_error(err, status, message);
  return status;
}

tp_status write(const tp_writer* out, const json& body) {
  if (out == nullptr || out->write == nullptr) return TP_INVALID_ARG;
  const std::string text = body.dump();
  return out->write(out->writer_ctx, tpark::to_tp_str(text));
}

// The answer of dry_run and apply: the document after the patches, or the
// first error as "<field>: <message>" (TP_NOT_FOUND for a 409 conflict).
tp_status compute(tp_str document_json, tp_str patches_json, const tp_writer* out,
                  tp_error* err) noexcept {
  try {
    const json document = json::parse(tpark::to_view(document_json));
    const json patches = json::parse(tpark::to_view(patches_json));
    auto applied = patch::apply_patches(document, patches);
    if (auto* error = std::get_if<patch::PatchError>(&applied))
      return refuse(err, error->conflict ? TP_NOT_FOUND : TP_INVALID_ARG,
                    error->field + ": " + error->message);
    const json& after = std::get<json>(applied);
    json body = patch::diff_documents(document, after);
    body["document"] = after;
    body["safety_issues"] = patch::safety_scan(patches);
    return write(out, body);
  } catch (const std::bad_alloc&) {
    return refuse(err, TP_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return refuse(err, TP_INVALID_ARG, std::string("patches: ") + e.what());
  }
}

tp_status create(const tp_host_api*, tp_host*, tp_str, void** out_ctx, tp_error*) noexcept {
  if (out_ctx == nullptr) return TP_INVALID_ARG;
  *out_ctx = nullptr;  // stateless
  return TP_OK;
}
tp_status no_op(void*, tp_error*) noexcept {
  return TP_OK;
}
tp_status destroy(void*) noexcept {
  return TP_OK;
}

tp_status dry_run(void*, tp_str document_json, tp_str patches_json, const tp_writer* out,
                  tp_error* err) noexcept {
  return compute(document_json, patches_json, out, err);
}
tp_status apply(void*, tp_str document_json, tp_str patches_json, const tp_writer* out,
                tp_error* err) noexcept {
  return compute(document_json, patches_json, out, err);
}
tp_status revert(void*, tp_str document_json, tp_str snapshot_json, const tp_writer* out,
                 tp_error* err) noexcept {
  try {
    const json document = json::parse(tpark::to_view(document_json));
    const json snapshot = json::parse(tpark::to_view(snapshot_json));
    json body = patch::diff_documents(document, snapshot);
    body["document"] = snapshot;
    body["safety_issues"] = json::array();
    return write(out, body);
  } catch (const std::exception& e) {
    return refuse(err, TP_INVALID_ARG, std::string("snapshot: ") + e.what());
  }
}

tp_applier_desc make_desc() {
  tp_applier_desc desc;
  std::memset(&desc, 0, sizeof desc);
  desc.struct_size = sizeof desc;
  desc.kind = TP_KIND_LOGIC_APPLIER;
  desc.name = "logic-units";
  desc.create = create;
  desc.start = no_op;
  desc.stop = no_op;
  desc.destroy = destroy;
  desc.roots = kRoots;
  desc.dry_run = dry_run;
  desc.apply = apply;
  desc.revert = revert;
  return desc;
}

const tp_applier_desc kDesc = make_desc();
const tp_descriptor* const kDescriptors[] = {reinterpret_cast<const tp_descriptor*>(&kDesc)};

}  // namespace

extern "C" TP_EXPORT tp_status tp_plugin_entry(tp_negotiate* negotiate, tp_error* err) {
  return tpark::answer_negotiate(negotiate, kDescriptors, 1, 2, err);
}
