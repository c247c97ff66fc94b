// fal.ai's queue (vendors.md "fal.ai queue"; docs.fal.ai "Queue"):
//   POST {base}/{owner}/{app}[/{path}][?fal_webhook=URL]   the model's input JSON, `Authorization: Key`
//     -> {"request_id","response_url","status_url","cancel_url"}
//   GET  {base}/{owner}/{app}/requests/{id}/status         (owner/app only, never the sub-path)
//     -> 202 {"status":"IN_QUEUE"|"IN_PROGRESS"}, 200 {"status":"COMPLETED"}
//   GET  {base}/{owner}/{app}/requests/{id}                the result: {"video":{"url",…}};
//     a failed run answers here with 4xx/5xx and `detail`
//   PUT  {base}/{owner}/{app}/requests/{id}/cancel
// Our upstream id is "{owner}/{app}|{request_id}": a status call needs the app.

#include "videogate/dialects/fal.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace videogate::dialects {

namespace {

/// "owner/app" of an app path "owner/app/sub/path".
std::string app_root(std::string_view path) {
  auto first = path.find('/');
  if (first == std::string_view::npos) return std::string(path);
  auto second = path.find('/', first + 1);
  return std::string(path.substr(0, second));
}

bool is_veo(std::string_view app) { return app.find("veo") != std::string_view::npos; }
bool is_kling(std::string_view app) { return app.find("kling") != std::string_view::npos; }

std::pair<std::string, std::string> split_id(const std::string& uid) {
  auto bar = uid.find('|');
  if (bar == std::string::npos) return {"", uid};
  return {uid.substr(0, bar), uid.substr(bar + 1)};
}

/// fal's errors, with its own word for an empty balance: 403 "User is locked. Reason:
/// Exhausted balance" (DESIGN §2) disables the key as out of credit, not as invalid.
error classify(int status, const http::header_list& headers, std::string_view body) {
  auto e = classify_http_error(status, headers, body);
  if (status == 403 && body.find("User is locked") != std::string_view::npos) {
    // fal's own answer for an empty balance: judged by its documented form, not by words
    // that a prompt could echo (a prompt about a "balance beam" must not clear it).
    e.code = errc::upstream_out_of_credit;
    e.by_words = false;
  }
  return e;
}

}  // namespace

std::vector<int> fal_dialect::allowed_durations(const config::upstream_config& up, const create_request& req) const {
  if (auto it = up.durations.find(req.model); it != up.durations.end()) return it->second;
  auto app = mapped_model(up, req.model);
  if (is_veo(app)) return {8};
  if (is_kling(app)) return {5, 10};
  return {4, 8, 12};  // Sora 2 on fal
}

result<upstream_call> fal_dialect::create(const create_request& req, const config::upstream_config& up,
                                          const std::string& seconds, const create_extras& extras) const {
  if (req.shots)
    return fail(errc::unsupported_value, "Unsupported parameter 'shots': upstream '" + up.name + "' (fal) makes no storyboards.",
                "shots");
  auto app = task_model(up, req, "fal");
  if (!app) return app.error();
  json::object in;
  in["prompt"] = req.prompt;
  // Veo 3 on fal types the duration as "8s"; Sora 2 and Kling as a number.
  if (is_veo(*app)) in["duration"] = seconds + "s";
  else if (is_kling(*app)) in["duration"] = seconds;  // Kling on fal: "5" | "10"
  else in["duration"] = std::stoi(seconds);
  in["aspect_ratio"] = aspect_of(req.size);
  if (!is_kling(*app)) in["resolution"] = resolution_of(req.size);
  if (auto& img = req.input_reference) {
    // fal takes a URL or a data URI for image_url.
    in["image_url"] = image_ref(*img);
  }
  for (auto& [k, d] : up.defaults)
    if (!in.contains(k)) in[k] = default_json(d);
  // `model` is Sora 2's snapshot selector on fal: the vendor's model, which the gateway picks.
  if (auto m = merge_vendor_params(in, req.vendor_params, {"prompt", "image_url", "fal_webhook", "model"}); !m)
    return m.error();
  upstream_call c;
  c.method = "POST";
  c.path = "/" + *app;
  c.tag = app_root(*app);
  if (extras.callback_url) c.path += "?fal_webhook=" + url_component(extras.callback_url(c.tag));
  c.headers.emplace_back("Content-Type", "application/json");
  c.body = json::serialize(in);
  return c;
}

result<job_state> fal_dialect::read_create(int status, const http::header_list& headers, std::string_view body) const {
  upstream_call none;
  return read_created(none, status, headers, body);
}

result<job_state> fal_dialect::read_created(const upstream_call& sent, int status, const http::header_list& headers,
                                            std::string_view body) const {
  if (status < 200 || status > 299) return classify(status, headers, body);
  auto o = json_object_of(body, "fal");
  if (!o) return o.error();
  auto id = o->if_contains("request_id");
  if (!id || !id->is_string() || id->as_string().empty())
    return fail(errc::bad_upstream_response, "fal's answer to the create has no request_id.");
  job_state st;
  st.upstream_id = sent.tag + "|" + std::string(id->as_string());
  st.status = "queued";
  return st;
}

upstream_call fal_dialect::status(const std::string& upstream_id) const {
  auto [app, id] = split_id(upstream_id);
  upstream_call c;
  c.path = "/" + app + "/requests/" + url_component(id) + "/status";
  return c;
}

result<job_state> fal_dialect::read_status(int status, const http::header_list& headers, std::string_view body) const {
  if (status != 200 && status != 202) return classify(status, headers, body);
  auto o = json_object_of(body, "fal");
  if (!o) return o.error();
  job_state st;
  auto word = first_message(*o, {"status"}).value_or("");
  if (word == "COMPLETED") {
    // The run is over; whether it made a video or failed is told by the result.
    st.status = "in_progress";
    st.progress = 99;
    st.fetch_result = true;
    return st;
  }
  if (auto s = normalize_status(word)) st.status = *s;
  else {
    st.status = "in_progress";
    st.raw_status = word;
  }
  return st;
}

upstream_call fal_dialect::result_call(const std::string& upstream_id, const job_state&) const {
  auto [app, id] = split_id(upstream_id);
  upstream_call c;
  c.path = "/" + app + "/requests/" + url_component(id);
  return c;
}

result<job_state> fal_dialect::read_follow_up(int status, const http::header_list& headers, std::string_view body,
                                              const std::string& upstream_id) const {
  job_state st;
  st.upstream_id = upstream_id;
  if (status == 401 || status == 403 || status == 429 || status == 404 || status == 402)
    return classify(status, headers, body);
  if (status >= 400) {
    // A failed model run surfaces on the result fetch, its reason in `detail`.
    st.status = "failed";
    st.error_code = "video_generation_failed";
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    std::optional<std::string> why;
    if (!ec && v.is_object()) {
      if (auto* d = v.as_object().if_contains("detail"); d && d->is_array() && !d->as_array().empty() &&
                                                           d->as_array()[0].is_object())
        why = first_message(d->as_array()[0].as_object(), {"msg", "message"});
      if (!why) why = first_message(v.as_object(), {"detail", "error", "message"});
    }
    st.error_message = why.value_or("fal reported the run as failed (HTTP " + std::to_string(status) + ").");
    return st;
  }
  auto o = json_object_of(body, "fal");
  if (!o) return o.error();
  auto* video = o->if_contains("video");
  if (!video || !video->is_object())
    return fail(errc::bad_upstream_response, "fal's result has no video object.");
  auto url = first_message(video->as_object(), {"url"});
  if (!url) return fail(errc::bad_upstream_response, "fal's result has no video.url.");
  st.status = "completed";
  st.progress = 100;
  st.content_url = *url;
  return st;
}

result<upstream_call> fal_dialect::content(const std::string&, content_variant v, const std::optional<std::string>& content_url,
                                           const config::upstream_config& up) const {
  return content_from_url(v, content_url, up, "fal", "video.url");
}

result<upstream_call> fal_dialect::remix(const std::string&, const std::string&, const config::upstream_config& up) const {
  return no_remix(up, "fal");
}

std::optional<upstream_call> fal_dialect::remove(const std::string& upstream_id) const {
  auto [app, id] = split_id(upstream_id);
  upstream_call c;
  c.method = "PUT";
  c.path = "/" + app + "/requests/" + url_component(id) + "/cancel";
  return c;
}

std::optional<std::string> fal_dialect::callback_job_id(std::string_view body, const std::string& tag) const {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto id = first_message(v.as_object(), {"request_id"});
  if (!id) return std::nullopt;
  return tag + "|" + *id;
}

}  // namespace videogate::dialects
