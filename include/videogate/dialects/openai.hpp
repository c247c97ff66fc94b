#pragma once
/// @file The `openai` dialect (seeds 001, 002): resellers serving OpenAI's own /v1/videos paths.

#include "videogate/dialects/dialect.hpp"

namespace videogate::dialects {

class openai_dialect final : public dialect {
 public:
  config::dialect_kind kind() const noexcept override { return config::dialect_kind::openai; }
  std::vector<int> allowed_durations(const config::upstream_config& up, const create_request& req) const override;
  result<upstream_call> create(const create_request& req, const config::upstream_config& up,
                               const std::string& seconds, const create_extras& extras = {}) const override;
  result<job_state> read_create(int status, const http::header_list& headers, std::string_view body) const override;
  upstream_call status(const std::string& upstream_id) const override;
  result<job_state> read_status(int status, const http::header_list& headers, std::string_view body) const override;
  result<upstream_call> content(const std::string& upstream_id, content_variant v,
                                const std::optional<std::string>& content_url,
                                const config::upstream_config& up) const override;
  result<upstream_call> remix(const std::string& upstream_id, const std::string& prompt,
                              const config::upstream_config& up) const override;
  std::optional<upstream_call> remove(const std::string& upstream_id) const override;
  result<upstream_call> derive(const derive_request& req, const std::string& source_id, const config::upstream_config& up,
                               const std::string& seconds) const override;
  result<upstream_call> create_character(const character_request& req, const config::upstream_config& up) const override;
  result<upstream_call> character(const std::string& upstream_id, const config::upstream_config& up) const override;
  result<character_state> read_character(int status, const http::header_list& headers, std::string_view body) const override;
};

}  // namespace videogate::dialects
