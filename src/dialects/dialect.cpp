#include "videogate/dialects/dialect.hpp"

#include "videogate/core/base64.hpp"

#include "videogate/dialects/ark.hpp"
#include "videogate/dialects/dashscope.hpp"
#include "videogate/dialects/fal.hpp"
#include "videogate/dialects/kling.hpp"
#include "videogate/dialects/minimax.hpp"
#include "videogate/dialects/kie.hpp"
#include "videogate/dialects/openai.hpp"
#include "videogate/dialects/replicate.hpp"
#include "videogate/dialects/freesora.hpp"
#include "videogate/dialects/unified.hpp"

#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <cmath>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <initializer_list>

namespace json = boost::json;

namespace videogate::dialects {

std::unique_ptr<dialect> make_dialect(config::dialect_kind k) {
  switch (k) {
    case config::dialect_kind::openai: return std::make_unique<openai_dialect>();
    case config::dialect_kind::unified: return std::make_unique<unified_dialect>();
    case config::dialect_kind::freesora: return std::make_unique<freesora_dialect>();
    case config::dialect_kind::fal: return std::make_unique<fal_dialect>();
    case config::dialect_kind::replicate: return std::make_unique<replicate_dialect>();
    case config::dialect_kind::kie: return std::make_unique<kie_dialect>();
    case config::dialect_kind::ark: return std::make_unique<ark_dialect>();
    case config::dialect_kind::minimax: return std::make_unique<minimax_dialect>();
    case config::dialect_kind::dashscope: return std::make_unique<dashscope_dialect>();
    case config::dialect_kind::kling: return std::make_unique<kling_dialect>();
  }
  return nullptr;
}

namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  std::transform(o.begin(), o.end(), o.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return o;
}

std::string list_ints(const std::vector<int>& v) {
  std::string out;
  for (auto x : v) out += (out.empty() ? "" : ", ") + std::to_string(x);
  return out;
}

/// What an error answer says: the vendor's human message (in the usual places) and its
/// error code, from one parse of the body.
struct vendor_said {
  std::string message;
  std::string code;
};
vendor_said read_error_body(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  auto& o = v.as_object();
  vendor_said out;
  out.message = first_message(o, {"error", "message", "msg", "detail", "fail_reason", "error_message"}).value_or("");
  if (auto e = o.if_contains("error"); e && e->is_object())
    if (auto c = e->as_object().if_contains("code"); c && c->is_string()) out.code = std::string(c->as_string());
  return out;
}

std::optional<long long> parse_retry_after(std::string_view v, std::chrono::system_clock::time_point now) {
  if (v.empty()) return std::nullopt;
  // Clamped to a day: a vendor's huge value must not overflow the key's cooldown deadline.
  constexpr long long max_retry_after_s = 86'400;
  long long secs = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
  if (ec == std::errc::result_out_of_range && p == v.data() + v.size() && v.front() != '-') return max_retry_after_s;
  if (ec == std::errc{} && p == v.data() + v.size()) return std::clamp(secs, 0LL, max_retry_after_s);
  // HTTP date: "Sun, 06 Nov 1994 08:49:37 GMT"
  std::tm tm{};
  char mon[4] = {};
  char wd[4] = {};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  std::string s(v);
  if (std::sscanf(s.c_str(), "%3s, %2d %3s %4d %2d:%2d:%2d GMT", wd, &day, mon, &year, &hh, &mm, &ss) != 7) return std::nullopt;
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int m = -1;
  for (int i = 0; i < 12; ++i)
    if (std::string_view(mon) == months[i]) m = i;
  if (m < 0) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = m;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  auto t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  auto diff = static_cast<long long>(t) - static_cast<long long>(std::chrono::system_clock::to_time_t(now));
  return std::clamp<long long>(diff, 0, max_retry_after_s);
}

bool mentions_credit(const std::string& m) {
  auto l = lower(m);
  for (auto w : {"quota", "credit", "balance", "insufficient_quota", "insufficient funds", "余额", "额度"})
    if (l.find(w) != std::string::npos) return true;
  return false;
}

bool mentions_content(const std::string& m, const std::string& code) {
  auto l = lower(m) + " " + lower(code);
  for (auto w : {"moderation", "content policy", "content_policy", "safety", "blocked", "violat", "inappropriate", "rejected"})
    if (l.find(w) != std::string::npos) return true;
  return false;
}

}  // namespace

result<int> pick_duration(const std::optional<std::string>& asked, const std::vector<int>& allowed,
                          const std::string& upstream, const std::string& model) {
  auto sorted = allowed;
  std::sort(sorted.begin(), sorted.end());
  if (sorted.empty()) return fail(errc::internal, "no durations configured");
  if (!asked) return sorted.front();
  int want = 0;
  std::from_chars(asked->data(), asked->data() + asked->size(), want);
  for (int d : sorted)
    if (d >= want) return d;
  return fail(errc::unsupported_value,
              "Unsupported value for 'seconds': " + *asked + ". Upstream '" + upstream + "' can make " + model +
                  " videos of " + list_ints(sorted) + " seconds.",
              "seconds");
}

result<void> check_size_for_model(const std::string& size, const std::string& upstream_model) {
  auto x = size.find('x');
  int w = 0, h = 0;
  std::from_chars(size.data(), size.data() + x, w);
  std::from_chars(size.data() + x + 1, size.data() + size.size(), h);
  if (std::max(w, h) >= 1792 && upstream_model.find("pro") == std::string::npos)
    return fail(errc::unsupported_value,
                "Unsupported value for 'size': " + size + " is high resolution, which needs a pro model (e.g. sora-2-pro); '" +
                    upstream_model + "' makes 720x1280 or 1280x720.",
                "size");
  return {};
}

std::optional<std::string> normalize_status(std::string_view vendor_status) {
  auto s = lower(vendor_status);
  // fal: IN_QUEUE IN_PROGRESS COMPLETED; Replicate: starting processing succeeded failed
  // canceled aborted; kie: waiting queuing generating success fail.
  for (auto w : {"queued", "pending", "submitted", "not_start", "waiting", "queuing", "created", "in_queue", "starting",
                 "preparing", "queueing"})
    if (s == w) return "queued";
  for (auto w : {"in_progress", "processing", "running", "generating"})
    if (s == w) return "in_progress";
  for (auto w : {"completed", "succeeded", "success", "finished", "succeed"})
    if (s == w) return "completed";
  for (auto w : {"failed", "failure", "fail", "error", "cancelled", "canceled", "aborted", "expired"})
    if (s == w) return "failed";
  return std::nullopt;
}

int normalize_progress(const json::value* v) {
  if (!v) return 0;
  double p = 0;
  if (v->is_int64()) p = static_cast<double>(v->as_int64());
  else if (v->is_uint64()) p = static_cast<double>(v->as_uint64());
  else if (v->is_double()) p = v->as_double() > 0 && v->as_double() <= 1.0 ? v->as_double() * 100 : v->as_double();
  else if (v->is_string()) {
    std::string t(v->as_string());
    if (!t.empty() && t.back() == '%') t.pop_back();
    double x = 0;
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), x);
    if (ec != std::errc{} || ptr != t.data() + t.size()) return 0;
    // "0.35" is a fraction like 0.35 as a number; "35" and "35%" are percent.
    p = x > 0 && x < 1.0 && t.find('.') != std::string::npos ? x * 100 : x;
  }
  if (!(p >= 0)) p = 0;
  if (p > 100) p = 100;
  return static_cast<int>(std::lround(p));
}

std::optional<std::int64_t> unix_seconds(const json::value* v) {
  if (!v) return std::nullopt;
  double t = 0;
  if (v->is_int64()) t = static_cast<double>(v->as_int64());
  else if (v->is_uint64()) t = static_cast<double>(v->as_uint64());
  else if (v->is_double()) t = v->as_double();
  else if (v->is_string()) {
    auto s = v->as_string();
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), t);
    if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (!(t > 0)) return std::nullopt;  // also NaN
  if (t > 1e11) t /= 1000;             // milliseconds
  // Past the year 9999 (or inf) is no timestamp: refused before the conversion, which would
  // be undefined for values beyond int64.
  if (!(t < 253402300800.0)) return std::nullopt;
  return static_cast<std::int64_t>(t);
}

std::optional<std::string> first_message(const json::object& o, std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    auto v = o.if_contains(k);
    if (!v) continue;
    if (v->is_string() && !v->as_string().empty()) return std::string(v->as_string());
    if (v->is_object())
      if (auto m = v->as_object().if_contains("message"); m && m->is_string() && !m->as_string().empty())
        return std::string(m->as_string());
  }
  return std::nullopt;
}

std::optional<errc> key_failure_in(std::string_view message) {
  auto m = lower(message);
  auto has = [&](std::initializer_list<const char*> words) {
    for (auto w : words)
      if (m.find(w) != std::string::npos) return true;
    return false;
  };
  if (has({"quota", "credit", "balance", "余额", "额度", "积分"})) return errc::upstream_out_of_credit;
  if (has({"invalid api key", "invalid_api_key", "incorrect api key", "api key is invalid", "invalid token", "unauthorized",
           "unauthenticated", "未授权", "令牌无效"}))
    return errc::upstream_auth;
  if (has({"rate limit", "rate_limit", "too many requests", "请求过于频繁"})) return errc::upstream_rate_limited;
  return std::nullopt;
}

error without_echo(error e, std::string_view request_text) {
  if (!e.by_words || request_text.empty()) return e;
  auto m = lower(e.message);
  auto r = lower(request_text);
  bool echoes = (r.size() >= 8 && m.find(r) != std::string::npos) || key_failure_in(request_text).has_value() ||
                mentions_credit(std::string(request_text));
  if (!echoes) return e;
  // The words may be the client's own: they say nothing about the key. What remains is a
  // refusal of this request.
  auto k = fail(errc::upstream_rejected, e.message);
  k.upstream_status = e.upstream_status;
  return k;
}

error classify_http_error(int status, const http::header_list& headers, std::string_view body,
                          std::chrono::system_clock::time_point now) {
  auto [msg, code] = read_error_body(body);
  auto said = msg.empty() ? std::string() : ": " + msg;
  error e;
  if (status == 429 && !mentions_credit(msg + " " + code)) {
    e = fail(errc::upstream_rate_limited, "The upstream is rate limiting this gateway" + said);
    e.retry_after_s = parse_retry_after(http::find_header(headers, "retry-after"), now);
  } else if (status == 402 || ((status == 429 || status == 403) && mentions_credit(msg + " " + code))) {
    e = fail(errc::upstream_out_of_credit, "The upstream key is out of credit" + said);
    e.by_words = status != 402 && !mentions_credit(code);
  } else if (status == 401 || status == 403) {
    e = fail(errc::upstream_auth, "The upstream refused the key" + said);
  } else if (status == 404) {
    e = fail(errc::not_found, "The upstream does not know this video.");
  } else if (status == 400 || status == 422 || status == 409) {
    // The vendor refused what we sent: for its content, or for a value it does not take.
    e = fail(errc::upstream_rejected, msg.empty() ? "The upstream refused the request." : "The upstream refused the request: " + msg);
    if (mentions_content(msg, code) && !msg.empty()) e.message = msg;
  } else if (status == 408 || status == 504) {
    // An answer is proof the request reached the vendor (or its proxy): a create may exist.
    e = fail(errc::upstream_timeout, "The upstream timed out" + said);
    e.after_send = true;
  } else if (status == 502) {
    // A proxy in front of the vendor lost the answer, not necessarily the request.
    e = fail(errc::upstream_unavailable, "The upstream failed with HTTP 502" + said);
    e.after_send = true;
  } else if (status >= 500) {
    // 500/503: the vendor's own error answer; it did not take the job.
    e = fail(errc::upstream_unavailable, "The upstream failed with HTTP " + std::to_string(status) + said);
  } else {
    e = fail(errc::bad_upstream_response, "The upstream answered HTTP " + std::to_string(status) + " unexpectedly.");
  }
  e.upstream_status = status;
  return e;
}

std::string mapped_model(const config::upstream_config& up, const std::string& model) {
  auto it = up.models.find(model);
  return it == up.models.end() ? model : it->second;
}

json::value default_json(const config::default_value& d) {
  using t = config::default_value::type;
  switch (d.kind) {
    case t::boolean: return d.boolean;
    case t::integer: return d.integer;
    case t::number: return d.number;
    case t::string: break;
  }
  return json::string(d.text);
}

result<upstream_call> content_from_url(content_variant v, const std::optional<std::string>& content_url,
                                       const config::upstream_config& up, std::string_view dialect,
                                       std::string_view url_field) {
  if (v != content_variant::video)
    return fail(errc::not_found,
                "Upstream '" + up.name + "' (" + std::string(dialect) + " dialect) does not provide a " +
                    (v == content_variant::thumbnail ? "thumbnail" : "spritesheet") + "; only variant=video exists.",
                "variant");
  if (!content_url)
    return fail(errc::bad_upstream_response, "Upstream '" + up.name + "' reported the video as completed but gave no " +
                                                 std::string(url_field) + ".");
  upstream_call c;
  c.absolute_url = *content_url;
  return c;
}

error no_remix(const config::upstream_config& up, std::string_view dialect) {
  return fail(errc::unsupported_value,
              "Remix is not available: upstream '" + up.name + "' (" + std::string(dialect) + " dialect) has no remix call.",
              "video_id");
}

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (auto& s : secrets) {
    if (s.size() < 4) continue;
    for (auto pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos)) text.replace(pos, s.size(), "[redacted]");
  }
  // Bearer tokens and sk- style keys a vendor may echo back.
  for (std::string_view marker : {"Bearer ", "bearer ", "sk-"}) {
    for (auto pos = text.find(marker); pos != std::string::npos; pos = text.find(marker, pos + 1)) {
      // Only at the start of a word: "task-42" and "disk-full" are not keys.
      if (pos > 0) {
        auto before = static_cast<unsigned char>(text[pos - 1]);
        if (std::isalnum(before) || before == '_' || before == '-') continue;
      }
      auto start = pos + marker.size();
      auto end = start;
      while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) && text[end] != '"' && text[end] != '\'') ++end;
      if (end > start) text.replace(start, end - start, "[redacted]");
    }
  }
  return text;
}

std::string base64_encode(std::string_view in) { return videogate::base64_encode(in); }

upstream_call dialect::result_call(const std::string& upstream_id, const job_state&) const { return status(upstream_id); }

error classify_with_codes(int status, const http::header_list& headers, std::string_view body, std::string_view code,
                          std::initializer_list<std::pair<std::string_view, errc>> codes) {
  auto e = classify_http_error(status, headers, body);
  for (auto& [word, c] : codes)
    if (!code.empty() && (code == word || (word.back() == '*' && code.starts_with(word.substr(0, word.size() - 1))))) {
      e.code = c;
      e.by_words = false;  // the vendor's documented code, not words a prompt could echo
      break;
    }
  return e;
}

result<job_state> dialect::read_follow_up(int, const http::header_list&, std::string_view, const std::string&) const {
  return fail(errc::internal, "This dialect makes no follow-up status call.");
}

std::optional<std::string> dialect::callback_job_id(std::string_view, const std::string&) const { return std::nullopt; }

namespace {
/// The 400 for a call this dialect does not offer: nothing is sent.
error not_offered(const config::upstream_config& up, config::dialect_kind k, std::string_view call, std::string param) {
  std::string what = call == "characters" ? "Characters" : "Video " + std::string(call);
  return fail(errc::unsupported_value,
              what + " are not available: upstream '" + up.name + "' (" + config::to_string(k) +
                  " dialect) has no " + std::string(call) + " call; they need an openai-dialect upstream.",
              std::move(param));
}
}  // namespace

result<upstream_call> dialect::derive(const derive_request& req, const std::string&, const config::upstream_config& up,
                                      const std::string&) const {
  return not_offered(up, kind(), req.what == derive_request::kind::edit ? "edits" : "extensions", "video");
}

result<upstream_call> dialect::create_character(const character_request&, const config::upstream_config& up) const {
  return not_offered(up, kind(), "characters", "video");
}

result<upstream_call> dialect::character(const std::string&, const config::upstream_config& up) const {
  return not_offered(up, kind(), "characters", "character_id");
}

result<character_state> dialect::read_character(int status, const http::header_list& headers,
                                                std::string_view body) const {
  if (status < 200 || status > 299) return classify_http_error(status, headers, body);
  return fail(errc::bad_upstream_response, "This dialect has no characters.");
}

result<void> merge_vendor_params(json::object& target, const std::optional<std::string>& vendor_params,
                                 std::initializer_list<std::string_view> forbidden) {
  if (!vendor_params) return {};
  boost::system::error_code ec;
  auto v = json::parse(*vendor_params, ec);
  if (ec || !v.is_object()) return fail(errc::invalid_value, "'vendor_params' must be a JSON object.", "vendor_params");
  for (auto& [k, val] : v.as_object()) {
    for (auto f : forbidden)
      if (k == f)
        return fail(errc::invalid_value,
                    "'vendor_params' may not set '" + std::string(k) +
                        "': the gateway sets the vendor's model, prompt, image and callback fields itself.",
                    "vendor_params");
    // A key naming one of the body's own objects is merged into it (DESIGN §1).
    auto* have = target.if_contains(k);
    if (have && have->is_object() && val.is_object())
      for (auto& [ik, iv] : val.as_object()) have->as_object()[ik] = iv;
    else
      target[k] = val;
  }
  return {};
}

result<std::string> task_model(const config::upstream_config& up, const create_request& req, std::string_view dialect) {
  bool image = req.input_reference.has_value();
  if (image) {
    // The pair's `image` entry ("" when `{text: …}` names none); a single name (or none: the
    // public name itself) serves both, the vendor telling the two apart by the inputs.
    auto it = up.image_models.find(req.model);
    auto m = it != up.image_models.end() ? it->second : mapped_model(up, req.model);
    if (!m.empty()) return m;
    return fail(errc::unsupported_value,
                "Upstream '" + up.name + "' (" + std::string(dialect) + " dialect) has no image-to-video model for '" +
                    req.model + "': give it one as models: {" + req.model + ": {text: …, image: …}}.",
                "input_reference");
  }
  auto m = mapped_model(up, req.model);
  if (m.empty())
    return fail(errc::unsupported_value,
                "Upstream '" + up.name + "' serves '" + req.model + "' for image-to-video only: send an input_reference.",
                "input_reference");
  return m;
}

std::string aspect_of(const std::string& size, bool words) {
  auto x = size.find('x');
  int w = 0, h = 0;
  if (x != std::string::npos) {
    std::from_chars(size.data(), size.data() + x, w);
    std::from_chars(size.data() + x + 1, size.data() + size.size(), h);
  }
  bool landscape = w > h;
  if (words) return landscape ? "landscape" : "portrait";
  return landscape ? "16:9" : "9:16";
}

std::string resolution_of(const std::string& size) {
  auto x = size.find('x');
  int w = 0, h = 0;
  if (x != std::string::npos) {
    std::from_chars(size.data(), size.data() + x, w);
    std::from_chars(size.data() + x + 1, size.data() + size.size(), h);
  }
  return std::max(w, h) >= 1792 ? "1080p" : "720p";
}

std::string url_component(std::string_view s) { return boost::urls::encode(s, boost::urls::unreserved_chars); }

result<json::object> json_object_of(std::string_view body, std::string_view vendor) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object())
    return fail(errc::bad_upstream_response, std::string(vendor) + " answered with something that is not a JSON object.");
  return std::move(v.as_object());
}

std::string image_ref(const image_input& img) {
  return !img.bytes.empty() ? "data:" + img.mime + ";base64," + base64_encode(img.bytes) : img.url;
}

}  // namespace videogate::dialects
