// Random identifiers for rows the host creates (actions, leases).
#pragma once

#include <string>

namespace tpark {

// A lowercase UUIDv4 from libsodium's CSPRNG.
std::string random_uuid_v4();

}  // namespace tpark
