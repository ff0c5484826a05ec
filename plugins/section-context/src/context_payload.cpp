#include "context_payload.h"

#include <algorithm>
#include <cstdlib>

#include <simdjson.h>

namespace tpark::context_section {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;
using tpark::context::number_field;
using tpark::context::set_number_field;

bool is_type(od::value& value, od::json_type wanted, error_code& error) {
  od::json_type type;
  error = value.type().get(type);
  return error == SUCCESS && type == wanted;
}

// A number typed as nlohmann's parser types it (non-negative integers
// unsigned, negative ones signed, others and integers beyond 64 bits double);
// anything else is no number.
error_code read_number(od::value value, NumberField& out) {
  out = {};
  error_code error;
  if (!is_type(value, od::json_type::number, error)) return error;
  // One pass over the token; a big integer or a value beyond double falls
  // through to strtod.
  od::number number;
  if (value.get_number().get(number) == SUCCESS) {
    switch (number.get_number_type()) {
      case od::number_type::signed_integer: {
        const int64_t n = number.get_int64();
        out = n >= 0 ? number_field(static_cast<uint64_t>(n)) : number_field(n);
        return SUCCESS;
      }
      case od::number_type::unsigned_integer:
        out = number_field(number.get_uint64());
        return SUCCESS;
      case od::number_type::floating_point_number:
        out = number_field(number.get_double());
        return SUCCESS;
      default:
        break;
    }
  }
  const std::string token(value.raw_json_token());
  out = number_field(std::strtod(token.c_str(), nullptr));
  return SUCCESS;
}

error_code read_bool(od::value value, std::optional<bool>& out) {
  out.reset();
  error_code error;
  if (!is_type(value, od::json_type::boolean, error)) return error;
  bool flag = false;
  if ((error = value.get_bool().get(flag))) return error;
  out = flag;
  return SUCCESS;
}

// Calls on_member(key, value) for each member when `value` is an object and
// returns true in `is_object`.
template <class OnMember>
error_code read_object(od::value value, bool& is_object, OnMember&& on_member) {
  error_code error;
  is_object = is_type(value, od::json_type::object, error);
  if (!is_object) return error;
  od::object object;
  if ((error = value.get_object().get(object))) return error;
  for (auto field : object) {
    std::string_view key;
    if ((error = field.unescaped_key().get(key))) return error;
    od::value member;
    if ((error = field.value().get(member))) return error;
    if ((error = on_member(key, member))) return error;
  }
  return SUCCESS;
}

error_code read_number_fields(od::value value, std::optional<NumberFields>& out) {
  out.reset();
  NumberFields fields;
  bool is_object = false;
  error_code error = read_object(value, is_object, [&](std::string_view key, od::value member) {
    NumberField number;
    if (error_code e = read_number(member, number)) return e;
    set_number_field(fields, key, number);
    return SUCCESS;
  });
  if (error) return error;
  if (is_object) out = std::move(fields);
  return SUCCESS;
}

// {"counts": {...}, "budgets": {...}}: the members a `slots` object keeps.
error_code read_slots(od::value value, std::optional<NumberFields>* counts,
                      std::optional<NumberFields>* budgets) {
  if (counts != nullptr) counts->reset();
  if (budgets != nullptr) budgets->reset();
  bool is_object = false;
  return read_object(value, is_object, [&](std::string_view key, od::value member) {
    if (key == "counts" && counts != nullptr) return read_number_fields(member, *counts);
    if (key == "budgets" && budgets != nullptr) return read_number_fields(member, *budgets);
    return SUCCESS;
  });
}

error_code read_summary(od::value value, std::optional<SummaryFields>& out) {
  out.reset();
  SummaryFields s;
  bool is_object = false;
  error_code error = read_object(value, is_object, [&](std::string_view key, od::value member) {
    if (key == "target_limit") return read_number(member, s.target_limit);
    if (key == "lanes_requested") return read_number(member, s.lanes_requested);
    if (key == "selected") return read_number(member, s.selected);
    if (key == "total_candidates") return read_number(member, s.total_candidates);
    if (key == "avg_cscore") return read_number(member, s.avg_cscore);
    if (key == "max_cscore") return read_number(member, s.max_cscore);
    if (key == "threshold_hits") return read_number(member, s.threshold_hits);
    if (key == "min_score") return read_number(member, s.min_score);
    if (key == "lane_counts") return read_number_fields(member, s.lane_counts);
    if (key == "slots") return read_slots(member, &s.slot_counts, &s.slot_budgets);
    return SUCCESS;
  });
  if (error) return error;
  if (is_object) out = std::move(s);
  return SUCCESS;
}

error_code read_spec(od::value value, std::optional<SpecFields>& out) {
  out.reset();
  SpecFields spec;
  bool is_object = false;
  error_code error = read_object(value, is_object, [&](std::string_view key, od::value member) {
    if (key == "min_score") return read_number(member, spec.min_score);
    if (key == "slot_budgets") return read_number_fields(member, spec.slot_budgets);
    return SUCCESS;
  });
  if (error) return error;
  if (is_object) out = std::move(spec);
  return SUCCESS;
}

struct Parser {
  od::parser parser;
  std::string padded;
};

// Reads the members of the payload object with on_member; a payload that is
// not a readable object gives Payload{}.
template <class Payload, class OnMember>
Payload read_payload(std::string_view text, OnMember&& on_member) {
  thread_local Parser reader;
  std::string& padded = reader.padded;
  if (padded.size() < text.size() + simdjson::SIMDJSON_PADDING)
    padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
  std::copy(text.begin(), text.end(), padded.begin());
  Payload payload;
  od::document document;
  od::object object;
  if (reader.parser.iterate(padded.data(), text.size(), padded.size()).get(document) ||
      document.get_object().get(object))
    return Payload{};
  for (auto field : object) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) || field.value().get(value) ||
        on_member(payload, key, value))
      return Payload{};
  }
  return payload;
}

}  // namespace

CoveragePayload read_coverage_payload(std::string_view text) {
  return read_payload<CoveragePayload>(
      text, [](CoveragePayload& p, std::string_view key, od::value value) -> error_code {
        if (key == "reasons") {
          p.reasons.reset();
          error_code error;
          if (!is_type(value, od::json_type::array, error)) return error;
          od::array array;
          if ((error = value.get_array().get(array))) return error;
          std::vector<std::string> reasons;
          for (auto element : array) {
            od::value item;
            if ((error = element.get(item))) return error;
            if (!is_type(item, od::json_type::string, error)) {
              if (error) return error;
              continue;
            }
            std::string_view reason;
            if ((error = item.get_string().get(reason))) return error;
            reasons.emplace_back(reason);
          }
          p.reasons = std::move(reasons);
          return SUCCESS;
        }
        if (key == "needs_more") return read_bool(value, p.needs_more);
        if (key == "summary") return read_summary(value, p.summary);
        if (key == "spec") return read_spec(value, p.spec);
        return SUCCESS;
      });
}

RecallPayload read_recall_payload(std::string_view text) {
  return read_payload<RecallPayload>(
      text, [](RecallPayload& p, std::string_view key, od::value value) -> error_code {
        if (key == "needs_more") return read_bool(value, p.needs_more);
        if (key == "summary") return read_summary(value, p.summary);
        if (key == "spec") return read_spec(value, p.spec);
        if (key == "score") return read_number(value, p.score);
        if (key == "at_risk") return read_bool(value, p.at_risk);
        if (key == "level") {
          p.level.reset();
          error_code error;
          if (!is_type(value, od::json_type::string, error)) return error;
          std::string_view level;
          if ((error = value.get_string().get(level))) return error;
          if (!level.empty()) p.level = std::string(level);
          return SUCCESS;
        }
        if (key == "components") {
          p.component_slots.reset();
          bool is_object = false;
          return read_object(value, is_object, [&](std::string_view member_key, od::value member) {
            if (member_key == "slots") return read_number_fields(member, p.component_slots);
            return SUCCESS;
          });
        }
        return SUCCESS;
      });
}

AssemblyPayload read_assembly_payload(std::string_view text) {
  return read_payload<AssemblyPayload>(
      text, [](AssemblyPayload& p, std::string_view key, od::value value) -> error_code {
        if (key == "needs_more") return read_bool(value, p.needs_more);
        if (key == "coverage_gap") return read_bool(value, p.coverage_gap);
        if (key == "duration_ms") return read_number(value, p.duration_ms);
        if (key == "summary") return read_summary(value, p.summary);
        if (key == "coverage") {
          p.coverage_needs_more.reset();
          bool is_object = false;
          return read_object(value, is_object, [&](std::string_view member_key, od::value member) {
            if (member_key == "needs_more") return read_bool(member, p.coverage_needs_more);
            return SUCCESS;
          });
        }
        return SUCCESS;
      });
}

RetrieverPayload read_retriever_payload(std::string_view text) {
  return read_payload<RetrieverPayload>(
      text, [](RetrieverPayload& p, std::string_view key, od::value value) -> error_code {
        if (key == "summary") return read_summary(value, p.summary);
        if (key == "diagnostics") {
          p.counts.reset();
          p.timings_ms.reset();
          p.lanes.reset();
          p.slot_counts.reset();
          bool is_object = false;
          return read_object(value, is_object, [&](std::string_view member_key, od::value member) {
            if (member_key == "counts") return read_number_fields(member, p.counts);
            if (member_key == "timings_ms") return read_number_fields(member, p.timings_ms);
            if (member_key == "lanes") return read_number_fields(member, p.lanes);
            if (member_key == "slots") return read_slots(member, &p.slot_counts, nullptr);
            return SUCCESS;
          });
        }
        return SUCCESS;
      });
}

}  // namespace tpark::context_section
