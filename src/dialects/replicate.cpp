// Replicate predictions (vendors.md "Replicate predictions"; replicate.com/docs/reference/http):
//   POST {base}/v1/models/{owner}/{name}/predictions  {"input":{…},"webhook","webhook_events_filter":["completed"]}
//     -> 201 prediction {"id","status":"starting",…}
//   GET  {base}/v1/predictions/{id}  -> status starting|processing|succeeded|failed|canceled|aborted,
//     `output` a URL or an array of URLs, `error` a string
//   POST {base}/v1/predictions/{id}/cancel
// 429 says when to come back only in words: "… resets in ~30s."

#include "videogate/dialects/replicate.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace json = boost::json;

namespace videogate::dialects {

namespace {

/// The input names of a Replicate model family (each model has its own schema; these are the
/// flagship ones, and the generic names otherwise).
struct input_names {
  const char* seconds;
  const char* image;
  bool aspect_words;   ///< "portrait"/"landscape" rather than "9:16"/"16:9"
  bool seconds_text;   ///< a string rather than an integer
};

input_names names_for(std::string_view model) {
  if (model.starts_with("openai/sora")) return {"seconds", "input_reference", true, false};
  if (model.starts_with("kwaivgi/kling")) return {"duration", "start_image", false, false};
  if (model.starts_with("google/veo")) return {"duration", "image", false, false};
  return {"duration", "image", false, false};
}

/// "Request was throttled. Your rate limit resets in ~30s." -> 30; the rate-limits page's
/// current form, "Request was throttled. Expected available in 1 second." -> 1.
std::optional<long long> resets_in(std::string_view detail) {
  std::size_t skip = 0;
  auto at = std::string_view::npos;
  for (std::string_view mark : {"resets in ~", "available in "}) {
    at = detail.find(mark);
    skip = mark.size();
    if (at != std::string_view::npos) break;
  }
  if (at == std::string_view::npos) return std::nullopt;
  auto p = detail.data() + at + skip;
  if (p < detail.data() + detail.size() && *p == '~') ++p;
  long long n = 0;
  auto [end, ec] = std::from_chars(p, detail.data() + detail.size(), n);
  if (ec != std::errc{} || end == p) return std::nullopt;
  return std::clamp<long long>(n, 1, 86'400);
}

error classify(int status, const http::header_list& headers, std::string_view body) {
  auto e = classify_http_error(status, headers, body);
  if (status == 429 && !e.retry_after_s) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (!ec && v.is_object())
      if (auto d = first_message(v.as_object(), {"detail"}))
        if (auto s = resets_in(*d)) e.retry_after_s = *s;
  }
  return e;
}

result<job_state> read_prediction(const json::object& o) {
  job_state st;
  auto id = first_message(o, {"id"});
  if (!id) return fail(errc::bad_upstream_response, "Replicate's prediction has no id.");
  st.upstream_id = *id;
  auto word = first_message(o, {"status"}).value_or("starting");
  if (auto s = normalize_status(word)) st.status = *s;
  else {
    st.status = "in_progress";
    st.raw_status = word;
  }
  if (st.status == "completed") {
    // `output`: the video URL, or an array of URLs (the first is the video).
    auto* out = o.if_contains("output");
    if (out && out->is_string()) st.content_url = std::string(out->as_string());
    else if (out && out->is_array() && !out->as_array().empty() && out->as_array()[0].is_string())
      st.content_url = std::string(out->as_array()[0].as_string());
    else
      return fail(errc::bad_upstream_response, "Replicate says the prediction succeeded but its output has no URL.");
    st.progress = 100;
  }
  if (st.status == "failed") {
    st.error_code = word == "canceled" || word == "aborted" ? "cancelled" : "video_generation_failed";
    st.error_message = first_message(o, {"error"}).value_or("Replicate reported the prediction as " + word + ".");
  }
  st.created_at = std::nullopt;
  return st;
}

}  // namespace

std::vector<int> replicate_dialect::allowed_durations(const config::upstream_config& up, const create_request& req) const {
  if (auto it = up.durations.find(req.model); it != up.durations.end()) return it->second;
  auto m = mapped_model(up, req.model);
  if (m.starts_with("openai/sora")) return {4, 8, 12};
  if (m.starts_with("google/veo")) return {8};
  return {5, 10};
}

result<upstream_call> replicate_dialect::create(const create_request& req, const config::upstream_config& up,
                                                const std::string& seconds, const create_extras& extras) const {
  if (req.shots)
    return fail(errc::unsupported_value,
                "Unsupported parameter 'shots': upstream '" + up.name + "' (replicate) makes no storyboards.", "shots");
  auto model = task_model(up, req, "replicate");
  if (!model) return model.error();
  auto names = names_for(*model);
  json::object in;
  in["prompt"] = req.prompt;
  if (names.seconds_text) in[names.seconds] = seconds;
  else in[names.seconds] = std::stoi(seconds);
  in["aspect_ratio"] = aspect_of(req.size, names.aspect_words);
  if (auto& img = req.input_reference)
    // Replicate's file inputs take a URL or a data URL.
    in[names.image] = image_ref(*img);
  for (auto& [k, d] : up.defaults)
    if (!in.contains(k)) in[k] = default_json(d);
  if (auto m = merge_vendor_params(in, req.vendor_params, {"prompt", names.image, "webhook", "webhook_events_filter"}); !m)
    return m.error();
  json::object body;
  body["input"] = std::move(in);
  upstream_call c;
  if (extras.callback_url) {
    body["webhook"] = extras.callback_url(c.tag);
    body["webhook_events_filter"] = json::array{"completed"};
  }
  c.method = "POST";
  c.path = "/v1/models/" + *model + "/predictions";
  c.headers.emplace_back("Content-Type", "application/json");
  c.body = json::serialize(body);
  return c;
}

result<job_state> replicate_dialect::read_create(int status, const http::header_list& headers, std::string_view body) const {
  if (status < 200 || status > 299) return classify(status, headers, body);
  auto o = json_object_of(body, "Replicate");
  if (!o) return o.error();
  return read_prediction(*o);
}

result<job_state> replicate_dialect::read_created(const upstream_call&, int status, const http::header_list& headers,
                                                  std::string_view body) const {
  return read_create(status, headers, body);
}

upstream_call replicate_dialect::status(const std::string& upstream_id) const {
  upstream_call c;
  c.path = "/v1/predictions/" + url_component(upstream_id);
  return c;
}

result<job_state> replicate_dialect::read_status(int status, const http::header_list& headers, std::string_view body) const {
  if (status < 200 || status > 299) return classify(status, headers, body);
  auto o = json_object_of(body, "Replicate");
  if (!o) return o.error();
  return read_prediction(*o);
}

result<upstream_call> replicate_dialect::content(const std::string&, content_variant v,
                                                 const std::optional<std::string>& content_url,
                                                 const config::upstream_config& up) const {
  return content_from_url(v, content_url, up, "replicate", "output");
}

result<upstream_call> replicate_dialect::remix(const std::string&, const std::string&, const config::upstream_config& up) const {
  return no_remix(up, "replicate");
}

std::optional<upstream_call> replicate_dialect::remove(const std::string& upstream_id) const {
  upstream_call c;
  c.method = "POST";
  c.path = "/v1/predictions/" + url_component(upstream_id) + "/cancel";
  return c;
}

std::optional<std::string> replicate_dialect::callback_job_id(std::string_view body, const std::string&) const {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return first_message(v.as_object(), {"id"});
}

}  // namespace videogate::dialects
