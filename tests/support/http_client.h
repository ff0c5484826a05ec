// The tests' HTTP client is the CLI's (cli/net/http_client.h): these names
// keep the tests' spelling.
#pragma once

#include "net/http_client.h"
#include "util/json.h"

namespace tpark::test {

using tpark::client::HeaderList;
using tpark::client::HttpConnection;
using tpark::client::HttpResult;
using tpark::client::kDefaultHttpTimeout;
using tpark::client::request;
using tpark::client::StreamReader;

}  // namespace tpark::test
