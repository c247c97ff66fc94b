#pragma once
/// @file The unified schema: what a client asked for (whatever its encoding) and the Video
/// object we answer with. Pure: parsing and rendering, no I/O.

#include "videogate/core/error.hpp"
#include "videogate/http/message.hpp"
#include "videogate/jobs/store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace videogate::api {

struct shot {
  std::string scene;
  double duration = 0;
};

/// An image to guide generation: uploaded bytes, a URL (http(s) or data:), or a file id.
struct image_input {
  std::string bytes;      ///< uploaded file content (empty when url/file_id)
  std::string mime;       ///< sniffed from the bytes: image/jpeg | image/png | image/webp
  std::string filename;
  std::string url;        ///< http(s):// or data: URL
  std::string file_id;    ///< openai dialect only
};

/// A create request after validation and defaults (DESIGN §1 create fields).
struct create_request {
  std::string prompt;
  std::string model = "sora-2";
  std::optional<std::string> seconds;  ///< as asked; nullopt = the upstream's default
  std::string size = "720x1280";
  std::optional<image_input> input_reference;
  std::optional<bool> watermark;
  std::optional<bool> is_private;
  std::optional<std::string> style;
  std::optional<std::vector<shot>> shots;
};

/// Parses a create body (multipart/form-data or application/json, by `content_type`).
/// Errors: unsupported_media_type (415), invalid_value, unknown_parameter,
/// missing_required_parameter — each naming the field in `param`.
result<create_request> parse_create(std::string_view content_type, std::string_view body);

/// Parses a remix body (`{prompt}` as JSON or multipart).
result<std::string> parse_remix(std::string_view content_type, std::string_view body);

/// The image type from magic bytes, or empty if it is not jpeg/png/webp.
std::string sniff_image(std::string_view bytes);

/// The Video object JSON for a stored job.
std::string video_json(const jobs::job_record& job);

}  // namespace videogate::api
