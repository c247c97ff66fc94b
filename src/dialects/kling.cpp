// Kling, the official API (vendors.md "Kling (official)", with its corrections):
//   Auth: a JWT per request, HS256 signed with the secret key: {"alg":"HS256","typ":"JWT"},
//     claims iss = access key, exp = now + 30 min, nbf = now - 5 s; `Authorization: Bearer <jwt>`.
//     A key in the config is "ACCESS_KEY:SECRET_KEY" (its fingerprint is of the whole pair).
//   POST {base}/v1/videos/text2video (image2video with `image`)
//     {"model_name","prompt","duration":"5"|"10","aspect_ratio" (text2video only),"mode","callback_url"}
//     -> {"code":0,"data":{"task_id","task_status"}}
//   GET  {base}/v1/videos/{text2video|image2video}/{task_id} -> data.task_status submitted|processing|succeed|failed,
//        data.task_status_msg, data.task_result.videos[0].url
//   `image` is a URL or raw base64 without a data: prefix. Errors: `code` != 0 (1000-1004 auth,
//   1101/1102 balance even with HTTP 429, 1302/1303 rate or concurrency, 1301 content policy).
// Our upstream id is "{text2video|image2video}:{task_id}".

#include "videogate/dialects/kling.hpp"

#include <boost/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace json = boost::json;

namespace videogate::dialects {

namespace {

std::string base64url(std::string_view bytes) {
  auto b = base64_encode(bytes);
  for (auto& c : b) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!b.empty() && b.back() == '=') b.pop_back();
  return b;
}

std::int64_t code_of(const json::object& o) {
  auto* c = o.if_contains("code");
  if (!c) return 0;
  if (c->is_int64()) return c->as_int64();
  if (c->is_uint64()) return static_cast<std::int64_t>(c->as_uint64());
  if (c->is_string()) return std::atoll(c->as_string().c_str());
  return -1;
}

/// Kling's envelope: `code` 0 is success; another code is judged by what Kling documents, over
/// the HTTP status (an empty balance comes as HTTP 429 with 1101/1102: disable, not cool).
result<json::object> envelope(int status, const http::header_list& headers, std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    if (status < 200 || status > 299) return classify_http_error(status, headers, body);
    return fail(errc::bad_upstream_response, "Kling answered with something that is not a JSON object.");
  }
  auto& o = v.as_object();
  auto code = code_of(o);
  if (code == 0 && status >= 200 && status <= 299) return std::move(o);
  int as_status = code >= 1000 && code <= 1004   ? 401
                  : code == 1101 || code == 1102 ? 402
                  : code == 1302 || code == 1303 ? 429
                  : code == 1301                 ? 400
                  : code >= 1200 && code < 1300  ? 400
                  : status >= 400                ? status
                                                 : 500;
  json::object err;
  err["error"] = json::object{{"message", first_message(o, {"message"}).value_or("Kling error " + std::to_string(code))}};
  auto e = classify_http_error(as_status, headers, json::serialize(err));
  e.by_words = false;  // judged by Kling's documented code
  return e;
}

std::pair<std::string, std::string> split_id(const std::string& uid) {
  auto colon = uid.find(':');
  if (colon == std::string::npos) return {"text2video", uid};
  return {uid.substr(0, colon), uid.substr(colon + 1)};
}

}  // namespace

std::string kling_dialect::authorization(const std::string& key) const {
  auto now = now_();
  {
    std::lock_guard lk(mu_);
    if (auto it = tokens_.find(key); it != tokens_.end() && it->second.exp - now > 300) return "Bearer " + it->second.jwt;
  }
  auto colon = key.find(':');
  auto access = key.substr(0, colon);
  auto secret = colon == std::string::npos ? std::string() : key.substr(colon + 1);
  auto header = base64url(R"({"alg":"HS256","typ":"JWT"})");
  json::object claims{{"iss", access}, {"exp", now + 1800}, {"nbf", now - 5}};
  auto signing = header + "." + base64url(json::serialize(claims));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(signing.data()),
       signing.size(), mac, &len);
  auto jwt = signing + "." + base64url(std::string_view(reinterpret_cast<const char*>(mac), len));
  std::lock_guard lk(mu_);
  if (tokens_.size() > 1024) tokens_.clear();  // keys of reloads long gone
  tokens_[key] = token{jwt, now + 1800};
  return "Bearer " + jwt;
}

std::vector<int> kling_dialect::allowed_durations(const config::upstream_config& up, const create_request& req) const {
  if (auto it = up.durations.find(req.model); it != up.durations.end()) return it->second;
  return {5, 10};
}

result<upstream_call> kling_dialect::create(const create_request& req, const config::upstream_config& up,
                                            const std::string& seconds, const create_extras& extras) const {
  if (req.shots)
    return fail(errc::unsupported_value, "Unsupported parameter 'shots': upstream '" + up.name + "' (kling) makes no storyboards.",
                "shots");
  auto model = task_model(up, req, "kling");
  if (!model) return model.error();
  json::object o;
  o["model_name"] = *model;
  o["prompt"] = req.prompt;
  o["duration"] = seconds;  // a string: "5" | "10"
  upstream_call c;
  c.method = "POST";
  if (auto& img = req.input_reference) {
    // A URL, or raw base64 without a data: prefix.
    if (!img->bytes.empty()) o["image"] = base64_encode(img->bytes);
    else if (img->url.starts_with("data:")) o["image"] = img->url.substr(img->url.find(',') + 1);
    else o["image"] = img->url;
    c.tag = "image2video";  // which takes no aspect_ratio
  } else {
    o["aspect_ratio"] = aspect_of(req.size);
    c.tag = "text2video";
  }
  for (auto& [k, d] : up.defaults)
    if (!o.contains(k)) o[k] = default_json(d);
  if (auto m = merge_vendor_params(o, req.vendor_params, {"model_name", "prompt", "image", "callback_url"}); !m)
    return m.error();
  if (extras.callback_url) o["callback_url"] = extras.callback_url(c.tag);
  c.path = "/v1/videos/" + c.tag;
  c.headers.emplace_back("Content-Type", "application/json");
  c.body = json::serialize(o);
  return c;
}

result<job_state> kling_dialect::read_create(int status, const http::header_list& headers, std::string_view body) const {
  upstream_call none;
  none.tag = "text2video";
  return read_created(none, status, headers, body);
}

result<job_state> kling_dialect::read_created(const upstream_call& sent, int status, const http::header_list& headers,
                                              std::string_view body) const {
  auto o = envelope(status, headers, body);
  if (!o) return o.error();
  auto* d = o->if_contains("data");
  auto id = d && d->is_object() ? first_message(d->as_object(), {"task_id"}) : std::nullopt;
  if (!id) return fail(errc::bad_upstream_response, "Kling's answer to the create has no data.task_id.");
  job_state st;
  st.upstream_id = (sent.tag.empty() ? std::string("text2video") : sent.tag) + ":" + *id;
  return st;
}

upstream_call kling_dialect::status(const std::string& upstream_id) const {
  auto [family, id] = split_id(upstream_id);
  upstream_call c;
  c.path = "/v1/videos/" + family + "/" + url_component(id);
  return c;
}

result<job_state> kling_dialect::read_status(int status, const http::header_list& headers, std::string_view body) const {
  auto o = envelope(status, headers, body);
  if (!o) return o.error();
  auto* dv = o->if_contains("data");
  if (!dv || !dv->is_object()) return fail(errc::bad_upstream_response, "Kling's task answer has no data.");
  auto& d = dv->as_object();
  job_state st;
  auto word = first_message(d, {"task_status"}).value_or("submitted");
  if (auto s = normalize_status(word)) st.status = *s;
  else {
    st.status = "in_progress";
    st.raw_status = word;
  }
  if (st.status == "completed") {
    std::optional<std::string> url;
    if (auto* r = d.if_contains("task_result"); r && r->is_object())
      if (auto* vids = r->as_object().if_contains("videos");
          vids && vids->is_array() && !vids->as_array().empty() && vids->as_array()[0].is_object())
        url = first_message(vids->as_array()[0].as_object(), {"url"});
    if (!url) return fail(errc::bad_upstream_response, "Kling says the task succeeded but gives no task_result.videos[0].url.");
    st.content_url = *url;
    st.progress = 100;
  }
  if (st.status == "failed") {
    st.error_code = "video_generation_failed";
    st.error_message = first_message(d, {"task_status_msg"}).value_or("Kling reported the task as failed.");
  }
  return st;
}

result<upstream_call> kling_dialect::content(const std::string&, content_variant v, const std::optional<std::string>& content_url,
                                             const config::upstream_config& up) const {
  return content_from_url(v, content_url, up, "kling", "task_result.videos[0].url");
}

result<upstream_call> kling_dialect::remix(const std::string&, const std::string&, const config::upstream_config& up) const {
  return no_remix(up, "kling");
}

std::optional<upstream_call> kling_dialect::remove(const std::string&) const { return std::nullopt; }

std::optional<std::string> kling_dialect::callback_job_id(std::string_view body, const std::string& tag) const {
  auto o = json_object_of(body, "Kling");
  if (!o) return std::nullopt;
  auto id = first_message(*o, {"task_id"});
  if (!id)
    if (auto* d = o->if_contains("data"); d && d->is_object()) id = first_message(d->as_object(), {"task_id"});
  if (!id) return std::nullopt;
  return (tag.empty() ? std::string("text2video") : tag) + ":" + *id;
}

}  // namespace videogate::dialects
