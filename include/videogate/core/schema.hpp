#pragma once
/// @file The unified schema every layer shares: what a client asked for (whatever its
/// encoding), which content it wants, and the Video object's status words. Plain data, no
/// behaviour beyond a predicate: `api` parses into it and renders from it, `dialects` translate
/// it, `jobs` store it. It lives in `core` so that none of them includes another's header.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace videogate {

/// One scene of a storyboard (the `shots` extension).
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
  /// `vendor_params`: a JSON object (its serialized text), merged last into what the upstream
  /// receives (DESIGN §1); the dialect refuses the fields it may not set.
  std::optional<std::string> vendor_params;
};

/// The video an edit, an extension or a character starts from: an upload, or one of our
/// video ids (`video[id]`).
struct video_input {
  std::string bytes;     ///< uploaded file content (empty when `id`)
  std::string mime;      ///< sniffed from the bytes: video/mp4 | video/webm | video/quicktime
  std::string filename;
  std::string id;        ///< a videogate video id; the vendor's own id replaces it on the way out
};

/// `POST /v1/videos/edits` and `POST /v1/videos/extensions`: a new job from a video.
struct derive_request {
  enum class kind { edit, extension };
  kind what = kind::edit;
  std::string prompt;
  /// Extensions: the new segment's length as asked (required); edits: none.
  std::optional<std::string> seconds;
  /// Routes an uploaded source like a create's model (an extension to the OpenAI shape);
  /// a video id routes by the job that made it.
  std::string model = "sora-2";
  bool model_given = false;
  video_input video;
};

/// `POST /v1/videos/characters`: a vendor object made from an uploaded video.
struct character_request {
  std::string name;
  std::string model = "sora-2";  ///< routes the upload, as for a create
  video_input video;
};

/// `GET /v1/videos/{id}/content?variant=`.
enum class content_variant { video, thumbnail, spritesheet };

/// The Video object's `status` values (DESIGN §1), and the store's tombstone for a deleted job
/// whose vendor has no delete call.
namespace video_status {
inline constexpr std::string_view queued = "queued";
inline constexpr std::string_view in_progress = "in_progress";
inline constexpr std::string_view completed = "completed";
inline constexpr std::string_view failed = "failed";
inline constexpr std::string_view deleted = "deleted";

/// A job in this state never changes again (and is never asked about again).
constexpr bool terminal(std::string_view s) noexcept { return s == completed || s == failed || s == deleted; }
}  // namespace video_status

}  // namespace videogate
