#include "videogate/dialects/freesora.hpp"

#include <boost/json.hpp>

#include <cmath>

namespace json = boost::json;

namespace videogate::dialects {

namespace {

void replace_once(std::string& s, std::string_view from, std::string_view to) {
  if (auto p = s.find(from); p != std::string::npos) s.replace(p, from.size(), to);
}

/// The vendor model from the family and the inputs (DESIGN §2): a `models:` entry may name a
/// vendor model outright; its text/image half still follows whether an image was given.
std::string vendor_model(const config::upstream_config& up, const create_request& req) {
  auto m = mapped_model(up, req.model);
  bool image = req.input_reference.has_value();
  if (m.find("storyboard") != std::string::npos) return m;
  if (m.find("-to-video") != std::string::npos) {
    if (image) replace_once(m, "text-to-video", "image-to-video");
    else replace_once(m, "image-to-video", "text-to-video");
    return m;
  }
  if (req.shots) return "sora-2-pro-storyboard";
  return m + (image ? "-image-to-video" : "-text-to-video");
}

bool contains(const std::string& s, std::string_view w) { return s.find(w) != std::string::npos; }

/// An answer with `code != 0` (usually on HTTP 200) classified like an HTTP error, so that
/// key rotation sees an invalid key, an empty balance or a rate limit the same way. An
/// HTTP-like code decides by its number (with its status's headers: a 429's Retry-After);
/// other codes by the message.
error classify_code(long long code, const std::string& message, const http::header_list& headers, std::string_view body) {
  if (code >= 400 && code <= 599) {
    auto e = classify_http_error(static_cast<int>(code), headers, body);
    // "403 insufficient credits" is about money, not the key's validity.
    if (key_failure_in(message) == errc::upstream_out_of_credit && (code == 403 || code == 429)) {
      e.code = errc::upstream_out_of_credit;
      e.retry_after_s.reset();
      e.by_words = true;
    }
    return e;
  }
  auto said = message.empty() ? std::string() : ": " + message;
  error e;
  if (auto k = key_failure_in(message)) {
    e = fail(*k, *k == errc::upstream_out_of_credit ? "The upstream key is out of credit" + said
                 : *k == errc::upstream_auth        ? "The upstream refused the key" + said
                                                    : "The upstream is rate limiting this gateway" + said);
    e.by_words = true;
  } else {
    e = fail(errc::upstream_rejected, message.empty() ? "The upstream refused the request (code " + std::to_string(code) + ")."
                                                      : "The upstream refused the request: " + message);
  }
  e.upstream_status = static_cast<int>(code);
  return e;
}

/// Parses `{"code","message","data"}`, checking `code` on every answer.
result<json::object> read_envelope(int status, const http::header_list& headers, std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (status < 200 || status > 299) {
    // An HTTP error may still carry the vendor's code and message.
    return classify_http_error(status, headers, body);
  }
  if (ec || !v.is_object()) return fail(errc::bad_upstream_response, "The upstream answered with something that is not a JSON object.");
  auto& o = v.as_object();
  auto c = o.if_contains("code");
  long long code = 0;
  if (c && c->is_int64()) code = c->as_int64();
  else if (c && c->is_string()) code = c->as_string() == "0" ? 0 : -1;
  else if (c) return fail(errc::bad_upstream_response, "The upstream's answer has an unreadable 'code'.");
  else return fail(errc::bad_upstream_response, "The upstream's answer has no 'code'.");
  if (code != 0) return classify_code(code, first_message(o, {"message", "msg", "error"}).value_or(""), headers, body);
  auto d = o.if_contains("data");
  if (!d || !d->is_object()) return fail(errc::bad_upstream_response, "The upstream's answer has no 'data' object.");
  return std::move(d->as_object());
}

}  // namespace

std::vector<int> freesora_dialect::allowed_durations(const config::upstream_config& up, const create_request& req) const {
  if (auto it = up.durations.find(req.model); it != up.durations.end()) return it->second;
  if (vendor_model(up, req).find("storyboard") != std::string::npos) return {10, 15, 25};
  return {10, 15};
}

result<upstream_call> freesora_dialect::create(const create_request& req, const config::upstream_config& up,
                                               const std::string& seconds, const create_extras&) const {
  if (req.style)
    return fail(errc::unsupported_value, "Unsupported parameter 'style': upstream '" + up.name + "' (freesora dialect) has no styles.", "style");
  auto model = vendor_model(up, req);
  bool storyboard = contains(model, "storyboard");
  bool stable = contains(model, "stable");
  bool pro = contains(model, "pro");
  if (storyboard && !req.shots)
    return fail(errc::missing_required_parameter, "Model '" + req.model + "' on upstream '" + up.name + "' is a storyboard: it needs 'shots'.", "shots");
  if (!storyboard && req.shots)
    return fail(errc::unsupported_value, "Upstream '" + up.name + "' maps '" + req.model + "' to " + model + ", which takes no 'shots'.", "shots");

  json::object o;
  o["model"] = model;
  if (!storyboard) o["prompt"] = req.prompt;  // storyboards take their content from the shots
  if (auto& img = req.input_reference) {
    if (!img->bytes.empty()) o["imageData"] = "data:" + img->mime + ";base64," + base64_encode(img->bytes);
    else if (img->url.starts_with("data:")) o["imageData"] = img->url;
    else o["imageUrl"] = img->url;
  }
  auto x = req.size.find('x');
  int w = std::stoi(req.size.substr(0, x)), h = std::stoi(req.size.substr(x + 1));
  o["aspectRatio"] = w > h ? "landscape" : "portrait";
  o["nFrames"] = seconds;
  if (pro && !storyboard) o["size"] = std::max(w, h) >= 1792 ? "high" : "standard";
  if (!storyboard && !stable) o["removeWatermark"] = !req.watermark.value_or(false);
  if (req.is_private) o["isPublic"] = !*req.is_private;
  if (req.shots) {
    double total = 0;
    json::array shots;
    for (auto& s : *req.shots) {
      json::object so;
      so["Scene"] = s.scene;
      // Whole seconds as integers, as the seed writes them (5, not 5.0).
      if (std::floor(s.duration) == s.duration && s.duration < 1e9) so["duration"] = static_cast<std::int64_t>(s.duration);
      else so["duration"] = s.duration;
      shots.push_back(std::move(so));
      total += s.duration;
    }
    if (total > std::stod(seconds) + 1e-9)
      return fail(errc::invalid_value,
                  "The shots last " + std::to_string(static_cast<int>(std::ceil(total))) + " s in total, more than the " + seconds +
                      " s video asked for.",
                  "shots");
    o["shots"] = std::move(shots);
  }
  // defaults: fill what the request did not set. `watermark` / `private` are ours: a default
  // watermark: false becomes removeWatermark: true, private: true becomes isPublic: false.
  for (auto& [k, d] : up.defaults) {
    if (k == "watermark" && d.kind == config::default_value::type::boolean) {
      if (!req.watermark && o.contains("removeWatermark")) o["removeWatermark"] = !d.boolean;
    } else if (k == "private" && d.kind == config::default_value::type::boolean) {
      if (!req.is_private) o["isPublic"] = !d.boolean;
    } else if (!o.contains(k)) {
      o[k] = default_json(d);
    }
  }
  if (auto m = merge_vendor_params(o, req.vendor_params, {"model", "prompt", "imageData", "imageUrl", "shots"}); !m)
    return m.error();
  upstream_call c;
  c.method = "POST";
  c.path = "/api/v1/video/sora-pro";
  c.headers.emplace_back("Content-Type", "application/json");
  c.body = json::serialize(o);
  return c;
}

result<job_state> freesora_dialect::read_create(int status, const http::header_list& headers, std::string_view body) const {
  auto d = read_envelope(status, headers, body);
  if (!d) return d.error();
  auto id = d->if_contains("taskId");
  if (!id || !id->is_string() || id->as_string().empty())
    return fail(errc::bad_upstream_response, "The upstream's answer has no taskId.");
  job_state s;
  s.upstream_id = std::string(id->as_string());
  s.status = "queued";
  return s;
}

upstream_call freesora_dialect::status(const std::string& upstream_id) const {
  upstream_call c;
  c.method = "POST";
  c.path = "/api/video-generations/check-result";
  c.headers.emplace_back("Content-Type", "application/json");
  json::object o;
  o["taskId"] = upstream_id;
  c.body = json::serialize(o);
  return c;
}

result<job_state> freesora_dialect::read_status(int status, const http::header_list& headers, std::string_view body) const {
  auto d = read_envelope(status, headers, body);
  if (!d) return d.error();
  job_state s;
  if (auto id = d->if_contains("taskId"); id && id->is_string()) s.upstream_id = std::string(id->as_string());
  if (auto st = d->if_contains("status"); st && st->is_string()) {
    auto n = normalize_status(st->as_string());
    s.status = n.value_or("in_progress");
    if (!n) s.raw_status = std::string(st->as_string());
  } else {
    return fail(errc::bad_upstream_response, "The upstream's answer has no status.");
  }
  s.progress = normalize_progress(d->if_contains("progress"));
  if (auto u = d->if_contains("result_url"); u && u->is_string() && !u->as_string().empty()) {
    s.content_url = std::string(u->as_string());
  } else if (auto us = d->if_contains("result_urls"); us && us->is_array()) {
    for (auto& x : us->as_array())
      if (x.is_string() && !x.as_string().empty()) {
        s.content_url = std::string(x.as_string());
        break;
      }
  }
  if (s.status == "completed") s.progress = 100;
  if (s.status == "failed") s.error_message = first_message(*d, {"failure_reason", "error_message", "fail_reason", "error", "message"});
  return s;
}

result<upstream_call> freesora_dialect::content(const std::string&, content_variant v,
                                               const std::optional<std::string>& content_url,
                                               const config::upstream_config& up) const {
  return content_from_url(v, content_url, up, "freesora", "result_url");
}

result<upstream_call> freesora_dialect::remix(const std::string&, const std::string&, const config::upstream_config& up) const {
  return no_remix(up, "freesora");
}

std::optional<upstream_call> freesora_dialect::remove(const std::string&) const { return std::nullopt; }

}  // namespace videogate::dialects
