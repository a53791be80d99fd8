// Compiled against an older version's sources (their include path comes first)
// with -Dramflow=ramflow_protocolN and -DRAMFLOW_COMPAT_NS=compat_vN, so every
// ingest links into one test binary.
#include "compat/old_ingest.h"

#include <chrono>
#include <condition_variable>
#include <iterator>
#include <mutex>

#include "ingest/socket_server.h"

namespace RAMFLOW_COMPAT_NS {

struct Ingest::Impl : ramflow::ingest::Sink {
  std::mutex mutex;
  std::condition_variable changed;
  Tally tally;
  std::unique_ptr<ramflow::ingest::SocketServer> server;

  void on_connect(const ramflow::ingest::Peer&) override {}
  void on_message(const ramflow::ingest::Peer&, const ramflow::ingest::Envelope& e) override {
    static const char* names[] = {"hello", "phase", "task_start", "call", "heartbeat", "functions", "net_self"};
    std::lock_guard lock(mutex);
    ++tally.accepted[e.message.index() < std::size(names) ? names[e.message.index()] : "other"];
  }
  void on_rejected(const ramflow::ingest::Peer&, ramflow::ingest::RejectReason r) override {
    std::lock_guard lock(mutex);
    ++tally.rejected[std::string(ramflow::ingest::to_string(r))];
  }
  void on_sequence_gap(const ramflow::ingest::Peer&, std::uint64_t) override {}
  void on_refused(uid_t, pid_t) override {}
  void on_disconnect(const ramflow::ingest::Peer&) override {
    {
      std::lock_guard lock(mutex);
      ++tally.disconnects;
    }
    changed.notify_all();
  }
};

Ingest::Ingest(const std::string& socket_path) : impl_(std::make_unique<Impl>()) {
  ramflow::ingest::SocketServer::Options options;
  options.path = socket_path;
  impl_->server = std::make_unique<ramflow::ingest::SocketServer>(options, *impl_);
}

Ingest::~Ingest() { impl_->server->stop(); }

std::optional<std::string> Ingest::start() { return impl_->server->start(); }

Tally Ingest::wait_for_disconnects(int disconnects, int seconds) {
  std::unique_lock lock(impl_->mutex);
  impl_->changed.wait_for(lock, std::chrono::seconds(seconds), [&] { return impl_->tally.disconnects >= disconnects; });
  return impl_->tally;
}

}  // namespace RAMFLOW_COMPAT_NS
