#include "videogate/api/error_table.hpp"

#include <boost/json.hpp>

namespace videogate::api {

http_error classify(errc e) noexcept {
  switch (e) {
    case errc::invalid_value: return {400, "invalid_request_error", "invalid_value"};
    case errc::unknown_parameter: return {400, "invalid_request_error", "unknown_parameter"};
    case errc::missing_required_parameter: return {400, "invalid_request_error", "missing_required_parameter"};
    case errc::unsupported_value: return {400, "invalid_request_error", "unsupported_value"};
    case errc::model_not_found: return {400, "invalid_request_error", "model_not_found"};
    case errc::invalid_api_key: return {401, "authentication_error", "invalid_api_key"};
    case errc::model_not_allowed: return {403, "permission_error", "model_not_allowed"};
    case errc::not_found: return {404, "invalid_request_error", "not_found"};
    case errc::method_not_allowed: return {405, "invalid_request_error", "method_not_allowed"};
    case errc::request_timeout: return {408, "invalid_request_error", "request_timeout"};
    case errc::payload_too_large: return {413, "invalid_request_error", "payload_too_large"};
    case errc::unsupported_media_type: return {415, "invalid_request_error", "unsupported_media_type"};
    case errc::upstream_rejected: return {422, "upstream_error", "upstream_rejected"};
    case errc::upstream_rate_limited: return {429, "rate_limit_error", "upstream_rate_limited"};
    // A key the vendor refuses or that ran out of credit is the gateway's problem, not the
    // client's: when no other key could take the request, it is "no upstream available".
    case errc::upstream_auth: return {503, "upstream_error", "no_upstream_available"};
    case errc::upstream_out_of_credit: return {503, "upstream_error", "no_upstream_available"};
    case errc::no_upstream_available: return {503, "upstream_error", "no_upstream_available"};
    case errc::bad_upstream_response: return {502, "upstream_error", "bad_upstream_response"};
    case errc::upstream_unavailable: return {502, "upstream_error", "bad_upstream_response"};
    case errc::upstream_timeout: return {504, "upstream_error", "upstream_timeout"};
    case errc::invalid_config: return {422, "invalid_request_error", "invalid_config"};
    case errc::content_url_refused: return {502, "upstream_error", "content_url_refused"};
    case errc::idempotency_key_reused: return {422, "invalid_request_error", "idempotency_key_reused"};
    case errc::store_unavailable: return {503, "upstream_error", "store_unavailable"};
    case errc::ok:
    case errc::internal: break;
  }
  return {500, "server_error", "internal_error"};
}

std::string error_body(const error& e) {
  auto c = classify(e.code);
  boost::json::object inner;
  inner["message"] = e.message;
  inner["type"] = c.type;
  inner["param"] = e.param.empty() ? boost::json::value(nullptr) : boost::json::value(e.param);
  inner["code"] = c.code;
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

}  // namespace videogate::api
