#pragma once
/// @file The unified schema: what a client asked for (whatever its encoding) and the Video
/// object we answer with. Pure: parsing and rendering, no I/O.

#include "videogate/core/error.hpp"
#include "videogate/core/schema.hpp"
#include "videogate/http/message.hpp"
#include "videogate/jobs/store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace videogate::api {

// The shared schema lives in core (dialects and jobs use it too); these names keep the API's
// spelling of it.
using videogate::create_request;
using videogate::image_input;
using videogate::shot;
using videogate::video_input;
using videogate::derive_request;
using videogate::character_request;

/// Parses a create body (multipart/form-data or application/json, by `content_type`).
/// Errors: unsupported_media_type (415), invalid_value, unknown_parameter,
/// missing_required_parameter — each naming the field in `param`.
result<create_request> parse_create(std::string_view content_type, std::string_view body);

/// Parses a remix body (`{prompt}` as JSON or multipart).
result<std::string> parse_remix(std::string_view content_type, std::string_view body);

/// Parses an edit or extension body (multipart with a `video` file or `video[id]`, or JSON
/// with `video: {id}`). Errors name the field, as parse_create's do.
result<derive_request> parse_derive(derive_request::kind what, std::string_view content_type, std::string_view body);

/// Parses a character body: `name` and an uploaded `video` file (multipart).
result<character_request> parse_character(std::string_view content_type, std::string_view body);

/// The video type from magic bytes (video/mp4, video/webm, video/quicktime), or empty.
std::string sniff_video(std::string_view bytes);

/// The image type from magic bytes, or empty if it is not jpeg/png/webp.
std::string sniff_image(std::string_view bytes);

/// The Video object JSON for a stored job.
std::string video_json(const jobs::job_record& job);

}  // namespace videogate::api
