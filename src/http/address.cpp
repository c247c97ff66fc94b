#include "videogate/http/address.hpp"

#include <array>
#include <cstdint>

namespace videogate::http {

namespace {

struct v4_range {
  std::uint32_t base;
  int bits;
};

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) { return (a << 24) | (b << 16) | (c << 8) | d; }

// Not globally reachable (IANA special-purpose registry).
constexpr std::array<v4_range, 16> v4_blocked{{
    {v4(0, 0, 0, 0), 8},        // "this network", unspecified
    {v4(10, 0, 0, 0), 8},       // private
    {v4(100, 64, 0, 0), 10},    // CGNAT
    {v4(127, 0, 0, 0), 8},      // loopback
    {v4(169, 254, 0, 0), 16},   // link-local: cloud metadata (169.254.169.254) lives here
    {v4(172, 16, 0, 0), 12},    // private
    {v4(192, 0, 0, 0), 24},     // IETF protocol assignments
    {v4(192, 0, 2, 0), 24},     // documentation
    {v4(192, 88, 99, 0), 24},   // 6to4 relay anycast (deprecated)
    {v4(192, 168, 0, 0), 16},   // private
    {v4(198, 18, 0, 0), 15},    // benchmarking
    {v4(198, 51, 100, 0), 24},  // documentation
    {v4(203, 0, 113, 0), 24},   // documentation
    {v4(224, 0, 0, 0), 4},      // multicast
    {v4(240, 0, 0, 0), 4},      // reserved, and 255.255.255.255 broadcast
    {v4(255, 255, 255, 255), 32},
}};

bool public_v4(const boost::asio::ip::address_v4& a) {
  auto x = a.to_uint();
  for (auto& r : v4_blocked) {
    std::uint32_t mask = r.bits == 0 ? 0 : ~std::uint32_t{0} << (32 - r.bits);
    if ((x & mask) == (r.base & mask)) return false;
  }
  return true;
}

bool public_v6(const boost::asio::ip::address_v6& a) {
  if (a.is_v4_mapped()) return public_v4(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a));
  auto b = a.to_bytes();
  if (a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.is_link_local() || a.is_site_local()) return false;
  if ((b[0] & 0xfe) == 0xfc) return false;                  // fc00::/7 unique local (fd00:ec2::254 metadata)
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return false;  // 2001:db8::/32 documentation
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) return false;  // 64:ff9b::/96 NAT64 (may map to private v4)
  if (b[0] == 0x20 && b[1] == 0x02) return false;           // 2002::/16 6to4 (embeds any v4)
  bool v4_compatible = true;                                 // ::a.b.c.d (deprecated)
  for (int i = 0; i < 12; ++i) v4_compatible = v4_compatible && b[i] == 0;
  if (v4_compatible) return false;
  // Only the global unicast block 2000::/3 is public.
  return (b[0] & 0xe0) == 0x20;
}

}  // namespace

bool is_public_address(const boost::asio::ip::address& a) noexcept {
  return a.is_v4() ? public_v4(a.to_v4()) : public_v6(a.to_v6());
}

bool is_ip_literal(std::string_view host) noexcept {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  (void)a;
  return !ec;
}

}  // namespace videogate::http
