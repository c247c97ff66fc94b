#pragma once
/// @file The `ark` dialect (DESIGN §2, vendors.md): see src/dialects/ark.cpp for the wire format.

#include "videogate/dialects/dialect.hpp"

namespace videogate::dialects {

class ark_dialect final : public dialect {
 public:
  config::dialect_kind kind() const noexcept override { return config::dialect_kind::ark; }
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
};

}  // namespace videogate::dialects
