#include "videogate/dialects/unified.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace videogate::dialects {

namespace {

bool is_pro(const std::string& upstream_model) { return upstream_model.find("pro") != std::string::npos; }

/// `width x height` -> orientation and the resolution class of DESIGN §2.
void size_fields(const std::string& size, std::string& orientation, std::string& klass) {
  auto x = size.find('x');
  int w = std::stoi(size.substr(0, x)), h = std::stoi(size.substr(x + 1));
  orientation = w > h ? "landscape" : "portrait";
  klass = std::max(w, h) >= 1792 ? "large" : "small";
}

std::optional<bool> default_bool(const config::upstream_config& up, const char* key) {
  auto it = up.defaults.find(key);
  if (it == up.defaults.end() || it->second.kind != config::default_value::type::boolean) return std::nullopt;
  return it->second.boolean;
}

/// Status words of the unified family, including the staged ones of non-Sora models
/// (`video_generating`, `video_generation_completed`, `video_upsampling`, ...).
std::optional<std::string> unified_status(std::string_view word) {
  if (auto s = normalize_status(word)) return s;
  std::string w(word);
  for (auto& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (w.ends_with("_completed") || w.ends_with("_succeeded")) return "completed";
  if (w.ends_with("_failed") || w.ends_with("_error")) return "failed";
  if (w == "image_downloading" || w.starts_with("video_generat") || w.starts_with("video_upsampl")) return "in_progress";
  return std::nullopt;
}

const json::object* object_at(const json::object& o, std::string_view k) {
  auto v = o.if_contains(k);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

result<json::object> parse_object(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return fail(errc::bad_upstream_response, "The upstream answered with something that is not a JSON object.");
  return std::move(v.as_object());
}

/// Some resellers answer HTTP 200 with an error object instead of a job.
std::optional<error> error_in_200(const json::object& o, const http::header_list& headers, std::string_view body) {
  if (o.contains("id")) return std::nullopt;
  if (!o.contains("error") && !o.contains("code") && !o.contains("message")) return std::nullopt;
  // A key problem in a 200 is still a key problem: the pool must see it like a 401/402/429.
  auto msg = first_message(o, {"error", "message", "msg"}).value_or("");
  if (auto k = key_failure_in(msg)) {
    auto e = classify_http_error(400, headers, body);
    e.code = *k;
    e.message = "The upstream refused the key: " + msg;
    if (*k == errc::upstream_rate_limited) e.message = "The upstream is rate limiting this gateway: " + msg;
    e.by_words = true;
    return e;
  }
  return classify_http_error(400, headers, body);
}

}  // namespace

std::vector<int> unified_dialect::allowed_durations(const config::upstream_config& up, const create_request& req) const {
  if (auto it = up.durations.find(req.model); it != up.durations.end()) return it->second;
  if (is_pro(mapped_model(up, req.model))) return {10, 15, 25};
  return {10, 15};
}

result<upstream_call> unified_dialect::create(const create_request& req, const config::upstream_config& up,
                                              const std::string& seconds, const create_extras&) const {
  if (req.shots)
    return fail(errc::unsupported_value,
                "Unsupported parameter 'shots': upstream '" + up.name + "' (unified dialect) does not make storyboards.", "shots");
  if (req.style)
    return fail(errc::unsupported_value,
                "Unsupported parameter 'style': upstream '" + up.name + "' (unified dialect) has no styles.", "style");
  json::object o;
  json::array images;
  if (auto& img = req.input_reference) {
    if (!img->bytes.empty()) images.emplace_back("data:" + img->mime + ";base64," + base64_encode(img->bytes));
    else if (!img->url.empty()) images.emplace_back(img->url);
  }
  std::string orientation, klass;
  size_fields(req.size, orientation, klass);
  o["images"] = std::move(images);
  o["model"] = mapped_model(up, req.model);
  o["orientation"] = orientation;
  o["prompt"] = req.prompt;
  o["size"] = klass;
  o["duration"] = std::stoi(seconds);
  // The seed marks both required: always sent, the request's value, else the upstream's
  // `defaults:`, else the vendor's documented default.
  o["watermark"] = req.watermark.value_or(default_bool(up, "watermark").value_or(true));
  o["private"] = req.is_private.value_or(default_bool(up, "private").value_or(false));
  for (auto& [k, d] : up.defaults)
    if (!o.contains(k)) o[k] = default_json(d);
  if (auto m = merge_vendor_params(o, req.vendor_params, {"model", "prompt", "images"}); !m) return m.error();
  upstream_call c;
  c.method = "POST";
  c.path = "/v1/video/create";
  c.headers.emplace_back("Content-Type", "application/json");
  c.headers.emplace_back("Accept", "application/json");
  c.body = json::serialize(o);
  return c;
}

result<job_state> unified_dialect::read_create(int status, const http::header_list& headers, std::string_view body) const {
  if (status < 200 || status > 299) return classify_http_error(status, headers, body);
  auto o = parse_object(body);
  if (!o) return o.error();
  if (auto e = error_in_200(*o, headers, body)) return *e;
  return read_status(status, headers, body);
}

upstream_call unified_dialect::status(const std::string& upstream_id) const {
  upstream_call c;
  c.path = "/v1/video/query?id=" + url_component(upstream_id);
  c.headers.emplace_back("Accept", "application/json");
  return c;
}

result<job_state> unified_dialect::read_status(int status, const http::header_list& headers, std::string_view body) const {
  if (status < 200 || status > 299) return classify_http_error(status, headers, body);
  auto parsed = parse_object(body);
  if (!parsed) return parsed.error();
  auto& o = *parsed;
  if (auto e = error_in_200(o, headers, body)) return *e;
  auto id = o.if_contains("id");
  if (!id || !id->is_string() || id->as_string().empty())
    return fail(errc::bad_upstream_response, "The upstream's answer has no task id.");
  job_state s;
  s.upstream_id = std::string(id->as_string());
  auto detail = object_at(o, "detail");

  const json::value* word = o.if_contains("status");
  if ((!word || !word->is_string()) && detail) word = detail->if_contains("status");
  if (word && word->is_string()) {
    auto n = unified_status(word->as_string());
    s.status = n.value_or("in_progress");
    if (!n) s.raw_status = std::string(word->as_string());
  }

  const json::value* progress = o.if_contains("progress");
  if ((!progress || progress->is_null()) && detail)
    if (auto pending = object_at(*detail, "pending_info")) progress = pending->if_contains("progress_pct");
  s.progress = normalize_progress(progress);

  s.created_at = unix_seconds(o.if_contains("created_at"));
  if (auto url = o.if_contains("video_url"); url && url->is_string() && !url->as_string().empty())
    s.content_url = std::string(url->as_string());
  if (s.status == "completed") {
    s.progress = 100;
    s.completed_at = unix_seconds(o.if_contains("status_update_time"));
  }
  if (s.status == "failed") {
    s.error_message = first_message(o, {"fail_reason", "failure_reason", "error_message", "error", "message"});
    if (!s.error_message && detail) s.error_message = first_message(*detail, {"fail_reason", "failure_reason", "error", "message"});
  }
  return s;
}

result<upstream_call> unified_dialect::content(const std::string&, content_variant v,
                                               const std::optional<std::string>& content_url,
                                               const config::upstream_config& up) const {
  return content_from_url(v, content_url, up, "unified", "video_url");
}

result<upstream_call> unified_dialect::remix(const std::string&, const std::string&, const config::upstream_config& up) const {
  return no_remix(up, "unified");
}

std::optional<upstream_call> unified_dialect::remove(const std::string&) const { return std::nullopt; }

}  // namespace videogate::dialects
