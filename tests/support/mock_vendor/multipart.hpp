#pragma once
/// @file
/// A small, strict multipart/form-data reader and Content-Type helpers. The mock has its
/// own on purpose: reusing the gateway's parser would let one bug hide on both sides.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace videogate::mock_vendor {

/// One part of a multipart/form-data body.
struct form_part {
  std::string name;
  std::optional<std::string> filename;  ///< present for file parts
  std::string content_type;             ///< as sent, empty when absent
  std::string data;
};

/// Lower-case media type of a Content-Type value (`"Multipart/Form-Data; b=x"` -> `"multipart/form-data"`).
std::string media_type_of(std::string_view content_type);

/// Value of parameter `name` (case-insensitive) of a Content-Type value, unquoted.
std::optional<std::string> content_type_param(std::string_view content_type, std::string_view name);

/// Parses `body` delimited by `boundary`. On failure returns nullopt and says why in `error`.
std::optional<std::vector<form_part>> parse_multipart(std::string_view body, std::string_view boundary,
                                                      std::string& error);

}  // namespace videogate::mock_vendor
