#pragma once
/// @file What the SDK's `videos` resource makes from a video (DESIGN §1): remix, edits,
/// extensions (new jobs) and characters (vendor objects with signed, self-routing ids).

#include "context.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace videogate::api {

// POST /v1/videos/{id}/remix
boost::asio::awaitable<http::response> remix_video(gateway& g, const std::string& id, http::request& req, context& ctx);
// POST /v1/videos/edits
boost::asio::awaitable<http::response> edit_video(gateway& g, http::request& req, context& ctx);
// POST /v1/videos/extensions
boost::asio::awaitable<http::response> extend_video(gateway& g, http::request& req, context& ctx);
// POST /v1/videos/characters
boost::asio::awaitable<http::response> create_character(gateway& g, http::request& req, context& ctx);
// GET /v1/videos/characters/{id}
boost::asio::awaitable<http::response> get_character(gateway& g, const std::string& id, context& ctx);

}  // namespace videogate::api
