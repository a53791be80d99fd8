// The HTTPS server of `ramflowd webhook`:
//   POST /mutate            pods that opt in with ramflow.io/inject: "true"
//   POST /mutate/namespace  every pod of a namespace labelled ramflow.io/inject=true,
//                           unless it says ramflow.io/inject: "false"
//   GET  /healthz           200 once a certificate is loaded
//   GET  /metrics           ramflow_webhook_* (docs/metrics.md)
// TLS 1.2+ through cpp-httplib and OpenSSL, with the certificate and key
// reread when their files change. cpp-httplib stays an implementation detail.
#pragma once

#include <memory>
#include <string>

#include "webhook/webhook_options.h"

namespace ramflow::webhook {

class WebhookServer {
 public:
  explicit WebhookServer(WebhookOptions options);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // Loads the certificate, binds --listen and serves on its own threads.
  // Returns what went wrong (empty on success). Port 0 picks a free port.
  std::string start();
  int port() const;
  void stop();  // returns once the listener is closed

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ramflow::webhook
