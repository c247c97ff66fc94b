// The multipart/form-data splitter (http/multipart) on any body, and the boundary parser on
// any Content-Type value. Every part it returns must lie inside the body.
#include "videogate/http/multipart.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)videogate::http::multipart_boundary(in.substr(0, 120));
  auto parts = videogate::http::parse_multipart(in, "XyZ", 16);
  if (parts) {
    if (parts->size() > 16) __builtin_trap();
    for (auto& p : *parts) {
      if (p.data.data() < in.data() || p.data.data() + p.data.size() > in.data() + in.size()) __builtin_trap();
    }
  }
  return 0;
}
