// The `/files/` route: where the `unified` and `freesora` vendors put finished videos. Their
// status answers hand out an absolute URL on a CDN, which serves without any key; the request
// log still records what arrived there, so tests can assert the gateway sent no key.

#include "dialect.hpp"

#include <string>

namespace videogate::mock_vendor {
namespace {
namespace http = boost::beast::http;

constexpr std::string_view dialect_name = "files";
constexpr std::string_view route_prefix = "/files/";

/// Object stores behind CDNs answer misses in XML, not JSON.
reply no_such_key(std::string_view name)
{
  reply r;
  r.status = http::status::not_found;
  r.headers.set(http::field::content_type, "application/xml");
  r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
           "<Message>The specified key does not exist.</Message><Key>" +
           std::string(name) + "</Key></Error>\n";
  return r;
}

class files_dialect final : public dialect {
public:
  explicit files_dialect(vendor_state& state) : state_(state) {}

  std::string_view name() const noexcept override { return dialect_name; }

  bool owns(std::string_view path) const noexcept override { return starts_with(path, route_prefix); }

  bool is_public(std::string_view /*path*/) const noexcept override { return true; }

  reply fault_reply(fault /*f*/, const request_context& /*ctx*/) const override
  {
    // Never asked: public routes skip the key faults.
    return json_reply(http::status::internal_server_error, {{"error", "unreachable"}});
  }

  // GET|HEAD /files/{media_name}
  reply handle(request_context& ctx) override
  {
    const auto method = ctx.req.method();
    if (method != http::verb::get && method != http::verb::head) {
      reply r;
      r.status = http::status::method_not_allowed;
      r.headers.set(http::field::allow, "GET, HEAD");
      r.headers.set(http::field::content_type, "text/plain");
      r.body = "Method Not Allowed\n";
      return r;
    }
    const auto name = ctx.path.substr(route_prefix.size());
    const job* j = ctx.segments.size() == 2 ? state_.jobs.find_media(name) : nullptr;
    // Until the job completes nothing has been uploaded; a failed job never uploads.
    if (j == nullptr || j->status != job_status::completed)
      return no_such_key(name);
    auto r = media_reply(ctx.req, state_.media.video(), "video/mp4");
    r.headers.set(http::field::cache_control, "public, max-age=86400");
    return r;
  }

private:
  vendor_state& state_;
};

}  // namespace

std::string media_url(const vendor_state& state, const job& j)
{
  return state.base_url + std::string(route_prefix) + j.media_name;
}

std::string result_url(const vendor_state& state, const job& j)
{
  switch (fault_for_key(j.key)) {
  case fault::evil_url:
    return state.evil_url;  // a gateway must not fetch whatever URL a vendor names
  case fault::crlf_url:
    return media_url(state, j) + "\r\nSet-Cookie: pwned=1";  // nor copy one into a header
  default:
    return media_url(state, j);
  }
}

std::unique_ptr<dialect> make_files_dialect(vendor_state& state)
{
  return std::make_unique<files_dialect>(state);
}

}  // namespace videogate::mock_vendor
