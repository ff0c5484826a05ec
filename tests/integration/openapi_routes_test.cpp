// docs/openapi.yaml documents exactly the routes the host serves: the set of
// "METHOD TEMPLATE" pairs from `tpark-host --list-routes` (the Router's own
// table) equals the set of (method, path) pairs in the document. A route
// added to the host without its documentation, or documented but never
// served, fails here by name.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <yaml-cpp/yaml.h>

#include "support/host_process.h"

using namespace tpark::test;

namespace {

using RouteSet = std::set<std::string>;

RouteSet served_routes() {
  TempDir dir;
  HostProcess::Options o;
  o.args = {"--listen", "127.0.0.1:0", "--state-dir", dir.file("state"), "--list-routes"};
  o.env.emplace_back("TPARK_BUILTIN_PLUGIN_DIR", TPARK_BUILTIN_PLUGIN_DIR);
  o.log_path = dir.file("host.log");
  o.wait_for_listening = false;
  HostProcess host(std::move(o));
  const auto code = host.wait_exit(std::chrono::seconds(60));
  INFO(host.log());
  REQUIRE(code.has_value());
  REQUIRE(*code == 0);
  // Log lines start with a timestamp; route lines with an upper-case method.
  static const std::regex route_line(R"(^([A-Z]+) (/\S*)( json)?$)");
  RouteSet routes;
  std::istringstream lines(host.log());
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, route_line)) routes.insert(m[1].str() + " " + m[2].str());
  }
  return routes;
}

RouteSet documented_routes() {
  YAML::Node doc = YAML::LoadFile(std::string(TPARK_SOURCE_DIR) + "/docs/openapi.yaml");
  REQUIRE(doc["openapi"].as<std::string>().rfind("3.0", 0) == 0);
  static const std::set<std::string> methods = {"get", "put", "post", "delete",
                                                "options", "head", "patch", "trace"};
  RouteSet routes;
  for (const auto& path : doc["paths"]) {
    for (const auto& operation : path.second) {
      std::string method = operation.first.as<std::string>();
      if (methods.count(method) == 0) continue;  // parameters, summary, ...
      std::transform(method.begin(), method.end(), method.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      routes.insert(method + " " + path.first.as<std::string>());
    }
  }
  return routes;
}

std::string difference(const RouteSet& a, const RouteSet& b) {
  std::string out;
  for (const auto& r : a)
    if (b.count(r) == 0) out += "  " + r + "\n";
  return out.empty() ? "  (none)\n" : out;
}

}  // namespace

TEST_CASE("openapi_documents_exactly_the_served_routes", "[integration][openapi]") {
  const RouteSet served = served_routes();
  const RouteSet documented = documented_routes();
  REQUIRE(served.count("GET /healthz") == 1);  // the listing itself works
  INFO("served but not in docs/openapi.yaml:\n"
       << difference(served, documented) << "in docs/openapi.yaml but not served:\n"
       << difference(documented, served));
  CHECK(served == documented);
}
