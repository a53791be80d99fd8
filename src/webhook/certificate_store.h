// The webhook's serving certificate and key, reread when their files change
// (cert-manager renewals, a rotated Secret: the kubelet swaps a Secret volume's
// files atomically). Every TLS handshake asks for the current pair; a pair that
// does not load (half-written file, key not matching the certificate) is
// refused and the previous one stays in use, so the server never goes dark.
// Thread-safe. OpenSSL types stay out of this header.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <sys/stat.h>

struct ssl_st;

namespace ramflow::webhook {

struct CertificateStatus {
  std::int64_t not_after = 0;  // seconds since the epoch; 0 before the first load
  std::uint64_t reloads = 0;   // successful loads after the first
  std::uint64_t reload_failures = 0;
};

class CertificateStore {
 public:
  CertificateStore(std::string cert_file, std::string key_file);
  ~CertificateStore();
  CertificateStore(const CertificateStore&) = delete;
  CertificateStore& operator=(const CertificateStore&) = delete;

  // The first load; returns what is wrong (empty on success).
  std::string load();
  // Rereads the files if they changed, then puts the current pair on the
  // connection. False when no pair has ever loaded.
  bool use_on(ssl_st* ssl);
  CertificateStatus status() const;

 private:
  struct KeyPair;
  struct FileStamp {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    std::int64_t mtime_ns = 0;
    off_t size = 0;
    bool operator==(const FileStamp&) const = default;
  };
  static FileStamp stamp(const std::string& path);
  void refresh_locked();

  const std::string cert_file_;
  const std::string key_file_;
  mutable std::mutex mutex_;
  std::shared_ptr<const KeyPair> current_;
  FileStamp cert_seen_;
  FileStamp key_seen_;
  CertificateStatus status_;
};

}  // namespace ramflow::webhook
