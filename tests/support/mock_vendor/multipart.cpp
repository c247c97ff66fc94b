#include "multipart.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace videogate::mock_vendor {
namespace {

std::string lower(std::string_view s)
{
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s)
{
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b)
{
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

/// A header value of the form `token; a=b; c="d"`: the token and its parameters
/// (names lower-cased, quoted values unescaped).
struct header_value {
  std::string token;
  std::vector<std::pair<std::string, std::string>> params;
};

header_value parse_header_value(std::string_view v)
{
  header_value out;
  std::size_t i = 0;
  auto next_plain = [&](std::string_view stops) {
    std::size_t start = i;
    while (i < v.size() && stops.find(v[i]) == std::string_view::npos)
      ++i;
    return trim(v.substr(start, i - start));
  };
  out.token = lower(next_plain(";"));
  while (i < v.size()) {
    ++i;  // ';'
    std::string name = lower(next_plain("=;"));
    std::string value;
    if (i < v.size() && v[i] == '=') {
      ++i;
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t'))
        ++i;
      if (i < v.size() && v[i] == '"') {
        ++i;
        while (i < v.size() && v[i] != '"') {
          if (v[i] == '\\' && i + 1 < v.size())
            ++i;
          value += v[i++];
        }
        if (i < v.size())
          ++i;  // closing quote
        next_plain(";");  // anything after the quoted string up to the next ';'
      } else {
        value = std::string(next_plain(";"));
      }
    }
    if (!name.empty())
      out.params.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

}  // namespace

std::string media_type_of(std::string_view content_type)
{
  return parse_header_value(content_type).token;
}

std::optional<std::string> content_type_param(std::string_view content_type, std::string_view name)
{
  for (auto& [k, v] : parse_header_value(content_type).params)
    if (iequals(k, name))
      return v;
  return std::nullopt;
}

std::optional<std::vector<form_part>> parse_multipart(std::string_view body, std::string_view boundary,
                                                      std::string& error)
{
  if (boundary.empty() || boundary.size() > 200) {
    error = "multipart boundary missing or too long";
    return std::nullopt;
  }
  const std::string delimiter = "--" + std::string(boundary);
  const std::string inner_delimiter = "\r\n" + delimiter;

  // The first delimiter starts the body or a line (a preamble is allowed and ignored).
  std::size_t pos;
  if (body.substr(0, delimiter.size()) == delimiter) {
    pos = delimiter.size();
  } else {
    const auto at = body.find(inner_delimiter);
    if (at == std::string_view::npos) {
      error = "multipart body has no boundary delimiter";
      return std::nullopt;
    }
    pos = at + inner_delimiter.size();
  }

  std::vector<form_part> parts;
  for (;;) {
    if (body.substr(pos, 2) == "--")
      return parts;  // close delimiter; the epilogue is ignored
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t'))
      ++pos;
    if (body.substr(pos, 2) != "\r\n") {
      error = "multipart delimiter not followed by CRLF";
      return std::nullopt;
    }
    pos += 2;

    form_part part;
    bool has_disposition = false;
    // Header lines up to an empty line.
    for (;;) {
      const auto eol = body.find("\r\n", pos);
      if (eol == std::string_view::npos) {
        error = "multipart part headers are not terminated";
        return std::nullopt;
      }
      const auto line = body.substr(pos, eol - pos);
      pos = eol + 2;
      if (line.empty())
        break;
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) {
        error = "malformed multipart part header";
        return std::nullopt;
      }
      const auto name = trim(line.substr(0, colon));
      const auto value = trim(line.substr(colon + 1));
      if (iequals(name, "content-disposition")) {
        auto hv = parse_header_value(value);
        if (hv.token != "form-data") {
          error = "multipart part disposition is not form-data";
          return std::nullopt;
        }
        has_disposition = true;
        bool has_name = false;
        for (auto& [k, v] : hv.params) {
          if (k == "name") {
            part.name = v;
            has_name = true;
          } else if (k == "filename") {
            part.filename = v;
          }
        }
        if (!has_name) {
          error = "multipart part without a name";
          return std::nullopt;
        }
      } else if (iequals(name, "content-type")) {
        part.content_type = std::string(value);
      }
    }
    if (!has_disposition) {
      error = "multipart part without Content-Disposition";
      return std::nullopt;
    }

    const auto end = body.find(inner_delimiter, pos);
    if (end == std::string_view::npos) {
      error = "multipart body is not terminated by its boundary";
      return std::nullopt;
    }
    part.data = std::string(body.substr(pos, end - pos));
    parts.push_back(std::move(part));
    pos = end + inner_delimiter.size();
  }
}

}  // namespace videogate::mock_vendor
