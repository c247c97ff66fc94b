#pragma once
/// @file The video resource's handlers (DESIGN §1): create, retrieve, list, delete.
/// The content download is in content.hpp; remix, edits, extensions and characters in derived.hpp.

#include "context.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/url/url_view.hpp>

#include <string>

namespace videogate::api {

// POST /v1/videos
boost::asio::awaitable<http::response> create_video(gateway& g, http::request& req, context& ctx);
// GET /v1/videos/{id}
boost::asio::awaitable<http::response> retrieve_video(gateway& g, const std::string& id, context& ctx);
// GET /v1/videos
boost::asio::awaitable<http::response> list_videos(gateway& g, const boost::urls::url_view& u, context& ctx);
// DELETE /v1/videos/{id}
boost::asio::awaitable<http::response> delete_video(gateway& g, const std::string& id, context& ctx);

}  // namespace videogate::api
