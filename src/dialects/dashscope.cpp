// Alibaba DashScope, Wan (vendors.md "Alibaba DashScope", with its corrections):
//   POST {base}/api/v1/services/aigc/video-generation/video-synthesis   + `X-DashScope-Async: enable`
//     {"model","input":{"prompt","img_url"},"parameters":{"size":"1280*720" | "resolution":"720P","duration"}}
//     -> {"output":{"task_id","task_status":"PENDING"},"request_id"}
//   GET  {base}/api/v1/tasks/{id} -> output.task_status PENDING|RUNNING|SUCCEEDED|FAILED|CANCELED|UNKNOWN,
//        output.video_url, output.code/message
// Errors {"code","message","request_id"}: Throttling* 429, InvalidApiKey 401, Arrearage 400
// (out of balance), DataInspectionFailed (content). An unknown task is 200 UNKNOWN. Tasks and
// their URLs are kept 24 h (the default job_ttl). No callbacks, no delete.

#include "videogate/dialects/dashscope.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace videogate::dialects {

namespace {

error classify(int status, const http::header_list& headers, std::string_view body) {
  std::string code;
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (!ec && v.is_object()) code = first_message(v.as_object(), {"code"}).value_or("");
  return classify_with_codes(status, headers, body, code,
                             {{"Arrearage", errc::upstream_out_of_credit},
                              {"Throttling*", errc::upstream_rate_limited},
                              {"InvalidApiKey", errc::upstream_auth},
                              {"AccessDenied*", errc::upstream_auth}});
}

}  // namespace

std::vector<int> dashscope_dialect::allowed_durations(const config::upstream_config& up, const create_request& req) const {
  if (auto it = up.durations.find(req.model); it != up.durations.end()) return it->second;
  return {5, 10};  // Wan 2.5
}

result<upstream_call> dashscope_dialect::create(const create_request& req, const config::upstream_config& up,
                                                const std::string& seconds, const create_extras&) const {
  if (req.shots)
    return fail(errc::unsupported_value,
                "Unsupported parameter 'shots': upstream '" + up.name + "' (dashscope) makes no storyboards.", "shots");
  auto model = task_model(up, req, "dashscope");
  if (!model) return model.error();
  json::object input{{"prompt", req.prompt}};
  json::object params;
  bool high = resolution_of(req.size) == "1080p";
  if (auto& img = req.input_reference) {
    input["img_url"] = image_ref(*img);
    params["resolution"] = high ? "1080P" : "720P";  // image-to-video
  } else {
    // Text-to-video: one of Wan's own sizes ("1280*720"; 1792x1024 is not one), by tier and orientation.
    bool landscape = aspect_of(req.size) == "16:9";
    params["size"] = high ? (landscape ? "1920*1080" : "1080*1920") : (landscape ? "1280*720" : "720*1280");
  }
  params["duration"] = std::stoi(seconds);
  for (auto& [k, d] : up.defaults)
    if (!params.contains(k)) params[k] = default_json(d);
  // vendor_params go into `input` (DESIGN §1); a `parameters` object is deep-merged into the
  // body's `parameters` (seed, prompt_extend, …).
  json::object extra;
  if (auto m = merge_vendor_params(extra, req.vendor_params, {"model", "input", "prompt", "img_url"}); !m) return m.error();
  for (auto& [k, v] : extra) {
    if (k == "parameters" && v.is_object())
      for (auto& [pk, pv] : v.as_object()) params[pk] = pv;
    else
      input[k] = v;
  }
  json::object o;
  o["model"] = *model;
  o["input"] = std::move(input);
  o["parameters"] = std::move(params);
  upstream_call c;
  c.method = "POST";
  c.path = "/api/v1/services/aigc/video-generation/video-synthesis";
  c.headers.emplace_back("Content-Type", "application/json");
  c.headers.emplace_back("X-DashScope-Async", "enable");  // required: a synchronous create is refused
  c.body = json::serialize(o);
  return c;
}

result<job_state> dashscope_dialect::read_create(int status, const http::header_list& headers, std::string_view body) const {
  if (status < 200 || status > 299) return classify(status, headers, body);
  auto o = json_object_of(body, "DashScope");
  if (!o) return o.error();
  auto* out = o->if_contains("output");
  auto id = out && out->is_object() ? first_message(out->as_object(), {"task_id"}) : std::nullopt;
  if (!id) return fail(errc::bad_upstream_response, "DashScope's answer to the create has no output.task_id.");
  job_state st;
  st.upstream_id = *id;
  return st;
}

result<job_state> dashscope_dialect::read_created(const upstream_call&, int status, const http::header_list& headers,
                                                  std::string_view body) const {
  return read_create(status, headers, body);
}

upstream_call dashscope_dialect::status(const std::string& upstream_id) const {
  upstream_call c;
  c.path = "/api/v1/tasks/" + url_component(upstream_id);
  return c;
}

result<job_state> dashscope_dialect::read_status(int status, const http::header_list& headers, std::string_view body) const {
  if (status < 200 || status > 299) return classify(status, headers, body);
  auto o = json_object_of(body, "DashScope");
  if (!o) return o.error();
  auto* ov = o->if_contains("output");
  if (!ov || !ov->is_object()) return fail(errc::bad_upstream_response, "DashScope's task answer has no output.");
  auto& out = ov->as_object();
  auto word = first_message(out, {"task_status"}).value_or("PENDING");
  // An unknown task is answered 200 UNKNOWN: the vendor does not know the job (DESIGN §2).
  if (word == "UNKNOWN") return fail(errc::not_found, "DashScope does not know this task (UNKNOWN).");
  job_state st;
  st.upstream_id = first_message(out, {"task_id"}).value_or("");
  if (auto s = normalize_status(word)) st.status = *s;
  else {
    st.status = "in_progress";
    st.raw_status = word;
  }
  if (st.status == "completed") {
    auto url = first_message(out, {"video_url"});
    if (!url) return fail(errc::bad_upstream_response, "DashScope says the task succeeded but gives no output.video_url.");
    st.content_url = *url;
    st.progress = 100;
  }
  if (st.status == "failed") {
    st.error_code = word == "CANCELED" ? "cancelled" : "video_generation_failed";
    auto msg = first_message(out, {"message"});
    auto code = first_message(out, {"code"});
    st.error_message = msg ? *msg + (code ? " (" + *code + ")" : "") : "DashScope reported the task as " + word + ".";
  }
  return st;
}

result<upstream_call> dashscope_dialect::content(const std::string&, content_variant v,
                                                 const std::optional<std::string>& content_url,
                                                 const config::upstream_config& up) const {
  return content_from_url(v, content_url, up, "dashscope", "output.video_url");
}

result<upstream_call> dashscope_dialect::remix(const std::string&, const std::string&, const config::upstream_config& up) const {
  return no_remix(up, "dashscope");
}

std::optional<upstream_call> dashscope_dialect::remove(const std::string&) const { return std::nullopt; }

}  // namespace videogate::dialects
