// The config loader on any text: a config, or errors that each name a line; never a crash.
#include "videogate/config/config.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace {
std::optional<std::string> env(const std::string& name) {
  if (name == "SET") return std::string("value");
  return std::nullopt;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto r = videogate::config::load_text(text, "fuzz.yaml", &env);
  if (!r.cfg && r.errors.empty()) __builtin_trap();  // refused without saying why
  if (r.cfg && !r.errors.empty()) __builtin_trap();
  for (auto& e : r.errors) (void)e.to_string();
  return 0;
}
