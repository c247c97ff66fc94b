#pragma once
/// @file The admin surface (admin key only): key states and config reload.

#include "context.hpp"

#include <boost/asio/awaitable.hpp>

namespace videogate::api {

// GET /admin/keys
http::response admin_keys(const routing::router& rt);
// GET /admin/webhooks?status=pending|delivered|failed[&limit=N]
boost::asio::awaitable<http::response> admin_webhooks(gateway& g, const boost::urls::url_view& u, context& ctx);
// POST /admin/webhooks/{event_id}/redeliver
boost::asio::awaitable<http::response> redeliver_webhook(gateway& g, const std::string& id, context& ctx);
// POST /admin/reload: the answer to a reload the service ran.
http::response reload_response(const gateway& g, const reload_report& rep);

}  // namespace videogate::api
