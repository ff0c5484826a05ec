#include "control/validation.h"

#include <sodium.h>

#include <cmath>

namespace tpark::control {

namespace {

bool token_chars(std::string_view text, size_t max) {
  if (text.empty() || text.size() > max) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                    c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool valid_kind(std::string_view kind) {
  return token_chars(kind, 128);
}
bool valid_capability(std::string_view capability) {
  return token_chars(capability, 64);
}

bool valid_idem_key(std::string_view key) {
  if (key.empty() || key.size() > 128) return false;
  for (char c : key)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

std::string decode_base64(std::string_view text) {
  // libsodium's strict decoder: with its padding, or without any.
  std::string out(text.size() / 4 * 3 + 3, '\0');
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING}) {
    size_t length = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                          text.size(), nullptr, &length, nullptr, variant) == 0) {
      out.resize(length);
      return out;
    }
  }
  return {};
}

std::string encode_base64(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<int64_t> integral_in_range(const Json& value, int64_t min, int64_t max) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned()) {
      const uint64_t u = value.get<uint64_t>();
      if (u > static_cast<uint64_t>(max)) return std::nullopt;
      if (static_cast<int64_t>(u) < min) return std::nullopt;
      return static_cast<int64_t>(u);
    }
    const int64_t n = value.get<int64_t>();
    if (n < min || n > max) return std::nullopt;
    return n;
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (!std::isfinite(d) || std::floor(d) != d) return std::nullopt;
    if (d < static_cast<double>(min) || d > static_cast<double>(max)) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

ActionBody validate_action_body(std::string_view body) {
  ActionBody out;
  http::ParsedBody parsed = http::parse_json_body(body);
  if (!parsed.document) {
    out.malformed = true;
    out.malformed_message = parsed.error_message;
    out.malformed_offset = parsed.error_offset;
    return out;
  }
  const Json& document = *parsed.document;
  if (!document.is_object()) {
    out.errors.push_back({"", "expected a JSON object {kind,input,idem_key?}"});
    return out;
  }
  auto kind = document.find("kind");
  if (kind == document.end()) {
    out.errors.push_back({"kind", "required"});
  } else if (!kind->is_string()) {
    out.errors.push_back({"kind", "expected a string"});
  } else if (!valid_kind(kind->get_ref<const std::string&>())) {
    out.errors.push_back({"kind", "expected [a-z0-9_.:-]{1,128}"});
  } else {
    out.kind = kind->get<std::string>();
  }
  auto input = document.find("input");
  if (input == document.end()) {
    out.errors.push_back({"input", "required"});
  } else if (!input->is_object()) {
    out.errors.push_back({"input", "expected an object"});
  } else {
    out.input = *input;
  }
  auto idem = document.find("idem_key");
  if (idem != document.end() && !idem->is_null()) {
    if (!idem->is_string() || !valid_idem_key(idem->get_ref<const std::string&>()))
      out.errors.push_back({"idem_key", "expected 1-128 printable ASCII characters"});
    else
      out.idem_key = idem->get<std::string>();
  }
  return out;
}

LeaseBody validate_lease_body(const Json& body) {
  LeaseBody out;
  auto& errors = out.errors;
  auto cap = body.find("capability");
  if (cap == body.end())
    errors.push_back({"capability", "required"});
  else if (!cap->is_string() || !valid_capability(cap->get_ref<const std::string&>()))
    errors.push_back({"capability", "expected [a-z0-9_.:-]{1,64}"});
  else
    out.capability = cap->get<std::string>();
  if (auto it = body.find("scope"); it != body.end() && !it->is_null()) {
    if (!it->is_string())
      errors.push_back({"scope", "expected a comma-separated string of patterns"});
    else
      out.scope = it->get<std::string>();
  }
  if (auto it = body.find("ttl_secs"); it != body.end() && !it->is_null()) {
    if (auto n = integral_in_range(*it, 1, 86400))
      out.ttl_secs = *n;
    else
      errors.push_back({"ttl_secs", "expected an integer in [1,86400]"});
  }
  if (auto it = body.find("budget"); it != body.end() && !it->is_null()) {
    if (auto n = integral_in_range(*it, 1, 1000000))
      out.budget = *n;
    else
      errors.push_back({"budget", "expected an integer in [1,1000000] or null"});
  }
  return out;
}

TeardownBody validate_teardown_body(const Json& body) {
  TeardownBody out;
  auto& errors = out.errors;
  if (auto it = body.find("ids"); it != body.end() && !it->is_null()) {
    if (!it->is_array())
      errors.push_back({"ids", "expected an array of capsule ids"});
    else
      for (size_t i = 0; i < it->size(); ++i) {
        if ((*it)[i].is_string())
          out.ids.push_back((*it)[i].get<std::string>());
        else
          errors.push_back({"ids." + std::to_string(i), "expected a string"});
      }
  }
  if (auto it = body.find("all"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean())
      errors.push_back({"all", "expected a boolean"});
    else
      out.all = it->get<bool>();
  }
  if (auto it = body.find("dry_run"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean())
      errors.push_back({"dry_run", "expected a boolean"});
    else
      out.dry_run = it->get<bool>();
  }
  if (errors.empty() && !out.all && !body.contains("ids"))
    errors.push_back({"ids", "required unless all is true"});
  return out;
}

}  // namespace tpark::control
