#pragma once
/// @file The route table: method and path to handler, 404 for unknown routes, 405 with
/// `Allow` for a known route with the wrong method, and where client and admin auth apply.

#include "context.hpp"

#include <boost/asio/awaitable.hpp>

namespace videogate::api {

boost::asio::awaitable<http::response> dispatch(gateway& g, http::request& req, context& ctx);

}  // namespace videogate::api
