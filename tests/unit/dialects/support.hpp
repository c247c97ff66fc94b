#pragma once
// Helpers shared by the dialect unit tests: config defaults, requests, images, and reading
// what a dialect produced.

#include "videogate/api/video.hpp"
#include "videogate/config/config.hpp"
#include "videogate/dialects/dialect.hpp"
#include "videogate/http/message.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace videogate::dialects::test_support {

using namespace std::string_literals;

inline const std::string png_bytes = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR"s;  // base64: iVBORw0KGgoAAAANSUhEUg==
inline const std::string png_data_url = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==";

inline config::default_value def_bool(bool b) {
  config::default_value d;
  d.kind = config::default_value::type::boolean;
  d.boolean = b;
  d.text = b ? "true" : "false";
  return d;
}

inline config::default_value def_string(std::string s) {
  config::default_value d;
  d.kind = config::default_value::type::string;
  d.text = std::move(s);
  return d;
}

inline config::default_value def_int(long long v) {
  config::default_value d;
  d.kind = config::default_value::type::integer;
  d.integer = v;
  d.text = std::to_string(v);
  return d;
}

inline config::default_value def_number(double v, std::string text) {
  config::default_value d;
  d.kind = config::default_value::type::number;
  d.number = v;
  d.text = std::move(text);
  return d;
}

inline api::create_request request(std::string prompt = "A calico cat playing a piano on stage",
                                   std::string model = "sora-2") {
  api::create_request r;
  r.prompt = std::move(prompt);
  r.model = std::move(model);
  return r;
}

/// The PNG above as an uploaded file.
inline api::image_input upload(std::string mime = "image/png") {
  api::image_input img;
  img.bytes = png_bytes;
  img.mime = std::move(mime);
  img.filename = "reference.png";
  return img;
}

inline api::image_input image_url(std::string url) {
  api::image_input img;
  img.url = std::move(url);
  return img;
}

inline boost::json::object parse(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  EXPECT_TRUE(v.is_object()) << text;
  return v.is_object() ? v.as_object() : boost::json::object{};
}

/// The JSON body a call carries (and that it says so).
inline boost::json::object read_json(const upstream_call& call) {
  EXPECT_EQ(http::find_header(call.headers, "content-type"), "application/json");
  return parse(call.body);
}

/// A dialect never holds keys: the I/O layer adds Authorization, and only for relative paths.
inline void expect_no_key(const upstream_call& call, std::string_view secret) {
  EXPECT_TRUE(http::find_header(call.headers, "authorization").empty());
  for (auto& [name, value] : call.headers) {
    EXPECT_EQ(value.find(secret), std::string::npos) << name;
    EXPECT_FALSE(http::iequals(name, "x-api-key")) << name;
  }
  EXPECT_EQ(call.body.find(secret), std::string::npos);
  EXPECT_EQ(call.absolute_url.find(secret), std::string::npos);
}

/// The JSON body of `d`'s create call (which must succeed).
inline boost::json::object create_body(const dialect& d, const api::create_request& req, const config::upstream_config& up,
                                       const std::string& seconds) {
  auto call = d.create(req, up, seconds);
  EXPECT_TRUE(call.has_value()) << (call ? "" : call.error().message);
  if (!call) return {};
  return read_json(*call);
}

inline bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

/// `r` failed with `code`, naming `param`, its message mentioning every one of `mentions`.
template <class T>
void expect_error(const result<T>& r, errc code, std::string_view param,
                  std::initializer_list<std::string_view> mentions = {}) {
  ASSERT_TRUE(r.has_error()) << "expected " << to_string(code);
  EXPECT_EQ(r.error().code, code) << to_string(r.error().code) << ": " << r.error().message;
  EXPECT_EQ(r.error().param, param) << r.error().message;
  for (auto m : mentions) EXPECT_TRUE(contains(r.error().message, m)) << "'" << m << "' in: " << r.error().message;
}

// --- task-API dialects (fal, replicate, kie, ark, minimax, dashscope, kling) ---------------------

/// An upstream of a task-API dialect with one key; `models` as `models:` strings,
/// `image_models` the `image:` entries of `{text, image}` pairs.
inline config::upstream_config task_upstream(config::dialect_kind kind, std::string name, std::string key,
                                             std::map<std::string, std::string> models,
                                             std::map<std::string, std::string> image_models = {}) {
  config::upstream_config up;
  up.name = std::move(name);
  up.dialect = kind;
  up.base_url = "https://vendor.example.com";
  up.keys = {std::move(key)};
  up.models = std::move(models);
  up.image_models = std::move(image_models);
  return up;
}

/// create_extras as the gateway makes them when public_base_url is set: a callback URL (the
/// same for every call, with characters a query string must encode) and, optionally, the URL
/// at which the gateway serves an uploaded image. Records the tags it was asked for.
struct gateway_extras {
  static constexpr std::string_view callback = "https://gw.example.com:8443/callbacks/dGFnLXRva2Vu_Zm9v-YmFy?x=1&y=2";
  std::shared_ptr<std::vector<std::string>> tags = std::make_shared<std::vector<std::string>>();

  create_extras make(std::string image_url = "") const {
    create_extras e;
    e.callback_url = [tags = tags](const std::string& tag) {
      tags->push_back(tag);
      return std::string(callback);
    };
    e.image_url = std::move(image_url);
    return e;
  }
};

/// `d`'s create call (which must succeed), carrying none of the upstream's keys.
inline upstream_call create_ok(const dialect& d, const api::create_request& req, const config::upstream_config& up,
                               const std::string& seconds, const create_extras& extras = {}) {
  auto c = d.create(req, up, seconds, extras);
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
  if (!c) return {};
  for (auto& k : up.keys) expect_no_key(*c, k);
  return *c;
}

/// A vendor's error answer and the class it must get.
struct error_case {
  int status;
  std::string body;
  errc want;
  http::header_list headers = {};
};

/// Each answer, read through `read(status, headers, body)`, is an error of its class, judged
/// by the vendor's documented code or status (never by words a prompt could echo).
template <class Read>
void expect_classified(Read read, std::initializer_list<error_case> cases) {
  for (auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.status) + " " + c.body);
    auto r = read(c.status, c.headers, std::string_view(c.body));
    ASSERT_TRUE(r.has_error()) << "an error answer is never a job";
    EXPECT_EQ(r.error().code, c.want) << to_string(r.error().code) << ": " << r.error().message;
    EXPECT_FALSE(r.error().by_words) << r.error().message;
  }
}

/// Each answer is the same error whether it answers `d`'s create or its status call.
inline void expect_answers_classified(const dialect& d, std::initializer_list<error_case> cases) {
  SCOPED_TRACE("read_created");
  expect_classified([&](int s, const http::header_list& h, std::string_view b) { return d.read_created({}, s, h, b); },
                    cases);
  SCOPED_TRACE("read_status");
  expect_classified([&](int s, const http::header_list& h, std::string_view b) { return d.read_status(s, h, b); },
                    cases);
}

/// make_dialect(`kind`) makes a `D`, and `d` says it is `kind`.
template <class D>
void expect_made_for(const D& d, config::dialect_kind kind) {
  auto made = make_dialect(kind);
  ASSERT_NE(made, nullptr);
  EXPECT_NE(dynamic_cast<D*>(made.get()), nullptr);
  EXPECT_EQ(d.kind(), kind);
}

/// A dialect's status word read through `read`, normalised, for a table of (word, status).
template <class Read>
void expect_status_words(Read read, std::initializer_list<std::pair<std::string_view, std::string_view>> table) {
  for (auto [word, want] : table) {
    SCOPED_TRACE(std::string(word));
    auto r = read(word);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->status, want);
    EXPECT_EQ(r->raw_status, std::nullopt) << "a documented word is known";
  }
}

}  // namespace videogate::dialects::test_support
