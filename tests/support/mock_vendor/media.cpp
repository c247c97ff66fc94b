#include "media.hpp"

#include <algorithm>
#include <cstdint>

// Defined in the generated media_data.cpp (embed_media.cmake).
namespace videogate::mock_vendor::media_data {
extern const unsigned char sample_mp4[];
extern const std::size_t sample_mp4_size;
extern const unsigned char thumbnail_webp[];
extern const std::size_t thumbnail_webp_size;
extern const unsigned char spritesheet_jpg[];
extern const std::size_t spritesheet_jpg_size;
}  // namespace videogate::mock_vendor::media_data

namespace videogate::mock_vendor::media {
namespace {

std::string_view view(const unsigned char* data, std::size_t size) noexcept
{
  return {reinterpret_cast<const char*>(data), size};
}

void put_be32(std::string& out, std::uint32_t v)
{
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_be64(std::string& out, std::uint64_t v)
{
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

}  // namespace

std::string_view sample_mp4() noexcept
{
  return view(media_data::sample_mp4, media_data::sample_mp4_size);
}

std::string_view thumbnail_webp() noexcept
{
  return view(media_data::thumbnail_webp, media_data::thumbnail_webp_size);
}

std::string_view spritesheet_jpg() noexcept
{
  return view(media_data::spritesheet_jpg, media_data::spritesheet_jpg_size);
}

std::string make_synthetic_video(std::size_t size)
{
  const auto sample = sample_mp4();
  std::string out;
  out.reserve(size);
  out.append(sample.substr(0, std::min(size, sample.size())));
  std::size_t rest = size - out.size();
  if (rest >= 8 && rest <= 0xffffffffULL) {
    put_be32(out, static_cast<std::uint32_t>(rest));
    out.append("free");
  } else if (rest >= 16) {
    // 64-bit box size: size field 1, then the real size after the type.
    put_be32(out, 1);
    out.append("free");
    put_be64(out, rest);
  }
  // Filler: a fixed xorshift sequence, so the same N always yields the same bytes.
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  while (out.size() < size) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    for (int i = 0; i < 8 && out.size() < size; ++i)
      out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
  }
  return out;
}

catalog::catalog(std::optional<std::size_t> video_bytes)
{
  if (video_bytes)
    synthetic_ = make_synthetic_video(*video_bytes);
}

std::string_view catalog::video() const noexcept
{
  return synthetic_ ? std::string_view(*synthetic_) : sample_mp4();
}

}  // namespace videogate::mock_vendor::media
