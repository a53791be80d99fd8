// What a worker's command line may show in ramflow's output. By default its
// secrets are replaced by "***" (docs/security.md lists exactly what):
//
// * URL credentials: redis://:S3cret@redis:6379/0 → redis://***@redis:6379/0
//   (the whole user-info part of any scheme://user:pass@host, in any argument);
// * the value of an option whose name says it is a secret, in both forms:
//   --password S3cret, --api-key=S3cret, --auth-token x, --client_secret=x;
// * environment-style assignments of such a name: AWS_SECRET_ACCESS_KEY=x, FOO_TOKEN=x;
// * what follows "Authorization:" in an argument (curl -H 'Authorization: Bearer x').
//
// Pure text policy: no I/O; `--show-command-lines true` is the way around it.
//
//   std::vector<std::string> shown = redact_command_line(process.cmdline);
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ramflow::model {

inline constexpr std::string_view kRedacted = "***";

std::vector<std::string> redact_command_line(const std::vector<std::string>& argv);

// True when an option or variable name says its value is a secret
// (password, passwd, pass, pwd, secret, token, key, apikey, auth, credential(s),
// passphrase, cookie, signature, private as a word of it; password, passwd,
// secret, token, apikey, credential, passphrase, authorization anywhere in it).
bool is_secret_name(std::string_view name);

}  // namespace ramflow::model
