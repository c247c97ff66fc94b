#pragma once
/// @file The one table from `errc` to an HTTP status and an OpenAI error envelope.

#include "videogate/core/error.hpp"

#include <string>

namespace videogate::api {

struct http_error {
  int status = 500;
  std::string type;  ///< OpenAI error type, e.g. "invalid_request_error"
  std::string code;  ///< OpenAI error code, e.g. "invalid_value"
};

/// Status, type and code for an errc (DESIGN §1 error table).
http_error classify(errc e) noexcept;

/// `{"error":{"message","type","param","code"}}`; param is null when empty.
std::string error_body(const error& e);

}  // namespace videogate::api
