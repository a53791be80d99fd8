#include "ingest/default_socket_path.h"

#include <sys/stat.h>
#include <unistd.h>

namespace ramflow::ingest {

std::string default_socket_path(const std::string& run_dir, uid_t uid) {
  struct stat st {};
  if (::stat(run_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return run_dir + "/ramflow.sock";
  return "/tmp/ramflow-" + std::to_string(uid) + "/ramflow.sock";
}

std::string default_socket_path() { return default_socket_path("/run/ramflow", ::getuid()); }

}  // namespace ramflow::ingest
