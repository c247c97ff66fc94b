#pragma once
/// @file
/// The one error vocabulary of videogate: every failure of every step becomes an `errc`
/// plus a message and (for bad input) the parameter it concerns. `api/error_table.hpp`
/// turns it into an HTTP status and an OpenAI error body in exactly one place.

#include <boost/system/result.hpp>
#include <boost/assert/source_location.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace videogate {

enum class errc {
  ok = 0,
  // 400
  invalid_value,
  unknown_parameter,
  missing_required_parameter,
  unsupported_value,
  model_not_found,
  // 401 / 403 / 404 / 405
  invalid_api_key,
  model_not_allowed,
  not_found,
  method_not_allowed,
  // 408 / 413 / 415
  request_timeout,
  payload_too_large,
  unsupported_media_type,
  // upstream outcomes
  upstream_rejected,      ///< 422: the vendor refused the content
  upstream_rate_limited,  ///< 429
  upstream_auth,          ///< the vendor refused the key (401/403): key rotation input
  upstream_out_of_credit, ///< 402 / quota: key rotation input
  bad_upstream_response,  ///< 502
  upstream_unavailable,   ///< 5xx or connect failure (transient)
  no_upstream_available,  ///< 503
  upstream_timeout,       ///< 504
  invalid_config,         ///< 422: a reload found errors in the new config (the old one stays)
  content_url_refused,    ///< 502: a vendor's content URL is not one videogate fetches or passes on (DESIGN §8)
  idempotency_key_reused, ///< 422: the same Idempotency-Key with a different body
  store_unavailable,      ///< 503: the job store cannot be reached; nothing was sent upstream
  internal,               ///< 500, never with internals in the message
};

/// Name of an errc as used in logs and in the `code` field (e.g. "invalid_value").
std::string_view to_string(errc e) noexcept;

/// One failure: what happened, for whom it is meant, and which request field it concerns.
struct error {
  errc code = errc::internal;
  std::string message;
  std::string param;                       ///< empty: no param
  std::optional<long long> retry_after_s;  ///< for 429 answers
  int upstream_status = 0;                 ///< the vendor's HTTP status, when there was one
  bool after_send = false;                 ///< the request reached the vendor (a create may exist)
  /// The key was judged by words in the vendor's message (credit, invalid key, rate limit)
  /// rather than by a status or a documented code: such words may echo the request.
  bool by_words = false;

  static error make(errc c, std::string msg, std::string param = {}) {
    return error{c, std::move(msg), std::move(param), std::nullopt, 0, false, false};
  }
};

/// Thrown only where a coroutine cannot return a result (caught in the session loop).
struct error_exception : std::exception {
  error err;
  explicit error_exception(error e) : err(std::move(e)) {}
  const char* what() const noexcept override { return err.message.c_str(); }
};

[[noreturn]] void throw_exception_from_error(error const& e, boost::source_location const& loc);

template <class T>
using result = boost::system::result<T, error>;

/// Shorthand for returning a failure from a function returning result<T>.
inline error fail(errc c, std::string msg, std::string param = {}) {
  return error::make(c, std::move(msg), std::move(param));
}

}  // namespace videogate
