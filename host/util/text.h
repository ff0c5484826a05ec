// Small text helpers every layer shares.
#pragma once

#include <string_view>

namespace tpark {

// `text` without its leading and trailing ASCII whitespace (space, \t, \n,
// \v, \f, \r). A view into `text`: keep the original alive.
std::string_view trim(std::string_view text);

}  // namespace tpark
