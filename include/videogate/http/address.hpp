#pragma once
/// @file Which IP addresses a vendor-supplied URL may reach (DESIGN §8): only public ones.
/// Loopback, private, link-local (cloud metadata), CGNAT, multicast, unspecified, reserved
/// and documentation ranges are not public; an IPv4-mapped IPv6 address is judged as its IPv4.

#include <boost/asio/ip/address.hpp>

#include <string_view>

namespace videogate::http {

/// Whether `a` is a globally routable unicast address.
bool is_public_address(const boost::asio::ip::address& a) noexcept;

/// Whether `host` is an IP address written out (IPv6 without brackets), not a name.
bool is_ip_literal(std::string_view host) noexcept;

}  // namespace videogate::http
