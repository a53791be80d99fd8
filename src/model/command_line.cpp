#include "model/command_line.h"

#include <algorithm>
#include <cctype>

namespace ramflow::model {
namespace {

constexpr std::string_view kSecretWords[] = {"password", "passwd", "pass",       "pwd",      "secret",
                                             "token",    "key",    "apikey",     "auth",     "credential",
                                             "credentials", "passphrase", "cookie", "signature", "private"};
constexpr std::string_view kSecretParts[] = {"password", "passwd",     "secret",       "token",
                                             "apikey",   "credential", "passphrase",   "authorization"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s.front()))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// scheme://user:pass@host → scheme://***@host, for every URL in `arg`.
std::string without_url_credentials(std::string arg) {
  for (std::size_t pos = arg.find("://"); pos != std::string::npos; pos = arg.find("://", pos + 3)) {
    const std::size_t start = pos + 3;
    std::size_t end = arg.find_first_of("/?# \t", start);
    if (end == std::string::npos) end = arg.size();
    const std::size_t at = arg.rfind('@', end == 0 ? 0 : end - 1);
    if (at == std::string::npos || at < start) continue;
    arg.replace(start, at - start, kRedacted);
  }
  return arg;
}

std::string without_authorization(std::string arg) {
  const std::size_t at = lower(arg).find("authorization:");
  if (at != std::string::npos) arg = arg.substr(0, at + 14) + " " + std::string(kRedacted);
  return arg;
}

}  // namespace

bool is_secret_name(std::string_view name) {
  const std::string n = lower(name);
  for (std::string_view part : kSecretParts) {
    if (n.find(part) != std::string::npos) return true;
  }
  std::size_t start = 0;
  while (start <= n.size()) {
    std::size_t end = n.find_first_of("-_.", start);
    if (end == std::string::npos) end = n.size();
    const std::string_view word = std::string_view(n).substr(start, end - start);
    if (std::find(std::begin(kSecretWords), std::end(kSecretWords), word) != std::end(kSecretWords)) return true;
    start = end + 1;
  }
  return false;
}

std::vector<std::string> redact_command_line(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  out.reserve(argv.size());
  bool value_is_secret = false;  // the previous argument was a secret option without =value
  for (const std::string& arg : argv) {
    if (value_is_secret && !arg.empty() && arg.front() != '-') {
      out.emplace_back(kRedacted);
      value_is_secret = false;
      continue;
    }
    value_is_secret = false;
    std::string shown = without_authorization(without_url_credentials(arg));
    const std::size_t eq = shown.find('=');
    if (!arg.empty() && arg.front() == '-') {
      const std::size_t name_end = eq == std::string::npos ? shown.size() : eq;
      const std::size_t name_start = std::min(shown.find_first_not_of('-'), name_end);
      const std::string_view name = std::string_view(shown).substr(name_start, name_end - name_start);
      if (is_secret_name(name)) {
        if (eq == std::string::npos) value_is_secret = true;
        else shown = shown.substr(0, eq + 1) + std::string(kRedacted);
      }
    } else if (eq != std::string::npos && is_identifier(std::string_view(shown).substr(0, eq)) &&
               is_secret_name(std::string_view(shown).substr(0, eq))) {
      shown = shown.substr(0, eq + 1) + std::string(kRedacted);
    }
    out.push_back(std::move(shown));
  }
  return out;
}

}  // namespace ramflow::model
