#include "kernel/json_text.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#include <nlohmann/json.hpp>

namespace tpark {

namespace {

// Bytes that need an escape: control characters, '"' and '\\'.
constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = true;
  table['"'] = table['\\'] = true;
  return table;
}();

// Whether any of the 8 bytes of `word` needs an escape, tested all at once
// (a byte below 0x20, a '"' or a '\\'): most strings need none, so the scan
// copies them in whole words.
bool word_needs_escape(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  auto has_zero_byte = [](uint64_t v) { return (v - kOnes) & ~v & kHighBits; };
  const uint64_t below_space = (word - kOnes * 0x20) & ~word & kHighBits;
  return (below_space | has_zero_byte(word ^ (kOnes * '"')) |
          has_zero_byte(word ^ (kOnes * '\\'))) != 0;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run_start = 0;
  size_t checked_to = 0;  // bytes before this are known to need no escape
  for (size_t i = 0; i < text.size(); ++i) {
    if (i >= checked_to) {
      while (i + 8 <= text.size()) {
        uint64_t word;
        std::memcpy(&word, text.data() + i, sizeof word);
        if (word_needs_escape(word)) break;
        i += 8;
      }
      checked_to = i + 8;  // the word at i (if any) has an escape: go byte by byte
      if (i >= text.size()) break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (!kNeedsEscape[c]) continue;
    out.append(text.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default: {
        const char escaped[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(escaped, sizeof escaped);
      }
    }
  }
  out.append(text.data() + run_start, text.size() - run_start);
  out.push_back('"');
}

void append_json_int(std::string& out, int64_t value) {
  char buf[24];
  auto result = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, result.ptr);
}

void append_json_uint(std::string& out, uint64_t value) {
  char buf[24];
  auto result = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, result.ptr);
}

void append_json_double(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out.append("null");
    return;
  }
  // The same routine nlohmann's serializer uses, so both writers agree.
  char buf[64];
  char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

}  // namespace tpark
