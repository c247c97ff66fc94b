// Downstream create, remix, edit, extension and character bodies (api/video): any bytes under any of the three content
// types the gateway meets must parse or give an error, never crash or hang.
// The first byte picks the content type; the rest is the body.
#include "videogate/api/video.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view types[] = {
      "application/json",
      "multipart/form-data; boundary=XyZ",
      "multipart/form-data; boundary=\"a b\"",
      "text/plain",
  };
  auto type = types[data[0] % 4];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto r = videogate::api::parse_create(type, body);
  if (r && r->prompt.empty()) __builtin_trap();  // a create without a prompt must be refused
  (void)videogate::api::parse_remix(type, body);
  using kind = videogate::derive_request::kind;
  for (auto k : {kind::edit, kind::extension}) {
    auto d = videogate::api::parse_derive(k, type, body);
    // Every accepted edit has a prompt and exactly one source: a sniffed upload or an id.
    if (d && (d->prompt.empty() || d->video.id.empty() == d->video.mime.empty())) __builtin_trap();
    if (d && k == kind::extension && !d->seconds) __builtin_trap();
  }
  auto c = videogate::api::parse_character(type, body);
  if (c && (c->name.empty() || c->video.mime.empty())) __builtin_trap();
  return 0;
}
