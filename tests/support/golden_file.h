// Golden files: a test's output compared byte for byte with a committed file,
// so that a change in behaviour shows up as a diff a reviewer accepts.
// TPARK_UPDATE_GOLDEN=1 rewrites the file (then review the diff).
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace tpark::test {

inline void check_golden_file(const std::string& actual, const std::string& path) {
  if (const char* update = std::getenv("TPARK_UPDATE_GOLDEN");
      update && std::string(update) == "1") {
    std::ofstream(path) << actual;
    WARN("rewrote " + path);
  }
  std::ifstream in(path);
  std::stringstream expected;
  expected << in.rdbuf();
  INFO("golden file " << path << " (TPARK_UPDATE_GOLDEN=1 rewrites it after review)");
  CHECK(actual == expected.str());
}

}  // namespace tpark::test
