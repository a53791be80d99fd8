#include "webhook/certificate_store.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

namespace ramflow::webhook {
namespace {

// A certificate chain or a key is a few KiB; a bigger file is not one.
constexpr std::streamsize kMaxPemBytes = 1 << 20;

std::string read_pem(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return {};
  }
  std::string text(static_cast<std::size_t>(kMaxPemBytes) + 1, '\0');
  in.read(text.data(), kMaxPemBytes + 1);
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > static_cast<std::size_t>(kMaxPemBytes)) error = path + " is larger than 1 MiB: not a PEM file";
  return text;
}

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no PEM block found";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

Bio memory_bio(const std::string& text) { return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free); }

}  // namespace

struct CertificateStore::KeyPair {
  X509* leaf = nullptr;
  STACK_OF(X509)* chain = nullptr;
  EVP_PKEY* key = nullptr;
  std::int64_t not_after = 0;

  ~KeyPair() {
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
  }

  // Returns what is wrong with the files (empty on success).
  std::string load(const std::string& cert_file, const std::string& key_file) {
    std::string error;
    const std::string cert_text = read_pem(cert_file, error);
    if (!error.empty()) return error;
    const std::string key_text = read_pem(key_file, error);
    if (!error.empty()) return error;

    Bio certs = memory_bio(cert_text);
    leaf = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr);
    if (leaf == nullptr) return "no certificate in " + cert_file + ": " + openssl_error();
    chain = sk_X509_new_null();
    while (X509* next = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)) sk_X509_push(chain, next);
    ERR_clear_error();  // the end of the file reads as an error

    Bio keys = memory_bio(key_text);
    key = PEM_read_bio_PrivateKey(keys.get(), nullptr, nullptr, nullptr);
    if (key == nullptr) return "no private key in " + key_file + ": " + openssl_error();
    if (X509_check_private_key(leaf, key) != 1) {
      ERR_clear_error();
      return "the key in " + key_file + " does not belong to the certificate in " + cert_file;
    }
    std::tm expiry{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &expiry) != 1) return "unreadable expiry date in " + cert_file;
    not_after = static_cast<std::int64_t>(timegm(&expiry));
    return {};
  }
};

CertificateStore::CertificateStore(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

CertificateStore::~CertificateStore() = default;

CertificateStore::FileStamp CertificateStore::stamp(const std::string& path) {
  struct stat st {};
  FileStamp s;
  if (::stat(path.c_str(), &st) != 0) return s;
  s.exists = true;
  s.device = st.st_dev;
  s.inode = st.st_ino;
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.size = st.st_size;
  return s;
}

std::string CertificateStore::load() {
  std::lock_guard lock(mutex_);
  cert_seen_ = stamp(cert_file_);
  key_seen_ = stamp(key_file_);
  auto pair = std::make_shared<KeyPair>();
  if (std::string error = pair->load(cert_file_, key_file_); !error.empty()) return error;
  current_ = pair;
  status_.not_after = pair->not_after;
  return {};
}

void CertificateStore::refresh_locked() {
  FileStamp cert = stamp(cert_file_);
  FileStamp key = stamp(key_file_);
  if (cert == cert_seen_ && key == key_seen_) return;
  cert_seen_ = cert;
  key_seen_ = key;
  auto pair = std::make_shared<KeyPair>();
  if (std::string error = pair->load(cert_file_, key_file_); !error.empty()) {
    ++status_.reload_failures;
    spdlog::warn("TLS files changed but do not load ({}); still serving the previous certificate", error);
    return;
  }
  current_ = pair;
  status_.not_after = pair->not_after;
  ++status_.reloads;
  std::time_t expiry = static_cast<std::time_t>(pair->not_after);
  std::tm utc{};
  gmtime_r(&expiry, &utc);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
  spdlog::info("reloaded the TLS certificate from {} (valid until {})", cert_file_, when);
}

bool CertificateStore::use_on(ssl_st* ssl) {
  std::shared_ptr<const KeyPair> pair;
  {
    std::lock_guard lock(mutex_);
    refresh_locked();
    pair = current_;
  }
  if (!pair) return false;
  return SSL_use_certificate(ssl, pair->leaf) == 1 && SSL_use_PrivateKey(ssl, pair->key) == 1 &&
         SSL_set1_chain(ssl, pair->chain) == 1;
}

CertificateStatus CertificateStore::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

}  // namespace ramflow::webhook
