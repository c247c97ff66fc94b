// videogate-mock-vendor: the simulated upstream vendors (DESIGN §7). Flags, then one
// io_context thread serving every dialect on one port until SIGTERM/SIGINT.

#include "server.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/system/system_error.hpp>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

namespace {

namespace mock = videogate::mock_vendor;

constexpr std::string_view usage =
  "usage: videogate-mock-vendor [--listen HOST:PORT] [--complete-after-polls N] [--slow-ms MS]\n"
  "                             [--retry-after S] [--tls-cert FILE --tls-key FILE] [--video-bytes N]\n"
  "                             [--unified-variant minimal|rich|detail] [--evil-url URL]\n"
  "                             [--chaos SEED [--chaos-rate R]] [--verbose]\n"
  "  --listen HOST:PORT        address to bind (default 127.0.0.1:9090; port 0 picks a free one)\n"
  "  --complete-after-polls N  status reads until a job completes (default 3)\n"
  "  --slow-ms MS              delay of slow-* keys and of slowpoll-* status reads (default 3000)\n"
  "  --retry-after S           Retry-After of ratelimit-* keys (default 7)\n"
  "  --tls-cert/--tls-key      PEM files: serve HTTPS (TLS 1.2+)\n"
  "  --video-bytes N           serve a synthetic N-byte video instead of sample.mp4\n"
  "  --unified-variant V       shape of unified query answers: minimal, rich (default), detail\n"
  "  --evil-url URL            result URL of evilurl-* jobs (default http://localhost:PORT/_mock/health)\n"
  "  --chaos SEED              random faults on plain keys, reproducible from SEED (counts: GET /_mock/faults)\n"
  "  --chaos-rate R            chance per request of a chaos fault, 0..1 (default 0.2)\n"
  "  --verbose                 one line per request on stderr\n";

[[noreturn]] void usage_error(std::string_view message)
{
  std::cerr << "videogate-mock-vendor: " << message << "\n" << usage;
  std::exit(2);
}

template <class T>
T parse_number(std::string_view flag, std::string_view text)
{
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    usage_error(std::string(flag) + ": not a valid number: " + std::string(text));
  return value;
}

mock::options parse_args(int argc, char** argv)
{
  mock::options opts;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << usage;
      std::exit(0);
    }
    if (flag == "--verbose" || flag == "-v") {
      opts.verbose = true;
      continue;
    }
    if (i + 1 >= argc)
      usage_error(std::string(flag) + " needs a value");
    const std::string_view value = argv[++i];
    if (flag == "--listen") {
      const auto colon = value.rfind(':');
      if (colon == std::string_view::npos)
        usage_error("--listen wants HOST:PORT");
      auto host = value.substr(0, colon);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);  // [::1]:0
      opts.host = std::string(host);
      opts.port = parse_number<std::uint16_t>(flag, value.substr(colon + 1));
    } else if (flag == "--complete-after-polls") {
      opts.complete_after_polls = parse_number<int>(flag, value);
      if (opts.complete_after_polls < 0)
        usage_error("--complete-after-polls must be >= 0");
    } else if (flag == "--slow-ms") {
      opts.slow = std::chrono::milliseconds(parse_number<unsigned>(flag, value));
    } else if (flag == "--retry-after") {
      opts.retry_after = std::chrono::seconds(parse_number<unsigned>(flag, value));
    } else if (flag == "--tls-cert") {
      opts.tls_cert = std::string(value);
    } else if (flag == "--tls-key") {
      opts.tls_key = std::string(value);
    } else if (flag == "--unified-variant") {
      if (value != "minimal" && value != "rich" && value != "detail")
        usage_error("--unified-variant wants minimal, rich or detail");
      opts.unified_variant = std::string(value);
    } else if (flag == "--chaos") {
      opts.chaos_seed = parse_number<std::uint64_t>(flag, value);
    } else if (flag == "--chaos-rate") {
      opts.chaos_rate = parse_number<double>(flag, value);
      if (!(opts.chaos_rate >= 0.0 && opts.chaos_rate <= 1.0))
        usage_error("--chaos-rate must be between 0 and 1");
    } else if (flag == "--evil-url") {
      opts.evil_url = std::string(value);
    } else if (flag == "--video-bytes") {
      opts.video_bytes = parse_number<std::size_t>(flag, value);
    } else {
      usage_error("unknown flag " + std::string(flag));
    }
  }
  if (opts.tls_cert.empty() != opts.tls_key.empty())
    usage_error("--tls-cert and --tls-key go together");
  return opts;
}

}  // namespace

int main(int argc, char** argv)
{
  const auto opts = parse_args(argc, argv);
  try {
    boost::asio::io_context ioc{1};
    mock::server server{ioc, opts};

    const auto endpoint = server.local_endpoint();
    const auto address = endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]"
                                                     : endpoint.address().to_string();
    // Tests parse exactly this line to learn the port.
    std::cout << "videogate-mock-vendor listening on " << address << ":" << endpoint.port() << std::endl;

    boost::asio::signal_set signals{ioc, SIGINT, SIGTERM};
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec)
        return;
      server.stop();
      ioc.stop();
    });
    server.start();
    ioc.run();
  } catch (const boost::system::system_error& e) {
    // Bind failures and unreadable TLS files: say what, without Asio's source locations.
    std::cerr << "videogate-mock-vendor: cannot serve on " << opts.host << ":" << opts.port << ": "
              << e.code().message() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "videogate-mock-vendor: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
