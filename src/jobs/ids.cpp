#include "videogate/jobs/ids.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <utility>

namespace videogate::jobs {

namespace {

constexpr std::string_view id_prefix = "video_";
constexpr std::uint8_t token_version = 1;
// The kind is inside the signed payload: a character id relabelled `video_` fails the tag.
constexpr std::string_view character_prefix = "char_";
constexpr std::uint8_t character_version = 2;
constexpr std::size_t tag_size = 16;  // HMAC-SHA256 truncated to 128 bits
constexpr std::size_t max_id_length = 200;
constexpr std::size_t max_field_length = 255;

constexpr std::string_view b64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string to_hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 0x0f]);
  }
  return out;
}

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
    out.push_back(b64url_alphabet[(v >> 6) & 63]);
    out.push_back(b64url_alphabet[v & 63]);
  }
  if (in.size() - i == 1) {
    const std::uint32_t v = byte(i) << 16;
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
  } else if (in.size() - i == 2) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
    out.push_back(b64url_alphabet[(v >> 6) & 63]);
  }
  return out;
}

int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

/// Strict decoding: no padding, no foreign chars, and the unused low bits of the last char
/// must be zero, so that exactly one string decodes to a given token (otherwise a changed
/// last char could still open).
std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = b64url_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::array<unsigned char, EVP_MAX_MD_SIZE> hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len) == nullptr ||
      len < tag_size) {
    throw std::runtime_error("id codec: HMAC-SHA256 failed");
  }
  return out;
}

}  // namespace

std::string key_fingerprint(std::string_view key) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(key.data(), key.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("key fingerprint: SHA-256 failed");
  }
  return to_hex(md.data(), 6);  // 12 hex chars
}

id_codec::id_codec(std::string secret) : secret_(std::move(secret)) {
  if (secret_.empty()) throw std::invalid_argument("id codec: the ids secret must not be empty");
}

std::optional<std::string> id_codec::seal(const id_fields& f) const { return seal_as(f, token_version, id_prefix); }

std::optional<id_fields> id_codec::open(std::string_view id) const { return open_as(id, token_version, id_prefix); }

std::optional<std::string> id_codec::seal_character(const id_fields& f) const {
  return seal_as(f, character_version, character_prefix);
}

std::optional<id_fields> id_codec::open_character(std::string_view id) const {
  return open_as(id, character_version, character_prefix);
}

std::optional<std::string> id_codec::seal_as(const id_fields& f, std::uint8_t version, std::string_view prefix) const {
  std::string token;
  token.push_back(static_cast<char>(version));
  for (const std::string* field : {&f.upstream, &f.key_fp, &f.upstream_id, &f.client}) {
    if (field->size() > max_field_length) return std::nullopt;
    token.push_back(static_cast<char>(field->size()));
    token += *field;
  }
  const auto tag = hmac_sha256(secret_, token);
  token.append(reinterpret_cast<const char*>(tag.data()), tag_size);

  std::string id(prefix);
  id += base64url_encode(token);
  if (id.size() > max_id_length) return std::nullopt;
  return id;
}

std::optional<id_fields> id_codec::open_as(std::string_view id, std::uint8_t version, std::string_view prefix) const {
  if (id.size() > max_id_length || id.substr(0, prefix.size()) != prefix) return std::nullopt;
  const auto token = base64url_decode(id.substr(prefix.size()));
  // version + four length bytes + tag, at the least
  if (!token || token->size() < 1 + 4 + tag_size) return std::nullopt;
  if (static_cast<std::uint8_t>((*token)[0]) != version) return std::nullopt;

  const std::string_view payload = std::string_view(*token).substr(0, token->size() - tag_size);
  const std::string_view tag = std::string_view(*token).substr(payload.size());

  id_fields f;
  std::size_t pos = 1;
  for (std::string* field : {&f.upstream, &f.key_fp, &f.upstream_id, &f.client}) {
    if (pos >= payload.size()) return std::nullopt;
    const std::size_t len = static_cast<unsigned char>(payload[pos++]);
    if (len > payload.size() - pos) return std::nullopt;
    field->assign(payload.substr(pos, len));
    pos += len;
  }
  if (pos != payload.size()) return std::nullopt;  // trailing bytes

  // The layout carries nothing secret, so checking it before the tag leaks nothing; the tag
  // compare itself is constant time.
  const auto expected = hmac_sha256(secret_, payload);
  if (CRYPTO_memcmp(expected.data(), tag.data(), tag_size) != 0) return std::nullopt;
  return f;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.empty() && b.empty()) return true;
  if (a.size() != b.size()) {
    // Still touch every byte of `a` so the time depends on a's length only, never on where
    // the contents differ.
    if (!a.empty()) (void)CRYPTO_memcmp(a.data(), a.data(), a.size());
    return false;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_secret() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("random_secret: RAND_bytes failed");
  }
  return to_hex(bytes.data(), bytes.size());
}

}  // namespace videogate::jobs
