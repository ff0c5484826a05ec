// The web page's routes (docs/ui.md): the redirect, the page and its files
// with their content types, caching and CSP, and nothing outside the UI
// directory. The page itself runs in a real browser in tests/browser/.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "test_host.h"

namespace {

using tpark::test::TestHost;
using tpark::test::TestHostOptions;

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A UI directory of known files, named by TPARK_UI_DIR.
struct UiFixture {
  tpark::test::TempDir dir;
  std::filesystem::path ui() const { return dir.file("ui"); }
  UiFixture() {
    write_file(ui() / "index.html", "<!doctype html><title>page</title>");
    write_file(ui() / "app.js", "export const a = 1;\n");
    write_file(ui() / "style.css", "body{}\n");
    write_file(ui() / "package.json", "{}");
    write_file(ui() / "node_modules/uplot/dist/uPlot.esm.js", "export default 1;\n");
    write_file(ui() / "node_modules/fast-json-patch/module/core.mjs", "export {};\n");
    write_file(dir.file("secret.txt"), "outside\n");
  }
};

TestHostOptions with_ui_dir(const UiFixture& fixture) {
  TestHostOptions options;
  options.env.emplace_back("TPARK_UI_DIR", fixture.ui().string());
  return options;
}

}  // namespace

TEST_CASE("root_redirects_to_the_training_page", "[integration][ui]") {
  TestHost host;
  const auto r = host.get_public("/");
  CHECK(r.status == 302);
  CHECK(r.header("location") == "/ui/training");
}

TEST_CASE("training_page_is_html_with_a_strict_csp_and_no_store", "[integration][ui]") {
  UiFixture fixture;
  TestHost host(with_ui_dir(fixture));
  const auto r = host.get_public("/ui/training");
  REQUIRE(r.status == 200);
  CHECK(r.body == "<!doctype html><title>page</title>");
  CHECK(r.header("content-type") == "text/html; charset=utf-8");
  CHECK(r.header("cache-control") == "no-store");
  const std::string csp = r.header("content-security-policy").value_or("");
  CHECK(csp.find("default-src 'none'") != std::string::npos);
  CHECK(csp.find("script-src 'self';") != std::string::npos);
  CHECK(csp.find("connect-src 'self';") != std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(r.header("x-content-type-options") == "nosniff");
}

TEST_CASE("ui_files_and_vendor_libraries_carry_their_content_types", "[integration][ui]") {
  UiFixture fixture;
  TestHost host(with_ui_dir(fixture));
  const auto js = host.get_public("/ui/app.js");
  REQUIRE(js.status == 200);
  CHECK(js.header("content-type") == "text/javascript; charset=utf-8");
  CHECK(js.header("cache-control") == "no-cache");
  const auto css = host.get_public("/ui/style.css");
  CHECK(css.header("content-type") == "text/css; charset=utf-8");
  const auto uplot = host.get_public("/ui/vendor/uPlot.esm.js");
  REQUIRE(uplot.status == 200);
  CHECK(uplot.body == "export default 1;\n");
  CHECK(uplot.header("content-type") == "text/javascript; charset=utf-8");
  CHECK(uplot.header("cache-control") == "public, max-age=3600");
  CHECK(host.get_public("/ui/vendor/core.mjs").status == 200);
}

TEST_CASE("ui_routes_serve_nothing_outside_the_page_files", "[integration][ui]") {
  UiFixture fixture;
  TestHost host(with_ui_dir(fixture));
  for (const char* target : {"/ui/package.json", "/ui/index.html", "/ui/..%2Fsecret.txt",
                             "/ui/.hidden", "/ui/missing.js", "/ui/vendor/package.json",
                             "/ui/vendor/..%2F..%2Fsecret.txt", "/ui/notes.txt"}) {
    INFO(target);
    const auto r = host.get_public(target);
    CHECK(r.status == 404);
    CHECK(r.header("content-type") == "application/problem+json");
  }
}

TEST_CASE("default_ui_dir_is_the_source_tree_page", "[integration][ui]") {
  TestHost host;
  const auto r = host.get_public("/ui/training");
  REQUIRE(r.status == 200);
  CHECK(r.body.find("<script type=\"module\" src=\"/ui/app.js\"></script>") != std::string::npos);
  CHECK(host.get_public("/ui/live.js").status == 200);
}
