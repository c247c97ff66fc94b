#include "videogate/http/multipart.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <utility>

namespace videogate::http {

namespace {

constexpr std::size_t max_header_section = 8 * 1024;
constexpr std::size_t max_boundary_length = 70;

bool is_space_or_tab(char c) { return c == ' ' || c == '\t'; }

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space_or_tab(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space_or_tab(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 7230 tchar: what a header name, parameter name or unquoted parameter value may hold.
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// RFC 2046 bcharsnospace.
bool is_bchar_nospace(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '\'': case '(': case ')': case '+': case '_': case ',': case '-':
    case '.': case '/': case ':': case '=': case '?':
      return true;
    default:
      return false;
  }
}

bool valid_boundary(std::string_view b) {
  if (b.empty() || b.size() > max_boundary_length || b.back() == ' ') return false;
  return std::all_of(b.begin(), b.end(), [](char c) { return c == ' ' || is_bchar_nospace(c); });
}

/// A cursor over a header value's `; name=value` parameter list (RFC 7231 §3.1.1.1).
class param_reader {
 public:
  explicit param_reader(std::string_view s) : s_(s) {}

  void skip_ows() {
    while (pos_ < s_.size() && is_space_or_tab(s_[pos_])) ++pos_;
  }
  bool at_end() const { return pos_ >= s_.size(); }
  bool consume(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  /// A run of chars accepted by `pred`; empty if none.
  template <class Pred>
  std::string_view run(Pred pred) {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && pred(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  /// A quoted-string with backslash escapes; the cursor sits on the opening quote.
  std::optional<std::string> quoted() {
    if (!consume('"')) return std::nullopt;
    std::string out;
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (pos_ >= s_.size()) return std::nullopt;
        out.push_back(s_[pos_++]);
      } else if (c == '\r' || c == '\n') {
        return std::nullopt;
      } else {
        out.push_back(c);
      }
    }
    return std::nullopt;  // unterminated
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

struct parameter {
  std::string name;  // lower-cased
  std::string value;
};

/// Parses `*( OWS ";" OWS name "=" value )` up to the end. `unquoted` decides which chars a
/// bare value may hold. nullopt when anything does not fit the grammar.
template <class Pred>
std::optional<std::vector<parameter>> parse_parameters(param_reader& r, Pred unquoted) {
  std::vector<parameter> out;
  for (;;) {
    r.skip_ows();
    if (r.at_end()) return out;
    if (!r.consume(';')) return std::nullopt;
    r.skip_ows();
    if (r.at_end()) return out;  // a trailing ";" is harmless
    const std::string_view name = r.run(is_tchar);
    if (name.empty()) return std::nullopt;
    r.skip_ows();
    if (!r.consume('=')) return std::nullopt;
    r.skip_ows();
    parameter p;
    p.name.reserve(name.size());
    for (char c : name) p.name.push_back(ascii_lower(c));
    if (auto q = r.quoted()) {
      p.value = std::move(*q);
    } else {
      const std::string_view v = r.run(unquoted);
      if (v.empty()) return std::nullopt;
      p.value = std::string(v);
    }
    out.push_back(std::move(p));
  }
}

/// What a delimiter line ends with: another part follows, or the body is over.
enum class delimiter_kind { part, close };

/// Checks the text after `--boundary` (RFC 2046: transport padding then CRLF, or `--` for
/// the close delimiter) and returns where the next part starts.
std::optional<std::pair<delimiter_kind, std::size_t>> read_delimiter_tail(std::string_view body,
                                                                          std::size_t pos) {
  if (body.substr(pos, 2) == "--") {
    pos += 2;
    while (pos < body.size() && is_space_or_tab(body[pos])) ++pos;
    // Anything after the close delimiter's CRLF is epilogue; a missing final CRLF is tolerated.
    if (pos == body.size() || body.substr(pos, 2) == "\r\n") {
      return std::pair{delimiter_kind::close, body.size()};
    }
    return std::nullopt;
  }
  while (pos < body.size() && is_space_or_tab(body[pos])) ++pos;
  if (body.substr(pos, 2) != "\r\n") return std::nullopt;
  return std::pair{delimiter_kind::part, pos + 2};
}

error malformed(std::string msg) { return fail(errc::invalid_value, "Invalid multipart body: " + std::move(msg)); }

/// Fills name/filename/content_type of `part` from its header section (without the final CRLFCRLF).
std::optional<error> parse_part_headers(std::string_view headers, form_part& part) {
  bool have_disposition = false;
  bool have_type = false;
  while (!headers.empty()) {
    const std::size_t eol = headers.find("\r\n");
    const std::string_view line = headers.substr(0, eol);
    headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);

    if (line.empty() || is_space_or_tab(line.front())) {
      return malformed("folded or empty line in part headers");
    }
    if (line.find_first_of("\r\n") != std::string_view::npos) return malformed("bare CR or LF in part headers");
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return malformed("part header line without ':'");
    const std::string_view name = line.substr(0, colon);
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) {
      return malformed("invalid part header name");
    }
    const std::string_view value = trim(line.substr(colon + 1));

    if (iequals(name, "content-disposition")) {
      if (have_disposition) return malformed("duplicate Content-Disposition in a part");
      have_disposition = true;
      param_reader r(value);
      const std::string_view type = r.run(is_tchar);
      if (!iequals(type, "form-data")) return malformed("part Content-Disposition is not form-data");
      auto params = parse_parameters(r, is_tchar);
      if (!params) return malformed("invalid Content-Disposition parameters");
      bool have_name = false;
      for (auto& p : *params) {
        if (p.name == "name") {
          if (have_name) return malformed("duplicate name in Content-Disposition");
          have_name = true;
          part.name = std::move(p.value);
        } else if (p.name == "filename") {
          if (part.filename) return malformed("duplicate filename in Content-Disposition");
          part.filename = std::move(p.value);
        }
        // Other parameters (RFC 7578 forbids filename*; we ignore anything else).
      }
    } else if (iequals(name, "content-type")) {
      if (have_type) return malformed("duplicate Content-Type in a part");
      have_type = true;
      part.content_type = std::string(value);
    }
    // Other part headers (Content-Transfer-Encoding, ...) carry nothing we use.
  }
  if (!have_disposition) return malformed("a part has no Content-Disposition");
  if (part.name.empty()) return malformed("a part has no Content-Disposition name");
  return std::nullopt;
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  param_reader r(content_type);
  r.skip_ows();
  const std::string_view type = r.run(is_tchar);
  if (!iequals(type, "multipart")) return std::nullopt;
  if (!r.consume('/')) return std::nullopt;
  if (r.run(is_tchar).empty()) return std::nullopt;
  // A bare boundary may hold every RFC 2046 char but the space; tspecials such as '/' or
  // '=' are not valid in a token but clients send them unquoted anyway.
  auto params = parse_parameters(r, [](char c) { return is_tchar(c) || is_bchar_nospace(c); });
  if (!params) return std::nullopt;
  std::optional<std::string> boundary;
  for (auto& p : *params) {
    if (p.name != "boundary") continue;
    if (boundary) return std::nullopt;  // two boundaries: ambiguous
    boundary = std::move(p.value);
  }
  if (!boundary || !valid_boundary(*boundary)) return std::nullopt;
  return boundary;
}

result<std::vector<form_part>> parse_multipart(std::string_view body, std::string_view boundary,
                                               std::size_t max_parts) {
  if (!valid_boundary(boundary)) return malformed("invalid boundary");

  const std::string delimiter = "\r\n--" + std::string(boundary);
  const std::boyer_moore_horspool_searcher searcher(delimiter.begin(), delimiter.end());
  const auto find_delimiter = [&](std::size_t from) -> std::size_t {
    const auto it = std::search(body.begin() + static_cast<std::ptrdiff_t>(from), body.end(), searcher);
    return it == body.end() ? std::string_view::npos : static_cast<std::size_t>(it - body.begin());
  };

  // The first delimiter opens the body or follows the preamble's last CRLF.
  std::size_t after_boundary = 0;
  const std::string_view dash_boundary = std::string_view(delimiter).substr(2);
  if (body.substr(0, dash_boundary.size()) == dash_boundary) {
    after_boundary = dash_boundary.size();
  } else {
    const std::size_t first = find_delimiter(0);
    if (first == std::string_view::npos) return malformed("boundary not found");
    after_boundary = first + delimiter.size();
  }
  auto tail = read_delimiter_tail(body, after_boundary);
  if (!tail) return malformed("invalid boundary delimiter line");
  if (tail->first == delimiter_kind::close) return malformed("no parts");

  std::vector<form_part> parts;
  std::size_t pos = tail->second;
  for (;;) {
    if (parts.size() >= max_parts) return malformed("more than " + std::to_string(max_parts) + " parts");

    // Header section: lines up to an empty line. A part cannot go without headers since it
    // needs a Content-Disposition.
    if (body.substr(pos, 2) == "\r\n") return malformed("a part has no Content-Disposition");
    const std::size_t window = std::min(body.size() - pos, max_header_section + 4);
    const std::size_t headers_end = body.substr(pos, window).find("\r\n\r\n");
    if (headers_end == std::string_view::npos) {
      if (body.size() - pos > max_header_section + 4) return malformed("part header section above 8 KiB");
      return malformed("part headers not terminated by an empty line");
    }
    if (headers_end > max_header_section) return malformed("part header section above 8 KiB");

    form_part part;
    if (auto err = parse_part_headers(body.substr(pos, headers_end), part)) return std::move(*err);

    const std::size_t data_start = pos + headers_end + 4;
    // The data's own CRLF before the delimiter belongs to the delimiter; an empty part is
    // "\r\n\r\n" immediately followed by "\r\n--boundary", hence the search from data_start.
    const std::size_t next = find_delimiter(data_start);
    if (next == std::string_view::npos) return malformed("missing closing boundary (truncated body)");
    part.data = body.substr(data_start, next - data_start);
    parts.push_back(std::move(part));

    tail = read_delimiter_tail(body, next + delimiter.size());
    if (!tail) return malformed("invalid boundary delimiter line");
    if (tail->first == delimiter_kind::close) return parts;
    pos = tail->second;
  }
}

}  // namespace videogate::http
