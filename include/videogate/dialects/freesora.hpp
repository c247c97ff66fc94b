#pragma once
/// @file The `freesora` dialect (seed 003): freesoragenerator.com's task API,
/// `POST /api/v1/video/sora-pro` + `POST /api/video-generations/check-result`. Errors mostly
/// arrive as HTTP 200 with `code != 0`: every answer's `code` is checked. Storyboards via
/// `shots`; no remix, no delete, no thumbnails (the result is `result_url`).

#include "videogate/dialects/dialect.hpp"

namespace videogate::dialects {

class freesora_dialect final : public dialect {
 public:
  config::dialect_kind kind() const noexcept override { return config::dialect_kind::freesora; }
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
};

}  // namespace videogate::dialects
