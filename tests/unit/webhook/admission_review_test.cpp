// The AdmissionReview envelope: what is not a Pod CREATE goes through
// unchanged, what is not an AdmissionReview gets HTTP 400, and the response
// echoes the request's uid and apiVersion.
#include <gtest/gtest.h>

#include "review_fixture.h"
#include "webhook/base64.h"

namespace ramflow::webhook {
namespace {

using nlohmann::json;
using testing::Answer;
using testing::chart_settings;
using testing::fixture;
using testing::review;

TEST(AdmissionReview, ANonPodObjectIsAllowedUnchanged) {
  Answer a = review(fixture("deployment.json"));
  EXPECT_EQ(a.result.outcome, Outcome::kNotAPod);
  EXPECT_TRUE(a.patch.is_null());
  EXPECT_NE(a.result.reason.find("apps/Deployment"), std::string::npos) << a.result.reason;
  EXPECT_EQ(a.result.object, "shop/celery-worker");
}

TEST(AdmissionReview, APodSubresourceOrAnUpdateIsAllowedUnchanged) {
  json in = fixture("replicaset-pod.json");
  in["request"]["subResource"] = "ephemeralcontainers";
  EXPECT_EQ(review(in).result.outcome, Outcome::kNotAPod);

  in["request"].erase("subResource");
  in["request"]["operation"] = "UPDATE";
  in["request"]["oldObject"] = in["request"]["object"];
  Answer a = review(in);
  EXPECT_EQ(a.result.outcome, Outcome::kNotCreate);
  EXPECT_TRUE(a.patch.is_null());
}

TEST(AdmissionReview, AnObjectThatIsNoPodShapeIsAllowedUnchanged) {
  json in = fixture("replicaset-pod.json");
  const json cases[] = {json("a string"), json::object(), json({{"spec", {{"containers", "celery"}}}}),
                        json({{"spec", {{"containers", json::array()}}}}),
                        json({{"spec", {{"containers", {{{"image", "no-name"}}}}}}}),
                        json({{"metadata", {{"annotations", {{"ramflow.io/inject", true}}}}},
                              {"spec", {{"containers", {{{"name", "w"}}}}}}}),
                        json({{"spec", {{"containers", {{{"name", "w"}, {"env", "PYTHONPATH=/x"}}}}}}})};
  for (const auto& object : cases) {
    Answer a = review(testing::with_object(in, object));
    EXPECT_EQ(a.result.http_status, 200) << object.dump();
    EXPECT_EQ(a.result.outcome, Outcome::kInvalidPod) << object.dump();
    EXPECT_TRUE(a.patch.is_null());
  }
  in["request"].erase("object");
  EXPECT_EQ(review(in).result.outcome, Outcome::kInvalidPod);
}

TEST(AdmissionReview, ABodyThatIsNoAdmissionReviewGetsBadRequest) {
  const std::string bodies[] = {
      "",
      "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", \"request\": {\"uid\": \"x\"",
      "[1, 2, 3]",
      R"({"apiVersion": "v1", "kind": "Pod", "metadata": {}})",
      R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {}})",
      R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"})",
      std::string(100000, '[') + std::string(100000, ']'),
  };
  for (const auto& body : bodies) {
    ReviewResult r = review_admission(body, Scope::kAnnotatedPods, chart_settings());
    EXPECT_EQ(r.http_status, 400) << body.substr(0, 80);
    EXPECT_EQ(r.outcome, Outcome::kMalformedRequest);
    EXPECT_FALSE(r.reason.empty());
    EXPECT_TRUE(json::parse(r.body).contains("error"));
  }
  ReviewResult deep = review_admission(std::string(100000, '[') + std::string(100000, ']'), Scope::kAnnotatedPods,
                                       chart_settings());
  EXPECT_NE(deep.reason.find("deeper than"), std::string::npos) << deep.reason;
}

TEST(AdmissionReview, AV1beta1ReviewIsAnsweredInKind) {
  json in = fixture("replicaset-pod.json");
  in["apiVersion"] = "admission.k8s.io/v1beta1";
  Answer a = review(in);  // checks the echoed apiVersion and uid
  EXPECT_EQ(a.result.outcome, Outcome::kInjected);
}

TEST(Base64, MatchesTheRfc4648TestVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

}  // namespace
}  // namespace ramflow::webhook
