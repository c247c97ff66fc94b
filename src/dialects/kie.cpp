// kie.ai (vendors.md "kie.ai"; docs.kie.ai):
//   Market models (Sora 2, Kling, Wan, …):
//     POST {base}/api/v1/jobs/createTask {"model","callBackUrl","input":{…}} -> {"code":200,"data":{"taskId"}}
//     GET  {base}/api/v1/jobs/recordInfo?taskId= -> data.state waiting|queuing|generating|success|fail,
//          data.resultJson a JSON *string* {"resultUrls":[…]}, failCode/failMsg
//   Veo 3 (`veo3`, `veo3_fast`):
//     POST {base}/api/v1/veo/generate {prompt, model, aspectRatio, imageUrls, callBackUrl} -> data.taskId
//     GET  {base}/api/v1/veo/record-info?taskId= -> data.successFlag 0 running, 1 done, 2/3 failed;
//          data.response.resultUrls
// Errors come as HTTP 200 with `code` != 200 as often as real statuses: `code` is read on every
// answer. Images must be URLs (uploads are served by the gateway). Our upstream id of a Veo job
// is "veo:{taskId}".

#include "videogate/dialects/kie.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace videogate::dialects {

namespace {

bool is_veo_model(std::string_view m) { return m.starts_with("veo"); }
bool is_sora_model(std::string_view m) { return m.starts_with("sora-2"); }

std::int64_t code_of(const json::object& o) {
  auto* c = o.if_contains("code");
  if (!c) return 200;
  if (c->is_int64()) return c->as_int64();
  if (c->is_uint64()) return static_cast<std::int64_t>(c->as_uint64());
  if (c->is_string()) {
    try {
      return std::stoll(std::string(c->as_string()));
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

/// kie's envelope: `code` 200 is success whatever the HTTP status says; another code is
/// classified like the HTTP status it names (455 service unavailable, 505 feature disabled).
result<json::object> envelope(int status, const http::header_list& headers, std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    if (status < 200 || status > 299) return classify_http_error(status, headers, body);
    return fail(errc::bad_upstream_response, "kie answered with something that is not a JSON object.");
  }
  auto& o = v.as_object();
  auto code = code_of(o);
  if (code == 200 && status >= 200 && status <= 299) return std::move(o);
  // 501 "generation failed" is kie's own answer, like a 500: nothing was lost on the way (a
  // 502 would say the create may exist and stop the failover).
  int as_status = code == 455 ? 503 : code == 505 ? 400 : code == 501 ? 500 : code == 422 ? 400 : static_cast<int>(code);
  if (as_status < 400 || as_status > 599) as_status = status >= 400 ? status : 502;
  // The message is in `msg`: put it where the shared classifier reads messages.
  json::object err;
  err["error"] = json::object{{"message", first_message(o, {"msg", "message"}).value_or("kie error " + std::to_string(code))}};
  return classify_http_error(as_status, headers, json::serialize(err));
}

std::optional<std::string> first_url(const json::value* v) {
  if (!v || !v->is_array() || v->as_array().empty() || !v->as_array()[0].is_string()) return std::nullopt;
  return std::string(v->as_array()[0].as_string());
}

}  // namespace

std::vector<int> kie_dialect::allowed_durations(const config::upstream_config& up, const create_request& req) const {
  if (auto it = up.durations.find(req.model); it != up.durations.end()) return it->second;
  auto m = mapped_model(up, req.model);
  if (is_veo_model(m)) return {8};
  if (is_sora_model(m)) return {10, 15};
  return {5, 10};
}

result<upstream_call> kie_dialect::create(const create_request& req, const config::upstream_config& up,
                                          const std::string& seconds, const create_extras& extras) const {
  if (req.shots)
    return fail(errc::unsupported_value, "Unsupported parameter 'shots': upstream '" + up.name + "' (kie) makes no storyboards.",
                "shots");
  auto model = task_model(up, req, "kie");
  if (!model) return model.error();
  std::optional<std::string> image;
  if (auto& img = req.input_reference) {
    bool inline_bytes = !img->bytes.empty() || img->url.starts_with("data:");
    if (inline_bytes && extras.image_url.empty())
      return fail(errc::unsupported_value,
                  "Upstream '" + up.name + "' (kie) takes images by URL only: send input_reference[image_url] with an "
                  "http(s) URL, or set public_base_url so that the gateway can serve the uploaded image to the vendor.",
                  "input_reference");
    image = inline_bytes ? extras.image_url : img->url;
  }
  upstream_call c;
  c.method = "POST";
  c.headers.emplace_back("Content-Type", "application/json");
  json::object body;
  if (is_veo_model(*model)) {
    c.path = "/api/v1/veo/generate";
    c.tag = "veo";
    body["prompt"] = req.prompt;
    body["model"] = *model;
    body["aspectRatio"] = aspect_of(req.size);
    if (image) body["imageUrls"] = json::array{json::value(*image)};
    for (auto& [k, d] : up.defaults)
      if (!body.contains(k)) body[k] = default_json(d);
    if (auto m = merge_vendor_params(body, req.vendor_params, {"model", "prompt", "imageUrls", "callBackUrl"}); !m)
      return m.error();
    if (extras.callback_url) body["callBackUrl"] = extras.callback_url(c.tag);
  } else {
    c.path = "/api/v1/jobs/createTask";
    json::object in;
    in["prompt"] = req.prompt;
    if (is_sora_model(*model)) {
      in["aspect_ratio"] = aspect_of(req.size, true);
      in["n_frames"] = seconds;  // "10" | "15": a string
      in["remove_watermark"] = !req.watermark.value_or(false);
    } else {
      in["aspect_ratio"] = aspect_of(req.size);
      in["duration"] = seconds;
    }
    if (image) in["image_urls"] = json::array{json::value(*image)};
    for (auto& [k, d] : up.defaults)
      if (!in.contains(k)) in[k] = default_json(d);
    if (auto m = merge_vendor_params(in, req.vendor_params, {"prompt", "image_urls", "callBackUrl", "model"}); !m)
      return m.error();
    body["model"] = *model;
    if (extras.callback_url) body["callBackUrl"] = extras.callback_url(c.tag);
    body["input"] = std::move(in);
  }
  c.body = json::serialize(body);
  return c;
}

result<job_state> kie_dialect::read_create(int status, const http::header_list& headers, std::string_view body) const {
  upstream_call none;
  return read_created(none, status, headers, body);
}

result<job_state> kie_dialect::read_created(const upstream_call& sent, int status, const http::header_list& headers,
                                            std::string_view body) const {
  auto o = envelope(status, headers, body);
  if (!o) return o.error();
  auto* data = o->if_contains("data");
  std::optional<std::string> id;
  if (data && data->is_object()) id = first_message(data->as_object(), {"taskId"});
  if (!id) return fail(errc::bad_upstream_response, "kie's answer to the create has no data.taskId.");
  job_state st;
  st.upstream_id = sent.tag == "veo" ? "veo:" + *id : *id;
  st.status = "queued";
  return st;
}

upstream_call kie_dialect::status(const std::string& upstream_id) const {
  upstream_call c;
  if (upstream_id.starts_with("veo:"))
    c.path = "/api/v1/veo/record-info?taskId=" + url_component(upstream_id.substr(4));
  else
    c.path = "/api/v1/jobs/recordInfo?taskId=" + url_component(upstream_id);
  return c;
}

result<job_state> kie_dialect::read_status(int status, const http::header_list& headers, std::string_view body) const {
  auto o = envelope(status, headers, body);
  if (!o) return o.error();
  auto* dv = o->if_contains("data");
  if (!dv || !dv->is_object()) return fail(errc::not_found, "kie knows no such task (its answer has no data).");
  auto& d = dv->as_object();
  job_state st;
  if (auto* flag = d.if_contains("successFlag")) {
    // Veo 3: 0 generating, 1 success, 2 and 3 failed; URLs already parsed.
    auto f = flag->is_int64() ? flag->as_int64() : flag->is_string() ? std::atoll(flag->as_string().c_str()) : 0;
    if (f == 1) {
      auto* resp = d.if_contains("response");
      auto url = resp && resp->is_object() ? first_url(resp->as_object().if_contains("resultUrls")) : std::nullopt;
      if (!url) return fail(errc::bad_upstream_response, "kie says the Veo task succeeded but gives no resultUrls.");
      st.status = "completed";
      st.progress = 100;
      st.content_url = *url;
    } else if (f == 2 || f == 3) {
      st.status = "failed";
      st.error_code = "video_generation_failed";
      st.error_message = first_message(d, {"errorMessage", "failMsg", "msg"}).value_or("kie reported the Veo task as failed.");
    } else {
      st.status = "in_progress";
    }
    return st;
  }
  auto word = first_message(d, {"state"}).value_or("waiting");
  if (auto s = normalize_status(word)) st.status = *s;
  else {
    st.status = "in_progress";
    st.raw_status = word;
  }
  if (st.status == "completed") {
    // resultJson is a JSON string holding {"resultUrls":[…]}.
    auto text = first_message(d, {"resultJson"}).value_or("");
    boost::system::error_code ec;
    auto r = json::parse(text, ec);
    auto url = !ec && r.is_object() ? first_url(r.as_object().if_contains("resultUrls")) : std::nullopt;
    if (!url) return fail(errc::bad_upstream_response, "kie says the task succeeded but its resultJson has no resultUrls.");
    st.content_url = *url;
    st.progress = 100;
  }
  if (st.status == "failed") {
    st.error_code = "video_generation_failed";
    auto msg = first_message(d, {"failMsg"});
    auto code = first_message(d, {"failCode"});
    st.error_message = msg ? *msg + (code ? " (kie failCode " + *code + ")" : "") : "kie reported the task as failed.";
  }
  return st;
}

result<upstream_call> kie_dialect::content(const std::string&, content_variant v, const std::optional<std::string>& content_url,
                                           const config::upstream_config& up) const {
  return content_from_url(v, content_url, up, "kie", "resultUrls");
}

result<upstream_call> kie_dialect::remix(const std::string&, const std::string&, const config::upstream_config& up) const {
  return no_remix(up, "kie");
}

std::optional<upstream_call> kie_dialect::remove(const std::string&) const { return std::nullopt; }

std::optional<std::string> kie_dialect::callback_job_id(std::string_view body, const std::string& tag) const {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto& o = v.as_object();
  std::optional<std::string> id;
  if (auto* d = o.if_contains("data"); d && d->is_object()) id = first_message(d->as_object(), {"taskId"});
  if (!id) id = first_message(o, {"taskId"});
  if (!id) return std::nullopt;
  return tag == "veo" ? "veo:" + *id : *id;
}

}  // namespace videogate::dialects
