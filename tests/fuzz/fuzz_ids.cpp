// Video ids (jobs/ids): opening any string must fail cleanly unless it is a sealed id, and an
// id sealed from fields taken from the input opens to the same fields.
#include "videogate/jobs/ids.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const videogate::jobs::id_codec codec("fuzz-secret-0123456789abcdef");
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)codec.open(in);
  (void)codec.open_character(in);
  // Four fields cut from the input at its first three 0x00 bytes.
  std::string f[4];
  std::size_t k = 0;
  for (char c : in) {
    if (c == '\0' && k < 3) ++k;
    else f[k] += c;
  }
  videogate::jobs::id_fields fields{f[0], f[1], f[2], f[3]};
  if (auto id = codec.seal(fields)) {
    auto back = codec.open(*id);
    if (!back || back->upstream != f[0] || back->key_fp != f[1] || back->upstream_id != f[2] || back->client != f[3])
      __builtin_trap();
    // The same fields as a character: its own kind of id, which never opens as a video's.
    auto character = codec.seal_character(fields);
    if (!character || codec.open(*character) || codec.open_character(*id) || !codec.open_character(*character))
      __builtin_trap();
  }
  return 0;
}
