// The libbpf loader: open, load, attach, poll — one cleanup path (~Impl).
#include "bpf/oom_watcher.h"

#include <bpf/libbpf.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "bpf/oom_watch.h"
#include "bpf/preflight.h"
#include "bpf/victim_view.h"
#include "oom_watch.skel.h"

namespace ramflow::bpf {
namespace {

// libbpf's print hook is process-wide: route it to the latest watcher's sink.
std::mutex g_log_mutex;
std::function<void(std::string_view)> g_log_sink;
const void* g_log_sink_owner = nullptr;  // the watcher whose sink it is
std::string g_last_warning;

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  char line[1024];
  int n = vsnprintf(line, sizeof(line), format, args);
  if (n < 0) return 0;
  std::string_view text(line, std::min<size_t>(static_cast<size_t>(n), sizeof(line) - 1));
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::lock_guard lock(g_log_mutex);
  if (level == LIBBPF_WARN && !text.empty()) g_last_warning.assign(text);
  if (g_log_sink) g_log_sink(text);
  return n;
}

std::string libbpf_failure(const char* step, int err) {
  std::string line = std::string("libbpf could not ") + step + " the OOM watcher: " + std::strerror(err < 0 ? -err : err);
  std::lock_guard lock(g_log_mutex);
  if (!g_last_warning.empty()) line += " (last libbpf message: " + g_last_warning + ")";
  return line;
}

double wall_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

struct OomWatcher::Impl {
  Options options;
  CgroupDirectory cgroups;
  uint64_t own_pid_ns = own_pid_namespace();
  long page_size = sysconf(_SC_PAGESIZE);
  oom_watch* skel = nullptr;
  ring_buffer* ring = nullptr;
  int stop_fd = -1;
  int epoll_fd = -1;
  std::thread poller;
  std::atomic<uint64_t> dropped{0};

  explicit Impl(const Options& o) : options(o), cgroups(o.cgroup_dirs) {
    std::lock_guard lock(g_log_mutex);
    g_log_sink = options.on_debug_log;
    g_log_sink_owner = this;
    g_last_warning.clear();
  }

  ~Impl() {
    stop_polling();
    ring_buffer__free(ring);
    oom_watch__destroy(skel);
    if (epoll_fd >= 0) close(epoll_fd);
    if (stop_fd >= 0) close(stop_fd);
    std::lock_guard lock(g_log_mutex);
    if (g_log_sink_owner == this) {  // the caller's sink may not outlive us
      g_log_sink = nullptr;
      g_log_sink_owner = nullptr;
    }
  }

  // Returns once the poller delivered what the kernel had queued and ended.
  void stop_polling() {
    if (stop_fd >= 0) {
      uint64_t one = 1;
      [[maybe_unused]] auto n = write(stop_fd, &one, sizeof(one));
    }
    if (poller.joinable()) poller.join();
  }

  bool wanted(OomEvent& e) {
    const bool by_cgroup = !cgroups.empty() && cgroups.resolve(e);
    const bool by_pid = options.is_watched_pid && e.pid != 0 && options.is_watched_pid(e.pid);
    if (cgroups.empty() && !options.is_watched_pid) return true;
    return by_cgroup || by_pid;
  }

  static int on_sample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    if (size < sizeof(oom_watch_event)) return 0;
    OomEvent e = to_oom_event(*static_cast<const oom_watch_event*>(data), self->own_pid_ns, self->page_size);
    e.time = wall_seconds();
    if (!self->wanted(e)) {
      self->dropped.fetch_add(1, std::memory_order_relaxed);
      return 0;
    }
    if (self->options.on_event) self->options.on_event(e);
    return 0;
  }

  void poll_loop() {
    epoll_event ready[2];
    for (;;) {
      int n = epoll_wait(epoll_fd, ready, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;
      for (int i = 0; i < n; ++i) {
        if (ready[i].data.fd == stop_fd) {
          ring_buffer__consume(ring);  // deliver what the kernel already queued
          return;
        }
      }
      ring_buffer__consume(ring);
    }
  }

  // Returns "" on success, else the one-line reason.
  std::string open_load_attach() {
    skel = oom_watch__open();
    if (!skel) return libbpf_failure("open", errno);
    if (options.fail_load_for_test) return "forced load failure (Options::fail_load_for_test)";
    if (int err = oom_watch__load(skel)) return libbpf_failure("load", err);
    if (int err = oom_watch__attach(skel)) return libbpf_failure("attach tp_btf/mark_victim for", err);
    ring = ring_buffer__new(bpf_map__fd(skel->maps.events), &Impl::on_sample, this, nullptr);
    if (!ring) return libbpf_failure("create the ring buffer of", errno);
    stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (stop_fd < 0 || epoll_fd < 0) return std::string("cannot create the watcher's wake-up fds: ") + std::strerror(errno);
    epoll_event stop_ev{.events = EPOLLIN, .data = {.fd = stop_fd}};
    epoll_event ring_ev{.events = EPOLLIN, .data = {.fd = ring_buffer__epoll_fd(ring)}};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, stop_fd, &stop_ev) != 0 ||
        epoll_ctl(epoll_fd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(ring), &ring_ev) != 0) {
      return std::string("cannot watch the ring buffer: ") + std::strerror(errno);
    }
    poller = std::thread([this] { poll_loop(); });
    // Named so its own CPU time can be read from /proc (bench/oom_watch/overhead.sh).
    pthread_setname_np(poller.native_handle(), kThreadName);
    return "";
  }
};

bool OomWatcher::built_with_bpf() { return true; }

std::unique_ptr<OomWatcher> OomWatcher::start(const Options& options, std::string* why_not) {
  auto fail = [why_not](std::string reason) -> std::unique_ptr<OomWatcher> {
    if (why_not) *why_not = std::move(reason);
    return nullptr;
  };
  if (std::string problem = preflight_problem(options.btf_path); !problem.empty()) return fail(problem);
  libbpf_set_print(libbpf_print);
  auto impl = std::make_unique<Impl>(options);
  if (std::string problem = impl->open_load_attach(); !problem.empty()) return fail(problem);
  return std::unique_ptr<OomWatcher>(new OomWatcher(std::move(impl)));
}

OomWatcher::OomWatcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OomWatcher::~OomWatcher() = default;

void OomWatcher::stop() {
  if (!impl_) return;
  impl_->stop_polling();
  dropped_after_stop_ = impl_->dropped.load();
  impl_.reset();
}

uint64_t OomWatcher::events_dropped_by_filter() const {
  return impl_ ? impl_->dropped.load(std::memory_order_relaxed) : dropped_after_stop_;
}

}  // namespace ramflow::bpf
