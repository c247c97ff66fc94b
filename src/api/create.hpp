#pragma once
/// @file Making jobs. A create walks its model's route under the failover plan (so does an
/// edit or extension of an uploaded video); every call that makes a job (create, remix, edit,
/// extension) records it the same way. Private to api.

#include "context.hpp"

#include "videogate/api/video.hpp"
#include "videogate/dialects/dialect.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

namespace videogate::api {

/// How a create ended, for the Idempotency-Key record: a job was made, maybe made (the
/// answer was lost after the request went out), or certainly not made.
struct create_result {
  enum class kind { created, unknown, refused };
  http::response response;
  kind outcome = kind::refused;
  std::string video_id;
  std::string message;  ///< unknown: what the client was told
};

create_result refused(http::response r);

/// The text of a request a vendor may echo in its error messages (prompt, storyboard scenes).
std::string request_text(const create_request& cr);

/// What a new job is, besides the vendor's answer.
struct new_job {
  std::string model, prompt, size, seconds;
  std::optional<std::string> remixed_from;
  std::optional<std::string> idempotency_key;
};

/// Records a job the vendor accepted and answers with its Video object.
boost::asio::awaitable<create_result> record_new_job(gateway& g, context& ctx, routing::upstream& up,
                                                     const routing::key_ref& key, const dialects::job_state& st,
                                                     new_job n);

/// A create without a finished idempotent twin: walks the route under the failover plan.
/// `derive`: an edit or extension of an uploaded video (`parsed` then carries its prompt,
/// model and seconds), sent with the dialect's derive call instead of create.
boost::asio::awaitable<create_result> create_new(gateway& g, result<create_request> parsed, context& ctx,
                                                 std::optional<std::string> idempotency_key,
                                                 const derive_request* derive = nullptr);

}  // namespace videogate::api
