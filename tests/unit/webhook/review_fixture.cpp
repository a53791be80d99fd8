#include "review_fixture.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <openssl/evp.h>

namespace ramflow::webhook::testing {
namespace {

const std::string kHere = RAMFLOW_WEBHOOK_TEST_DIR;

// OpenSSL's decoder, so the encoder is checked against another implementation.
std::string base64_decode(const std::string& text) {
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  EXPECT_GE(n, 0) << "the patch is not base64";
  std::size_t padding = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++padding;
  out.resize(static_cast<std::size_t>(std::max(n, 0)) - padding);
  return out;
}

}  // namespace

nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

nlohmann::json fixture(const std::string& name) { return load_json(kHere + "/fixtures/" + name); }

InjectionSettings chart_settings() {
  InjectionSettings s;
  s.image = "ghcr.io/ramflow/ramflow:0.1.0";
  return s;
}

Answer review(const nlohmann::json& admission_review, Scope scope, const InjectionSettings& settings) {
  Answer a;
  a.result = review_admission(admission_review.dump(), scope, settings);
  nlohmann::json body = nlohmann::json::parse(a.result.body);
  if (a.result.http_status != 200) return a;
  EXPECT_EQ(body["apiVersion"], admission_review["apiVersion"]);
  EXPECT_EQ(body["kind"], "AdmissionReview");
  a.response = body["response"];
  EXPECT_EQ(a.response["uid"], admission_review["request"]["uid"]);
  EXPECT_EQ(a.response["allowed"], true) << "ramflow must never refuse an object";
  a.object = admission_review["request"].value("object", nlohmann::json());
  if (a.response.contains("patch")) {
    EXPECT_EQ(a.response["patchType"], "JSONPatch");
    a.patch = nlohmann::json::parse(base64_decode(a.response["patch"].get<std::string>()));
    a.object = a.object.patch(a.patch);
  } else {
    EXPECT_FALSE(a.response.contains("patchType"));
  }
  return a;
}

nlohmann::json with_object(nlohmann::json admission_review, const nlohmann::json& pod) {
  admission_review["request"]["object"] = pod;
  return admission_review;
}

void expect_golden(const nlohmann::json& actual, const std::string& name) {
  const std::string path = kHere + "/expected/" + name;
  if (const char* update = std::getenv("RAMFLOW_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(path) << actual.dump(2) << "\n";
    return;
  }
  nlohmann::json expected = load_json(path);
  EXPECT_TRUE(actual == expected) << "differs from expected/" << name << " (RFC 6902, from expected to actual): "
                                  << nlohmann::json::diff(expected, actual).dump(2);
}

}  // namespace ramflow::webhook::testing
