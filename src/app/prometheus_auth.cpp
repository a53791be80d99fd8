#include "app/prometheus_auth.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <httplib.h>

namespace ramflow::app {
namespace {

constexpr std::size_t kMaxSecretBytes = 64 * 1024;  // a token file, not a whole volume
constexpr std::size_t kMaxTenantChars = 150;        // Mimir's limit on a tenant ID

bool printable(unsigned char c) { return c >= 0x20 && c < 0x7f; }

// The one line a secret file holds, without its line end.
std::string read_secret(const std::string& path, const std::string& option, bool spaces_allowed) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read " + option + " " + path + ": " + std::strerror(errno));
  std::string text(kMaxSecretBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxSecretBytes) {
    throw std::invalid_argument(option + " " + path + " is larger than 64 KiB: give the file that holds only the secret");
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) throw std::invalid_argument(option + " " + path + " is empty");
  const bool one_line = std::all_of(text.begin(), text.end(), [&](unsigned char c) {
    return printable(c) && (spaces_allowed || c != ' ');
  });
  if (!one_line) {
    throw std::invalid_argument(option + " " + path + ": the secret must be one line of printable characters" +
                                (spaces_allowed ? "" : " without spaces"));
  }
  return text;
}

}  // namespace

HeaderList prometheus_headers(const PrometheusAuth& auth) {
  if (!auth.token_file.empty() && (!auth.user.empty() || !auth.password_file.empty())) {
    throw std::invalid_argument("give either --prometheus-token-file or --prometheus-user/--prometheus-password-file, not both");
  }
  if (auth.user.empty() != auth.password_file.empty()) {
    throw std::invalid_argument("--prometheus-user and --prometheus-password-file go together (basic auth)");
  }
  HeaderList headers;
  if (!auth.token_file.empty()) {
    headers.emplace_back("Authorization", "Bearer " + read_secret(auth.token_file, "--prometheus-token-file", false));
  }
  if (!auth.user.empty()) {
    if (auth.user.find(':') != std::string::npos ||
        !std::all_of(auth.user.begin(), auth.user.end(), [](unsigned char c) { return printable(c); })) {
      throw std::invalid_argument("--prometheus-user must be printable characters without ':' (basic auth cannot carry them)");
    }
    headers.push_back(httplib::make_basic_authentication_header(
        auth.user, read_secret(auth.password_file, "--prometheus-password-file", true)));
  }
  if (!auth.tenant.empty()) {
    const bool fits = auth.tenant.size() <= kMaxTenantChars &&
                      std::all_of(auth.tenant.begin(), auth.tenant.end(),
                                  [](unsigned char c) { return printable(c) && c != ' '; });
    if (!fits) {
      throw std::invalid_argument("--prometheus-tenant must be at most 150 printable characters without spaces");
    }
    headers.emplace_back("X-Scope-OrgID", auth.tenant);
  }
  return headers;
}

std::string auth_hint(int status, const PrometheusAuth& auth, const std::string& body) {
  std::string lower(body.substr(0, 512));
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (auth.tenant.empty() && (lower.find("org id") != std::string::npos || lower.find("orgid") != std::string::npos)) {
    return "the store is multi-tenant: give --prometheus-tenant ID";
  }
  const bool credentials = !auth.token_file.empty() || !auth.user.empty();
  if (status == 401) {
    return credentials ? "the store refused these credentials: check --prometheus-token-file or "
                         "--prometheus-user/--prometheus-password-file"
                       : "the store asks for credentials: give --prometheus-token-file FILE or "
                         "--prometheus-user USER --prometheus-password-file FILE";
  }
  if (status == 403) {
    return "the credentials are not allowed to read this data: check --prometheus-tenant and what the token or user may read";
  }
  return "";
}

}  // namespace ramflow::app
