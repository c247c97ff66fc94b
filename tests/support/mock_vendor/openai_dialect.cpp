// The `openai` dialect: resellers that copy the OpenAI Videos API (seeds 001 multipart with
// the watermark/private/style extras, 002 JSON). Written from the seeds and vendors.md, not
// from the gateway's translator, so that a misreading on one side shows up as a failure.

#include "dialect.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <string>

namespace videogate::mock_vendor {
namespace {
namespace http = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view dialect_name = "openai";
constexpr std::array<std::string_view, 2> models{"sora-2", "sora-2-pro"};
constexpr std::array<std::string_view, 5> durations{"4", "8", "12", "16", "20"};
constexpr std::array<std::string_view, 4> sizes{"720x1280", "1280x720", "1024x1792", "1792x1024"};
constexpr std::array<std::string_view, 6> styles{"thanksgiving", "comic", "news", "selfie", "nostalgic", "anime"};
constexpr std::size_t max_prompt_chars = 32000;
constexpr std::size_t max_character_name_chars = 80;
constexpr int default_list_limit = 20;

template <std::size_t N>
std::string quoted_list(const std::array<std::string_view, N>& allowed)
{
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0)
      out += i + 1 == N ? " and " : ", ";
    // Appended piece by piece: with `"x" + std::string(...)` GCC 12 at -O2 warns -Wrestrict
    // about a memcpy that cannot happen (GCC bug 105329).
    out += '\'';
    out += allowed[i];
    out += '\'';
  }
  return out;
}

json::value nullable(std::optional<std::string_view> v)
{
  return v ? json::value(json::string(*v)) : json::value(nullptr);
}

/// OpenAI's error envelope.
reply error_reply(http::status status, std::string_view message, std::string_view type,
                  std::optional<std::string_view> param = std::nullopt,
                  std::optional<std::string_view> code = std::nullopt)
{
  return json_reply(status, {{"error",
                              {{"message", message}, {"type", type}, {"param", nullable(param)}, {"code", nullable(code)}}}});
}

reply invalid_value(std::string_view param, std::string_view message)
{
  return error_reply(http::status::bad_request, message, "invalid_request_error", param, "invalid_value");
}

reply unknown_parameter(std::string_view name)
{
  return error_reply(http::status::bad_request, "Unknown parameter: '" + std::string(name) + "'.",
                     "invalid_request_error", name, "unknown_parameter");
}

reply not_found_video(std::string_view id)
{
  return error_reply(http::status::not_found, "Video with id '" + std::string(id) + "' not found.",
                     "invalid_request_error", "id", "not_found");
}

/// A job the vendor lost track of (`ctx.forget`): its generic not-found, no id, no param.
reply video_forgotten()
{
  return error_reply(http::status::not_found, "Video not found", "invalid_request_error", std::nullopt, "not_found");
}

reply invalid_url(const request_context& ctx)
{
  return error_reply(http::status::not_found,
                     "Invalid URL (" + std::string(ctx.req.method_string()) + " " + ctx.path + ")",
                     "invalid_request_error");
}

reply method_not_allowed(const request_context& ctx, std::string_view allow)
{
  auto r = error_reply(http::status::method_not_allowed,
                       "Method " + std::string(ctx.req.method_string()) + " not allowed for " + ctx.path,
                       "invalid_request_error");
  r.headers.set(http::field::allow, allow);
  return r;
}

reply moderation_blocked()
{
  return error_reply(http::status::bad_request, "Your request was blocked by our moderation system.",
                     "invalid_request_error", std::nullopt, "moderation_blocked");
}

/// Keys look like "sk-abc…"; echo them masked, as OpenAI does, never whole.
std::string masked(std::string_view key)
{
  if (key.size() <= 8)
    return "****";
  return std::string(key.substr(0, 4)) + "****" + std::string(key.substr(key.size() - 4));
}

/// Image type from the magic bytes, empty when not jpeg/png/webp.
std::string_view sniff_image(std::string_view data)
{
  if (starts_with(data, "\xFF\xD8\xFF"))
    return "image/jpeg";
  if (starts_with(data, std::string_view("\x89PNG\r\n\x1A\n", 8)))
    return "image/png";
  if (data.size() >= 12 && starts_with(data, "RIFF") && data.substr(8, 4) == "WEBP")
    return "image/webp";
  return {};
}

/// Video type from the magic bytes, empty when not MP4, QuickTime or WebM.
std::string_view sniff_video(std::string_view data)
{
  if (data.size() >= 8 && data.substr(4, 4) == "ftyp")
    return data.substr(8, 4) == "qt  " ? "video/quicktime" : "video/mp4";
  if (starts_with(data, "\x1A\x45\xDF\xA3") && data.substr(0, 64).find("webm") != std::string_view::npos)
    return "video/webm";
  return {};
}

/// An uploaded source video: not empty and an MP4, WebM or QuickTime file by its bytes.
std::optional<reply> check_video_file(const form_part& f)
{
  if (f.data.empty())
    return invalid_value("video", "The 'video' file is empty.");
  if (sniff_video(f.data).empty())
    return invalid_value("video", "The 'video' file is not an MP4, WebM or QuickTime video.");
  return std::nullopt;
}

/// Unicode code points of UTF-8 text (bytes that do not continue a sequence).
std::size_t code_points(std::string_view s)
{
  return static_cast<std::size_t>(
    std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

/// Which call a request body belongs to: each takes its own set of fields.
enum class input_mode {
  create,     ///< POST /v1/videos: every create field
  remix,      ///< POST /v1/videos/{id}/remix: prompt
  edit,       ///< POST /v1/videos/edits: prompt, video (file or id)
  extension,  ///< POST /v1/videos/extensions: prompt, seconds, video (file or id)
  character,  ///< POST /v1/videos/characters: name, video (file only; multipart only)
};

/// A create, remix, edit, extension or character request, from either encoding.
struct create_input {
  std::optional<std::string> model, prompt, seconds, size, style, name;
  std::optional<bool> watermark, is_private;
  std::optional<std::string> image_url, file_id;
  const form_part* image_file = nullptr;
  std::optional<std::string> video_id;  ///< edit/extension source by id (`video[id]`, JSON `video.id`)
  const form_part* video_file = nullptr;  ///< edit/extension/character source as an upload
};

std::optional<bool> parse_bool_text(std::string_view v)
{
  if (v == "true")
    return true;
  if (v == "false")
    return false;
  return std::nullopt;
}

/// Edits and extensions name their source video: an upload or an earlier job's id.
bool takes_video(input_mode mode)
{
  return mode == input_mode::edit || mode == input_mode::extension || mode == input_mode::character;
}

std::optional<reply> read_json(const json::value& body, create_input& in, input_mode mode)
{
  if (!body.is_object())
    return error_reply(http::status::bad_request, "The request body must be a JSON object.", "invalid_request_error",
                       std::nullopt, "invalid_value");
  for (auto& [k, v] : body.as_object()) {
    const std::string_view key = k;
    if (v.is_null())
      continue;  // null means "not given", as in OpenAI's API
    auto want_string = [&](std::optional<std::string>& out) -> std::optional<reply> {
      if (!v.is_string())
        return invalid_value(key, "Invalid type for '" + std::string(key) + "': expected a string.");
      out = std::string(v.as_string());
      return std::nullopt;
    };
    auto want_bool = [&](std::optional<bool>& out) -> std::optional<reply> {
      if (v.is_bool())
        out = v.as_bool();
      else if (v.is_string() && parse_bool_text(v.as_string()))
        out = parse_bool_text(v.as_string());
      else
        return invalid_value(key, "Invalid type for '" + std::string(key) + "': expected a boolean.");
      return std::nullopt;
    };
    std::optional<reply> err;
    if (key == "prompt")
      err = want_string(in.prompt);
    else if (mode == input_mode::remix)
      err = unknown_parameter(key);
    else if (mode == input_mode::edit || mode == input_mode::extension) {
      if (key == "seconds" && mode == input_mode::extension)
        err = want_string(in.seconds);
      else if (key == "video") {
        const json::string* id = nullptr;
        if (v.is_object())
          for (auto& [rk, rv] : v.as_object()) {
            if (rk != "id")
              return unknown_parameter("video." + std::string(rk));
            id = rv.if_string();
          }
        if (id == nullptr)
          return invalid_value(key, "Invalid type for 'video': expected an object with a string 'id'.");
        in.video_id = std::string(*id);
      } else
        err = unknown_parameter(key);
    } else if (key == "model")
      err = want_string(in.model);
    else if (key == "seconds")
      err = want_string(in.seconds);
    else if (key == "size")
      err = want_string(in.size);
    else if (key == "style")
      err = want_string(in.style);
    else if (key == "watermark")
      err = want_bool(in.watermark);
    else if (key == "private")
      err = want_bool(in.is_private);
    else if (key == "input_reference") {
      if (!v.is_object())
        return invalid_value(key, "Invalid type for 'input_reference': expected an object with 'image_url' or 'file_id'.");
      for (auto& [rk, rv] : v.as_object()) {
        const std::string name = "input_reference." + std::string(rk);
        if (rk != "image_url" && rk != "file_id")
          return unknown_parameter(name);
        if (!rv.is_string())
          return invalid_value(name, "Invalid type for '" + name + "': expected a string.");
        (rk == "image_url" ? in.image_url : in.file_id) = std::string(rv.as_string());
      }
    } else
      err = unknown_parameter(key);
    if (err)
      return err;
  }
  return std::nullopt;
}

std::optional<reply> read_form(const std::vector<form_part>& parts, create_input& in, input_mode mode)
{
  std::vector<std::string_view> seen;
  for (auto& part : parts) {
    const std::string_view name = part.name;
    if (std::find(seen.begin(), seen.end(), name) != seen.end())
      return invalid_value(name, "Parameter '" + part.name + "' was given more than once.");
    seen.push_back(name);

    const bool is_file = part.filename.has_value();
    if (name == "input_reference" && mode == input_mode::create) {
      if (!is_file)
        return invalid_value(name, "'input_reference' must be a file upload (or use input_reference[image_url]).");
      in.image_file = &part;
      continue;
    }
    if (takes_video(mode) && (name == "video" || name == "video[id]")) {
      if (mode == input_mode::character && (name != "video" || !is_file))
        return invalid_value("video", "'video' must be an uploaded video file.");
      if (name == "video" && !is_file)
        return invalid_value("video", "'video' must be a file upload (or use video[id]).");
      if (name == "video") {
        in.video_file = &part;
        continue;
      }
    }
    auto text = [&](std::optional<std::string>& out) -> std::optional<reply> {
      if (is_file)
        return invalid_value(name, "Invalid type for '" + part.name + "': expected a string, got a file.");
      out = part.data;
      return std::nullopt;
    };
    auto boolean = [&](std::optional<bool>& out) -> std::optional<reply> {
      out = parse_bool_text(part.data);
      if (is_file || !out)
        return invalid_value(name, "Invalid value for '" + part.name + "': expected 'true' or 'false'.");
      return std::nullopt;
    };
    std::optional<reply> err;
    if (mode == input_mode::character)
      err = name == "name" ? text(in.name) : unknown_parameter(name);
    else if (name == "prompt")
      err = text(in.prompt);
    else if (mode == input_mode::remix)
      err = unknown_parameter(name);
    else if (mode == input_mode::edit || mode == input_mode::extension) {
      if (name == "video[id]")
        err = text(in.video_id);
      else if (name == "seconds" && mode == input_mode::extension)
        err = text(in.seconds);
      else
        err = unknown_parameter(name);
    } else if (name == "model")
      err = text(in.model);
    else if (name == "seconds")
      err = text(in.seconds);
    else if (name == "size")
      err = text(in.size);
    else if (name == "style")
      err = text(in.style);
    else if (name == "watermark")
      err = boolean(in.watermark);
    else if (name == "private")
      err = boolean(in.is_private);
    else if (name == "input_reference[image_url]")
      err = text(in.image_url);
    else if (name == "input_reference[file_id]")
      err = text(in.file_id);
    else
      err = unknown_parameter(name);
    if (err)
      return err;
  }
  return std::nullopt;
}

/// Reads the body of a create, remix, edit, extension or character in whichever encoding it
/// came (characters: multipart only).
std::optional<reply> read_input(const request_context& ctx, create_input& in, input_mode mode)
{
  if (!ctx.body_error.empty())
    return error_reply(http::status::bad_request, ctx.body_error, "invalid_request_error", std::nullopt,
                       "invalid_value");
  if (ctx.json && mode == input_mode::character)
    return invalid_value("video", "Characters take a multipart/form-data upload: send 'name' and the 'video' file.");
  if (ctx.json)
    return read_json(*ctx.json, in, mode);
  if (ctx.form)
    return read_form(*ctx.form, in, mode);
  return error_reply(http::status::unsupported_media_type,
                     "Unsupported Content-Type '" + std::string(ctx.req[http::field::content_type]) +
                       (mode == input_mode::character ? "': send multipart/form-data."
                                                      : "': send application/json or multipart/form-data."),
                     "invalid_request_error", std::nullopt, "unsupported_media_type");
}

reply missing_parameter(std::string_view name)
{
  return error_reply(http::status::bad_request, "Missing required parameter: '" + std::string(name) + "'.",
                     "invalid_request_error", name, "missing_required_parameter");
}

std::optional<reply> check_prompt(const create_input& in)
{
  if (!in.prompt)
    return missing_parameter("prompt");
  if (in.prompt->empty())
    return invalid_value("prompt", "Invalid 'prompt': empty string. Expected a string with minimum length 1.");
  if (in.prompt->size() > max_prompt_chars)
    return invalid_value("prompt", "Invalid 'prompt': string too long. Expected a string with maximum length 32000.");
  return std::nullopt;
}

/// Validates like the vendor and fills the defaults.
std::optional<reply> validate_create(create_input& in)
{
  if (auto err = check_prompt(in))
    return err;
  in.model = in.model.value_or("sora-2");
  in.seconds = in.seconds.value_or("4");
  in.size = in.size.value_or("720x1280");
  if (!one_of(*in.model, models))
    return invalid_value("model", "Invalid value: '" + *in.model + "'. Supported values are: " + quoted_list(models) + ".");
  if (!one_of(*in.seconds, durations))
    return invalid_value("seconds",
                         "Invalid value: '" + *in.seconds + "'. Supported values are: " + quoted_list(durations) + ".");
  if (!one_of(*in.size, sizes))
    return invalid_value("size", "Invalid value: '" + *in.size + "'. Supported values are: " + quoted_list(sizes) + ".");
  if (*in.model == "sora-2" && in.size->find("1792") != std::string::npos)
    return invalid_value("size", "Size '" + *in.size + "' is only available with model 'sora-2-pro'.");
  if (in.style && !one_of(*in.style, styles))
    return invalid_value("style", "Invalid value: '" + *in.style + "'. Supported values are: " + quoted_list(styles) + ".");

  const int references = (in.image_file ? 1 : 0) + (in.image_url ? 1 : 0) + (in.file_id ? 1 : 0);
  if (references > 1)
    return invalid_value("input_reference", "Provide only one of an input_reference file, image_url or file_id.");
  if (in.image_file) {
    const auto& f = *in.image_file;
    const auto declared = media_type_of(f.content_type);
    if (!one_of(declared, image_types))
      return invalid_value("input_reference", "Invalid file type '" + f.content_type +
                                                "' for 'input_reference'. Supported types: " + quoted_list(image_types) + ".");
    if (sniff_image(f.data) != declared)
      return invalid_value("input_reference", "The 'input_reference' file is not a valid " + declared + " image.");
  }
  if (in.image_url && !valid_image_ref(*in.image_url))
    return invalid_value("input_reference[image_url]",
                         "'input_reference[image_url]' must be an http(s) URL or a base64 data URL of a jpeg, png or webp image.");
  if (in.file_id && in.file_id->empty())
    return invalid_value("input_reference[file_id]", "'input_reference[file_id]' must not be empty.");
  if (in.prompt->find("[reject]") != std::string::npos)
    return moderation_blocked();
  if (in.prompt->find(echo_marker) != std::string::npos)
    return error_reply(http::status::bad_request, "Invalid prompt: " + *in.prompt, "invalid_request_error", "prompt",
                       "invalid_prompt");
  return std::nullopt;
}

json::object video_object(const job& j)
{
  json::object o;
  o["id"] = j.id;
  o["object"] = "video";
  o["model"] = j.model;
  o["status"] = to_string(j.status);
  o["progress"] = j.progress;
  o["created_at"] = j.created_at;
  o["completed_at"] = j.completed_at ? json::value(*j.completed_at) : json::value(nullptr);
  o["expires_at"] = j.expires_at ? json::value(*j.expires_at) : json::value(nullptr);
  o["prompt"] = j.prompt;
  o["size"] = j.size;
  o["seconds"] = j.seconds;
  o["remixed_from_video_id"] = j.remixed_from ? json::value(*j.remixed_from) : json::value(nullptr);
  if (j.status == job_status::failed)
    o["error"] = {{"code", j.error_code}, {"message", j.error_message}};
  else
    o["error"] = nullptr;
  return o;
}

class openai_dialect final : public dialect {
public:
  explicit openai_dialect(vendor_state& state) : state_(state) {}

  std::string_view name() const noexcept override { return dialect_name; }

  /// The third segment of the POST routes that make a job (edits, extensions) or a character.
  static bool is_create_route(std::string_view segment) noexcept
  {
    return segment == "edits" || segment == "extensions" || segment == "characters";
  }

  bool owns(std::string_view path) const noexcept override
  {
    return path == "/v1/videos" || starts_with(path, "/v1/videos/");
  }

  route_kind kind_of(const request_context& ctx) const noexcept override
  {
    const auto& s = ctx.segments;
    const auto method = ctx.req.method();
    if (s.size() == 2 && method == http::verb::post)
      return route_kind::create;
    // Edits, extensions and characters make something like a create: a faulted answer
    // (made502-*, chaos 502/504/truncated) still leaves the job or character behind.
    if (s.size() == 3 && is_create_route(s[2]))
      return method == http::verb::post ? route_kind::create : route_kind::other;
    if (s.size() == 3 && method == http::verb::get)
      return route_kind::status;
    if (s.size() == 4 && s[3] == "remix" && method == http::verb::post)
      return route_kind::create;
    return route_kind::other;
  }

  reply fault_reply(fault f, const request_context& ctx) const override
  {
    switch (f) {
    case fault::missing_key:
      return error_reply(http::status::unauthorized,
                         "You didn't provide an API key. You need to provide your API key in an Authorization header "
                         "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                         "invalid_request_error");
    case fault::invalid_key:
      return error_reply(http::status::unauthorized, "Incorrect API key provided: " + masked(ctx.key) + ".",
                         "invalid_request_error", std::nullopt, "invalid_api_key");
    case fault::echo_key:
      return error_reply(http::status::unauthorized, echoed_key_message(ctx.key), "invalid_request_error",
                         std::nullopt, "invalid_api_key");
    case fault::forbidden:
      return error_reply(http::status::forbidden, "This API key is not allowed to use the videos API.",
                         "permission_error", std::nullopt, "permission_denied");
    case fault::no_credit:
      return error_reply(http::status::payment_required,
                         "You exceeded your current quota, please check your plan and billing details.",
                         "insufficient_quota", std::nullopt, "insufficient_quota");
    case fault::rate_limited: {
      const auto seconds = std::to_string(state_.retry_after.count());
      auto r = error_reply(http::status::too_many_requests,
                           "Rate limit reached for requests. Please try again in " + seconds + "s.", "requests",
                           std::nullopt, "rate_limit_exceeded");
      r.headers.set(http::field::retry_after, seconds);
      return r;
    }
    default:
      return error_reply(http::status::internal_server_error,
                         "The server had an error while processing your request. Sorry about that!", "server_error");
    }
  }

  reply handle(request_context& ctx) override
  {
    const auto& s = ctx.segments;
    const auto method = ctx.req.method();
    if (s.size() < 2 || s[0] != "v1" || s[1] != "videos")
      return invalid_url(ctx);
    if (s.size() == 2) {
      if (method == http::verb::post)
        return create(ctx);
      if (method == http::verb::get)
        return list(ctx);
      return method_not_allowed(ctx, "GET, POST");
    }
    if (s.size() == 3 && is_create_route(s[2])) {
      if (method == http::verb::post)
        return s[2] == "edits"        ? derive(ctx, input_mode::edit)
               : s[2] == "extensions" ? derive(ctx, input_mode::extension)
                                      : create_character(ctx);
      // GET /v1/videos/characters (no id) reads as a video id, as before: 404.
      if (s[2] != "characters" || method != http::verb::get)
        return method_not_allowed(ctx, "POST");
    }
    if (s.size() == 3) {
      if (method == http::verb::get)
        return retrieve(ctx, s[2]);
      if (method == http::verb::delete_)
        return remove(ctx, s[2]);
      return invalid_url(ctx);
    }
    if (s.size() == 4 && s[2] == "characters")
      return method == http::verb::get ? get_character(ctx, s[3]) : method_not_allowed(ctx, "GET");
    if (s.size() == 4 && s[3] == "content")
      return method == http::verb::get ? content(ctx, s[2]) : method_not_allowed(ctx, "GET");
    if (s.size() == 4 && s[3] == "remix")
      return method == http::verb::post ? remix(ctx, s[2]) : method_not_allowed(ctx, "POST");
    return invalid_url(ctx);
  }

private:
  // POST /v1/videos
  reply create(const request_context& ctx)
  {
    create_input in;
    if (auto err = read_input(ctx, in, input_mode::create))
      return std::move(*err);
    if (auto err = validate_create(in))
      return std::move(*err);

    job j;
    j.id = state_.jobs.new_id("video_");
    j.key = ctx.key;
    j.dialect = std::string(dialect_name);
    j.model = *in.model;
    j.prompt = *in.prompt;
    j.size = *in.size;
    j.seconds = *in.seconds;
    j.fail_at_end = ctx.key_fault == fault::fail_jobs;
    if (in.watermark)
      j.request["watermark"] = *in.watermark;
    if (in.is_private)
      j.request["private"] = *in.is_private;
    if (in.style)
      j.request["style"] = *in.style;
    if (in.image_file)
      j.request["input_reference"] = {{"file", in.image_file->filename.value_or("")},
                                      {"content_type", in.image_file->content_type},
                                      {"size", in.image_file->data.size()}};
    else if (in.image_url)
      j.request["input_reference"] = {{"image_url", *in.image_url}};
    else if (in.file_id)
      j.request["input_reference"] = {{"file_id", *in.file_id}};
    j.request["encoding"] = ctx.json ? "json" : "multipart";
    return json_reply(http::status::ok, video_object(state_.jobs.create(std::move(j))));
  }

  // GET /v1/videos?after=&limit=&order=
  reply list(const request_context& ctx)
  {
    int limit = default_list_limit;
    if (auto v = ctx.query_param("limit")) {
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), limit);
      if (ec != std::errc{} || end != v->data() + v->size() || limit < 0 || limit > 100)
        return invalid_value("limit", "Invalid 'limit': expected an integer between 0 and 100.");
    }
    const auto order = ctx.query_param("order").value_or("desc");
    if (order != "asc" && order != "desc")
      return invalid_value("order", "Invalid value: '" + std::string(order) + "'. Supported values are: 'asc' and 'desc'.");

    auto jobs = state_.jobs.list(ctx.key, dialect_name);
    if (order == "desc")
      std::reverse(jobs.begin(), jobs.end());
    std::size_t start = 0;
    if (auto after = ctx.query_param("after")) {
      auto it = std::find_if(jobs.begin(), jobs.end(), [&](const job* j) { return j->id == *after; });
      start = it == jobs.end() ? jobs.size() : static_cast<std::size_t>(it - jobs.begin()) + 1;
    }
    const std::size_t stop = std::min(jobs.size(), start + static_cast<std::size_t>(limit));
    json::array data;
    for (std::size_t i = start; i < stop; ++i)
      data.push_back(video_object(*jobs[i]));
    json::object out;
    out["object"] = "list";
    out["first_id"] = start < stop ? json::value(jobs[start]->id) : json::value(nullptr);
    out["last_id"] = start < stop ? json::value(jobs[stop - 1]->id) : json::value(nullptr);
    out["has_more"] = stop < jobs.size();
    out["data"] = std::move(data);
    return json_reply(http::status::ok, out);
  }

  // GET /v1/videos/{id}: every read is a poll and moves the job's timeline on.
  reply retrieve(const request_context& ctx, const std::string& id)
  {
    job* j = state_.jobs.find(id, ctx.key, dialect_name);
    if (j == nullptr)
      return not_found_video(id);
    state_.jobs.poll(*j);  // still a poll: tests see that it was read
    if (ctx.forget)
      return video_forgotten();
    return json_reply(http::status::ok, video_object(*j));
  }

  // DELETE /v1/videos/{id}
  reply remove(const request_context& ctx, const std::string& id)
  {
    if (state_.jobs.find(id, ctx.key, dialect_name) == nullptr)
      return not_found_video(id);
    if (ctx.forget)
      return video_forgotten();
    state_.jobs.erase(id);
    return json_reply(http::status::ok, {{"id", id}, {"object", "video.deleted"}, {"deleted", true}});
  }

  // GET /v1/videos/{id}/content?variant=video|thumbnail|spritesheet
  reply content(const request_context& ctx, const std::string& id)
  {
    const job* j = state_.jobs.find(id, ctx.key, dialect_name);
    if (j == nullptr)
      return not_found_video(id);
    if (ctx.forget)
      return video_forgotten();
    const auto variant = ctx.query_param("variant").value_or("video");
    std::string_view bytes;
    std::string_view type;
    if (variant == "video") {
      bytes = state_.media.video();
      type = "video/mp4";
    } else if (variant == "thumbnail") {
      bytes = state_.media.thumbnail();
      type = "image/webp";
    } else if (variant == "spritesheet") {
      bytes = state_.media.spritesheet();
      type = "image/jpeg";
    } else {
      return invalid_value("variant", "Invalid value: '" + std::string(variant) +
                                        "'. Supported values are: 'video', 'thumbnail' and 'spritesheet'.");
    }
    if (j->status != job_status::completed)
      return error_reply(http::status::not_found,
                         "Video '" + id + "' is not ready: its status is " + std::string(to_string(j->status)) + ".",
                         "invalid_request_error", "id", "not_found");
    return media_reply(ctx.req, bytes, type);
  }

  // POST /v1/videos/{id}/remix  {"prompt"}
  reply remix(const request_context& ctx, const std::string& id)
  {
    const job* source = state_.jobs.find(id, ctx.key, dialect_name);
    if (source == nullptr)
      return not_found_video(id);
    create_input in;
    if (auto err = read_input(ctx, in, input_mode::remix))
      return std::move(*err);
    if (auto err = check_prompt(in))
      return std::move(*err);
    if (source->status != job_status::completed)
      return invalid_value("id", "Video '" + id + "' is not completed; only completed videos can be remixed.");
    if (in.prompt->find("[reject]") != std::string::npos)
      return moderation_blocked();

    job j;
    j.id = state_.jobs.new_id("video_");
    j.key = ctx.key;
    j.dialect = std::string(dialect_name);
    j.model = source->model;
    j.prompt = *in.prompt;
    j.size = source->size;
    j.seconds = source->seconds;
    j.remixed_from = source->id;
    j.fail_at_end = ctx.key_fault == fault::fail_jobs;
    j.request["encoding"] = ctx.json ? "json" : "multipart";
    return json_reply(http::status::ok, video_object(state_.jobs.create(std::move(j))));
  }

  // POST /v1/videos/edits       {prompt, video: file | {id}}
  // POST /v1/videos/extensions  {prompt, seconds, video: file | {id}}
  // A new job from a completed video of this key, or from an uploaded video.
  reply derive(const request_context& ctx, input_mode mode)
  {
    const bool extension = mode == input_mode::extension;
    create_input in;
    if (auto err = read_input(ctx, in, mode))
      return std::move(*err);
    if (auto err = check_prompt(in))
      return std::move(*err);
    if (!in.video_id && in.video_file == nullptr)
      return missing_parameter("video");
    if (in.video_id && in.video_file != nullptr)
      return invalid_value("video", "Provide only one of a 'video' file or 'video[id]'.");
    if (extension) {
      if (!in.seconds)
        return missing_parameter("seconds");
      if (!one_of(*in.seconds, durations))
        return invalid_value("seconds",
                             "Invalid value: '" + *in.seconds + "'. Supported values are: " + quoted_list(durations) + ".");
    }

    job j;
    j.model = "sora-2";
    j.size = "720x1280";
    j.seconds = "4";
    if (in.video_id) {
      const job* source = state_.jobs.find(*in.video_id, ctx.key, dialect_name);
      if (source == nullptr)
        return not_found_video(*in.video_id);
      if (source->status != job_status::completed)
        return invalid_value("video", "Video '" + *in.video_id + "' is not completed; only completed videos can be " +
                                        (extension ? "extended." : "edited."));
      j.model = source->model;
      j.size = source->size;
      j.seconds = source->seconds;
      j.request[extension ? "extension_of" : "edit_of"] = source->id;
    } else {
      if (auto err = check_video_file(*in.video_file))
        return std::move(*err);
      const auto& f = *in.video_file;
      j.request["source"] = {{"file", f.filename.value_or("")},
                             {"content_type", f.content_type},
                             {"size", f.data.size()},
                             {"sniffed", sniff_video(f.data)}};
    }
    if (in.prompt->find("[reject]") != std::string::npos)
      return moderation_blocked();

    j.id = state_.jobs.new_id("video_");
    j.key = ctx.key;
    j.dialect = std::string(dialect_name);
    j.prompt = *in.prompt;
    j.fail_at_end = ctx.key_fault == fault::fail_jobs;
    if (extension) {
      j.seconds = *in.seconds;
      j.request["extension_seconds"] = *in.seconds;
    }
    j.request["encoding"] = ctx.json ? "json" : "multipart";
    return json_reply(http::status::ok, video_object(state_.jobs.create(std::move(j))));
  }

  // POST /v1/videos/characters  multipart {name, video: file}
  reply create_character(const request_context& ctx)
  {
    create_input in;
    if (auto err = read_input(ctx, in, input_mode::character))
      return std::move(*err);
    if (!in.name)
      return missing_parameter("name");
    if (in.name->empty())
      return invalid_value("name", "Invalid 'name': empty string. Expected a string with minimum length 1.");
    if (code_points(*in.name) > max_character_name_chars)
      return invalid_value("name", "Invalid 'name': string too long. Expected a string with maximum length 80.");
    if (in.video_file == nullptr)
      return missing_parameter("video");
    if (auto err = check_video_file(*in.video_file))
      return std::move(*err);

    character c;
    c.id = state_.jobs.new_id("char_");
    c.key = ctx.key;
    c.dialect = std::string(dialect_name);
    c.name = *in.name;
    c.created_at = unix_now();
    c.video_size = in.video_file->data.size();
    state_.characters.push_back(std::move(c));
    return json_reply(http::status::ok, character_object(state_.characters.back()));
  }

  // GET /v1/videos/characters/{id}: this key's character, not a poll.
  reply get_character(const request_context& ctx, const std::string& id)
  {
    auto it = std::find_if(state_.characters.begin(), state_.characters.end(), [&](const character& c) {
      return c.id == id && c.key == ctx.key && c.dialect == dialect_name;
    });
    if (it == state_.characters.end())
      return error_reply(http::status::not_found, "Character with id '" + id + "' not found.", "invalid_request_error",
                         "id", "not_found");
    return json_reply(http::status::ok, character_object(*it));
  }

  static json::object character_object(const character& c)
  {
    return {{"id", c.id}, {"created_at", c.created_at}, {"name", c.name}};
  }

  vendor_state& state_;
};

}  // namespace

std::unique_ptr<dialect> make_openai_dialect(vendor_state& state)
{
  return std::make_unique<openai_dialect>(state);
}

}  // namespace videogate::mock_vendor
