#include "chaos.hpp"

namespace videogate::mock_vendor {

std::string_view to_string(chaos_fault f) noexcept
{
  switch (f) {
  case chaos_fault::rate_limited: return "429";
  case chaos_fault::server_error: return "500";
  case chaos_fault::bad_gateway: return "502";
  case chaos_fault::gateway_timeout: return "504";
  case chaos_fault::reset: return "reset";
  case chaos_fault::truncated: return "truncated";
  case chaos_fault::slow: return "slow";
  case chaos_fault::garbage: return "garbage";
  case chaos_fault::forget: return "forget";
  }
  return "unknown";
}

chaos::chaos(std::optional<std::uint64_t> seed, double rate) : seed_(seed), rate_(rate), initial_rate_(rate), rng_(seed.value_or(0)) {}

std::optional<chaos_fault> chaos::draw(bool status_read)
{
  if (!seed_)
    return std::nullopt;
  // Plain arithmetic on mt19937_64, whose output the standard fixes, rather than <random>'s
  // distributions, which differ between standard libraries: a seed means one soak everywhere.
  const double roll = static_cast<double>(rng_() >> 11) * 0x1.0p-53;  // [0, 1)
  if (roll >= rate_)
    return std::nullopt;
  const std::size_t choices = status_read ? kinds : kinds - 1;  // forget is last
  const auto f = static_cast<chaos_fault>(rng_() % choices);
  ++counts_[static_cast<std::size_t>(f)];
  return f;
}

boost::json::object chaos::counts() const
{
  boost::json::object out;
  for (std::size_t i = 0; i < kinds; ++i)
    out[to_string(static_cast<chaos_fault>(i))] = counts_[i];
  return out;
}

void chaos::reset()
{
  rng_.seed(seed_.value_or(0));
  counts_.fill(0);
  rate_ = initial_rate_;
}

void chaos::set_rate(double rate) noexcept
{
  rate_ = rate > 0 ? (rate < 1 ? rate : 1.0) : 0.0;  // NaN lands on 0
}

}  // namespace videogate::mock_vendor
