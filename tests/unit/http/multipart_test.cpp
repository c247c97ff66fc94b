#include "videogate/http/multipart.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace videogate::http {
namespace {

using namespace std::string_literals;

constexpr std::string_view boundary = "----videogateBoundary7MA4YWxk";

std::string field(std::string_view name, std::string_view value) {
  return "--" + std::string(boundary) + "\r\nContent-Disposition: form-data; name=\"" + std::string(name) +
         "\"\r\n\r\n" + std::string(value) + "\r\n";
}

std::string closing() { return "--" + std::string(boundary) + "--\r\n"; }

// The returned views must point into the body, not into a copy.
void expect_view_into(std::string_view body, std::string_view data) {
  if (data.empty()) return;
  EXPECT_GE(data.data(), body.data());
  EXPECT_LE(data.data() + data.size(), body.data() + body.size());
}

// --- multipart_boundary ---------------------------------------------------------------

TEST(MultipartBoundary, Unquoted) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc123"), "abc123");
  EXPECT_EQ(multipart_boundary("multipart/form-data;boundary=----WebKitFormBoundaryX"), "----WebKitFormBoundaryX");
}

TEST(MultipartBoundary, Quoted) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"abc def\""), "abc def");
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"a:b/c=d?\""), "a:b/c=d?");
}

TEST(MultipartBoundary, CaseInsensitiveNamesAndOtherParams) {
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data; BOUNDARY=xyz"), "xyz");
  EXPECT_EQ(multipart_boundary("multipart/form-data; charset=utf-8; Boundary=\"q\" "), "q");
  EXPECT_EQ(multipart_boundary("multipart/form-data ; boundary = xyz ;"), "xyz");
}

TEST(MultipartBoundary, LengthLimits) {
  const std::string b70(70, 'a');
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + b70), b70);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a')), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"\""), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary="), std::nullopt);
}

TEST(MultipartBoundary, MissingOrInvalid) {
  EXPECT_EQ(multipart_boundary("multipart/form-data"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; charset=utf-8"), std::nullopt);
  EXPECT_EQ(multipart_boundary("application/json; boundary=abc"), std::nullopt);
  EXPECT_EQ(multipart_boundary(""), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"abc"), std::nullopt);      // unterminated
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"ends with \""), std::nullopt);  // trailing space
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"a*b\""), std::nullopt);    // not a bchar
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=a b"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=a; boundary=b"), std::nullopt);  // ambiguous
  EXPECT_EQ(multipart_boundary("multipart/form-data; xboundary=abc"), std::nullopt);
}

// --- parse_multipart: good bodies -----------------------------------------------------

TEST(ParseMultipart, SimpleFields) {
  const std::string body = field("prompt", "a cat on a skateboard") + field("model", "sora-2") +
                           field("seconds", "8") + closing();
  auto parts = parse_multipart(body, boundary);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].name, "prompt");
  EXPECT_EQ((*parts)[0].data, "a cat on a skateboard");
  EXPECT_FALSE((*parts)[0].filename.has_value());
  EXPECT_EQ((*parts)[0].content_type, "");
  EXPECT_EQ((*parts)[1].name, "model");
  EXPECT_EQ((*parts)[1].data, "sora-2");
  EXPECT_EQ((*parts)[2].name, "seconds");
  EXPECT_EQ((*parts)[2].data, "8");
  for (const auto& p : *parts) expect_view_into(body, p.data);
}

TEST(ParseMultipart, FilePartWithBinaryData) {
  // Binary data with NULs, bare CR / LF, CRLF, "--", and the boundary without a leading CRLF.
  const std::string b(boundary);
  const std::string data = "\x89PNG\r\n\x1a\n\0\0\r\r\n\n--\r\n-x--"s + b + "\n--" + b + "\r--" + b + "--" + b +
                           "\r\n-\r\n--\xff\xfe\r\n\r\n"s;
  const std::string body = field("prompt", "p") + "--" + std::string(boundary) +
                           "\r\nContent-Disposition: form-data; name=\"input_reference\"; filename=\"ref.png\"\r\n"
                           "Content-Type: image/png\r\n\r\n" +
                           data + "\r\n" + closing();
  auto parts = parse_multipart(body, boundary);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  ASSERT_EQ(parts->size(), 2u);
  const form_part& file = (*parts)[1];
  EXPECT_EQ(file.name, "input_reference");
  ASSERT_TRUE(file.filename.has_value());
  EXPECT_EQ(*file.filename, "ref.png");
  EXPECT_EQ(file.content_type, "image/png");
  EXPECT_EQ(file.data, data);
  EXPECT_EQ(file.data.size(), data.size());
  expect_view_into(body, file.data);
}

TEST(ParseMultipart, DataEndingInCrLfKeepsIt) {
  const std::string body = field("a", "line\r\n") + closing();
  auto parts = parse_multipart(body, boundary);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  EXPECT_EQ((*parts)[0].data, "line\r\n");
}

TEST(ParseMultipart, EmptyPart) {
  const std::string body = field("style", "") + field("prompt", "x") + closing();
  auto parts = parse_multipart(body, boundary);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "style");
  EXPECT_TRUE((*parts)[0].data.empty());
  EXPECT_EQ((*parts)[1].data, "x");
}

TEST(ParseMultipart, EmptyFileWithEmptyFilename) {
  const std::string body = "--" + std::string(boundary) +
                           "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n"
                           "Content-Type: application/octet-stream\r\n\r\n\r\n" +
                           closing();
  auto parts = parse_multipart(body, boundary);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  ASSERT_TRUE((*parts)[0].filename.has_value());
  EXPECT_EQ(*(*parts)[0].filename, "");
  EXPECT_TRUE((*parts)[0].data.empty());
}

TEST(ParseMultipart, PreambleAndEpilogue) {
  const std::string body = "This is the preamble.\r\nIt is to be ignored.\r\n" + field("prompt", "hi") +
                           closing() + "This is the epilogue.\r\n--" + std::string(boundary) + "\r\nnot a part";
  auto parts = parse_multipart(body, boundary);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].data, "hi");
}

TEST(ParseMultipart, ClosingDelimiterWithoutFinalCrLf) {
  std::string body = field("prompt", "hi") + closing();
  body.resize(body.size() - 2);
  auto parts = parse_multipart(body, boundary);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  EXPECT_EQ((*parts)[0].data, "hi");
}

TEST(ParseMultipart, TransportPaddingAfterDelimiter) {
  const std::string b(boundary);
  const std::string body = "--" + b + " \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--" + b + "--  \r\n";
  auto parts = parse_multipart(body, boundary);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  EXPECT_EQ((*parts)[0].name, "a");
  EXPECT_EQ((*parts)[0].data, "1");
}

TEST(ParseMultipart, HeadersCaseInsensitiveAndUnquotedName) {
  const std::string b(boundary);
  const std::string body = "--" + b +
                           "\r\ncontent-disposition: FORM-DATA; NAME=prompt; FileName=\"x.txt\"\r\n"
                           "CONTENT-TYPE:   text/plain; charset=utf-8  \r\n"
                           "Content-Transfer-Encoding: binary\r\n\r\nhello\r\n" +
                           closing();
  auto parts = parse_multipart(body, boundary);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  EXPECT_EQ((*parts)[0].name, "prompt");
  EXPECT_EQ((*parts)[0].filename, "x.txt");
  EXPECT_EQ((*parts)[0].content_type, "text/plain; charset=utf-8");
  EXPECT_EQ((*parts)[0].data, "hello");
}

TEST(ParseMultipart, QuotedStringsWithEscapes) {
  const std::string b(boundary);
  const std::string body = "--" + b +
                           "\r\nContent-Disposition: form-data; name=\"we\\\"ird;name\"; "
                           "filename=\"a \\\"quoted\\\" file;.png\"\r\n\r\nv\r\n" +
                           closing();
  auto parts = parse_multipart(body, boundary);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  EXPECT_EQ((*parts)[0].name, "we\"ird;name");
  EXPECT_EQ((*parts)[0].filename, "a \"quoted\" file;.png");
}

TEST(ParseMultipart, QuotedBoundaryRoundTrip) {
  const auto b = multipart_boundary("multipart/form-data; boundary=\"gc0p4Jq0M2Yt08jU534c0p+ ()'\"");
  ASSERT_TRUE(b.has_value());
  const std::string body = "--" + *b + "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nok\r\n--" + *b +
                           "--\r\n";
  auto parts = parse_multipart(body, *b);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  EXPECT_EQ((*parts)[0].data, "ok");
}

TEST(ParseMultipart, LargePartParses) {
  std::string big(10 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131 + 7) % 256);
  const std::string b(boundary);
  const std::string body = field("prompt", "p") + "--" + b +
                           "\r\nContent-Disposition: form-data; name=\"input_reference\"; filename=\"v.bin\"\r\n"
                           "Content-Type: application/octet-stream\r\n\r\n" +
                           big + "\r\n" + closing();
  auto parts = parse_multipart(body, boundary);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[1].data.size(), big.size());
  EXPECT_TRUE((*parts)[1].data == big);
}

TEST(ParseMultipart, ExactlyMaxParts) {
  std::string body;
  for (int i = 0; i < 64; ++i) body += field("f" + std::to_string(i), std::to_string(i));
  body += closing();
  auto parts = parse_multipart(body, boundary);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
  EXPECT_EQ(parts->size(), 64u);
  EXPECT_EQ((*parts)[63].name, "f63");
}

TEST(ParseMultipart, HeaderSectionAtLimit) {
  const std::string b(boundary);
  const std::string head = "Content-Disposition: form-data; name=\"a\"\r\nX-Pad: ";
  // The header section (without its closing CRLFCRLF) is exactly 8 KiB.
  const std::string headers = head + std::string(8192 - head.size(), 'p');
  const std::string body = "--" + b + "\r\n" + headers + "\r\n\r\nv\r\n" + closing();
  auto parts = parse_multipart(body, boundary);
  ASSERT_TRUE(parts.has_value()) << parts.error().message;
}

// --- parse_multipart: bad bodies ------------------------------------------------------

void expect_invalid(const std::string& body, std::string_view b = boundary, std::size_t max_parts = 64) {
  auto parts = parse_multipart(body, b, max_parts);
  ASSERT_FALSE(parts.has_value());
  EXPECT_EQ(parts.error().code, errc::invalid_value);
  EXPECT_TRUE(parts.error().param.empty());
  EXPECT_FALSE(parts.error().message.empty());
}

TEST(ParseMultipartErrors, TooManyParts) {
  std::string body;
  for (int i = 0; i < 65; ++i) body += field("f" + std::to_string(i), "x");
  body += closing();
  expect_invalid(body);
  // The limit is the caller's.
  std::string three = field("a", "1") + field("b", "2") + field("c", "3") + closing();
  expect_invalid(three, boundary, 2);
  EXPECT_TRUE(parse_multipart(three, boundary, 3).has_value());
}

TEST(ParseMultipartErrors, ManyTinyParts) {
  std::string body;
  for (int i = 0; i < 100000; ++i) body += field("f", "");
  body += closing();
  expect_invalid(body);
}

TEST(ParseMultipartErrors, HeadersWithoutBlankLine) {
  const std::string b(boundary);
  expect_invalid("--" + b + "\r\nContent-Disposition: form-data; name=\"a\"\r\nvalue\r\n--" + b + "--\r\n");
  expect_invalid("--" + b + "\r\nContent-Disposition: form-data; name=\"a\"");
  expect_invalid("--" + b + "\r\nContent-Disposition: form-data; name=\"a\"\n\nvalue\r\n--" + b + "--\r\n");
}

TEST(ParseMultipartErrors, NoName) {
  const std::string b(boundary);
  expect_invalid("--" + b + "\r\nContent-Disposition: form-data\r\n\r\nv\r\n" + closing());
  expect_invalid("--" + b + "\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nv\r\n" + closing());
  expect_invalid("--" + b + "\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nv\r\n" + closing());
  expect_invalid("--" + b + "\r\nContent-Type: text/plain\r\n\r\nv\r\n" + closing());
  expect_invalid("--" + b + "\r\n\r\nv\r\n" + closing());  // no headers at all
}

TEST(ParseMultipartErrors, MalformedHeaders) {
  const std::string b(boundary);
  const auto with_headers = [&](const std::string& h) { return "--" + b + "\r\n" + h + "\r\n\r\nv\r\n" + closing(); };
  expect_invalid(with_headers("Content-Disposition: attachment; name=\"a\""));
  expect_invalid(with_headers("Content-Disposition: form-data; name=\"a"));          // unterminated quote
  expect_invalid(with_headers("Content-Disposition: form-data; name"));              // no '='
  expect_invalid(with_headers("Content-Disposition: form-data name=\"a\""));         // no ';'
  expect_invalid(with_headers("Content-Disposition: form-data; name=\"a\"; name=\"b\""));
  expect_invalid(with_headers("Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"b\""));
  expect_invalid(with_headers("Content-Disposition form-data; name=\"a\""));         // no colon
  expect_invalid(with_headers("Content-Disposition: form-data;\r\n name=\"a\""));    // obsolete folding
  expect_invalid(with_headers("Bad Name: x\r\nContent-Disposition: form-data; name=\"a\""));
  expect_invalid(with_headers("Content-Disposition: form-data; name=\"a\"\nX: y"));  // bare LF
}

TEST(ParseMultipartErrors, HeaderSectionTooLarge) {
  const std::string b(boundary);
  const std::string head = "Content-Disposition: form-data; name=\"a\"\r\nX-Pad: ";
  const std::string headers = head + std::string(8193 - head.size(), 'p');
  expect_invalid("--" + b + "\r\n" + headers + "\r\n\r\nv\r\n" + closing());
  expect_invalid("--" + b + "\r\n" + head + std::string(100000, 'p') + "\r\n\r\nv\r\n" + closing());
}

TEST(ParseMultipartErrors, Truncated) {
  const std::string full = field("prompt", "hello world") + field("model", "sora-2") + closing();
  // Every strict prefix that loses the closing delimiter must fail.
  const std::size_t close_at = full.rfind("\r\n--");
  for (std::size_t n = 0; n < close_at + 2 + 2 + boundary.size() + 2; ++n) {
    SCOPED_TRACE(n);
    expect_invalid(full.substr(0, n));
  }
  expect_invalid(field("prompt", "hello"));  // no closing delimiter at all
}

TEST(ParseMultipartErrors, WrongBoundary) {
  const std::string body = field("prompt", "x") + closing();
  expect_invalid(body, "someOtherBoundary");
  expect_invalid(body, std::string(boundary) + "x");          // longer than the real one
  expect_invalid(body, std::string(boundary).substr(0, 10));  // a prefix of the real one
}

TEST(ParseMultipartErrors, InvalidBoundaryArgument) {
  const std::string body = field("prompt", "x") + closing();
  expect_invalid(body, "");
  expect_invalid(body, std::string(71, 'a'));
}

TEST(ParseMultipartErrors, EmptyAndNoParts) {
  expect_invalid("");
  expect_invalid(closing());
  expect_invalid("just text, not multipart at all");
}

TEST(ParseMultipartErrors, JunkAfterDelimiter) {
  const std::string b(boundary);
  expect_invalid("--" + b + "junk\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n" + closing());
  expect_invalid(field("a", "v") + "--" + b + "--junk\r\n");
  // A delimiter-looking line inside the data that continues with other text.
  expect_invalid(field("a", "v\r\n--" + b + "X") + closing());
}

}  // namespace
}  // namespace videogate::http
