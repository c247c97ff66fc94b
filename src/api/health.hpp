#pragma once
/// @file What probes and scrapers read, without a client key: liveness, readiness, metrics.

#include "context.hpp"

#include <string_view>

namespace videogate::api {

// GET /healthz, GET /readyz
http::response health(std::string_view which);
// GET /metrics: the counters, plus key states and unfinished jobs read from the pools now.
http::response metrics_page(const gateway& g, const routing::router& rt);

}  // namespace videogate::api
