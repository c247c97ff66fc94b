#pragma once
/// @file The admin surface (admin key only): key states and config reload.

#include "context.hpp"

#include <boost/asio/awaitable.hpp>

namespace videogate::api {

// GET /admin: the operator's status page (HTML). `u` may carry refresh=0|5..3600.
boost::asio::awaitable<http::response> status_page(gateway& g, const boost::urls::url_view& u, context& ctx);
/// Whether `req` carries the admin key: as a Bearer token, or (`basic`) as the password of
/// HTTP Basic auth, any user name. Constant time in the key.
bool admin_authorised(const http::request& req, const std::string& admin_key, bool basic);
/// The 401 that makes a browser ask for the admin key (Basic auth).
/// HTML when the request accepts it (a browser whose sign-in dialog was closed), else JSON.
http::response admin_challenge(const gateway& g, const http::request& req, const context& ctx);

// GET /admin/keys
http::response admin_keys(const routing::router& rt);
// GET /admin/webhooks?status=pending|delivered|failed[&limit=N]
boost::asio::awaitable<http::response> admin_webhooks(gateway& g, const boost::urls::url_view& u, context& ctx);
// POST /admin/webhooks/{event_id}/redeliver
boost::asio::awaitable<http::response> redeliver_webhook(gateway& g, const std::string& id, context& ctx);
// POST /admin/reload: the answer to a reload the service ran.
http::response reload_response(const gateway& g, const reload_report& rep);

}  // namespace videogate::api
