#pragma once
/// @file The video content download: streamed through the gateway, or a redirect to the
/// vendor's URL (`content: redirect`).

#include "context.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/url/url_view.hpp>

#include <string>

namespace videogate::api {

// GET /v1/videos/{id}/content
boost::asio::awaitable<http::response> video_content(gateway& g, const std::string& id, const boost::urls::url_view& u,
                                                     const http::request& req, context& ctx);

}  // namespace videogate::api
