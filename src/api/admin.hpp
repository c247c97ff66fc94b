#pragma once
/// @file The admin surface (admin key only): key states and config reload.

#include "context.hpp"

namespace videogate::api {

// GET /admin/keys
http::response admin_keys(const routing::router& rt);
// POST /admin/reload: the answer to a reload the service ran.
http::response reload_response(const gateway& g, const reload_report& rep);

}  // namespace videogate::api
