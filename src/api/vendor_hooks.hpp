#pragma once
/// @file What vendors call on the gateway, outside /v1 and without a client key (DESIGN §2):
/// `POST /callbacks/{token}` (a vendor says a job ended: only a status poll of that job, with
/// its own key, never more often than poll_interval; the body is never trusted) and
/// `GET /media/{token}` (an uploaded image, for vendors that take image URLs only).

#include "context.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>

namespace videogate::api {

/// The callback URL for a create on `up` by `client`, for the call's `tag` (empty when the
/// upstream takes none, callbacks are off, or public_base_url is unset).
std::function<std::string(const std::string&)> callback_url_for(const gateway& g, const routing::router& rt,
                                                                const routing::upstream& up, const std::string& client);

/// Keeps an uploaded image (or a data: URL's) for 24 h and returns its public URL; empty when
/// public_base_url is unset or there is no inline image.
boost::asio::awaitable<std::string> serve_image(gateway& g, const routing::router& rt, const create_request& req);

// POST /callbacks/{token}
boost::asio::awaitable<http::response> vendor_callback(gateway& g, const std::string& token, http::request& req,
                                                       context& ctx);
// GET /media/{token}
boost::asio::awaitable<http::response> media(gateway& g, const std::string& token, context& ctx);

}  // namespace videogate::api
