#include "videogate/http/message.hpp"

namespace videogate::http {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view find_header(const header_list& headers, std::string_view name) noexcept {
  for (auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

}  // namespace videogate::http
