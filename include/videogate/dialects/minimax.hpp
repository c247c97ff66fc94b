#pragma once
/// @file The `minimax` dialect (DESIGN §2, vendors.md): see src/dialects/minimax.cpp for the wire format.

#include "videogate/dialects/dialect.hpp"

namespace videogate::dialects {

class minimax_dialect final : public dialect {
 public:
  config::dialect_kind kind() const noexcept override { return config::dialect_kind::minimax; }
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
  upstream_call result_call(const std::string& upstream_id, const job_state& st) const override;
  result<job_state> read_follow_up(int status, const http::header_list& headers, std::string_view body,
                                   const std::string& upstream_id) const override;
};

}  // namespace videogate::dialects
