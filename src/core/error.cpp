#include "videogate/core/error.hpp"

namespace videogate {

std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::invalid_value: return "invalid_value";
    case errc::unknown_parameter: return "unknown_parameter";
    case errc::missing_required_parameter: return "missing_required_parameter";
    case errc::unsupported_value: return "unsupported_value";
    case errc::model_not_found: return "model_not_found";
    case errc::invalid_api_key: return "invalid_api_key";
    case errc::model_not_allowed: return "model_not_allowed";
    case errc::not_found: return "not_found";
    case errc::method_not_allowed: return "method_not_allowed";
    case errc::request_timeout: return "request_timeout";
    case errc::payload_too_large: return "payload_too_large";
    case errc::unsupported_media_type: return "unsupported_media_type";
    case errc::upstream_rejected: return "upstream_rejected";
    case errc::upstream_rate_limited: return "upstream_rate_limited";
    case errc::upstream_auth: return "upstream_auth";
    case errc::upstream_out_of_credit: return "upstream_out_of_credit";
    case errc::bad_upstream_response: return "bad_upstream_response";
    case errc::upstream_unavailable: return "upstream_unavailable";
    case errc::no_upstream_available: return "no_upstream_available";
    case errc::upstream_timeout: return "upstream_timeout";
    case errc::invalid_config: return "invalid_config";
    case errc::content_url_refused: return "content_url_refused";
    case errc::idempotency_key_reused: return "idempotency_key_reused";
    case errc::store_unavailable: return "store_unavailable";
    case errc::internal: return "internal_error";
  }
  return "internal_error";
}

void throw_exception_from_error(error const& e, boost::source_location const&) {
  throw error_exception(e);
}

}  // namespace videogate
