// The answers to the plugins' state reads (tp_host_api.state_read), one per
// name of kStateReadNames (plugins/host_api.h), by table.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "util/json.h"

namespace tpark {

struct AppContext;

// Reads through `app` when called: null (TP_UNAVAILABLE) while the component
// behind a name is not there yet, nullopt for a name that is not in the table.
// Throws std::logic_error if the table and kStateReadNames differ.
std::function<std::optional<Json>(const std::string& name)> host_state_reads(const AppContext& app);

}  // namespace tpark
