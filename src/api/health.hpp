#pragma once
/// @file What probes and scrapers read, without a client key: liveness, readiness, metrics.

#include "context.hpp"

#include <string_view>

namespace videogate::api {

// GET /healthz
http::response health(std::string_view which);
// GET /readyz: ready when the store answers (a shared store is asked each time: a replica whose
// Redis is down is not ready, and is again when Redis is back).
boost::asio::awaitable<http::response> readiness(gateway& g);
// GET /metrics: the counters, plus key states and unfinished jobs read from the pools now.
http::response metrics_page(const gateway& g, const routing::router& rt);

}  // namespace videogate::api
