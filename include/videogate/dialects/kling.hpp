#pragma once
/// @file The `kling` dialect (DESIGN §2, vendors.md): see src/dialects/kling.cpp for the wire format.

#include "videogate/core/clock.hpp"
#include "videogate/dialects/dialect.hpp"

#include <map>
#include <mutex>

namespace videogate::dialects {

class kling_dialect final : public dialect {
 public:
  /// `now`: seconds since the epoch, for the JWT's claims and its cache (DESIGN §6: injected).
  explicit kling_dialect(std::int64_t (*now)() = clock::now_s) : now_(now) {}
  config::dialect_kind kind() const noexcept override { return config::dialect_kind::kling; }
  std::vector<int> allowed_durations(const config::upstream_config& up, const create_request& req) const override;
  result<upstream_call> create(const create_request& req, const config::upstream_config& up,
                               const std::string& seconds, const create_extras& extras = {}) const override;
  result<job_state> read_create(int status, const http::header_list& headers, std::string_view body) const override;
  result<job_state> read_created(const upstream_call& sent, int status, const http::header_list& headers,
                                 std::string_view body) const override;
  upstream_call status(const std::string& upstream_id) const override;
  result<job_state> read_status(int status, const http::header_list& headers, std::string_view body) const override;
  result<upstream_call> content(const std::string& upstream_id, content_variant v,
                                const std::optional<std::string>& content_url,
                                const config::upstream_config& up) const override;
  result<upstream_call> remix(const std::string& upstream_id, const std::string& prompt,
                              const config::upstream_config& up) const override;
  std::optional<upstream_call> remove(const std::string& upstream_id) const override;
  bool takes_callbacks() const noexcept override { return true; }
  std::optional<std::string> callback_job_id(std::string_view body, const std::string& tag) const override;
  /// A JWT (HS256, `iss` the access key, 30 min) from an `ACCESS_KEY:SECRET_KEY` key, made
  /// again once less than 5 min of it is left.
  std::string authorization(const std::string& key) const override;

 private:
  struct token {
    std::string jwt;
    std::int64_t exp = 0;
  };
  std::int64_t (*now_)();
  mutable std::mutex mu_;
  mutable std::map<std::string, token> tokens_;  ///< by key (never logged)
};

}  // namespace videogate::dialects
