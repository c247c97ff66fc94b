#pragma once
/// @file Self-routing video ids (DESIGN §4): `video_` + base64url(payload || HMAC-SHA256 tag).
/// Pure functions of their inputs and the secret; safe from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace videogate::jobs {

/// What an id carries. Every field is needed to route a poll without a database.
struct id_fields {
  std::string upstream;     ///< upstream name from the config
  std::string key_fp;       ///< key fingerprint (see key_fingerprint), never the key
  std::string upstream_id;  ///< the vendor's job id
  std::string client;       ///< client name ("" when no client auth)
  bool operator==(const id_fields&) const = default;
};

/// Short, stable, non-reversible fingerprint of an upstream key: first 12 hex chars of
/// SHA-256(key). Safe to log and to put into ids.
std::string key_fingerprint(std::string_view key);

class id_codec {
 public:
  /// `secret` must be non-empty (>= 16 bytes recommended).
  explicit id_codec(std::string secret);
  /// Returns nullopt when the id would exceed 200 characters.
  std::optional<std::string> seal(const id_fields& f) const;
  /// nullopt for anything malformed, forged or tampered (constant-time tag compare).
  std::optional<id_fields> open(std::string_view id) const;
  /// Character ids (`char_…`): the same fields, sealed as another kind, so that neither kind
  /// of id ever opens as the other.
  std::optional<std::string> seal_character(const id_fields& f) const;
  std::optional<id_fields> open_character(std::string_view id) const;

 private:
  std::optional<std::string> seal_as(const id_fields& f, std::uint8_t version, std::string_view prefix) const;
  std::optional<id_fields> open_as(std::string_view id, std::uint8_t version, std::string_view prefix) const;

  std::string secret_;
};

/// Constant-time equality for secrets (client keys, admin key, tags).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// 32 random bytes, hex encoded (for a generated ids.secret).
std::string random_secret();

}  // namespace videogate::jobs
