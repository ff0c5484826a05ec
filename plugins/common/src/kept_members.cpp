#include "tpark/json/kept_members.h"

#include <algorithm>
#include <cstdlib>

#include <simdjson.h>

namespace tpark::json {
namespace {

using Json = nlohmann::ordered_json;

namespace od = simdjson::ondemand;

simdjson::error_code read_value(od::value value, const Keep& keep, Json& out);

// A number as nlohmann types it: non-negative integers unsigned, negative
// ones signed, others (and integers beyond 64 bits) floating point.
simdjson::error_code read_number(od::value value, Json& out) {
  od::number_type type;
  if (auto error = value.get_number_type().get(type)) return error;
  if (type == od::number_type::signed_integer) {
    int64_t number = 0;
    if (value.get_int64().get(number) == simdjson::SUCCESS) {
      out = number >= 0 ? Json(static_cast<uint64_t>(number)) : Json(number);
      return simdjson::SUCCESS;
    }
  } else if (type == od::number_type::unsigned_integer) {
    uint64_t number = 0;
    if (value.get_uint64().get(number) == simdjson::SUCCESS) {
      out = number;
      return simdjson::SUCCESS;
    }
  } else {
    double number = 0;
    if (value.get_double().get(number) == simdjson::SUCCESS) {
      out = number;
      return simdjson::SUCCESS;
    }
  }
  std::string_view token = value.raw_json_token();
  out = std::strtod(std::string(token).c_str(), nullptr);
  return simdjson::SUCCESS;
}

simdjson::error_code read_members(od::object object, const Keep& keep, Json& out) {
  out = Json::object();
  for (auto field : object) {
    std::string_view key;
    if (auto error = field.unescaped_key().get(key)) return error;
    const Keep* child = keep.members.empty() ? &kWhole : keep.find(key);
    if (child == nullptr) continue;  // on-demand skips the value
    od::value value;
    if (auto error = field.value().get(value)) return error;
    if (auto error = read_value(value, *child, out[std::string(key)])) return error;
  }
  return simdjson::SUCCESS;
}

simdjson::error_code read_value(od::value value, const Keep& keep, Json& out) {
  od::json_type type;
  if (auto error = value.type().get(type)) return error;
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (auto error = value.get_object().get(object)) return error;
      return read_members(object, keep, out);
    }
    case od::json_type::array: {
      od::array array;
      if (auto error = value.get_array().get(array)) return error;
      out = Json::array();
      for (auto element : array) {
        od::value item;
        if (auto error = element.get(item)) return error;
        if (auto error = read_value(item, kWhole, out.emplace_back())) return error;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view text;
      if (auto error = value.get_string().get(text)) return error;
      out = std::string(text);
      return simdjson::SUCCESS;
    }
    case od::json_type::number:
      return read_number(value, out);
    case od::json_type::boolean: {
      bool flag = false;
      if (auto error = value.get_bool().get(flag)) return error;
      out = flag;
      return simdjson::SUCCESS;
    }
    case od::json_type::null:
      out = nullptr;
      return simdjson::SUCCESS;
  }
  return simdjson::INCORRECT_TYPE;
}

}  // namespace

struct KeptReader::Parser {
  od::parser parser;
  std::string padded;
};

KeptReader::KeptReader() : parser_(std::make_unique<Parser>()) {}
KeptReader::~KeptReader() = default;

bool KeptReader::read_object(std::string_view payload, const Keep& keep, Json& out) {
  std::string& padded = parser_->padded;
  if (padded.size() < payload.size() + simdjson::SIMDJSON_PADDING)
    padded.resize(payload.size() + simdjson::SIMDJSON_PADDING);
  std::copy(payload.begin(), payload.end(), padded.begin());
  out = Json::object();
  od::document document;
  od::object object;
  if (parser_->parser.iterate(padded.data(), payload.size(), padded.size()).get(document) ||
      document.get_object().get(object) || read_members(object, keep, out)) {
    out = Json::object();
    return false;
  }
  return true;
}

Json KeptReader::read(std::string_view payload, const Keep& keep) {
  Json out;
  read_object(payload, keep, out);
  return out;
}

}  // namespace tpark::json
