#pragma once
/// @file The model list.

#include "videogate/http/message.hpp"
#include "videogate/routing/router.hpp"

namespace videogate::api {

// GET /v1/models
http::response list_models(const routing::router& rt);

}  // namespace videogate::api
