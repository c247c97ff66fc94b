#include "videogate/api/video.hpp"

#include "videogate/http/multipart.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <initializer_list>

namespace json = boost::json;

namespace videogate::api {

namespace {

constexpr std::array<std::string_view, 6> sizes = {"720x1280",  "1280x720",  "1024x1792",
                                                   "1792x1024", "1080x1920", "1920x1080"};
constexpr std::array<std::string_view, 6> styles = {"thanksgiving", "comic", "news", "selfie", "nostalgic", "anime"};
constexpr std::size_t max_prompt_chars = 32000;
constexpr std::size_t max_character_name_chars = 80;
constexpr double max_shot_seconds = 3600;

std::string lower_media_type(std::string_view ct) {
  auto semi = ct.find(';');
  std::string t(ct.substr(0, semi));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.erase(t.begin());
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return t;
}

std::size_t utf8_chars(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

/// Whether `s` is a create's or an extension's `seconds`: a positive whole number, 4 digits at most.
bool whole_seconds(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size() && v > 0 && s.size() <= 4;
}

std::string join(auto const& items) {
  std::string out;
  for (auto& i : items) {
    if (!out.empty()) out += ", ";
    out += i;
  }
  return out;
}

error bad(std::string param, std::string msg) { return fail(errc::invalid_value, std::move(msg), std::move(param)); }

result<bool> parse_bool_text(std::string_view field, std::string_view v) {
  if (v == "true") return true;
  if (v == "false") return false;
  // Appended piece by piece: with `"x" + std::string(...)` GCC 12 at -O2 warns -Wrestrict /
  // -Wstringop-overflow about a memcpy that cannot happen (GCC bug 105329).
  std::string msg(1, '\'');
  msg += field;
  msg += "' must be true or false.";
  return bad(std::string(field), std::move(msg));
}

bool valid_image_url(std::string_view u) {
  return u.starts_with("https://") || u.starts_with("http://") || u.starts_with("data:image/");
}

result<std::vector<shot>> parse_shots(const json::value& v) {
  if (!v.is_array() || v.as_array().empty())
    return bad("shots", "'shots' must be a non-empty array of {\"scene\": string, \"duration\": number}.");
  std::vector<shot> out;
  std::size_t i = 0;
  for (auto& item : v.as_array()) {
    auto p = "shots[" + std::to_string(i++) + "]";
    if (!item.is_object()) return bad(p, "'" + p + "' must be an object {\"scene\", \"duration\"}.");
    auto& o = item.as_object();
    for (auto& kv : o)
      if (kv.key() != "scene" && kv.key() != "duration")
        return fail(errc::unknown_parameter, "Unknown parameter: '" + p + "." + std::string(kv.key()) + "'.", p + "." + std::string(kv.key()));
    auto sc = o.if_contains("scene");
    if (!sc || !sc->is_string() || sc->as_string().empty())
      return bad(p + ".scene", "'" + p + ".scene' must be a non-empty string.");
    auto du = o.if_contains("duration");
    if (!du || !du->is_number()) return bad(p + ".duration", "'" + p + ".duration' must be a number.");
    double d = du->to_number<double>();
    if (!(d > 0)) return bad(p + ".duration", "'" + p + ".duration' must be greater than 0.");
    // Clamped before any arithmetic: 1e10 or inf seconds would overflow the sum's conversion.
    if (!(d <= max_shot_seconds))
      return bad(p + ".duration", "'" + p + ".duration' must be at most " + std::to_string(static_cast<int>(max_shot_seconds)) +
                                      " seconds.");
    out.push_back({std::string(sc->as_string()), d});
  }
  return out;
}

/// Checks that apply whatever the encoding.
result<create_request> finish(create_request r, bool have_prompt) {
  if (!have_prompt)
    return fail(errc::missing_required_parameter, "Missing required parameter: 'prompt'.", "prompt");
  auto n = utf8_chars(r.prompt);
  if (n == 0 || n > max_prompt_chars)
    return bad("prompt", "'prompt' must be between 1 and 32000 characters.");
  if (r.model.empty()) return bad("model", "'model' must not be empty.");
  if (std::find(sizes.begin(), sizes.end(), r.size) == sizes.end())
    return bad("size", "Invalid value for 'size': '" + r.size + "'. Supported values are: " + join(sizes) + ".");
  if (r.seconds) {
    auto& s = *r.seconds;
    if (!whole_seconds(s))
      return bad("seconds", "Invalid value for 'seconds': '" + s + "'. It must be a whole number of seconds, such as '8'.");
  }
  if (r.style && std::find(styles.begin(), styles.end(), *r.style) == styles.end())
    return bad("style", "Invalid value for 'style': '" + *r.style + "'. Supported values are: " + join(styles) + ".");
  return r;
}

result<create_request> parse_json(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) return bad("", "The request body is not valid JSON.");
  if (!v.is_object()) return bad("", "The request body must be a JSON object.");
  create_request r;
  bool have_prompt = false;
  for (auto& kv : v.as_object()) {
    std::string k(kv.key());
    auto& x = kv.value();
    auto want_string = [&](std::string& dst) -> std::optional<error> {
      if (!x.is_string()) return bad(k, "'" + k + "' must be a string.");
      dst = std::string(x.as_string());
      return std::nullopt;
    };
    std::optional<error> e;
    if (k == "prompt") { e = want_string(r.prompt); have_prompt = true; }
    else if (k == "model") e = want_string(r.model);
    else if (k == "size") e = want_string(r.size);
    else if (k == "seconds") {
      if (x.is_string()) r.seconds = std::string(x.as_string());
      else if (x.is_int64()) r.seconds = std::to_string(x.as_int64());
      else e = bad(k, "'seconds' must be a string such as \"8\".");
    } else if (k == "watermark" || k == "private") {
      if (!x.is_bool()) e = bad(k, "'" + k + "' must be a boolean.");
      else (k == "watermark" ? r.watermark : r.is_private) = x.as_bool();
    } else if (k == "style") {
      std::string s;
      e = want_string(s);
      r.style = s;
    } else if (k == "shots") {
      auto s = parse_shots(x);
      if (!s) e = s.error();
      else r.shots = std::move(*s);
    } else if (k == "input_reference") {
      if (!x.is_object()) { e = bad(k, "'input_reference' must be an object with 'image_url' or 'file_id'."); }
      else {
        image_input img;
        for (auto& ir : x.as_object()) {
          std::string ik(ir.key());
          if (ik != "image_url" && ik != "file_id") {
            e = fail(errc::unknown_parameter, "Unknown parameter: 'input_reference." + ik + "'.", "input_reference." + ik);
            break;
          }
          if (!ir.value().is_string()) { e = bad("input_reference." + ik, "'input_reference." + ik + "' must be a string."); break; }
          (ik == "image_url" ? img.url : img.file_id) = std::string(ir.value().as_string());
        }
        if (!e) {
          if (img.url.empty() == img.file_id.empty())
            e = bad("input_reference", "'input_reference' needs exactly one of 'image_url' or 'file_id'.");
          else if (!img.url.empty() && !valid_image_url(img.url))
            e = bad("input_reference.image_url", "'input_reference.image_url' must be an http(s) URL or a data:image/... URL.");
          else r.input_reference = std::move(img);
        }
      }
    } else if (k == "vendor_params") {
      if (!x.is_object()) e = bad(k, "'vendor_params' must be a JSON object of the vendor's own options.");
      else r.vendor_params = json::serialize(x);
    } else {
      e = fail(errc::unknown_parameter, "Unknown parameter: '" + k + "'.", k);
    }
    if (e) return *e;
  }
  return finish(std::move(r), have_prompt);
}

result<create_request> parse_form(std::string_view content_type, std::string_view body) {
  auto boundary = http::multipart_boundary(content_type);
  if (!boundary) return bad("", "The multipart/form-data Content-Type has no valid boundary.");
  auto parts = http::parse_multipart(body, *boundary);
  if (!parts) return parts.error();
  create_request r;
  bool have_prompt = false;
  std::vector<std::string> seen;
  std::optional<image_input> img;
  // The SDKs encode an array of objects as bracket keys: shots[][scene], shots[][duration]
  // (or shots[0][scene]). Rebuild it as the JSON array it stands for.
  json::array bracket_shots;
  for (auto& p : *parts) {
    auto& k = p.name;
    if (k.starts_with("shots[")) {
      if (p.filename) return bad("shots", "'shots' must be text fields, not files.");
      auto close = k.find(']');
      std::string index = close == std::string::npos ? std::string() : k.substr(6, close - 6);
      std::string rest = close == std::string::npos ? std::string() : k.substr(close + 1);
      if (rest.size() < 3 || rest.front() != '[' || rest.back() != ']' ||
          !(index.empty() || std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; })) ||
          index.size() > 3)
        return fail(errc::unknown_parameter, "Unknown parameter: '" + k + "'.", k);
      auto field = rest.substr(1, rest.size() - 2);
      std::size_t slot = 0;
      if (index.empty()) {
        // shots[][x]: a field the last shot already has starts the next shot.
        if (bracket_shots.empty() || bracket_shots.back().as_object().contains(field)) bracket_shots.emplace_back(json::object{});
        slot = bracket_shots.size() - 1;
      } else {
        slot = static_cast<std::size_t>(std::stoul(index));
        if (slot > 99) return bad("shots", "'shots' has too many entries.");
        while (bracket_shots.size() <= slot) bracket_shots.emplace_back(json::object{});
      }
      auto& o = bracket_shots[slot].as_object();
      if (o.contains(field)) return bad(k, "'" + k + "' was given more than once.");
      if (field == "duration") {
        double d = 0;
        auto [ptr, ec] = std::from_chars(p.data.data(), p.data.data() + p.data.size(), d);
        if (ec != std::errc{} || ptr != p.data.data() + p.data.size())
          return bad("shots[" + std::to_string(slot) + "].duration", "'shots[" + std::to_string(slot) + "].duration' must be a number.");
        o[field] = d;
      } else {
        o[field] = std::string(p.data);
      }
      continue;
    }
    if (std::find(seen.begin(), seen.end(), k) != seen.end())
      return bad(k, "'" + k + "' was given more than once.");
    seen.push_back(k);
    std::string v(p.data);
    if (k == "input_reference") {
      if (img) return bad("input_reference", "'input_reference' was given more than once.");
      if (!p.filename) {
        // Some clients send a URL as a plain field under the bare name.
        if (!valid_image_url(v)) return bad(k, "'input_reference' must be an image file (jpeg, png or webp).");
        img = image_input{};
        img->url = v;
        continue;
      }
      auto mime = sniff_image(p.data);
      if (mime.empty()) return bad(k, "'input_reference' must be a JPEG, PNG or WebP image.");
      img = image_input{};
      img->bytes = v;
      img->mime = mime;
      img->filename = *p.filename;
      continue;
    }
    if (p.filename) return bad(k, "'" + k + "' must be a text field, not a file.");
    if (k == "prompt") { r.prompt = v; have_prompt = true; }
    else if (k == "model") r.model = v;
    else if (k == "size") r.size = v;
    else if (k == "seconds") r.seconds = v;
    else if (k == "style") r.style = v;
    else if (k == "watermark" || k == "private") {
      auto b = parse_bool_text(k, v);
      if (!b) return b.error();
      (k == "watermark" ? r.watermark : r.is_private) = *b;
    } else if (k == "shots") {
      boost::system::error_code ec;
      auto j = json::parse(v, ec);
      if (ec) return bad(k, "'shots' must be a JSON array of {\"scene\", \"duration\"}.");
      auto s = parse_shots(j);
      if (!s) return s.error();
      r.shots = std::move(*s);
    } else if (k == "vendor_params") {
      boost::system::error_code ec;
      auto j = json::parse(v, ec);
      if (ec || !j.is_object()) return bad(k, "'vendor_params' must be a JSON object (as a string field in multipart).");
      r.vendor_params = json::serialize(j);
    } else if (k == "input_reference[image_url]" || k == "input_reference[file_id]") {
      if (img) return bad("input_reference", "'input_reference' was given more than once.");
      img = image_input{};
      if (k == "input_reference[file_id]") img->file_id = v;
      else if (!valid_image_url(v)) return bad(k, "'" + k + "' must be an http(s) URL or a data:image/... URL.");
      else img->url = v;
    } else {
      return fail(errc::unknown_parameter, "Unknown parameter: '" + k + "'.", k);
    }
  }
  r.input_reference = std::move(img);
  if (!bracket_shots.empty()) {
    if (r.shots) return bad("shots", "'shots' was given twice (as JSON and as bracket fields).");
    auto sh = parse_shots(json::value(std::move(bracket_shots)));
    if (!sh) return sh.error();
    r.shots = std::move(*sh);
  }
  return finish(std::move(r), have_prompt);
}

}  // namespace

std::string sniff_image(std::string_view b) {
  if (b.size() >= 3 && static_cast<unsigned char>(b[0]) == 0xFF && static_cast<unsigned char>(b[1]) == 0xD8 &&
      static_cast<unsigned char>(b[2]) == 0xFF)
    return "image/jpeg";
  if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return "image/png";
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") return "image/webp";
  return {};
}

result<create_request> parse_create(std::string_view content_type, std::string_view body) {
  auto t = lower_media_type(content_type);
  if (t == "application/json") return parse_json(body);
  if (t == "multipart/form-data") return parse_form(content_type, body);
  return fail(errc::unsupported_media_type,
              "Unsupported Content-Type '" + std::string(content_type) +
                  "': send application/json or multipart/form-data.");
}

result<std::string> parse_remix(std::string_view content_type, std::string_view body) {
  auto t = lower_media_type(content_type);
  std::optional<std::string> prompt;
  if (t == "application/json") {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) return bad("", "The request body must be a JSON object.");
    for (auto& kv : v.as_object()) {
      if (kv.key() != "prompt")
        return fail(errc::unknown_parameter, "Unknown parameter: '" + std::string(kv.key()) + "'.", std::string(kv.key()));
      if (!kv.value().is_string()) return bad("prompt", "'prompt' must be a string.");
      prompt = std::string(kv.value().as_string());
    }
  } else if (t == "multipart/form-data") {
    auto boundary = http::multipart_boundary(content_type);
    if (!boundary) return bad("", "The multipart/form-data Content-Type has no valid boundary.");
    auto parts = http::parse_multipart(body, *boundary);
    if (!parts) return parts.error();
    for (auto& p : *parts) {
      if (p.name != "prompt") return fail(errc::unknown_parameter, "Unknown parameter: '" + p.name + "'.", p.name);
      prompt = std::string(p.data);
    }
  } else {
    return fail(errc::unsupported_media_type,
                "Unsupported Content-Type '" + std::string(content_type) + "': send application/json or multipart/form-data.");
  }
  if (!prompt) return fail(errc::missing_required_parameter, "Missing required parameter: 'prompt'.", "prompt");
  auto n = utf8_chars(*prompt);
  if (n == 0 || n > max_prompt_chars) return bad("prompt", "'prompt' must be between 1 and 32000 characters.");
  return *prompt;
}

std::string sniff_video(std::string_view b) {
  if (b.size() >= 12 && b.substr(4, 4) == "ftyp") {
    auto brand = b.substr(8, 4);
    // The same box opens HEIF/AVIF still images: those are pictures, not videos.
    for (std::string_view image : {"avif", "avis", "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"})
      if (brand == image) return {};
    return brand == "qt  " ? "video/quicktime" : "video/mp4";
  }
  // Old QuickTime files open with a movie atom rather than a file-type box.
  if (b.size() >= 8)
    for (std::string_view atom : {"moov", "mdat", "wide", "free"})
      if (b.substr(4, 4) == atom) return "video/quicktime";
  // WebM: an EBML header whose DocType is "webm" (a Matroska file says "matroska").
  if (b.size() >= 4 && b.substr(0, 4) == std::string_view("\x1a\x45\xdf\xa3", 4) &&
      b.substr(0, 64).find("webm") != std::string_view::npos)
    return "video/webm";
  return {};
}

namespace {

/// A body of text fields and at most one `video` file, in either encoding, as the calls that
/// start from a video send it. `allowed`: the text fields besides `video`/`video[id]`.
struct video_form {
  std::vector<std::pair<std::string, std::string>> fields;  ///< in order, each name once
  std::optional<video_input> video;
  bool json = false;
};

result<video_form> read_video_form(std::string_view content_type, std::string_view body,
                                   std::initializer_list<std::string_view> allowed) {
  auto t = lower_media_type(content_type);
  video_form out;
  auto known = [&](std::string_view k) { return std::find(allowed.begin(), allowed.end(), k) != allowed.end(); };
  auto have = [&](std::string_view k) {
    return std::any_of(out.fields.begin(), out.fields.end(), [&](auto& f) { return f.first == k; });
  };
  if (t == "application/json") {
    out.json = true;
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec) return bad("", "The request body is not valid JSON.");
    if (!v.is_object()) return bad("", "The request body must be a JSON object.");
    for (auto& kv : v.as_object()) {
      std::string k(kv.key());
      auto& x = kv.value();
      if (k == "video") {
        if (!x.is_object()) return bad("video", "'video' must be an object {\"id\": \"video_...\"} (upload a file with multipart/form-data).");
        for (auto& f : x.as_object())
          if (f.key() != "id")
            return fail(errc::unknown_parameter, "Unknown parameter: 'video." + std::string(f.key()) + "'.", "video." + std::string(f.key()));
        auto id = x.as_object().if_contains("id");
        if (!id || !id->is_string() || id->as_string().empty()) return bad("video.id", "'video.id' must be a video id.");
        out.video = video_input{};
        out.video->id = std::string(id->as_string());
        continue;
      }
      if (!known(k)) return fail(errc::unknown_parameter, "Unknown parameter: '" + k + "'.", k);
      if (k == "seconds" && x.is_int64()) out.fields.emplace_back(k, std::to_string(x.as_int64()));
      else if (!x.is_string()) return bad(k, "'" + k + "' must be a string.");
      else out.fields.emplace_back(k, std::string(x.as_string()));
    }
    return out;
  }
  if (t != "multipart/form-data")
    return fail(errc::unsupported_media_type,
                "Unsupported Content-Type '" + std::string(content_type) + "': send multipart/form-data or application/json.");
  auto boundary = http::multipart_boundary(content_type);
  if (!boundary) return bad("", "The multipart/form-data Content-Type has no valid boundary.");
  auto parts = http::parse_multipart(body, *boundary);
  if (!parts) return parts.error();
  for (auto& p : *parts) {
    auto& k = p.name;
    if (k == "video" || k == "video[id]") {
      if (out.video) return bad("video", "'video' was given more than once.");
      out.video = video_input{};
      if (k == "video[id]") {
        if (p.filename) return bad(k, "'video[id]' must be a text field, not a file.");
        if (p.data.empty()) return bad(k, "'video[id]' must be a video id.");
        out.video->id = std::string(p.data);
        continue;
      }
      if (!p.filename) return bad("video", "'video' must be a video file (or send 'video[id]' with a video id).");
      out.video->mime = sniff_video(p.data);
      if (out.video->mime.empty()) return bad("video", "'video' must be an MP4, WebM or QuickTime video.");
      out.video->bytes = std::string(p.data);
      out.video->filename = *p.filename;
      continue;
    }
    if (!known(k)) return fail(errc::unknown_parameter, "Unknown parameter: '" + k + "'.", k);
    if (p.filename) return bad(k, "'" + k + "' must be a text field, not a file.");
    if (have(k)) return bad(k, "'" + k + "' was given more than once.");
    out.fields.emplace_back(k, std::string(p.data));
  }
  return out;
}

std::optional<std::string> field_of(const video_form& f, std::string_view name) {
  for (auto& [k, v] : f.fields)
    if (k == name) return v;
  return std::nullopt;
}

}  // namespace

result<derive_request> parse_derive(derive_request::kind what, std::string_view content_type, std::string_view body) {
  bool extension = what == derive_request::kind::extension;
  auto form = extension ? read_video_form(content_type, body, {"prompt", "seconds", "model"})
                        : read_video_form(content_type, body, {"prompt", "model"});
  if (!form) return form.error();
  derive_request r;
  r.what = what;
  auto prompt = field_of(*form, "prompt");
  if (!prompt) return fail(errc::missing_required_parameter, "Missing required parameter: 'prompt'.", "prompt");
  if (auto n = utf8_chars(*prompt); n == 0 || n > max_prompt_chars)
    return bad("prompt", "'prompt' must be between 1 and 32000 characters.");
  r.prompt = std::move(*prompt);
  if (!form->video) return fail(errc::missing_required_parameter, "Missing required parameter: 'video'.", "video");
  r.video = std::move(*form->video);
  if (auto m = field_of(*form, "model")) {
    if (m->empty()) return bad("model", "'model' must not be empty.");
    if (!r.video.id.empty())
      return bad("model", "'model' applies to an uploaded video only: a video id goes to the upstream that made it.");
    r.model = std::move(*m);
    r.model_given = true;
  }
  if (extension) {
    auto s = field_of(*form, "seconds");
    if (!s) return fail(errc::missing_required_parameter, "Missing required parameter: 'seconds'.", "seconds");
    if (!whole_seconds(*s))
      return bad("seconds", "Invalid value for 'seconds': '" + *s + "'. It must be a whole number of seconds, such as '8'.");
    r.seconds = std::move(*s);
  }
  return r;
}

result<character_request> parse_character(std::string_view content_type, std::string_view body) {
  auto form = read_video_form(content_type, body, {"name", "model"});
  if (!form) return form.error();
  character_request r;
  auto name = field_of(*form, "name");
  if (!name) return fail(errc::missing_required_parameter, "Missing required parameter: 'name'.", "name");
  if (auto n = utf8_chars(*name); n == 0 || n > max_character_name_chars)
    return bad("name", "'name' must be between 1 and 80 characters.");
  r.name = std::move(*name);
  if (auto m = field_of(*form, "model")) {
    if (m->empty()) return bad("model", "'model' must not be empty.");
    r.model = std::move(*m);
  }
  if (!form->video) return fail(errc::missing_required_parameter, "Missing required parameter: 'video'.", "video");
  if (!form->video->id.empty())
    return bad("video", "'video' must be an uploaded video file (multipart/form-data): a character is made from an upload.");
  r.video = std::move(*form->video);
  return r;
}

std::string video_json(const jobs::job_record& j) {
  json::object o;
  auto opt_int = [](const std::optional<std::int64_t>& v) { return v ? json::value(*v) : json::value(nullptr); };
  auto opt_str = [](const std::optional<std::string>& v) { return v ? json::value(*v) : json::value(nullptr); };
  o["id"] = j.id;
  o["object"] = "video";
  o["model"] = j.model;
  o["status"] = j.status;
  o["progress"] = j.progress;
  o["created_at"] = j.created_at;
  o["completed_at"] = opt_int(j.completed_at);
  o["expires_at"] = opt_int(j.expires_at);
  o["prompt"] = j.prompt;
  o["size"] = j.size;
  o["seconds"] = j.seconds;
  o["remixed_from_video_id"] = opt_str(j.remixed_from_video_id);
  if (j.status == "failed") {
    json::object e;
    e["code"] = j.error_code.value_or("video_generation_failed");
    e["message"] = j.error_message.value_or("The upstream vendor reported the job as failed.");
    o["error"] = std::move(e);
  } else {
    o["error"] = nullptr;
  }
  return json::serialize(o);
}

}  // namespace videogate::api
