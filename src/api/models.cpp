#include "models.hpp"

#include "context.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace videogate::api {

// GET /v1/models
http::response list_models(const routing::router& rt) {
  json::array data;
  for (auto& m : rt.cfg().models()) {
    json::object o;
    o["id"] = m;
    o["object"] = "model";
    o["created"] = 0;
    o["owned_by"] = "videogate";
    data.push_back(std::move(o));
  }
  json::object out;
  out["object"] = "list";
  out["data"] = std::move(data);
  return json_response(200, json::serialize(out));
}

}  // namespace videogate::api
