#include "videogate/observe/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace videogate::observe {

namespace {

/// `%*`: the message, escaped for a JSON string (quotes, backslashes, control characters), so
/// every JSON log line parses whatever a message holds.
class json_message_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    auto escaped = json_escape(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_message_flag>(); }
};

void apply(spdlog::logger& logger, const config::log_config& cfg) {
  if (cfg.format == "json") {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<json_message_flag>('*').set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%*"})");
    logger.set_formatter(std::move(f));
  } else
    logger.set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  logger.set_level(spdlog::level::from_str(cfg.level));
}

}  // namespace

void setup_logging(const config::log_config& cfg) {
  auto logger = spdlog::stderr_logger_mt("videogate");
  apply(*logger, cfg);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void reconfigure_logging(const config::log_config& cfg) {
  // The same logger object, new level and format: the default logger is never replaced while
  // other threads log through it (spdlog's free functions use a raw pointer to it).
  apply(*spdlog::default_logger(), cfg);
}

std::string json_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += c;
        }
    }
  }
  return o;
}

}  // namespace videogate::observe
