#pragma once
/// @file Whether a URL from a vendor's answer (where the video is) may be fetched or passed to
/// the client (DESIGN §8). Pure: the syntax, the scheme, the host against `content_hosts` and
/// the upstream's own host; the address rule (public addresses only) is then enforced by the
/// HTTP client on the addresses it actually connects to.

#include "videogate/config/config.hpp"
#include "videogate/core/error.hpp"

#include <string>
#include <string_view>

namespace videogate::routing {

struct content_target {
  std::string url;           ///< the URL as checked (absolute http(s), no control characters)
  bool public_only = true;   ///< fetch it only from public addresses
};

/// Checks a vendor's content URL for upstream `up`: a parseable absolute http(s) URL without
/// control characters (CR, LF, NUL…), spaces or credentials; on one of `content_hosts` when
/// that is set; the upstream's own base_url host (any port) is always allowed and may be
/// private, as is any host with `allow_private_addresses`. An IP literal that is not public is
/// refused here already. Failures are content_url_refused, never a sanitised URL.
result<content_target> check_content_url(std::string_view url, const config::upstream_config& up);

/// Whether `host` (lower case) matches a `content_hosts` pattern: the name itself, or
/// "*.example.com" for any name below example.com.
bool host_matches(std::string_view host, std::string_view pattern) noexcept;

}  // namespace videogate::routing
