#pragma once
/// @file
/// The media a simulated vendor hands out, embedded in the binary at build time from
/// tests/fixtures (see embed_media.cmake): the binary needs no files at run time.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace videogate::mock_vendor::media {

/// tests/fixtures/sample.mp4: a real 1 s 160x90 H.264 MP4.
std::string_view sample_mp4() noexcept;
/// tests/fixtures/thumbnail.webp.
std::string_view thumbnail_webp() noexcept;
/// tests/fixtures/spritesheet.jpg.
std::string_view spritesheet_jpg() noexcept;

/// A video of exactly `size` bytes for benchmarks: sample.mp4 followed by a top-level MP4
/// `free` box of deterministic filler, so the file still plays. Smaller than sample.mp4:
/// sample.mp4 truncated (not playable; for tests of odd sizes only).
std::string make_synthetic_video(std::size_t size);

/// What one process serves; built once at start-up and shared read-only by all requests.
class catalog {
public:
  /// `video_bytes`: serve a synthetic video of that size instead of sample.mp4.
  explicit catalog(std::optional<std::size_t> video_bytes = std::nullopt);

  std::string_view video() const noexcept;
  std::string_view thumbnail() const noexcept { return thumbnail_webp(); }
  std::string_view spritesheet() const noexcept { return spritesheet_jpg(); }

private:
  std::optional<std::string> synthetic_;
};

}  // namespace videogate::mock_vendor::media
