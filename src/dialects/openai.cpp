#include "videogate/dialects/openai.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <random>

namespace json = boost::json;

namespace videogate::dialects {

namespace {


std::string make_boundary() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char alnum[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string b = "----videogate";
  for (int i = 0; i < 24; ++i) b += alnum[rng() % 36];
  return b;
}

/// Builds multipart/form-data bodies field by field.
class form_builder {
 public:
  explicit form_builder(std::string boundary) : boundary_(std::move(boundary)) {}
  void field(std::string_view name, std::string_view value) {
    body_ += "--" + boundary_ + "\r\nContent-Disposition: form-data; name=\"" + std::string(name) + "\"\r\n\r\n";
    body_.append(value);
    body_ += "\r\n";
  }
  void file(std::string_view name, std::string_view filename, std::string_view mime, std::string_view data) {
    std::string fn(filename);
    for (auto& c : fn)
      if (c == '"' || c == '\r' || c == '\n') c = '_';
    body_ += "--" + boundary_ + "\r\nContent-Disposition: form-data; name=\"" + std::string(name) + "\"; filename=\"" + fn +
             "\"\r\nContent-Type: " + std::string(mime) + "\r\n\r\n";
    body_.append(data);
    body_ += "\r\n";
  }
  std::string finish() { return std::move(body_) + "--" + boundary_ + "--\r\n"; }
  std::string content_type() const { return "multipart/form-data; boundary=" + boundary_; }

 private:
  std::string boundary_;
  std::string body_;
};

std::string default_as_text(const config::default_value& d) {
  if (d.kind == config::default_value::type::boolean) return d.boolean ? "true" : "false";
  return d.text;
}

/// Reads an OpenAI Video object (create, retrieve and remix all answer one).
result<job_state> read_video(int status, const http::header_list& headers, std::string_view body) {
  if (status < 200 || status > 299) return classify_http_error(status, headers, body);
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return fail(errc::bad_upstream_response, "The upstream answered with something that is not a JSON object.");
  auto& o = v.as_object();
  auto id = o.if_contains("id");
  if (!id || !id->is_string() || id->as_string().empty())
    return fail(errc::bad_upstream_response, "The upstream's answer has no video id.");
  job_state s;
  s.upstream_id = std::string(id->as_string());
  if (auto st = o.if_contains("status"); st && st->is_string()) {
    auto n = normalize_status(st->as_string());
    s.status = n.value_or("in_progress");
    if (!n) s.raw_status = std::string(st->as_string());
  }
  s.progress = normalize_progress(o.if_contains("progress"));
  if (s.status == "completed") s.progress = 100;
  if (auto sec = o.if_contains("seconds")) {
    if (sec->is_string()) s.seconds = std::string(sec->as_string());
    else if (sec->is_int64()) s.seconds = std::to_string(sec->as_int64());
  }
  if (auto sz = o.if_contains("size"); sz && sz->is_string()) s.size = std::string(sz->as_string());
  s.created_at = unix_seconds(o.if_contains("created_at"));
  s.completed_at = unix_seconds(o.if_contains("completed_at"));
  s.expires_at = unix_seconds(o.if_contains("expires_at"));
  if (auto e = o.if_contains("error"); e && e->is_object())
    if (auto c = e->as_object().if_contains("code"); c && c->is_string()) s.error_code = std::string(c->as_string());
  // Resellers carry the reason of a failure in fields of their own.
  s.error_message = first_message(o, {"error", "fail_reason", "failure_reason", "error_message"});
  return s;
}

}  // namespace

std::vector<int> openai_dialect::allowed_durations(const config::upstream_config& up, const create_request& req) const {
  if (auto it = up.durations.find(req.model); it != up.durations.end()) return it->second;
  return {4, 8, 12, 16, 20};
}

result<upstream_call> openai_dialect::create(const create_request& req, const config::upstream_config& up,
                                             const std::string& seconds, const create_extras&) const {
  if (req.shots)
    return fail(errc::unsupported_value,
                "Unsupported parameter 'shots': upstream '" + up.name + "' (openai dialect) does not make storyboards.", "shots");
  auto model = mapped_model(up, req.model);
  upstream_call call;
  call.method = "POST";
  call.path = "/v1/videos";
  if (up.format == config::request_format::multipart) {
    form_builder f(make_boundary());
    f.field("model", model);
    f.field("prompt", req.prompt);
    f.field("seconds", seconds);
    f.field("size", req.size);
    if (auto& img = req.input_reference) {
      if (!img->bytes.empty()) f.file("input_reference", img->filename.empty() ? "reference" : img->filename, img->mime, img->bytes);
      else if (!img->url.empty()) f.field("input_reference[image_url]", img->url);
      else if (!img->file_id.empty()) f.field("input_reference[file_id]", img->file_id);
    }
    if (req.watermark) f.field("watermark", *req.watermark ? "true" : "false");
    if (req.is_private) f.field("private", *req.is_private ? "true" : "false");
    if (req.style) f.field("style", *req.style);
    for (auto& [k, d] : up.defaults) {
      if ((k == "watermark" && req.watermark) || (k == "private" && req.is_private) || (k == "style" && req.style)) continue;
      if (k == "model" || k == "prompt" || k == "seconds" || k == "size" || k == "input_reference") continue;
      f.field(k, default_as_text(d));
    }
    // vendor_params: one field each, strings as they are, anything else as JSON text.
    json::object vp;
    if (auto m = merge_vendor_params(vp, req.vendor_params, {"model", "prompt", "input_reference"}); !m) return m.error();
    for (auto& [k, v] : vp) f.field(std::string(k), v.is_string() ? std::string(v.as_string()) : json::serialize(v));
    call.headers.emplace_back("Content-Type", f.content_type());
    call.body = f.finish();
  } else {
    json::object o;
    o["model"] = model;
    o["prompt"] = req.prompt;
    o["seconds"] = seconds;
    o["size"] = req.size;
    if (auto& img = req.input_reference) {
      json::object ir;
      if (!img->bytes.empty()) ir["image_url"] = "data:" + img->mime + ";base64," + base64_encode(img->bytes);
      else if (!img->url.empty()) ir["image_url"] = img->url;
      else ir["file_id"] = img->file_id;
      o["input_reference"] = std::move(ir);
    }
    if (req.watermark) o["watermark"] = *req.watermark;
    if (req.is_private) o["private"] = *req.is_private;
    if (req.style) o["style"] = *req.style;
    for (auto& [k, d] : up.defaults)
      if (!o.contains(k)) o[k] = default_json(d);
    if (auto m = merge_vendor_params(o, req.vendor_params, {"model", "prompt", "input_reference"}); !m) return m.error();
    call.headers.emplace_back("Content-Type", "application/json");
    call.body = json::serialize(o);
  }
  return call;
}

result<job_state> openai_dialect::read_create(int status, const http::header_list& headers, std::string_view body) const {
  return read_video(status, headers, body);
}

upstream_call openai_dialect::status(const std::string& upstream_id) const {
  upstream_call c;
  c.path = "/v1/videos/" + url_component(upstream_id);
  return c;
}

result<job_state> openai_dialect::read_status(int status, const http::header_list& headers, std::string_view body) const {
  return read_video(status, headers, body);
}

result<upstream_call> openai_dialect::content(const std::string& upstream_id, content_variant v,
                                              const std::optional<std::string>&, const config::upstream_config&) const {
  upstream_call c;
  const char* name = v == content_variant::video ? "video" : v == content_variant::thumbnail ? "thumbnail" : "spritesheet";
  c.path = "/v1/videos/" + url_component(upstream_id) + "/content?variant=" + name;
  return c;
}

result<upstream_call> openai_dialect::remix(const std::string& upstream_id, const std::string& prompt,
                                            const config::upstream_config&) const {
  upstream_call c;
  c.method = "POST";
  c.path = "/v1/videos/" + url_component(upstream_id) + "/remix";
  c.headers.emplace_back("Content-Type", "application/json");
  json::object o;
  o["prompt"] = prompt;
  c.body = json::serialize(o);
  return c;
}

std::optional<upstream_call> openai_dialect::remove(const std::string& upstream_id) const {
  upstream_call c;
  c.method = "DELETE";
  c.path = "/v1/videos/" + url_component(upstream_id);
  return c;
}

result<upstream_call> openai_dialect::derive(const derive_request& req, const std::string& source_id,
                                             const config::upstream_config& up, const std::string& seconds) const {
  bool extension = req.what == derive_request::kind::extension;
  upstream_call c;
  c.method = "POST";
  c.path = extension ? "/v1/videos/extensions" : "/v1/videos/edits";
  // An upload can only go as multipart; a video id goes in the upstream's own encoding.
  if (up.format == config::request_format::multipart || source_id.empty()) {
    form_builder f(make_boundary());
    f.field("prompt", req.prompt);
    if (extension) f.field("seconds", seconds);
    if (source_id.empty())
      f.file("video", req.video.filename.empty() ? "video" : req.video.filename, req.video.mime, req.video.bytes);
    else
      f.field("video[id]", source_id);
    c.headers.emplace_back("Content-Type", f.content_type());
    c.body = f.finish();
  } else {
    json::object o;
    o["prompt"] = req.prompt;
    if (extension) o["seconds"] = seconds;
    o["video"] = json::object{{"id", source_id}};
    c.headers.emplace_back("Content-Type", "application/json");
    c.body = json::serialize(o);
  }
  return c;
}

result<upstream_call> openai_dialect::create_character(const character_request& req, const config::upstream_config&) const {
  upstream_call c;
  c.method = "POST";
  c.path = "/v1/videos/characters";
  form_builder f(make_boundary());
  f.field("name", req.name);
  f.file("video", req.video.filename.empty() ? "video" : req.video.filename, req.video.mime, req.video.bytes);
  c.headers.emplace_back("Content-Type", f.content_type());
  c.body = f.finish();
  return c;
}

result<upstream_call> openai_dialect::character(const std::string& upstream_id, const config::upstream_config&) const {
  upstream_call c;
  c.path = "/v1/videos/characters/" + url_component(upstream_id);
  return c;
}

result<character_state> openai_dialect::read_character(int status, const http::header_list& headers,
                                                       std::string_view body) const {
  if (status < 200 || status > 299) return classify_http_error(status, headers, body);
  auto o = json_object_of(body, "The upstream");
  if (!o) return o.error();
  auto id = o->if_contains("id");
  if (!id || !id->is_string() || id->as_string().empty())
    return fail(errc::bad_upstream_response, "The upstream's answer has no character id.");
  character_state c;
  c.upstream_id = std::string(id->as_string());
  c.created_at = unix_seconds(o->if_contains("created_at")).value_or(0);
  if (auto n = o->if_contains("name"); n && n->is_string()) c.name = std::string(n->as_string());
  return c;
}

}  // namespace videogate::dialects
