#include "videogate/api/error_table.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace videogate::api {
namespace {

namespace json = boost::json;

struct row {
  errc code;
  int status;
  const char* type;
  const char* code_text;
};

// DESIGN.md §1, the error table: status, type and code as clients see them.
const std::vector<row> design_table = {
    {errc::invalid_value, 400, "invalid_request_error", "invalid_value"},
    {errc::unknown_parameter, 400, "invalid_request_error", "unknown_parameter"},
    {errc::missing_required_parameter, 400, "invalid_request_error", "missing_required_parameter"},
    {errc::unsupported_value, 400, "invalid_request_error", "unsupported_value"},
    {errc::model_not_found, 400, "invalid_request_error", "model_not_found"},
    {errc::invalid_api_key, 401, "authentication_error", "invalid_api_key"},
    {errc::model_not_allowed, 403, "permission_error", "model_not_allowed"},
    {errc::not_found, 404, "invalid_request_error", "not_found"},
    {errc::upstream_rejected, 422, "upstream_error", "upstream_rejected"},
    {errc::upstream_rate_limited, 429, "rate_limit_error", "upstream_rate_limited"},
    {errc::bad_upstream_response, 502, "upstream_error", "bad_upstream_response"},
    {errc::no_upstream_available, 503, "upstream_error", "no_upstream_available"},
    {errc::upstream_timeout, 504, "upstream_error", "upstream_timeout"},
};

TEST(ErrorTable, EveryRowOfTheDesignTable) {
  for (auto& r : design_table) {
    SCOPED_TRACE(std::string(to_string(r.code)));
    auto c = classify(r.code);
    EXPECT_EQ(c.status, r.status);
    EXPECT_EQ(c.type, r.type);
    EXPECT_EQ(c.code, r.code_text);
  }
}

TEST(ErrorTable, BodyTooLargeAndWrongMediaType) {
  auto big = classify(errc::payload_too_large);
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.type, "invalid_request_error");
  EXPECT_FALSE(big.code.empty());
  auto media = classify(errc::unsupported_media_type);
  EXPECT_EQ(media.status, 415);
  EXPECT_EQ(media.type, "invalid_request_error");
  EXPECT_FALSE(media.code.empty());
}

TEST(ErrorTable, MethodNotAllowedAndRequestTimeout) {
  auto m = classify(errc::method_not_allowed);
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.type, "invalid_request_error");
  auto t = classify(errc::request_timeout);
  EXPECT_EQ(t.status, 408);
  EXPECT_EQ(t.type, "invalid_request_error");
}

// Outcomes that only feed key rotation must still surface as an upstream error the design
// names, never as a client error (4xx other than 429) or a bare 500.
TEST(ErrorTable, KeyRotationOutcomesAreUpstreamErrors) {
  for (auto e : {errc::upstream_auth, errc::upstream_out_of_credit, errc::upstream_unavailable}) {
    SCOPED_TRACE(std::string(to_string(e)));
    auto c = classify(e);
    EXPECT_TRUE(c.status == 502 || c.status == 503) << c.status;
    EXPECT_EQ(c.type, "upstream_error");
    EXPECT_TRUE(c.code == "no_upstream_available" || c.code == "bad_upstream_response") << c.code;
  }
  // A refused or exhausted key is "no upstream available" (the 503 row).
  EXPECT_EQ(classify(errc::upstream_auth).status, 503);
  EXPECT_EQ(classify(errc::upstream_out_of_credit).status, 503);
}

TEST(ErrorTable, InternalIsA500WithoutDetails) {
  auto c = classify(errc::internal);
  EXPECT_EQ(c.status, 500);
  EXPECT_FALSE(c.type.empty());
  EXPECT_FALSE(c.code.empty());
}

TEST(ErrorTable, EveryErrcHasAStatusTypeAndCode) {
  for (int i = static_cast<int>(errc::invalid_value); i <= static_cast<int>(errc::internal); ++i) {
    auto e = static_cast<errc>(i);
    SCOPED_TRACE(std::string(to_string(e)));
    auto c = classify(e);
    EXPECT_GE(c.status, 400);
    EXPECT_LE(c.status, 599);
    EXPECT_FALSE(c.type.empty());
    EXPECT_FALSE(c.code.empty());
  }
}

TEST(ErrorTable, ClientErrorsAreNotUpstreamErrors) {
  for (auto e : {errc::invalid_value, errc::unknown_parameter, errc::missing_required_parameter,
                 errc::unsupported_value, errc::model_not_found, errc::not_found, errc::payload_too_large,
                 errc::unsupported_media_type}) {
    SCOPED_TRACE(std::string(to_string(e)));
    EXPECT_EQ(classify(e).type, "invalid_request_error");
    EXPECT_LT(classify(e).status, 500);
  }
}

// --- error_body -----------------------------------------------------------------------

json::object parse_body(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  EXPECT_FALSE(ec) << body;
  EXPECT_TRUE(v.is_object()) << body;
  return v.is_object() ? v.as_object() : json::object{};
}

TEST(ErrorBody, EnvelopeShapeWithParam) {
  auto body = error_body(fail(errc::invalid_value, "Invalid value for 'size': '1x1'.", "size"));
  auto o = parse_body(body);
  ASSERT_EQ(o.size(), 1u) << body;
  ASSERT_TRUE(o.contains("error"));
  ASSERT_TRUE(o.at("error").is_object());
  auto& e = o.at("error").as_object();
  EXPECT_EQ(e.size(), 4u) << body;
  EXPECT_EQ(e.at("message"), "Invalid value for 'size': '1x1'.");
  EXPECT_EQ(e.at("type"), "invalid_request_error");
  EXPECT_EQ(e.at("param"), "size");
  EXPECT_EQ(e.at("code"), "invalid_value");
}

TEST(ErrorBody, ParamIsNullWhenEmpty) {
  auto o = parse_body(error_body(fail(errc::not_found, "No video with id 'video_x'.")));
  auto& e = o.at("error").as_object();
  ASSERT_TRUE(e.contains("param")) << "param must always be present";
  EXPECT_TRUE(e.at("param").is_null());
  EXPECT_EQ(e.at("type"), "invalid_request_error");
  EXPECT_EQ(e.at("code"), "not_found");
}

TEST(ErrorBody, TypeAndCodeComeFromTheTable) {
  for (int i = static_cast<int>(errc::invalid_value); i <= static_cast<int>(errc::internal); ++i) {
    auto code = static_cast<errc>(i);
    SCOPED_TRACE(std::string(to_string(code)));
    auto o = parse_body(error_body(fail(code, "m")));
    auto& e = o.at("error").as_object();
    auto c = classify(code);
    EXPECT_EQ(e.at("type"), c.type.c_str());
    EXPECT_EQ(e.at("code"), c.code.c_str());
    EXPECT_EQ(e.at("message"), "m");
  }
}

TEST(ErrorBody, MessagesWithQuotesControlCharsAndUnicodeStayValidJson) {
  std::string msg = "He said \"no\"\\ \n\t\x01 — 余额不足 </script>";
  auto body = error_body(fail(errc::upstream_rejected, msg, "pro\"mpt"));
  auto o = parse_body(body);
  auto& e = o.at("error").as_object();
  EXPECT_EQ(e.at("message").as_string(), msg);
  EXPECT_EQ(e.at("param").as_string(), "pro\"mpt");
  EXPECT_EQ(e.at("code"), "upstream_rejected");
  EXPECT_EQ(e.at("type"), "upstream_error");
}

TEST(ErrorBody, RetryAfterAndUpstreamDetailsDoNotLeakIntoTheBody) {
  auto err = fail(errc::upstream_rate_limited, "Every key is cooling down.");
  err.retry_after_s = 17;
  err.upstream_status = 429;
  err.after_send = true;
  auto o = parse_body(error_body(err));
  auto& e = o.at("error").as_object();
  EXPECT_EQ(e.size(), 4u);
  EXPECT_EQ(e.at("type"), "rate_limit_error");
  EXPECT_EQ(e.at("code"), "upstream_rate_limited");
}

}  // namespace
}  // namespace videogate::api
