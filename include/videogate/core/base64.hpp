#pragma once
/// @file Standard base64 (RFC 4648 §4, with padding): data URLs, webhook secrets and signatures.

#include <optional>
#include <string>
#include <string_view>

namespace videogate {

std::string base64_encode(std::string_view bytes);
/// The bytes of `text`; nullopt when it is not standard base64 (padding optional, no spaces).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace videogate
