// What `ramflowd recommend --prometheus` sends a fleet store besides the query: a
// bearer token or basic auth, read from files (a secret on the command line shows
// in `ps`), and a tenant (X-Scope-OrgID: Mimir, Cortex, Thanos Receive).
//
//   PrometheusAuth auth{.token_file = "/var/run/secrets/token", .tenant = "team-a"};
//   for (auto& [name, value] : prometheus_headers(auth)) ...
//
// Errors are std::invalid_argument naming the option to fix; no secret is ever
// part of a message.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ramflow::app {

struct PrometheusAuth {
  std::string token_file;     // --prometheus-token-file
  std::string user;           // --prometheus-user
  std::string password_file;  // --prometheus-password-file
  std::string tenant;         // --prometheus-tenant

  bool empty() const { return token_file.empty() && user.empty() && password_file.empty() && tenant.empty(); }
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The request headers; reads the files. Throws std::invalid_argument for a token
// and a user together, a user without a password file (or the reverse), an
// unreadable, empty or multi-line secret, or a tenant a header cannot carry.
HeaderList prometheus_headers(const PrometheusAuth& auth);

// What to tell the user when the store answers `status` (401, 403) to these
// credentials; empty for other answers.
std::string auth_hint(int status, const PrometheusAuth& auth, const std::string& body);

}  // namespace ramflow::app
