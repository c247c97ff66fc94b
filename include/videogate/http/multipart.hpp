#pragma once
/// @file A strict multipart/form-data parser (RFC 7578) over a fully received body.
/// Pure: no I/O. The body has already been capped by limits.max_body_bytes.

#include "videogate/core/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace videogate::http {

struct form_part {
  std::string name;                     ///< the Content-Disposition name
  std::optional<std::string> filename;  ///< set for file parts
  std::string content_type;             ///< the part's Content-Type, empty if none
  std::string_view data;                ///< points into the body passed to parse_multipart
};

/// Extracts the boundary from a Content-Type value such as
/// `multipart/form-data; boundary="abc"`. nullopt if absent or invalid (RFC 2046: 1–70 chars).
std::optional<std::string> multipart_boundary(std::string_view content_type);

/// Splits `body` into parts. Errors (errc::invalid_value, param empty) for: missing or
/// wrong boundary, a part without Content-Disposition name, headers without CRLFCRLF,
/// a missing closing delimiter (truncated body), more than `max_parts` parts, or a part
/// header section above 8 KiB. The returned views point into `body`.
result<std::vector<form_part>> parse_multipart(std::string_view body, std::string_view boundary,
                                               std::size_t max_parts = 64);

}  // namespace videogate::http
