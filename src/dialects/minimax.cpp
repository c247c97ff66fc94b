// MiniMax Hailuo (vendors.md "MiniMax Hailuo", with its corrections):
//   POST {base}/v1/video_generation {"model","prompt","duration","resolution","first_frame_image"}
//     -> {"task_id","base_resp":{"status_code":0,"status_msg"}}
//   GET  {base}/v1/query/video_generation?task_id= -> status Preparing|Queueing|Processing|Success|Fail, file_id
//   GET  {base}/v1/files/retrieve?file_id=  (the third call, with the job's key) -> file.download_url
// Errors live in base_resp.status_code, in HTTP 200 answers: 1002 rate limit, 1004/2049 key,
// 1008 balance, 1026 sensitive content, 2013 bad parameter. No callbacks: MiniMax's callback
// needs a verification handshake first, which this gateway does not answer.

#include "videogate/dialects/minimax.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace videogate::dialects {

namespace {

std::string text_of(const json::value* v) {
  if (!v) return {};
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  return {};
}

/// Every answer's base_resp: a code other than 0 is classified like the HTTP status it means.
result<json::object> envelope(int status, const http::header_list& headers, std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    if (status < 200 || status > 299) return classify_http_error(status, headers, body);
    return fail(errc::bad_upstream_response, "MiniMax answered with something that is not a JSON object.");
  }
  auto& o = v.as_object();
  std::int64_t code = 0;
  std::string msg;
  if (auto* br = o.if_contains("base_resp"); br && br->is_object()) {
    auto c = text_of(br->as_object().if_contains("status_code"));
    code = c.empty() ? 0 : std::atoll(c.c_str());
    msg = first_message(br->as_object(), {"status_msg"}).value_or("");
  }
  if (code == 0 && status >= 200 && status <= 299) return std::move(o);
  int as_status = code == 1002 ? 429 : code == 1004 || code == 2049 ? 401 : code == 1008 ? 402
                  : code == 1026 || code == 2013 ? 400 : code == 0 ? status : 500;
  json::object err;
  err["error"] = json::object{{"message", msg.empty() ? "MiniMax error " + std::to_string(code) : msg}};
  auto e = classify_http_error(as_status, headers, json::serialize(err));
  e.by_words = false;  // judged by the documented code
  return e;
}

}  // namespace

std::vector<int> minimax_dialect::allowed_durations(const config::upstream_config& up, const create_request& req) const {
  if (auto it = up.durations.find(req.model); it != up.durations.end()) return it->second;
  return {6, 10};  // Hailuo 02
}

result<upstream_call> minimax_dialect::create(const create_request& req, const config::upstream_config& up,
                                              const std::string& seconds, const create_extras&) const {
  if (req.shots)
    return fail(errc::unsupported_value,
                "Unsupported parameter 'shots': upstream '" + up.name + "' (minimax) makes no storyboards.", "shots");
  auto model = task_model(up, req, "minimax");
  if (!model) return model.error();
  auto secs = std::stoi(seconds);
  bool high = resolution_of(req.size) == "1080p";
  if (high && secs != 6)
    return fail(errc::unsupported_value,
                "Upstream '" + up.name + "' (minimax) makes 1080P only at 6 seconds; ask for 6 seconds or a 720p size.",
                "size");
  json::object o;
  o["model"] = *model;
  o["prompt"] = req.prompt;
  o["duration"] = secs;
  o["resolution"] = high ? "1080P" : "768P";
  if (auto& img = req.input_reference) o["first_frame_image"] = image_ref(*img);
  for (auto& [k, d] : up.defaults)
    if (!o.contains(k)) o[k] = default_json(d);
  if (auto m = merge_vendor_params(o, req.vendor_params, {"model", "prompt", "first_frame_image", "callback_url"}); !m)
    return m.error();
  upstream_call c;
  c.method = "POST";
  c.path = "/v1/video_generation";
  c.headers.emplace_back("Content-Type", "application/json");
  c.body = json::serialize(o);
  return c;
}

result<job_state> minimax_dialect::read_create(int status, const http::header_list& headers, std::string_view body) const {
  auto o = envelope(status, headers, body);
  if (!o) return o.error();
  auto id = text_of(o->if_contains("task_id"));
  if (id.empty()) return fail(errc::bad_upstream_response, "MiniMax's answer to the create has no task_id.");
  job_state st;
  st.upstream_id = id;
  return st;
}

result<job_state> minimax_dialect::read_created(const upstream_call&, int status, const http::header_list& headers,
                                                std::string_view body) const {
  return read_create(status, headers, body);
}

upstream_call minimax_dialect::status(const std::string& upstream_id) const {
  upstream_call c;
  c.path = "/v1/query/video_generation?task_id=" + url_component(upstream_id);
  return c;
}

result<job_state> minimax_dialect::read_status(int status, const http::header_list& headers, std::string_view body) const {
  auto o = envelope(status, headers, body);
  if (!o) {
    // A failed task's answer carries its reason's code in base_resp (1026/1027: sensitive
    // input/output): the task ended, the call did not fail.
    auto task = json_object_of(body, "MiniMax");
    if (!task || status < 200 || status > 299 || first_message(*task, {"status"}) != "Fail") return o.error();
    o = std::move(*task);
  }
  job_state st;
  st.upstream_id = text_of(o->if_contains("task_id"));
  auto word = first_message(*o, {"status"}).value_or("Queueing");
  if (auto s = normalize_status(word)) st.status = *s;
  else {
    st.status = "in_progress";
    st.raw_status = word;
  }
  if (st.status == "completed") {
    // The third call turns the file into a URL, with the job's key.
    auto file = text_of(o->if_contains("file_id"));
    if (file.empty()) return fail(errc::bad_upstream_response, "MiniMax says the task succeeded but gives no file_id.");
    st.status = "in_progress";
    st.progress = 99;
    st.fetch_result = true;
    st.result_ref = file;
  }
  if (st.status == "failed") {
    st.error_code = "video_generation_failed";
    std::optional<std::string> why;
    if (auto* br = o->if_contains("base_resp"); br && br->is_object()) why = first_message(br->as_object(), {"status_msg"});
    if (!why || *why == "success") why = "MiniMax reported the task as failed.";
    st.error_message = *why;
  }
  return st;
}

upstream_call minimax_dialect::result_call(const std::string&, const job_state& st) const {
  upstream_call c;
  c.path = "/v1/files/retrieve?file_id=" + url_component(st.result_ref);
  return c;
}

result<job_state> minimax_dialect::read_follow_up(int status, const http::header_list& headers, std::string_view body,
                                                  const std::string& upstream_id) const {
  auto o = envelope(status, headers, body);
  if (!o) return o.error();
  auto* file = o->if_contains("file");
  auto url = file && file->is_object() ? first_message(file->as_object(), {"download_url"}) : std::nullopt;
  if (!url) return fail(errc::bad_upstream_response, "MiniMax's files/retrieve answer has no file.download_url.");
  job_state st;
  st.upstream_id = upstream_id;
  st.status = "completed";
  st.progress = 100;
  st.content_url = *url;
  return st;
}

result<upstream_call> minimax_dialect::content(const std::string&, content_variant v,
                                               const std::optional<std::string>& content_url,
                                               const config::upstream_config& up) const {
  return content_from_url(v, content_url, up, "minimax", "file.download_url");
}

result<upstream_call> minimax_dialect::remix(const std::string&, const std::string&, const config::upstream_config& up) const {
  return no_remix(up, "minimax");
}

std::optional<upstream_call> minimax_dialect::remove(const std::string&) const { return std::nullopt; }

}  // namespace videogate::dialects
