// docs/openapi.yaml documents exactly the routes the host serves: the set of
// "METHOD TEMPLATE" pairs from `tpark-host --list-routes` (the Router's own
// table) equals the set of (method, path) pairs in the document. A route
// added to the host without its documentation, or documented but never
// served, fails here by name.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
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

// docs/arw-compat.md names routes as `METHOD /path` (a query string allowed);
// each one is a route docs/openapi.yaml documents, so the page never points
// ARW clients at a route the host does not serve.
TEST_CASE("arw_compat_page_lists_only_documented_routes", "[integration][openapi][docs]") {
  std::ifstream page(std::string(TPARK_SOURCE_DIR) + "/docs/arw-compat.md");
  REQUIRE(page.good());
  const std::string text((std::istreambuf_iterator<char>(page)), std::istreambuf_iterator<char>());
  const RouteSet documented = documented_routes();
  static const std::regex mention(R"(`(GET|POST|PUT|DELETE|PATCH) (/[^`?\s]*)[^`]*`)");
  RouteSet listed;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), mention);
       it != std::sregex_iterator(); ++it)
    listed.insert((*it)[1].str() + " " + (*it)[2].str());
  INFO("in docs/arw-compat.md but not in docs/openapi.yaml:\n" << difference(listed, documented));
  CHECK(difference(listed, documented) == "  (none)\n");
  // The page goes route by route: the ARW-facing routes are all there.
  for (const char* route :
       {"GET /about", "GET /healthz", "GET /events", "GET /state/actions", "GET /actions/{id}",
        "POST /actions", "POST /leases", "GET /state/training/telemetry", "GET /state/config"})
    CHECK(listed.count(route) == 1);
  std::ifstream readme(std::string(TPARK_SOURCE_DIR) + "/README.md");
  const std::string readme_text((std::istreambuf_iterator<char>(readme)),
                                std::istreambuf_iterator<char>());
  CHECK(readme_text.find("docs/arw-compat.md") != std::string::npos);
}
