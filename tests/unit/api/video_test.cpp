#include "videogate/api/video.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace videogate::api {
namespace {

namespace json = boost::json;
using namespace std::string_literals;

// --- fixtures ---------------------------------------------------------------------------

const std::string png_bytes = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0"s;
const std::string jpeg_bytes = "\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xD9"s;
const std::string webp_bytes = "RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0\x30\x01\0\x9d\x01\x2a\x01\0\x01\0"s;
const std::string gif_bytes = "GIF89a\x01\0\x01\0\x80\0\0"s;
const std::string mp4_bytes = "\0\0\0\x20" "ftypisom\0\0\x02\0isomiso2"s;

constexpr std::string_view boundary = "----vgTestBoundary0123456789";

/// Builds a multipart/form-data body by hand, as an SDK would send it.
class form {
 public:
  form& field(std::string_view name, std::string_view value) {
    body_ += "--" + std::string(boundary) + "\r\nContent-Disposition: form-data; name=\"" + std::string(name) +
             "\"\r\n\r\n" + std::string(value) + "\r\n";
    return *this;
  }
  form& file(std::string_view name, std::string_view filename, std::string_view mime, std::string_view data) {
    body_ += "--" + std::string(boundary) + "\r\nContent-Disposition: form-data; name=\"" + std::string(name) +
             "\"; filename=\"" + std::string(filename) + "\"\r\nContent-Type: " + std::string(mime) + "\r\n\r\n" +
             std::string(data) + "\r\n";
    return *this;
  }
  std::string body() const { return body_ + "--" + std::string(boundary) + "--\r\n"; }
  static std::string content_type() { return "multipart/form-data; boundary=" + std::string(boundary); }

 private:
  std::string body_;
};

result<create_request> parse_form(const form& f) { return parse_create(form::content_type(), f.body()); }
result<create_request> parse_json(const std::string& body) { return parse_create("application/json", body); }

#define EXPECT_PARSE_ERROR(res, errc_value, param_value)                                    \
  do {                                                                                      \
    const auto& r_ = (res);                                                                 \
    ASSERT_TRUE(r_.has_error()) << "expected an error, the request was accepted";           \
    EXPECT_EQ(r_.error().code, errc_value) << to_string(r_.error().code) << ": " << r_.error().message; \
    EXPECT_EQ(r_.error().param, param_value) << r_.error().message;                         \
    EXPECT_FALSE(r_.error().message.empty());                                               \
  } while (0)

// --- parse_create: JSON -------------------------------------------------------------------

TEST(ParseCreateJson, DefaultsWithOnlyAPrompt) {
  auto r = parse_json(R"({"prompt":"A calico cat playing a piano on stage"})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->prompt, "A calico cat playing a piano on stage");
  EXPECT_EQ(r->model, "sora-2");
  EXPECT_EQ(r->size, "720x1280");
  EXPECT_FALSE(r->seconds.has_value());
  EXPECT_FALSE(r->input_reference.has_value());
  EXPECT_FALSE(r->watermark.has_value());
  EXPECT_FALSE(r->is_private.has_value());
  EXPECT_FALSE(r->style.has_value());
  EXPECT_FALSE(r->shots.has_value());
}

TEST(ParseCreateJson, Seed002Example) {
  auto r = parse_json(R"({
    "prompt": "一只凶猛的老虎破门闯入农家小院,土狗吓得跑开,猫咪跳出来击败吓跑老虎。",
    "model": "sora-2",
    "seconds": "8",
    "size": "1280x720"
  })");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->prompt, "一只凶猛的老虎破门闯入农家小院,土狗吓得跑开,猫咪跳出来击败吓跑老虎。");
  EXPECT_EQ(r->model, "sora-2");
  EXPECT_EQ(r->seconds, "8");
  EXPECT_EQ(r->size, "1280x720");
}

TEST(ParseCreateJson, EveryField) {
  auto r = parse_json(R"({
    "prompt": "p", "model": "sora-2-pro", "seconds": "12", "size": "1792x1024",
    "input_reference": {"image_url": "https://example.com/a.png"},
    "watermark": false, "private": true, "style": "anime",
    "shots": [{"scene": "a cat", "duration": 5}, {"scene": "a dog", "duration": 2.5}]
  })");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->model, "sora-2-pro");
  EXPECT_EQ(r->seconds, "12");
  EXPECT_EQ(r->size, "1792x1024");
  ASSERT_TRUE(r->input_reference.has_value());
  EXPECT_EQ(r->input_reference->url, "https://example.com/a.png");
  EXPECT_TRUE(r->input_reference->bytes.empty());
  EXPECT_TRUE(r->input_reference->file_id.empty());
  EXPECT_EQ(r->watermark, false);
  EXPECT_EQ(r->is_private, true);
  EXPECT_EQ(r->style, "anime");
  ASSERT_TRUE(r->shots.has_value());
  ASSERT_EQ(r->shots->size(), 2u);
  EXPECT_EQ((*r->shots)[0].scene, "a cat");
  EXPECT_DOUBLE_EQ((*r->shots)[0].duration, 5.0);
  EXPECT_EQ((*r->shots)[1].scene, "a dog");
  EXPECT_DOUBLE_EQ((*r->shots)[1].duration, 2.5);
}

TEST(ParseCreateJson, EverySizeOfTheContract) {
  for (auto s : {"720x1280", "1280x720", "1024x1792", "1792x1024", "1080x1920", "1920x1080"}) {
    auto r = parse_json(R"({"prompt":"p","size":")" + std::string(s) + R"("})");
    ASSERT_TRUE(r.has_value()) << s << ": " << r.error().message;
    EXPECT_EQ(r->size, s);
  }
}

TEST(ParseCreateJson, OpenAiAndVendorSeconds) {
  for (auto s : {"4", "8", "10", "12", "15", "16", "20", "25"}) {
    auto r = parse_json(R"({"prompt":"p","seconds":")" + std::string(s) + R"("})");
    ASSERT_TRUE(r.has_value()) << s << ": " << r.error().message;
    EXPECT_EQ(r->seconds, s);
  }
}

TEST(ParseCreateJson, SecondsAsAnIntegerIsAccepted) {
  auto r = parse_json(R"({"prompt":"p","seconds":8})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->seconds, "8");
}

TEST(ParseCreateJson, EveryStyle) {
  for (auto s : {"thanksgiving", "comic", "news", "selfie", "nostalgic", "anime"}) {
    auto r = parse_json(R"({"prompt":"p","style":")" + std::string(s) + R"("})");
    ASSERT_TRUE(r.has_value()) << s << ": " << r.error().message;
    EXPECT_EQ(r->style, s);
  }
}

TEST(ParseCreateJson, InputReferenceForms) {
  auto data = parse_json(R"({"prompt":"p","input_reference":{"image_url":"data:image/png;base64,iVBORw0KGgo="}})");
  ASSERT_TRUE(data.has_value()) << data.error().message;
  EXPECT_EQ(data->input_reference->url, "data:image/png;base64,iVBORw0KGgo=");

  auto http = parse_json(R"({"prompt":"p","input_reference":{"image_url":"http://example.com/x.jpg"}})");
  ASSERT_TRUE(http.has_value()) << http.error().message;
  EXPECT_EQ(http->input_reference->url, "http://example.com/x.jpg");

  auto file = parse_json(R"({"prompt":"p","input_reference":{"file_id":"file_abc"}})");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_EQ(file->input_reference->file_id, "file_abc");
  EXPECT_TRUE(file->input_reference->url.empty());
}

TEST(ParseCreateJson, InputReferenceBadUrls) {
  for (auto u : {"ftp://example.com/a.png", "file:///etc/passwd", "example.com/a.png", "data:text/plain;base64,aGk=",
                 "javascript:alert(1)"}) {
    SCOPED_TRACE(u);
    auto r = parse_json(R"({"prompt":"p","input_reference":{"image_url":")" + std::string(u) + R"("}})");
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::invalid_value);
    EXPECT_TRUE(r.error().param.starts_with("input_reference")) << r.error().param;
  }
}

TEST(ParseCreateJson, InputReferenceShape) {
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","input_reference":"https://example.com/a.png"})"), errc::invalid_value,
                     "input_reference");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","input_reference":{}})"), errc::invalid_value, "input_reference");
  EXPECT_PARSE_ERROR(
      parse_json(R"({"prompt":"p","input_reference":{"image_url":"https://e.com/a.png","file_id":"file_1"}})"),
      errc::invalid_value, "input_reference");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","input_reference":{"image_url":42}})"), errc::invalid_value,
                     "input_reference.image_url");
}

TEST(ParseCreateJson, UnknownTopLevelFieldIsNamed) {
  auto r = parse_json(R"({"prompt":"p","quality":"hd"})");
  EXPECT_PARSE_ERROR(r, errc::unknown_parameter, "quality");
  EXPECT_NE(r.error().message.find("quality"), std::string::npos) << r.error().message;
}

TEST(ParseCreateJson, UnknownNestedInputReferenceField) {
  auto r = parse_json(R"({"prompt":"p","input_reference":{"image_url":"https://e.com/a.png","x":1}})");
  EXPECT_PARSE_ERROR(r, errc::unknown_parameter, "input_reference.x");
  EXPECT_NE(r.error().message.find("input_reference.x"), std::string::npos) << r.error().message;
}

TEST(ParseCreateJson, UnknownNestedShotField) {
  auto r = parse_json(R"({"prompt":"p","shots":[{"scene":"a","duration":1,"x":true}]})");
  EXPECT_PARSE_ERROR(r, errc::unknown_parameter, "shots[0].x");
  EXPECT_NE(r.error().message.find("shots[0].x"), std::string::npos) << r.error().message;
  auto second = parse_json(R"({"prompt":"p","shots":[{"scene":"a","duration":1},{"Scene":"b","duration":1}]})");
  EXPECT_PARSE_ERROR(second, errc::unknown_parameter, "shots[1].Scene");
}

TEST(ParseCreateJson, MissingPrompt) {
  EXPECT_PARSE_ERROR(parse_json(R"({"model":"sora-2"})"), errc::missing_required_parameter, "prompt");
  EXPECT_PARSE_ERROR(parse_json(R"({})"), errc::missing_required_parameter, "prompt");
}

TEST(ParseCreateJson, EmptyPrompt) { EXPECT_PARSE_ERROR(parse_json(R"({"prompt":""})"), errc::invalid_value, "prompt"); }

TEST(ParseCreateJson, PromptNotAString) {
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":42})"), errc::invalid_value, "prompt");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":null})"), errc::invalid_value, "prompt");
}

TEST(ParseCreateJson, PromptLengthLimitIn32000Characters) {
  auto at_limit = parse_json(R"({"prompt":")" + std::string(32000, 'a') + R"("})");
  EXPECT_TRUE(at_limit.has_value());
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":")" + std::string(32001, 'a') + R"("})"), errc::invalid_value, "prompt");
}

TEST(ParseCreateJson, PromptLengthCountsCharactersNotBytes) {
  // 32000 CJK characters are 96000 bytes of UTF-8: still within the limit.
  std::string cjk;
  for (int i = 0; i < 32000; ++i) cjk += "猫";
  auto ok = parse_json(R"({"prompt":")" + cjk + R"("})");
  EXPECT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":")" + cjk + "猫" + R"("})"), errc::invalid_value, "prompt");
}

TEST(ParseCreateJson, BadSize) {
  for (auto s : {"640x480", "1280X720", "720x1280 ", "", "big", "1792x1024x1"}) {
    SCOPED_TRACE(s);
    auto r = parse_json(R"({"prompt":"p","size":")" + std::string(s) + R"("})");
    EXPECT_PARSE_ERROR(r, errc::invalid_value, "size");
  }
  auto r = parse_json(R"({"prompt":"p","size":"640x480"})");
  EXPECT_NE(r.error().message.find("720x1280"), std::string::npos) << "the message lists what is supported";
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","size":720})"), errc::invalid_value, "size");
}

TEST(ParseCreateJson, BadSeconds) {
  for (auto s : {"abc", "-1", "0", "", "8s", "8.5", " 8", "1e1"}) {
    SCOPED_TRACE(s);
    EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","seconds":")" + std::string(s) + R"("})"), errc::invalid_value,
                       "seconds");
  }
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","seconds":-1})"), errc::invalid_value, "seconds");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","seconds":0})"), errc::invalid_value, "seconds");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","seconds":8.5})"), errc::invalid_value, "seconds");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","seconds":true})"), errc::invalid_value, "seconds");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","seconds":"99999999999"})"), errc::invalid_value, "seconds");
}

TEST(ParseCreateJson, StyleNotInTheList) {
  auto r = parse_json(R"({"prompt":"p","style":"noir"})");
  EXPECT_PARSE_ERROR(r, errc::invalid_value, "style");
  EXPECT_NE(r.error().message.find("anime"), std::string::npos) << "the message lists the styles";
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","style":"Anime"})"), errc::invalid_value, "style");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","style":1})"), errc::invalid_value, "style");
}

TEST(ParseCreateJson, BooleansMustBeTyped) {
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","watermark":"false"})"), errc::invalid_value, "watermark");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","private":1})"), errc::invalid_value, "private");
  auto r = parse_json(R"({"prompt":"p","watermark":true,"private":false})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->watermark, true);
  EXPECT_EQ(r->is_private, false);
}

TEST(ParseCreateJson, ShotsValidation) {
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","shots":[]})"), errc::invalid_value, "shots");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","shots":"[]"})"), errc::invalid_value, "shots");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","shots":[1]})"), errc::invalid_value, "shots[0]");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","shots":[{"scene":"a","duration":0}]})"), errc::invalid_value,
                     "shots[0].duration");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","shots":[{"scene":"a","duration":-2}]})"), errc::invalid_value,
                     "shots[0].duration");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","shots":[{"scene":"a","duration":"5"}]})"), errc::invalid_value,
                     "shots[0].duration");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","shots":[{"scene":"a"}]})"), errc::invalid_value,
                     "shots[0].duration");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","shots":[{"scene":"a","duration":1},{"duration":1}]})"),
                     errc::invalid_value, "shots[1].scene");
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","shots":[{"scene":"","duration":1}]})"), errc::invalid_value,
                     "shots[0].scene");
}

TEST(ParseCreateJson, MalformedJson) {
  for (auto b : {"{", "{\"prompt\":\"p\",}", "prompt=p", "", "{\"prompt\":\"p\"} trailing"}) {
    SCOPED_TRACE(b);
    auto r = parse_json(b);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::invalid_value);
  }
}

TEST(ParseCreateJson, BodyMustBeAnObject) {
  for (auto b : {"[]", "\"prompt\"", "42", "null"}) {
    SCOPED_TRACE(b);
    auto r = parse_json(b);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::invalid_value);
  }
}

TEST(ParseCreateJson, ContentTypeParametersAndCase) {
  auto r = parse_create("Application/JSON; charset=utf-8", R"({"prompt":"p"})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->prompt, "p");
}

TEST(ParseCreateJson, EmptyModel) {
  EXPECT_PARSE_ERROR(parse_json(R"({"prompt":"p","model":""})"), errc::invalid_value, "model");
}

// --- parse_create: content type -----------------------------------------------------------

TEST(ParseCreate, WrongContentTypeIsUnsupportedMediaType) {
  for (auto ct : {"text/plain", "application/x-www-form-urlencoded", "", "application/jsonx", "multipart/mixed; boundary=x",
                  "application/xml"}) {
    SCOPED_TRACE(ct);
    auto r = parse_create(ct, R"({"prompt":"p"})");
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::unsupported_media_type);
  }
}

TEST(ParseCreate, MultipartWithoutBoundary) {
  auto r = parse_create("multipart/form-data", form().field("prompt", "p").body());
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::invalid_value);
}

TEST(ParseCreate, TruncatedMultipartBody) {
  std::string body = form().field("prompt", "p").body();
  body.resize(body.size() - 10);
  auto r = parse_create(form::content_type(), body);
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::invalid_value);
}

// --- parse_create: multipart --------------------------------------------------------------

TEST(ParseCreateMultipart, DefaultsWithOnlyAPrompt) {
  auto r = parse_form(form().field("prompt", "A calico cat playing a piano on stage"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->prompt, "A calico cat playing a piano on stage");
  EXPECT_EQ(r->model, "sora-2");
  EXPECT_EQ(r->size, "720x1280");
  EXPECT_FALSE(r->seconds.has_value());
  EXPECT_FALSE(r->input_reference.has_value());
  EXPECT_FALSE(r->watermark.has_value());
  EXPECT_FALSE(r->is_private.has_value());
  EXPECT_FALSE(r->style.has_value());
  EXPECT_FALSE(r->shots.has_value());
}

TEST(ParseCreateMultipart, Seed001EveryField) {
  auto r = parse_form(form()
                          .field("model", "sora-2")
                          .field("prompt", "A calico cat playing a piano on stage")
                          .field("seconds", "15")
                          .field("size", "720x1280")
                          .file("input_reference", "fuji.jpg", "image/jpeg", jpeg_bytes)
                          .field("watermark", "false")
                          .field("private", "false")
                          .field("style", "anime"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->model, "sora-2");
  EXPECT_EQ(r->prompt, "A calico cat playing a piano on stage");
  EXPECT_EQ(r->seconds, "15");
  EXPECT_EQ(r->size, "720x1280");
  ASSERT_TRUE(r->input_reference.has_value());
  EXPECT_EQ(r->input_reference->bytes, jpeg_bytes);
  EXPECT_EQ(r->input_reference->mime, "image/jpeg");
  EXPECT_EQ(r->input_reference->filename, "fuji.jpg");
  EXPECT_TRUE(r->input_reference->url.empty());
  EXPECT_EQ(r->watermark, false);
  EXPECT_EQ(r->is_private, false);
  EXPECT_EQ(r->style, "anime");
}

TEST(ParseCreateMultipart, BooleansTrue) {
  auto r = parse_form(form().field("prompt", "p").field("watermark", "true").field("private", "true"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->watermark, true);
  EXPECT_EQ(r->is_private, true);
}

TEST(ParseCreateMultipart, BooleansOnlyTrueOrFalse) {
  for (auto v : {"True", "FALSE", "1", "0", "yes", "", "on"}) {
    SCOPED_TRACE(v);
    EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "p").field("watermark", v)), errc::invalid_value, "watermark");
    EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "p").field("private", v)), errc::invalid_value, "private");
  }
}

TEST(ParseCreateMultipart, ShotsAsAJsonString) {
  auto r = parse_form(
      form().field("prompt", "p").field("shots", R"([{"scene":"a cat","duration":5},{"scene":"a dog","duration":10}])"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->shots.has_value());
  ASSERT_EQ(r->shots->size(), 2u);
  EXPECT_EQ((*r->shots)[1].scene, "a dog");
  EXPECT_DOUBLE_EQ((*r->shots)[1].duration, 10.0);
}

TEST(ParseCreateMultipart, ShotsInvalid) {
  EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "p").field("shots", "not json")), errc::invalid_value, "shots");
  EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "p").field("shots", R"({"scene":"a","duration":1})")),
                     errc::invalid_value, "shots");
  EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "p").field("shots", R"([{"scene":"a","duration":0}])")),
                     errc::invalid_value, "shots[0].duration");
  EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "p").field("shots", R"([{"scene":"a","duration":1,"x":1}])")),
                     errc::unknown_parameter, "shots[0].x");
}

TEST(ParseCreateMultipart, PngJpegWebpAreSniffed) {
  const std::pair<const std::string*, const char*> cases[] = {
      {&png_bytes, "image/png"}, {&jpeg_bytes, "image/jpeg"}, {&webp_bytes, "image/webp"}};
  for (auto& [bytes, mime] : cases) {
    SCOPED_TRACE(mime);
    // The declared type is a lie on purpose: the magic bytes decide.
    auto r = parse_form(form().field("prompt", "p").file("input_reference", "x.bin", "application/octet-stream", *bytes));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    ASSERT_TRUE(r->input_reference.has_value());
    EXPECT_EQ(r->input_reference->mime, mime);
    EXPECT_EQ(r->input_reference->bytes, *bytes);
    EXPECT_EQ(r->input_reference->filename, "x.bin");
  }
}

TEST(ParseCreateMultipart, FileThatIsNotAnImage) {
  for (auto* bytes : {&gif_bytes, &mp4_bytes}) {
    EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "p").file("input_reference", "a.png", "image/png", *bytes)),
                       errc::invalid_value, "input_reference");
  }
  EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "p").file("input_reference", "a.png", "image/png", "")),
                     errc::invalid_value, "input_reference");
  EXPECT_PARSE_ERROR(
      parse_form(form().field("prompt", "p").file("input_reference", "a.png", "image/png", "hello, I am text")),
      errc::invalid_value, "input_reference");
}

TEST(ParseCreateMultipart, ImageUrlField) {
  auto r = parse_form(form().field("prompt", "p").field("input_reference[image_url]", "https://example.com/a.webp"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->input_reference.has_value());
  EXPECT_EQ(r->input_reference->url, "https://example.com/a.webp");
  EXPECT_TRUE(r->input_reference->bytes.empty());

  auto d = parse_form(form().field("prompt", "p").field("input_reference[image_url]", "data:image/jpeg;base64,/9j/4A=="));
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->input_reference->url, "data:image/jpeg;base64,/9j/4A==");

  auto h = parse_form(form().field("prompt", "p").field("input_reference[image_url]", "http://example.com/a.png"));
  ASSERT_TRUE(h.has_value()) << h.error().message;
}

TEST(ParseCreateMultipart, ImageUrlOnlyHttpOrData) {
  for (auto u : {"ftp://example.com/a.png", "file:///etc/passwd", "/tmp/a.png", "data:text/html,<b>x</b>", ""}) {
    SCOPED_TRACE(u);
    auto r = parse_form(form().field("prompt", "p").field("input_reference[image_url]", u));
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::invalid_value);
    EXPECT_TRUE(r.error().param.starts_with("input_reference")) << r.error().param;
  }
}

TEST(ParseCreateMultipart, FileIdField) {
  auto r = parse_form(form().field("prompt", "p").field("input_reference[file_id]", "file_123"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->input_reference->file_id, "file_123");
}

TEST(ParseCreateMultipart, UnknownFieldIsNamed) {
  auto r = parse_form(form().field("prompt", "p").field("quality", "hd"));
  EXPECT_PARSE_ERROR(r, errc::unknown_parameter, "quality");
  EXPECT_NE(r.error().message.find("quality"), std::string::npos);
  EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "p").field("input_reference[x]", "1")), errc::unknown_parameter,
                     "input_reference[x]");
}

TEST(ParseCreateMultipart, MissingPrompt) {
  EXPECT_PARSE_ERROR(parse_form(form().field("model", "sora-2")), errc::missing_required_parameter, "prompt");
}

TEST(ParseCreateMultipart, EmptyAndTooLongPrompt) {
  EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "")), errc::invalid_value, "prompt");
  EXPECT_PARSE_ERROR(parse_form(form().field("prompt", std::string(32001, 'x'))), errc::invalid_value, "prompt");
  EXPECT_TRUE(parse_form(form().field("prompt", std::string(32000, 'x'))).has_value());
}

TEST(ParseCreateMultipart, BadSizeSecondsStyle) {
  EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "p").field("size", "1024x1024")), errc::invalid_value, "size");
  for (auto s : {"abc", "-1", "0"})
    EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "p").field("seconds", s)), errc::invalid_value, "seconds");
  EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "p").field("style", "noir")), errc::invalid_value, "style");
}

TEST(ParseCreateMultipart, DuplicateFields) {
  EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "a").field("prompt", "b")), errc::invalid_value, "prompt");
  EXPECT_PARSE_ERROR(parse_form(form().field("prompt", "a").field("model", "sora-2").field("model", "sora-2-pro")),
                     errc::invalid_value, "model");
  EXPECT_PARSE_ERROR(parse_form(form()
                                    .field("prompt", "p")
                                    .file("input_reference", "a.png", "image/png", png_bytes)
                                    .file("input_reference", "b.png", "image/png", png_bytes)),
                     errc::invalid_value, "input_reference");
}

TEST(ParseCreateMultipart, TwoImageFormsAreOneTooMany_FileThenUrl) {
  EXPECT_PARSE_ERROR(parse_form(form()
                                    .field("prompt", "p")
                                    .file("input_reference", "a.png", "image/png", png_bytes)
                                    .field("input_reference[image_url]", "https://example.com/a.png")),
                     errc::invalid_value, "input_reference");
}

// The same conflict in the other order must not silently keep only the file.
TEST(ParseCreateMultipart, TwoImageFormsAreOneTooMany_UrlThenFile) {
  EXPECT_PARSE_ERROR(parse_form(form()
                                    .field("prompt", "p")
                                    .field("input_reference[image_url]", "https://example.com/a.png")
                                    .file("input_reference", "a.png", "image/png", png_bytes)),
                     errc::invalid_value, "input_reference");
}

TEST(ParseCreateMultipart, TwoImageFormsAreOneTooMany_UrlThenFileId) {
  EXPECT_PARSE_ERROR(parse_form(form()
                                    .field("prompt", "p")
                                    .field("input_reference[image_url]", "https://example.com/a.png")
                                    .field("input_reference[file_id]", "file_1")),
                     errc::invalid_value, "input_reference");
}

TEST(ParseCreateMultipart, TextFieldSentAsAFile) {
  EXPECT_PARSE_ERROR(parse_form(form().file("prompt", "p.txt", "text/plain", "hello")), errc::invalid_value, "prompt");
}

TEST(ParseCreateMultipart, BinaryImageBytesSurviveIntact) {
  std::string bytes = png_bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  bytes += "\r\n--not-the-boundary\r\n";
  auto r = parse_form(form().field("prompt", "p").file("input_reference", "a.png", "image/png", bytes));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->input_reference->bytes, bytes);
}

// --- sniff_image --------------------------------------------------------------------------

TEST(SniffImage, MagicBytes) {
  EXPECT_EQ(sniff_image(png_bytes), "image/png");
  EXPECT_EQ(sniff_image(jpeg_bytes), "image/jpeg");
  EXPECT_EQ(sniff_image(webp_bytes), "image/webp");
  EXPECT_EQ(sniff_image(gif_bytes), "");
  EXPECT_EQ(sniff_image(mp4_bytes), "");
  EXPECT_EQ(sniff_image(""), "");
  EXPECT_EQ(sniff_image("\xFF\xD8"), "");                               // too short for JPEG
  EXPECT_EQ(sniff_image("\x89PNG\r\n"), "");                            // truncated PNG signature
  EXPECT_EQ(sniff_image("RIFF\x24\0\0\0WAVEfmt "s), "");                // RIFF, but audio
  EXPECT_EQ(sniff_image("RIFF\x24\0\0\0WEB"s), "");                     // too short for WebP
}

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(VIDEOGATE_FIXTURES_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(SniffImage, TheBundledFixtures) {
  EXPECT_EQ(sniff_image(read_fixture("reference.png")), "image/png");
  EXPECT_EQ(sniff_image(read_fixture("thumbnail.webp")), "image/webp");
  EXPECT_EQ(sniff_image(read_fixture("spritesheet.jpg")), "image/jpeg");
  EXPECT_EQ(sniff_image(read_fixture("sample.mp4")), "");
}

// --- parse_remix --------------------------------------------------------------------------

TEST(ParseRemix, Json) {
  auto r = parse_remix("application/json", R"({"prompt":"Make it night time"})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, "Make it night time");
}

TEST(ParseRemix, Multipart) {
  auto r = parse_remix(form::content_type(), form().field("prompt", "Make it night time").body());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, "Make it night time");
}

TEST(ParseRemix, Errors) {
  EXPECT_PARSE_ERROR(parse_remix("application/json", R"({})"), errc::missing_required_parameter, "prompt");
  EXPECT_PARSE_ERROR(parse_remix("application/json", R"({"prompt":""})"), errc::invalid_value, "prompt");
  EXPECT_PARSE_ERROR(parse_remix("application/json", R"({"prompt":")" + std::string(32001, 'a') + R"("})"),
                     errc::invalid_value, "prompt");
  EXPECT_PARSE_ERROR(parse_remix("application/json", R"({"prompt":7})"), errc::invalid_value, "prompt");
  EXPECT_PARSE_ERROR(parse_remix("application/json", R"({"prompt":"p","model":"sora-2"})"), errc::unknown_parameter,
                     "model");
  EXPECT_PARSE_ERROR(parse_remix(form::content_type(), form().field("prompt", "p").field("seconds", "8").body()),
                     errc::unknown_parameter, "seconds");
  EXPECT_PARSE_ERROR(parse_remix(form::content_type(), form().field("other", "p").body()), errc::unknown_parameter,
                     "other");

  auto bad_json = parse_remix("application/json", "{");
  ASSERT_TRUE(bad_json.has_error());
  EXPECT_EQ(bad_json.error().code, errc::invalid_value);
  auto media = parse_remix("text/plain", "prompt");
  ASSERT_TRUE(media.has_error());
  EXPECT_EQ(media.error().code, errc::unsupported_media_type);
}

// --- sniff_video --------------------------------------------------------------------------

const std::string quicktime_bytes = "\0\0\0\x14" "ftypqt  \0\0\0\0qt  "s;
const std::string old_quicktime_bytes = "\0\0\0\x08" "wide\0\0\0\0mdat"s;
// An EBML header with DocType "webm" (and one with "matroska").
const std::string webm_bytes =
    "\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm"
    "\x42\x87\x81\x02\x42\x85\x81\x02"s;
const std::string matroska_bytes =
    "\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x88matroska"
    "\x42\x87\x81\x04\x42\x85\x81\x02"s;

TEST(SniffVideo, MagicBytes) {
  EXPECT_EQ(sniff_video(mp4_bytes), "video/mp4");
  EXPECT_EQ(sniff_video("\0\0\0\x18" "ftypM4V \0\0\0\0"s), "video/mp4");
  EXPECT_EQ(sniff_video(quicktime_bytes), "video/quicktime");
  EXPECT_EQ(sniff_video(old_quicktime_bytes), "video/quicktime");
  for (auto atom : {"moov", "mdat", "wide", "free"}) {
    SCOPED_TRACE(atom);
    EXPECT_EQ(sniff_video("\0\0\0\x08"s + atom), "video/quicktime");
  }
  EXPECT_EQ(sniff_video(webm_bytes), "video/webm");
  EXPECT_EQ(sniff_video(matroska_bytes), "") << "a Matroska file is not WebM";
}

TEST(SniffVideo, NotAVideo) {
  EXPECT_EQ(sniff_video(""), "");
  EXPECT_EQ(sniff_video(png_bytes), "");
  EXPECT_EQ(sniff_video(jpeg_bytes), "");
  EXPECT_EQ(sniff_video(webp_bytes), "");
  EXPECT_EQ(sniff_video(gif_bytes), "");
  EXPECT_EQ(sniff_video("\0\0\0\x20" "ftyp"s), "");         // a file-type box with no brand
  EXPECT_EQ(sniff_video("\0\0\0\x20" "ftypiso"s), "");      // 11 bytes: a brand cut short
  EXPECT_EQ(sniff_video("\0\0\0\x08" "moo"s), "");          // too short for an atom name
  EXPECT_EQ(sniff_video("\0\0\0\x08" "skip"s), "");         // not one of the atoms we read
  EXPECT_EQ(sniff_video("ftyp\0\0\0\0isom"s), "");          // ftyp at the wrong offset
  EXPECT_EQ(sniff_video("\x1a\x45\xdf\xa3"s), "");          // EBML without a DocType
  EXPECT_EQ(sniff_video("webm webm webm"), "");             // the word without the EBML magic
  EXPECT_EQ(sniff_video("\x1a\x45\xdf" "webm"s), "");       // EBML magic cut short
  // HEIF and AVIF still images open with the same file-type box as MP4.
  EXPECT_EQ(sniff_video("\0\0\0\x1c" "ftypavif\0\0\0\0"s), "");
  EXPECT_EQ(sniff_video("\0\0\0\x1c" "ftypheic\0\0\0\0"s), "");
  EXPECT_EQ(sniff_video("\0\0\0\x1c" "ftypmif1\0\0\0\0"s), "");
}

TEST(SniffVideo, WebmDocTypeMustBeInTheFirst64Bytes) {
  const std::string ebml = "\x1a\x45\xdf\xa3"s;
  EXPECT_EQ(sniff_video(ebml + std::string(56, '\0') + "webm"), "video/webm");  // bytes 60..63
  EXPECT_EQ(sniff_video(ebml + std::string(57, '\0') + "webm"), "");            // ends at byte 64
}

TEST(SniffVideo, TheBundledFixtures) {
  EXPECT_EQ(sniff_video(read_fixture("sample.mp4")), "video/mp4");
  EXPECT_EQ(sniff_video(read_fixture("reference.png")), "");
  EXPECT_EQ(sniff_video(read_fixture("thumbnail.webp")), "");
  EXPECT_EQ(sniff_video(read_fixture("spritesheet.jpg")), "");
}

// --- parse_derive: multipart --------------------------------------------------------------

constexpr auto edit_kind = derive_request::kind::edit;
constexpr auto extension_kind = derive_request::kind::extension;

result<derive_request> derive_form(derive_request::kind k, const form& f) {
  return parse_derive(k, form::content_type(), f.body());
}
result<derive_request> derive_json(derive_request::kind k, const std::string& body) {
  return parse_derive(k, "application/json", body);
}

TEST(ParseDeriveMultipart, EditOfAnUpload) {
  auto r = derive_form(edit_kind, form().field("prompt", "Make it snow").file("video", "clip.mp4", "video/mp4", mp4_bytes));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->what, edit_kind);
  EXPECT_EQ(r->prompt, "Make it snow");
  EXPECT_FALSE(r->seconds.has_value());
  EXPECT_EQ(r->model, "sora-2");
  EXPECT_FALSE(r->model_given);
  EXPECT_EQ(r->video.bytes, mp4_bytes);
  EXPECT_EQ(r->video.mime, "video/mp4");
  EXPECT_EQ(r->video.filename, "clip.mp4");
  EXPECT_TRUE(r->video.id.empty());
}

TEST(ParseDeriveMultipart, TheMimeIsSniffedNotDeclared) {
  const std::pair<const std::string*, const char*> cases[] = {
      {&mp4_bytes, "video/mp4"}, {&quicktime_bytes, "video/quicktime"}, {&old_quicktime_bytes, "video/quicktime"},
      {&webm_bytes, "video/webm"}};
  for (auto [bytes, mime] : cases) {
    SCOPED_TRACE(mime);
    auto r = derive_form(edit_kind, form().field("prompt", "p").file("video", "x.bin", "application/octet-stream", *bytes));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->video.mime, mime);
    EXPECT_EQ(r->video.bytes, *bytes);
  }
}

TEST(ParseDeriveMultipart, UploadWithAModel) {
  auto r = derive_form(edit_kind, form().field("prompt", "p").field("model", "sora-2-pro").file("video", "c.mp4", "video/mp4", mp4_bytes));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->model, "sora-2-pro");
  EXPECT_TRUE(r->model_given);
  // Order does not matter: the model may come after the file.
  auto after = derive_form(extension_kind, form()
                                               .field("prompt", "p")
                                               .file("video", "c.mp4", "video/mp4", mp4_bytes)
                                               .field("seconds", "4")
                                               .field("model", "sora-2-pro"));
  ASSERT_TRUE(after.has_value()) << after.error().message;
  EXPECT_EQ(after->model, "sora-2-pro");
  EXPECT_TRUE(after->model_given);
}

TEST(ParseDeriveMultipart, EditOfAVideoId) {
  auto r = derive_form(edit_kind, form().field("prompt", "p").field("video[id]", "video_abc123"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->video.id, "video_abc123");
  EXPECT_TRUE(r->video.bytes.empty());
  EXPECT_TRUE(r->video.mime.empty());
  EXPECT_TRUE(r->video.filename.empty());
  EXPECT_EQ(r->model, "sora-2");
  EXPECT_FALSE(r->model_given);
}

TEST(ParseDeriveMultipart, ExtensionOfAVideoId) {
  auto r = derive_form(extension_kind, form().field("video[id]", "video_abc123").field("prompt", "Keep going").field("seconds", "8"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->what, extension_kind);
  EXPECT_EQ(r->prompt, "Keep going");
  EXPECT_EQ(r->seconds, "8");
  EXPECT_EQ(r->video.id, "video_abc123");
}

TEST(ParseDeriveMultipart, ExtensionSecondsIsAWholeNumber) {
  for (auto s : {"1", "4", "12", "20", "9999"}) {
    SCOPED_TRACE(s);
    auto r = derive_form(extension_kind, form().field("prompt", "p").field("video[id]", "video_1").field("seconds", s));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->seconds, s);
  }
  for (auto s : {"", "0", "-4", "8.5", "8s", " 8", "+8", "abc", "10000", "99999999999"}) {
    SCOPED_TRACE(s);
    EXPECT_PARSE_ERROR(derive_form(extension_kind, form().field("prompt", "p").field("video[id]", "video_1").field("seconds", s)),
                       errc::invalid_value, "seconds");
  }
}

TEST(ParseDeriveMultipart, ExtensionNeedsSeconds) {
  EXPECT_PARSE_ERROR(derive_form(extension_kind, form().field("prompt", "p").field("video[id]", "video_1")),
                     errc::missing_required_parameter, "seconds");
}

TEST(ParseDeriveMultipart, EditTakesNoSeconds) {
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "p").field("video[id]", "video_1").field("seconds", "8")),
                     errc::unknown_parameter, "seconds");
}

TEST(ParseDeriveMultipart, ModelOnlyWithAnUpload) {
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "p").field("video[id]", "video_1").field("model", "sora-2")),
                     errc::invalid_value, "model");
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "p").field("model", "").file("video", "c.mp4", "video/mp4", mp4_bytes)),
                     errc::invalid_value, "model");
}

TEST(ParseDeriveMultipart, MissingPromptOrVideo) {
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().file("video", "c.mp4", "video/mp4", mp4_bytes)),
                     errc::missing_required_parameter, "prompt");
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "p")), errc::missing_required_parameter, "video");
  EXPECT_PARSE_ERROR(derive_form(extension_kind, form().field("prompt", "p").field("seconds", "8")),
                     errc::missing_required_parameter, "video");
}

TEST(ParseDeriveMultipart, PromptLengthInCharacters) {
  auto with = [](const std::string& prompt) {
    return derive_form(edit_kind, form().field("prompt", prompt).field("video[id]", "video_1"));
  };
  EXPECT_PARSE_ERROR(with(""), errc::invalid_value, "prompt");
  EXPECT_TRUE(with(std::string(32000, 'a')).has_value());
  EXPECT_PARSE_ERROR(with(std::string(32001, 'a')), errc::invalid_value, "prompt");
  std::string cats;
  for (int i = 0; i < 32000; ++i) cats += "猫";  // 96000 bytes, 32000 characters
  EXPECT_TRUE(with(cats).has_value());
  EXPECT_PARSE_ERROR(with(cats + "猫"), errc::invalid_value, "prompt");
}

TEST(ParseDeriveMultipart, UnknownFieldsAreNamed) {
  for (auto name : {"size", "style", "input_reference", "video[url]", "video_id", "name"}) {
    SCOPED_TRACE(name);
    EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "p").field("video[id]", "video_1").field(name, "x")),
                       errc::unknown_parameter, name);
  }
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "p").field("video[id]", "video_1").file("input_reference", "a.png", "image/png", png_bytes)),
                     errc::unknown_parameter, "input_reference");
}

TEST(ParseDeriveMultipart, DuplicateFields) {
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "a").field("prompt", "b").field("video[id]", "video_1")),
                     errc::invalid_value, "prompt");
  EXPECT_PARSE_ERROR(derive_form(extension_kind, form().field("prompt", "a").field("video[id]", "video_1").field("seconds", "4").field("seconds", "8")),
                     errc::invalid_value, "seconds");
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "a").file("video", "a.mp4", "video/mp4", mp4_bytes).field("model", "x").field("model", "y")),
                     errc::invalid_value, "model");
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form()
                                                .field("prompt", "a")
                                                .file("video", "a.mp4", "video/mp4", mp4_bytes)
                                                .file("video", "b.mp4", "video/mp4", mp4_bytes)),
                     errc::invalid_value, "video");
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "a").field("video[id]", "video_1").field("video[id]", "video_2")),
                     errc::invalid_value, "video");
}

TEST(ParseDeriveMultipart, AFileAndAnIdAreOneTooMany) {
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "a").file("video", "a.mp4", "video/mp4", mp4_bytes).field("video[id]", "video_1")),
                     errc::invalid_value, "video");
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "a").field("video[id]", "video_1").file("video", "a.mp4", "video/mp4", mp4_bytes)),
                     errc::invalid_value, "video");
}

TEST(ParseDeriveMultipart, VideoMustBeAVideoFile) {
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "p").file("video", "a.png", "video/mp4", png_bytes)),
                     errc::invalid_value, "video");
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "p").file("video", "m.mkv", "video/x-matroska", matroska_bytes)),
                     errc::invalid_value, "video");
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "p").file("video", "empty.mp4", "video/mp4", "")),
                     errc::invalid_value, "video");
  // A `video` text field (an id belongs in video[id]).
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "p").field("video", "video_1")), errc::invalid_value, "video");
  // video[id] must be a non-empty text field.
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "p").file("video[id]", "id.txt", "text/plain", "video_1")),
                     errc::invalid_value, "video[id]");
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().field("prompt", "p").field("video[id]", "")), errc::invalid_value, "video[id]");
}

TEST(ParseDeriveMultipart, TextFieldSentAsAFile) {
  EXPECT_PARSE_ERROR(derive_form(edit_kind, form().file("prompt", "p.txt", "text/plain", "hello").field("video[id]", "video_1")),
                     errc::invalid_value, "prompt");
  EXPECT_PARSE_ERROR(derive_form(extension_kind, form().field("prompt", "p").field("video[id]", "video_1").file("seconds", "s.txt", "text/plain", "8")),
                     errc::invalid_value, "seconds");
}

TEST(ParseDeriveMultipart, BinaryVideoBytesSurviveIntact) {
  std::string bytes = mp4_bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  bytes += "\r\n--not-the-boundary\r\n";
  auto r = derive_form(edit_kind, form().field("prompt", "p").file("video", "a.mp4", "video/mp4", bytes));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->video.bytes, bytes);
}

// --- parse_derive: JSON and content types -------------------------------------------------

TEST(ParseDeriveJson, EditOfAVideoId) {
  auto r = derive_json(edit_kind, R"({"prompt":"Make it snow 猫","video":{"id":"video_abc123"}})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->what, edit_kind);
  EXPECT_EQ(r->prompt, "Make it snow 猫");
  EXPECT_EQ(r->video.id, "video_abc123");
  EXPECT_TRUE(r->video.bytes.empty());
  EXPECT_FALSE(r->seconds.has_value());
  EXPECT_FALSE(r->model_given);
}

TEST(ParseDeriveJson, ExtensionSecondsAsAStringOrAnInteger) {
  for (auto s : {R"("8")", "8"}) {
    SCOPED_TRACE(s);
    auto r = derive_json(extension_kind, R"({"prompt":"p","seconds":)" + std::string(s) + R"(,"video":{"id":"video_1"}})");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->what, extension_kind);
    EXPECT_EQ(r->seconds, "8");
  }
  for (auto s : {"8.5", "8.0", "0", "-8", "true", "null", R"("")", R"("eight")", "[8]", "18446744073709551615"}) {
    SCOPED_TRACE(s);
    EXPECT_PARSE_ERROR(derive_json(extension_kind, R"({"prompt":"p","seconds":)" + std::string(s) + R"(,"video":{"id":"video_1"}})"),
                       errc::invalid_value, "seconds");
  }
  EXPECT_PARSE_ERROR(derive_json(extension_kind, R"({"prompt":"p","video":{"id":"video_1"}})"),
                     errc::missing_required_parameter, "seconds");
  EXPECT_PARSE_ERROR(derive_json(edit_kind, R"({"prompt":"p","seconds":"8","video":{"id":"video_1"}})"),
                     errc::unknown_parameter, "seconds");
}

TEST(ParseDeriveJson, VideoIsAnObjectWithAnId) {
  for (auto v : {R"("video_1")", "null", "7", R"(["video_1"])", "true"}) {
    SCOPED_TRACE(v);
    EXPECT_PARSE_ERROR(derive_json(edit_kind, R"({"prompt":"p","video":)" + std::string(v) + "}"), errc::invalid_value, "video");
  }
  for (auto v : {"{}", R"({"id":""})", R"({"id":7})", R"({"id":null})", R"({"id":{"id":"video_1"}})"}) {
    SCOPED_TRACE(v);
    EXPECT_PARSE_ERROR(derive_json(edit_kind, R"({"prompt":"p","video":)" + std::string(v) + "}"), errc::invalid_value,
                       "video.id");
  }
  EXPECT_PARSE_ERROR(derive_json(edit_kind, R"({"prompt":"p","video":{"id":"video_1","url":"https://x/a.mp4"}})"),
                     errc::unknown_parameter, "video.url");
  EXPECT_PARSE_ERROR(derive_json(edit_kind, R"({"prompt":"p","video":{"file_id":"file_1"}})"), errc::unknown_parameter,
                     "video.file_id");
}

TEST(ParseDeriveJson, MissingAndBadFields) {
  EXPECT_PARSE_ERROR(derive_json(edit_kind, R"({"video":{"id":"video_1"}})"), errc::missing_required_parameter, "prompt");
  EXPECT_PARSE_ERROR(derive_json(edit_kind, R"({"prompt":"p"})"), errc::missing_required_parameter, "video");
  EXPECT_PARSE_ERROR(derive_json(edit_kind, R"({"prompt":"","video":{"id":"video_1"}})"), errc::invalid_value, "prompt");
  EXPECT_PARSE_ERROR(derive_json(edit_kind, R"({"prompt":7,"video":{"id":"video_1"}})"), errc::invalid_value, "prompt");
  EXPECT_PARSE_ERROR(derive_json(edit_kind, R"({"prompt":"p","video":{"id":"video_1"},"size":"720x1280"})"),
                     errc::unknown_parameter, "size");
  EXPECT_PARSE_ERROR(derive_json(extension_kind, R"({"prompt":"p","seconds":"8","video":{"id":"video_1"},"video_id":"x"})"),
                     errc::unknown_parameter, "video_id");
  // JSON can only name a video by id, and a video id is routed by the job that made it.
  EXPECT_PARSE_ERROR(derive_json(edit_kind, R"({"prompt":"p","model":"sora-2-pro","video":{"id":"video_1"}})"),
                     errc::invalid_value, "model");
  EXPECT_PARSE_ERROR(derive_json(edit_kind, R"({"prompt":"p","model":5,"video":{"id":"video_1"}})"), errc::invalid_value,
                     "model");
}

TEST(ParseDeriveJson, MalformedBodies) {
  for (auto body : {"{", "", "[]", R"("prompt")", "null"}) {
    SCOPED_TRACE(body);
    EXPECT_PARSE_ERROR(derive_json(edit_kind, body), errc::invalid_value, "");
  }
}

TEST(ParseDerive, ContentTypes) {
  const std::string body = R"({"prompt":"p","video":{"id":"video_1"}})";
  for (auto ct : {"Application/JSON", "application/json; charset=utf-8"}) {
    SCOPED_TRACE(ct);
    auto r = parse_derive(edit_kind, ct, body);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->video.id, "video_1");
  }
  for (auto ct : {"text/plain", "application/x-www-form-urlencoded", "", "application/jsonx", "video/mp4",
                  "multipart/mixed; boundary=x"}) {
    SCOPED_TRACE(ct);
    EXPECT_PARSE_ERROR(parse_derive(extension_kind, ct, body), errc::unsupported_media_type, "");
  }
  EXPECT_PARSE_ERROR(parse_derive(edit_kind, "multipart/form-data", form().field("prompt", "p").body()), errc::invalid_value, "");
  std::string truncated = form().field("prompt", "p").field("video[id]", "video_1").body();
  truncated.resize(truncated.size() - 10);
  EXPECT_PARSE_ERROR(parse_derive(edit_kind, form::content_type(), truncated), errc::invalid_value, "");
}

// --- parse_character ----------------------------------------------------------------------

result<character_request> character_form(const form& f) { return parse_character(form::content_type(), f.body()); }

TEST(ParseCharacter, NameAndAnUpload) {
  auto r = character_form(form().field("name", "Mochi the cat").file("video", "mochi.webm", "video/webm", webm_bytes));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->name, "Mochi the cat");
  EXPECT_EQ(r->model, "sora-2");
  EXPECT_EQ(r->video.bytes, webm_bytes);
  EXPECT_EQ(r->video.mime, "video/webm");
  EXPECT_EQ(r->video.filename, "mochi.webm");
  EXPECT_TRUE(r->video.id.empty());
}

TEST(ParseCharacter, WithAModel) {
  auto r = character_form(form().file("video", "c.mov", "video/quicktime", quicktime_bytes).field("model", "sora-2-pro").field("name", "x"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->model, "sora-2-pro");
  EXPECT_EQ(r->video.mime, "video/quicktime");
  EXPECT_PARSE_ERROR(character_form(form().field("name", "x").field("model", "").file("video", "c.mp4", "video/mp4", mp4_bytes)),
                     errc::invalid_value, "model");
}

TEST(ParseCharacter, NameIsOneTo80Characters) {
  auto with = [](const std::string& name) {
    return character_form(form().field("name", name).file("video", "c.mp4", "video/mp4", mp4_bytes));
  };
  EXPECT_TRUE(with("x").has_value());
  EXPECT_TRUE(with(std::string(80, 'a')).has_value());
  EXPECT_PARSE_ERROR(with(std::string(81, 'a')), errc::invalid_value, "name");
  EXPECT_PARSE_ERROR(with(""), errc::invalid_value, "name");
  std::string cats;
  for (int i = 0; i < 80; ++i) cats += "猫";  // 240 bytes, 80 characters
  auto r = with(cats);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->name, cats);
  EXPECT_PARSE_ERROR(with(cats + "猫"), errc::invalid_value, "name");
  EXPECT_PARSE_ERROR(character_form(form().file("video", "c.mp4", "video/mp4", mp4_bytes)), errc::missing_required_parameter,
                     "name");
}

TEST(ParseCharacter, TheVideoMustBeAnUpload) {
  EXPECT_PARSE_ERROR(character_form(form().field("name", "x")), errc::missing_required_parameter, "video");
  EXPECT_PARSE_ERROR(character_form(form().field("name", "x").field("video[id]", "video_1")), errc::invalid_value, "video");
  EXPECT_PARSE_ERROR(character_form(form().field("name", "x").field("video", "video_1")), errc::invalid_value, "video");
  EXPECT_PARSE_ERROR(character_form(form().field("name", "x").file("video", "a.png", "image/png", png_bytes)),
                     errc::invalid_value, "video");
  EXPECT_PARSE_ERROR(parse_character("application/json", R"({"name":"x","video":{"id":"video_1"}})"), errc::invalid_value,
                     "video");
  EXPECT_PARSE_ERROR(parse_character("application/json", R"({"name":"x"})"), errc::missing_required_parameter, "video");
}

TEST(ParseCharacter, UnknownAndDuplicateFields) {
  for (auto name : {"prompt", "seconds", "size", "description"}) {
    SCOPED_TRACE(name);
    EXPECT_PARSE_ERROR(character_form(form().field("name", "x").file("video", "c.mp4", "video/mp4", mp4_bytes).field(name, "v")),
                       errc::unknown_parameter, name);
  }
  EXPECT_PARSE_ERROR(parse_character("application/json", R"({"name":"x","prompt":"p"})"), errc::unknown_parameter, "prompt");
  EXPECT_PARSE_ERROR(character_form(form().field("name", "x").field("name", "y").file("video", "c.mp4", "video/mp4", mp4_bytes)),
                     errc::invalid_value, "name");
  EXPECT_PARSE_ERROR(character_form(form()
                                        .field("name", "x")
                                        .file("video", "a.mp4", "video/mp4", mp4_bytes)
                                        .file("video", "b.mp4", "video/mp4", mp4_bytes)),
                     errc::invalid_value, "video");
  EXPECT_PARSE_ERROR(character_form(form().file("name", "n.txt", "text/plain", "x").file("video", "c.mp4", "video/mp4", mp4_bytes)),
                     errc::invalid_value, "name");
}

TEST(ParseCharacter, ContentTypes) {
  for (auto ct : {"text/plain", "", "video/mp4"}) {
    SCOPED_TRACE(ct);
    EXPECT_PARSE_ERROR(parse_character(ct, form().field("name", "x").body()), errc::unsupported_media_type, "");
  }
  EXPECT_PARSE_ERROR(parse_character("multipart/form-data", form().field("name", "x").body()), errc::invalid_value, "");
}

// --- video_json ---------------------------------------------------------------------------

jobs::job_record sample_job() {
  jobs::job_record j;
  j.id = "video_abc";
  j.client = "web";
  j.upstream = "vendor-a";
  j.key_fp = "fp";
  j.upstream_id = "upstream-1";
  j.model = "sora-2";
  j.prompt = "A calico cat";
  j.size = "720x1280";
  j.seconds = "10";
  j.status = "queued";
  j.progress = 0;
  j.created_at = 1761622232;
  return j;
}

json::object render(const jobs::job_record& j) {
  auto text = video_json(j);
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  EXPECT_TRUE(v.is_object()) << text;
  return v.is_object() ? v.as_object() : json::object{};
}

const std::set<std::string> video_fields = {"id",     "object", "model",   "status",
                                            "progress", "created_at", "completed_at", "expires_at",
                                            "prompt", "size",   "seconds", "remixed_from_video_id",
                                            "error"};

std::set<std::string> keys_of(const json::object& o) {
  std::set<std::string> k;
  for (auto& kv : o) k.insert(std::string(kv.key()));
  return k;
}

TEST(VideoJson, QueuedJobHasEveryFieldWithNulls) {
  auto o = render(sample_job());
  EXPECT_EQ(keys_of(o), video_fields);
  EXPECT_EQ(o.at("id"), "video_abc");
  EXPECT_EQ(o.at("object"), "video");
  EXPECT_EQ(o.at("model"), "sora-2");
  EXPECT_EQ(o.at("status"), "queued");
  ASSERT_TRUE(o.at("progress").is_int64() || o.at("progress").is_uint64());
  EXPECT_EQ(o.at("progress").to_number<int>(), 0);
  EXPECT_EQ(o.at("created_at").to_number<std::int64_t>(), 1761622232);
  EXPECT_TRUE(o.at("completed_at").is_null());
  EXPECT_TRUE(o.at("expires_at").is_null());
  EXPECT_EQ(o.at("prompt"), "A calico cat");
  EXPECT_EQ(o.at("size"), "720x1280");
  ASSERT_TRUE(o.at("seconds").is_string()) << "seconds is a string in the OpenAI shape";
  EXPECT_EQ(o.at("seconds"), "10");
  EXPECT_TRUE(o.at("remixed_from_video_id").is_null());
  EXPECT_TRUE(o.at("error").is_null());
}

TEST(VideoJson, InternalFieldsNeverLeak) {
  auto j = sample_job();
  j.content_url = "https://vendor.example/secret.mp4?sig=1";
  j.idempotency_key = "idem";
  auto text = video_json(j);
  EXPECT_EQ(text.find("upstream-1"), std::string::npos) << text;
  EXPECT_EQ(text.find("vendor-a"), std::string::npos) << text;
  EXPECT_EQ(text.find("vendor.example"), std::string::npos) << text;
  EXPECT_EQ(text.find("idem"), std::string::npos) << text;
  EXPECT_EQ(keys_of(render(j)), video_fields);
}

TEST(VideoJson, CompletedJobCarriesTimestampsAndNoError) {
  auto j = sample_job();
  j.status = "completed";
  j.progress = 100;
  j.completed_at = 1761622300;
  j.expires_at = 1761708700;
  j.remixed_from_video_id = "video_parent";
  j.error_message = "stale message from an earlier poll";
  auto o = render(j);
  EXPECT_EQ(keys_of(o), video_fields);
  EXPECT_EQ(o.at("status"), "completed");
  EXPECT_EQ(o.at("progress").to_number<int>(), 100);
  EXPECT_EQ(o.at("completed_at").to_number<std::int64_t>(), 1761622300);
  EXPECT_EQ(o.at("expires_at").to_number<std::int64_t>(), 1761708700);
  EXPECT_EQ(o.at("remixed_from_video_id"), "video_parent");
  EXPECT_TRUE(o.at("error").is_null()) << "error only when failed";
}

TEST(VideoJson, InProgressHasNoError) {
  auto j = sample_job();
  j.status = "in_progress";
  j.progress = 35;
  j.error_code = "x";
  auto o = render(j);
  EXPECT_EQ(o.at("progress").to_number<int>(), 35);
  EXPECT_TRUE(o.at("error").is_null());
}

TEST(VideoJson, FailedJobCarriesTheVendorReason) {
  auto j = sample_job();
  j.status = "failed";
  j.error_code = "moderation_blocked";
  j.error_message = "Your prompt was blocked by the content policy.";
  auto o = render(j);
  EXPECT_EQ(keys_of(o), video_fields);
  ASSERT_TRUE(o.at("error").is_object());
  auto& e = o.at("error").as_object();
  EXPECT_EQ(e.size(), 2u);
  EXPECT_EQ(e.at("code"), "moderation_blocked");
  EXPECT_EQ(e.at("message"), "Your prompt was blocked by the content policy.");
}

TEST(VideoJson, FailedJobWithoutAReasonStillHasCodeAndMessage) {
  auto j = sample_job();
  j.status = "failed";
  auto o = render(j);
  ASSERT_TRUE(o.at("error").is_object());
  auto& e = o.at("error").as_object();
  ASSERT_TRUE(e.contains("code"));
  ASSERT_TRUE(e.contains("message"));
  EXPECT_TRUE(e.at("code").is_string());
  EXPECT_FALSE(e.at("code").as_string().empty());
  EXPECT_TRUE(e.at("message").is_string());
  EXPECT_FALSE(e.at("message").as_string().empty());
}

TEST(VideoJson, PromptWithQuotesAndUnicodeIsValidJson) {
  auto j = sample_job();
  j.prompt = "say \"hi\"\n猫 \\ </script>";
  auto o = render(j);
  EXPECT_EQ(o.at("prompt").as_string(), j.prompt);
}

}  // namespace
}  // namespace videogate::api
