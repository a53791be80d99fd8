#include "webhook/webhook_server.h"

#include <thread>

#include <httplib.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "webhook/admission_review.h"
#include "webhook/certificate_store.h"
#include "webhook/webhook_metrics.h"

namespace ramflow::webhook {
namespace {

// The API server sends objects of at most 3 MiB; an AdmissionReview wraps one
// (oldObject is null on CREATE). Four threads bound the memory a burst can take.
constexpr std::size_t kMaxReviewBytes = 4 << 20;
constexpr std::size_t kThreads = 4;

int use_certificate(SSL* ssl, void* store) { return static_cast<CertificateStore*>(store)->use_on(ssl) ? 1 : 0; }

void log_review(const ReviewResult& r, const std::string& peer) {
  switch (r.outcome) {
    case Outcome::kInjected:
      spdlog::info("injected ramflow into {} (worker container {}, {} patch operations)", r.object, r.worker,
                   r.operations);
      break;
    case Outcome::kAlreadyInjected:
    case Outcome::kNotRequested:
      spdlog::debug("{} left unchanged: {}", r.object, r.reason);
      break;
    case Outcome::kMalformedRequest:
      spdlog::warn("HTTP {} to {}: {}", r.http_status, peer, r.reason);
      break;
    default:
      spdlog::warn("allowed {} unchanged ({}): {}", r.object, to_string(r.outcome), r.reason);
  }
  for (const auto& w : r.warnings) spdlog::warn("{}: {}", r.object, w);
}

}  // namespace

struct WebhookServer::Impl {
  explicit Impl(WebhookOptions o) : options(std::move(o)), certificates(options.tls_cert, options.tls_key) {}

  WebhookOptions options;
  CertificateStore certificates;
  ReviewCounters reviews;
  std::unique_ptr<httplib::SSLServer> server;
  std::thread thread;
  int port = 0;

  httplib::Server::Handler mutate(Scope scope) {
    return [this, scope](const httplib::Request& req, httplib::Response& res) {
      ReviewResult r = review_admission(req.body, scope, options.injection);
      reviews.count(r.outcome);
      log_review(r, req.remote_addr);
      res.status = r.http_status;
      res.set_content(std::move(r.body), "application/json");
    };
  }

  void routes() {
    server->Post("/mutate", mutate(Scope::kAnnotatedPods));
    server->Post("/mutate/namespace", mutate(Scope::kLabelledNamespace));
    server->Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
    server->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(render_webhook_metrics(reviews, certificates.status()), "text/plain; version=0.0.4");
    });
    server->set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr e) {
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        what = x.what();
      } catch (...) {
      }
      spdlog::error("request to {} from {} failed: {}", req.path, req.remote_addr, what);
      res.status = 500;
      res.set_content("{\"error\":\"internal error, see the webhook's log\"}", "application/json");
    });
    server->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (res.status == 413) {
        spdlog::warn("refused a request of {} bytes to {} from {}: the limit is {} bytes",
                     req.get_header_value("Content-Length"), req.path, req.remote_addr, kMaxReviewBytes);
      }
    });
  }

  std::string bind() {
    const std::string& listen = options.listen;
    auto colon = listen.rfind(':');
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    const int wanted = std::stoi(listen.substr(colon + 1));
    port = wanted == 0 ? server->bind_to_any_port(host) : (server->bind_to_port(host, wanted) ? wanted : -1);
    if (port <= 0) return "cannot listen on " + listen + ": the address is in use or not available (--listen HOST:PORT)";
    return {};
  }
};

WebhookServer::WebhookServer(WebhookOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

WebhookServer::~WebhookServer() { stop(); }

std::string WebhookServer::start() {
  Impl& i = *impl_;
  if (std::string error = i.certificates.load(); !error.empty()) {
    return "cannot load the TLS certificate: " + error + " (--tls-cert, --tls-key)";
  }
  i.server = std::make_unique<httplib::SSLServer>([&i](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_cert_cb(&ctx, use_certificate, &i.certificates);
    return true;
  });
  if (!i.server->is_valid()) return "cannot set up TLS (OpenSSL refused the server context)";
  i.server->set_payload_max_length(kMaxReviewBytes);
  i.server->set_read_timeout(10, 0);
  i.server->set_write_timeout(10, 0);
  i.server->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  i.routes();
  if (std::string error = i.bind(); !error.empty()) return error;
  i.thread = std::thread([&i] { i.server->listen_after_bind(); });
  const std::string& listen = i.options.listen;
  spdlog::info("ramflow webhook listening on https://{}:{}", listen.substr(0, listen.rfind(':')), i.port);
  return {};
}

int WebhookServer::port() const { return impl_->port; }

void WebhookServer::stop() {
  if (!impl_ || !impl_->server) return;
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace ramflow::webhook
