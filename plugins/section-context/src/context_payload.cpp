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

void set_number(const od::number& number, NumberField& out) {
  switch (number.get_number_type()) {
    case od::number_type::signed_integer: {
      const int64_t n = number.get_int64();
      out = n >= 0 ? number_field(static_cast<uint64_t>(n)) : number_field(n);
      return;
    }
    case od::number_type::unsigned_integer:
      out = number_field(number.get_uint64());
      return;
    default:
      out = number_field(number.get_double());
      return;
  }
}

// A number typed as nlohmann's parser types it (non-negative integers
// unsigned, negative ones signed, others and integers beyond 64 bits double);
// anything else is no number.
error_code read_number(od::value value, NumberField& out) {
  // One pass over the token for the usual number; only when that fails is
  // the value's type asked (the parse only peeks, so the value is unread).
  od::number number;
  if (value.get_number().get(number) == SUCCESS) {
    set_number(number, out);
    return SUCCESS;
  }
  out = {};
  error_code error;
  if (!is_type(value, od::json_type::number, error)) return error;
  // A big integer or a value beyond double.
  const std::string_view raw = value.raw_json_token();
  char token[64];
  if (raw.size() < sizeof token) {
    std::copy(raw.begin(), raw.end(), token);
    token[raw.size()] = '\0';
    out = number_field(std::strtod(token, nullptr));
  } else {
    out = number_field(std::strtod(std::string(raw).c_str(), nullptr));
  }
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

// ---------------------------------------------------------------------------
// Reused storage: a member read absent hands its vector to the thread's pool
// (kept with its parser, passed down from there), and the next member read
// present takes one from there.

struct Spares {
  std::vector<NumberFields> number_fields;
  std::vector<std::vector<std::string_view>> reasons;
};

template <class T>
void release_to(std::optional<T>& member, std::vector<T>& pool) {
  if (!member) return;
  member->clear();
  pool.push_back(std::move(*member));
  member.reset();
}

template <class T>
T& engage_from(std::optional<T>& member, std::vector<T>& pool) {
  release_to(member, pool);
  if (pool.empty()) return member.emplace();
  member.emplace(std::move(pool.back()));
  pool.pop_back();
  return *member;
}

void release(Spares& pool, std::optional<NumberFields>& fields) {
  release_to(fields, pool.number_fields);
}

NumberFields& engage(Spares& pool, std::optional<NumberFields>& fields) {
  return engage_from(fields, pool.number_fields);
}

void release(Spares& pool, std::optional<SummaryFields>& summary) {
  if (!summary) return;
  release(pool, summary->lane_counts);
  release(pool, summary->slot_counts);
  release(pool, summary->slot_budgets);
  summary.reset();
}

void release(Spares& pool, std::optional<SpecFields>& spec) {
  if (!spec) return;
  release(pool, spec->slot_budgets);
  spec.reset();
}

void clear(Spares& pool, CoveragePayload& p) {
  release_to(p.reasons, pool.reasons);
  p.needs_more.reset();
  release(pool, p.summary);
  release(pool, p.spec);
}

void clear(Spares& pool, RecallPayload& p) {
  p.needs_more.reset();
  release(pool, p.summary);
  release(pool, p.spec);
  p.score = {};
  p.level.reset();
  p.at_risk.reset();
  release(pool, p.component_slots);
}

void clear(Spares& pool, AssemblyPayload& p) {
  p.needs_more.reset();
  p.coverage_needs_more.reset();
  p.coverage_gap.reset();
  p.duration_ms = {};
  release(pool, p.summary);
}

void clear(Spares& pool, RetrieverPayload& p) {
  release(pool, p.summary);
  release(pool, p.counts);
  release(pool, p.timings_ms);
  release(pool, p.lanes);
  release(pool, p.slot_counts);
}

// ---------------------------------------------------------------------------
// Members

error_code read_number_fields(Spares& pool, od::value value, std::optional<NumberFields>& out) {
  NumberFields& fields = engage(pool, out);
  bool is_object = false;
  error_code error = read_object(value, is_object, [&](std::string_view key, od::value member) {
    NumberField number;
    if (error_code e = read_number(member, number)) return e;
    set_number_field(fields, key, number);
    return SUCCESS;
  });
  if (!is_object) release(pool, out);
  return error;
}

// {"counts": {...}, "budgets": {...}}: the members a `slots` object keeps.
error_code read_slots(Spares& pool, od::value value, std::optional<NumberFields>* counts,
                      std::optional<NumberFields>* budgets) {
  if (counts != nullptr) release(pool, *counts);
  if (budgets != nullptr) release(pool, *budgets);
  bool is_object = false;
  return read_object(value, is_object, [&](std::string_view key, od::value member) {
    if (key == "counts" && counts != nullptr) return read_number_fields(pool, member, *counts);
    if (key == "budgets" && budgets != nullptr) return read_number_fields(pool, member, *budgets);
    return SUCCESS;
  });
}

// The members of a summary a kind's window uses; the others are skipped
// unread (they stay at their defaults).
enum class SummaryUse {
  Coverage,   // every member: the coverage inputs
  Assembly,   // selected, total_candidates, lane_counts, slots.counts
  Retriever,  // selected, total_candidates
};

error_code read_summary(Spares& pool, od::value value, std::optional<SummaryFields>& out,
                        SummaryUse use) {
  release(pool, out);
  SummaryFields& s = out.emplace();
  const bool inputs = use == SummaryUse::Coverage;
  const bool lists = use != SummaryUse::Retriever;
  bool is_object = false;
  error_code error = read_object(value, is_object, [&](std::string_view key, od::value member) {
    if (key == "selected") return read_number(member, s.selected);
    if (key == "total_candidates") return read_number(member, s.total_candidates);
    if (lists && key == "lane_counts") return read_number_fields(pool, member, s.lane_counts);
    if (lists && key == "slots")
      return read_slots(pool, member, &s.slot_counts, inputs ? &s.slot_budgets : nullptr);
    if (!inputs) return SUCCESS;
    if (key == "target_limit") return read_number(member, s.target_limit);
    if (key == "lanes_requested") return read_number(member, s.lanes_requested);
    if (key == "avg_cscore") return read_number(member, s.avg_cscore);
    if (key == "max_cscore") return read_number(member, s.max_cscore);
    if (key == "threshold_hits") return read_number(member, s.threshold_hits);
    if (key == "min_score") return read_number(member, s.min_score);
    return SUCCESS;
  });
  if (!is_object) release(pool, out);
  return error;
}

error_code read_spec(Spares& pool, od::value value, std::optional<SpecFields>& out) {
  release(pool, out);
  SpecFields& spec = out.emplace();
  bool is_object = false;
  error_code error = read_object(value, is_object, [&](std::string_view key, od::value member) {
    if (key == "min_score") return read_number(member, spec.min_score);
    if (key == "slot_budgets") return read_number_fields(pool, member, spec.slot_budgets);
    return SUCCESS;
  });
  if (!is_object) release(pool, out);
  return error;
}

static_assert(kPayloadPadding >= simdjson::SIMDJSON_PADDING);

struct Parser {
  od::parser parser;
  std::string padded;
  Spares spares;
};

// Reads the members of the payload object into `payload` with on_member; a
// payload that is not a readable object leaves it empty.
template <class Payload, class OnMember>
void read_payload(std::string_view text, std::size_t padded_size, Payload& payload,
                  OnMember&& on_member) {
  thread_local Parser reader;
  Spares& pool = reader.spares;
  clear(pool, payload);
  const char* data = text.data();
  if (padded_size < text.size() + simdjson::SIMDJSON_PADDING) {
    std::string& padded = reader.padded;
    if (padded.size() < text.size() + simdjson::SIMDJSON_PADDING)
      padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
    std::copy(text.begin(), text.end(), padded.begin());
    data = padded.data();
    padded_size = padded.size();
  }
  od::document document;
  od::object object;
  if (reader.parser.iterate(data, text.size(), padded_size).get(document) ||
      document.get_object().get(object)) {
    clear(pool, payload);
    return;
  }
  for (auto field : object) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) || field.value().get(value) ||
        on_member(pool, payload, key, value)) {
      clear(pool, payload);
      return;
    }
  }
}

}  // namespace

void read_coverage_payload(std::string_view text, std::size_t padded_size, CoveragePayload& out) {
  read_payload(
      text, padded_size, out,
      [](Spares& pool, CoveragePayload& p, std::string_view key, od::value value) -> error_code {
        if (key == "reasons") {
          release_to(p.reasons, pool.reasons);
          error_code error;
          if (!is_type(value, od::json_type::array, error)) return error;
          od::array array;
          if ((error = value.get_array().get(array))) return error;
          std::vector<std::string_view>& reasons = engage_from(p.reasons, pool.reasons);
          for (auto element : array) {
            od::value item;
            if ((error = element.get(item))) return error;
            if (!is_type(item, od::json_type::string, error)) {
              if (error) return error;
              continue;
            }
            std::string_view reason;
            if ((error = item.get_string().get(reason))) return error;
            reasons.push_back(reason);
          }
          return SUCCESS;
        }
        if (key == "needs_more") return read_bool(value, p.needs_more);
        if (key == "summary") return read_summary(pool, value, p.summary, SummaryUse::Coverage);
        if (key == "spec") return read_spec(pool, value, p.spec);
        return SUCCESS;
      });
}

void read_recall_payload(std::string_view text, std::size_t padded_size, RecallPayload& out) {
  read_payload(
      text, padded_size, out,
      [](Spares& pool, RecallPayload& p, std::string_view key, od::value value) -> error_code {
        if (key == "needs_more") return read_bool(value, p.needs_more);
        if (key == "summary") return read_summary(pool, value, p.summary, SummaryUse::Coverage);
        if (key == "spec") return read_spec(pool, value, p.spec);
        if (key == "score") return read_number(value, p.score);
        if (key == "at_risk") return read_bool(value, p.at_risk);
        if (key == "level") {
          p.level.reset();
          error_code error;
          if (!is_type(value, od::json_type::string, error)) return error;
          std::string_view level;
          if ((error = value.get_string().get(level))) return error;
          if (!level.empty()) p.level = level;
          return SUCCESS;
        }
        if (key == "components") {
          release(pool, p.component_slots);
          bool is_object = false;
          return read_object(value, is_object, [&](std::string_view member_key, od::value member) {
            if (member_key == "slots") return read_number_fields(pool, member, p.component_slots);
            return SUCCESS;
          });
        }
        return SUCCESS;
      });
}

void read_assembly_payload(std::string_view text, std::size_t padded_size, AssemblyPayload& out) {
  read_payload(
      text, padded_size, out,
      [](Spares& pool, AssemblyPayload& p, std::string_view key, od::value value) -> error_code {
        if (key == "needs_more") return read_bool(value, p.needs_more);
        if (key == "coverage_gap") return read_bool(value, p.coverage_gap);
        if (key == "duration_ms") return read_number(value, p.duration_ms);
        if (key == "summary") return read_summary(pool, value, p.summary, SummaryUse::Assembly);
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

void read_retriever_payload(std::string_view text, std::size_t padded_size, RetrieverPayload& out) {
  read_payload(
      text, padded_size, out,
      [](Spares& pool, RetrieverPayload& p, std::string_view key, od::value value) -> error_code {
        if (key == "summary") return read_summary(pool, value, p.summary, SummaryUse::Retriever);
        if (key == "diagnostics") {
          release(pool, p.counts);
          release(pool, p.timings_ms);
          release(pool, p.lanes);
          release(pool, p.slot_counts);
          bool is_object = false;
          return read_object(value, is_object, [&](std::string_view member_key, od::value member) {
            if (member_key == "counts") return read_number_fields(pool, member, p.counts);
            if (member_key == "timings_ms") return read_number_fields(pool, member, p.timings_ms);
            if (member_key == "lanes") return read_number_fields(pool, member, p.lanes);
            if (member_key == "slots") return read_slots(pool, member, &p.slot_counts, nullptr);
            return SUCCESS;
          });
        }
        return SUCCESS;
      });
}

CoveragePayload read_coverage_payload(std::string_view text) {
  CoveragePayload payload;
  read_coverage_payload(text, 0, payload);
  return payload;
}

RecallPayload read_recall_payload(std::string_view text) {
  RecallPayload payload;
  read_recall_payload(text, 0, payload);
  return payload;
}

AssemblyPayload read_assembly_payload(std::string_view text) {
  AssemblyPayload payload;
  read_assembly_payload(text, 0, payload);
  return payload;
}

RetrieverPayload read_retriever_payload(std::string_view text) {
  RetrieverPayload payload;
  read_retriever_payload(text, 0, payload);
  return payload;
}

}  // namespace tpark::context_section
