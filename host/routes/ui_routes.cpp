// The web page (docs/ui.md): static files read from Settings::ui_dir at each
// request, so a page edit shows on reload. Public routes: the page asks for
// the admin token itself and sends it on every API call, never in a URL.
#include <array>
#include <fstream>
#include <sstream>
#include <string_view>

#include "http/problem.h"
#include "routes/routes.h"

namespace tpark {

using http::Access;
using http::Request;
using http::Response;

namespace {

// No inline script or style, no other origin: everything comes from the host.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

struct VendorFile {
  std::string_view name;  // as served under /ui/vendor/
  std::string_view path;  // under ui_dir/node_modules/
};
// The npm files the page loads. core.mjs imports ./helpers.mjs, which
// resolves to /ui/vendor/helpers.mjs.
constexpr std::array<VendorFile, 4> kVendorFiles{{
    {"uPlot.esm.js", "uplot/dist/uPlot.esm.js"},
    {"uPlot.min.css", "uplot/dist/uPlot.min.css"},
    {"core.mjs", "fast-json-patch/module/core.mjs"},
    {"helpers.mjs", "fast-json-patch/module/helpers.mjs"},
}};

std::string_view content_type_for(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js") || ends_with(".mjs")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  if (ends_with(".png")) return "image/png";
  return "";
}

// A served name is one plain segment: letters, digits, '.', '-', '_', not
// starting with a dot, so no request can leave the directory.
bool plain_file_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.size() > 128) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

void set_page_headers(Response& r) {
  r.set_header("Content-Security-Policy", std::string(kContentSecurityPolicy));
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("Referrer-Policy", "no-referrer");
  r.set_header("X-Frame-Options", "DENY");
}

Response file_response(const Request& req, const std::filesystem::path& path,
                       std::string_view content_type, std::string_view cache_control) {
  std::ifstream in(path, std::ios::binary);
  if (content_type.empty() || !in)
    return http::problem(req, 404, "not_found", "no such file: " + req.path);
  std::ostringstream text;
  text << in.rdbuf();
  Response r;
  r.content_type = std::string(content_type);
  r.body = std::move(text).str();
  r.set_header("Cache-Control", std::string(cache_control));
  set_page_headers(r);
  return r;
}

}  // namespace

void add_ui_routes(http::Router& router, AppContext& app) {
  const std::filesystem::path ui_dir = app.settings.ui_dir;

  router.add({"GET", "/", Access::Public,
              [](const Request&) {
                Response r;
                r.status = 302;
                r.content_type = "text/plain; charset=utf-8";
                r.body = "the Training Park page is at /ui/training\n";
                r.set_header("Location", "/ui/training");
                r.set_header("Cache-Control", "no-store");
                return r;
              },
              0, true, /*inline_safe=*/true});

  // The page itself: never cached, so a new host version shows at once.
  router.add({"GET", "/ui/training", Access::Public,
              [ui_dir](const Request& req) {
                return file_response(req, ui_dir / "index.html", "text/html; charset=utf-8",
                                     "no-store");
              },
              0, true});

  // The page's own modules and styles: revalidated on every load.
  router.add({"GET", "/ui/{file}", Access::Public,
              [ui_dir](const Request& req) {
                const std::string& name = req.path_params.at("file");
                if (!plain_file_name(name) || name == "package.json" ||
                    name == "package-lock.json" || name == "index.html")
                  return http::problem(req, 404, "not_found", "no such file: " + req.path);
                return file_response(req, ui_dir / name, content_type_for(name), "no-cache");
              },
              0, true});

  // The npm libraries, pinned by package-lock.json.
  router.add({"GET", "/ui/vendor/{file}", Access::Public,
              [ui_dir](const Request& req) {
                const std::string& name = req.path_params.at("file");
                for (const VendorFile& file : kVendorFiles)
                  if (file.name == name)
                    return file_response(req, ui_dir / "node_modules" / file.path,
                                         content_type_for(name), "public, max-age=3600");
                return http::problem(req, 404, "not_found", "no such file: " + req.path);
              },
              0, true});
}

}  // namespace tpark
