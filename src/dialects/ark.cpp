// Volcengine Ark / BytePlus ModelArk, Seedance (vendors.md "Volcengine Ark"):
//   POST {base}/api/v3/contents/generations/tasks
//     {"model","content":[{"type":"text","text"},{"type":"image_url","image_url":{"url"},"role":"first_frame"}],
//      "ratio","duration","resolution","watermark","callback_url"} -> {"id":"cgt-…"}
//   GET  {base}/api/v3/contents/generations/tasks/{id} -> status queued|running|cancelled|succeeded|failed|expired,
//        content.video_url, error {code, message}
//   DELETE {base}/api/v3/contents/generations/tasks/{id}
// Errors are OpenAI-like {"error":{"code","message"}}. Both base URLs (Volcengine, BytePlus) work.

#include "videogate/dialects/ark.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace videogate::dialects {

namespace {

std::string error_code_of(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  auto* e = v.as_object().if_contains("error");
  if (!e || !e->is_object()) return {};
  return first_message(e->as_object(), {"code"}).value_or("");
}

error classify(int status, const http::header_list& headers, std::string_view body) {
  return classify_with_codes(status, headers, body, error_code_of(body),
                             {{"AccountOverdueError", errc::upstream_out_of_credit},
                              {"QuotaExceeded", errc::upstream_rate_limited},
                              {"RateLimitExceeded*", errc::upstream_rate_limited},
                              {"AuthenticationError", errc::upstream_auth},
                              {"InvalidAccountStatus", errc::upstream_auth}});
}

result<job_state> read_task(const json::object& o) {
  job_state st;
  auto id = first_message(o, {"id"});
  if (!id) return fail(errc::bad_upstream_response, "Ark's task has no id.");
  st.upstream_id = *id;
  auto word = first_message(o, {"status"}).value_or("queued");
  if (auto s = normalize_status(word)) st.status = *s;
  else {
    st.status = "in_progress";
    st.raw_status = word;
  }
  if (st.status == "completed") {
    auto* c = o.if_contains("content");
    auto url = c && c->is_object() ? first_message(c->as_object(), {"video_url"}) : std::nullopt;
    if (!url) return fail(errc::bad_upstream_response, "Ark says the task succeeded but gives no content.video_url.");
    st.content_url = *url;
    st.progress = 100;
  }
  if (st.status == "failed") {
    st.error_code = word == "expired" ? "expired" : word == "cancelled" ? "cancelled" : "video_generation_failed";
    std::optional<std::string> why;
    if (auto* e = o.if_contains("error"); e && e->is_object()) why = first_message(e->as_object(), {"message", "code"});
    st.error_message = why.value_or("Ark reported the task as " + word + ".");
  }
  st.created_at = unix_seconds(o.if_contains("created_at"));
  return st;
}

}  // namespace

std::vector<int> ark_dialect::allowed_durations(const config::upstream_config& up, const create_request& req) const {
  if (auto it = up.durations.find(req.model); it != up.durations.end()) return it->second;
  return {5, 10};  // Seedance 1.0
}

result<upstream_call> ark_dialect::create(const create_request& req, const config::upstream_config& up,
                                          const std::string& seconds, const create_extras& extras) const {
  if (req.shots)
    return fail(errc::unsupported_value, "Unsupported parameter 'shots': upstream '" + up.name + "' (ark) makes no storyboards.",
                "shots");
  auto model = task_model(up, req, "ark");
  if (!model) return model.error();
  json::array content;
  content.push_back(json::object{{"type", "text"}, {"text", req.prompt}});
  if (auto& img = req.input_reference)
    content.push_back(
        json::object{{"type", "image_url"}, {"image_url", json::object{{"url", image_ref(*img)}}}, {"role", "first_frame"}});
  json::object o;
  o["model"] = *model;
  o["content"] = std::move(content);
  o["ratio"] = aspect_of(req.size);
  o["duration"] = std::stoi(seconds);
  o["resolution"] = resolution_of(req.size);
  if (req.watermark) o["watermark"] = *req.watermark;
  for (auto& [k, d] : up.defaults)
    if (!o.contains(k)) o[k] = default_json(d);
  if (auto m = merge_vendor_params(o, req.vendor_params, {"model", "content", "callback_url"}); !m) return m.error();
  upstream_call c;
  if (extras.callback_url) o["callback_url"] = extras.callback_url(c.tag);
  c.method = "POST";
  c.path = "/api/v3/contents/generations/tasks";
  c.headers.emplace_back("Content-Type", "application/json");
  c.body = json::serialize(o);
  return c;
}

result<job_state> ark_dialect::read_create(int status, const http::header_list& headers, std::string_view body) const {
  if (status < 200 || status > 299) return classify(status, headers, body);
  auto o = json_object_of(body, "Ark");
  if (!o) return o.error();
  auto id = first_message(*o, {"id"});
  if (!id) return fail(errc::bad_upstream_response, "Ark's answer to the create has no id.");
  job_state st;
  st.upstream_id = *id;
  return st;
}

result<job_state> ark_dialect::read_created(const upstream_call&, int status, const http::header_list& headers,
                                            std::string_view body) const {
  return read_create(status, headers, body);
}

upstream_call ark_dialect::status(const std::string& upstream_id) const {
  upstream_call c;
  c.path = "/api/v3/contents/generations/tasks/" + url_component(upstream_id);
  return c;
}

result<job_state> ark_dialect::read_status(int status, const http::header_list& headers, std::string_view body) const {
  if (status < 200 || status > 299) return classify(status, headers, body);
  auto o = json_object_of(body, "Ark");
  if (!o) return o.error();
  return read_task(*o);
}

result<upstream_call> ark_dialect::content(const std::string&, content_variant v, const std::optional<std::string>& content_url,
                                           const config::upstream_config& up) const {
  return content_from_url(v, content_url, up, "ark", "content.video_url");
}

result<upstream_call> ark_dialect::remix(const std::string&, const std::string&, const config::upstream_config& up) const {
  return no_remix(up, "ark");
}

std::optional<upstream_call> ark_dialect::remove(const std::string& upstream_id) const {
  upstream_call c;
  c.method = "DELETE";
  c.path = "/api/v3/contents/generations/tasks/" + url_component(upstream_id);
  return c;
}

std::optional<std::string> ark_dialect::callback_job_id(std::string_view body, const std::string&) const {
  auto o = json_object_of(body, "Ark");
  if (!o) return std::nullopt;
  return first_message(*o, {"id"});
}

}  // namespace videogate::dialects
