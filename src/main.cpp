// videogate: wiring only. Parses flags, loads the config, opens the store, starts the server.

#include "videogate/api/service.hpp"
#include "videogate/config/config.hpp"
#include "videogate/http/client.hpp"
#include "videogate/http/server.hpp"
#include "videogate/jobs/async_store.hpp"
#include "videogate/jobs/ids.hpp"
#include "videogate/observe/log.hpp"
#include "videogate/observe/metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sys/stat.h>
#include <thread>

namespace asio = boost::asio;
using namespace videogate;

namespace {

constexpr const char* default_config_path = "config/videogate.yaml";

void usage(std::ostream& out) {
  out << "usage: videogate [--config FILE]     run the gateway (default " << default_config_path
      << ";\n                                     without it, the embedded demo config)\n"
         "       videogate --check-config FILE   validate a config, list every error (exit 0 ok, 2 bad)\n"
         "       videogate --healthcheck URL     GET URL; exit 0 on a 2xx answer within 4 s, else 1\n"
         "                                     (the container HEALTHCHECK: no curl in the image)\n"
         "       videogate --version\n";
}

int report(const config::load_result& r) {
  for (auto& e : r.errors) std::cerr << e.to_string() << '\n';
  if (!r.errors.empty()) std::cerr << r.errors.size() << " error(s) in config\n";
  return r.errors.empty() ? 0 : 2;
}

/// ids.secret when the config leaves it empty: generated once and kept beside the store, so
/// ids stay valid across restarts (a memory store gets a per-process secret).
std::string resolve_id_secret(const config::config& cfg, jobs::store& st) {
  if (!cfg.ids.secret.empty()) return cfg.ids.secret;
  if (st.shared()) {
    // A fleet: the first replica's generated secret is kept in the store; every replica uses it.
    auto s = st.shared_secret(jobs::random_secret());
    spdlog::info("ids.secret is empty: using the one the shared store keeps");
    return s;
  }
  if (cfg.store.kind != "sqlite") {
    spdlog::warn("ids.secret is empty and the store is in memory: ids will not survive a restart");
    return jobs::random_secret();
  }
  auto path = cfg.store.path + ".secret";
  if (std::ifstream in(path); in) {
    std::string s;
    std::getline(in, s);
    if (!s.empty()) return s;
  }
  auto s = jobs::random_secret();
  auto old = ::umask(077);
  std::ofstream out(path, std::ios::trunc);
  ::umask(old);
  out << s << '\n';
  out.close();
  if (!out) throw std::runtime_error("cannot write the generated id secret to " + path);
  spdlog::info("generated ids.secret and kept it in {}", path);
  return s;
}

std::unique_ptr<jobs::store> open_store(const config::store_config& sc) {
  if (sc.kind == "memory") return jobs::make_memory_store();
  if (sc.kind == "redis") {
    auto o = *jobs::parse_redis_url(sc.url);  // the config checked it
    o.prefix = sc.prefix;
    auto s = jobs::open_redis_store(o);
    // A fleet's pods may start before their Redis does: wait for it (nothing listens until
    // then, so the replica is not ready). Once running, an outage is answered with 503.
    for (int attempt = 0;; ++attempt) {
      try {
        s->ping();
        spdlog::info("store: Redis at {}:{} db {}, prefix '{}'", o.host, o.port, o.db, o.prefix);
        break;
      } catch (const std::exception&) {
        if (attempt == 0) spdlog::warn("store: Redis at {}:{} does not answer yet; waiting for it", o.host, o.port);
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
    }
    return s;
  }
  return jobs::open_sqlite_store(sc.path, sc.sync == "full");
}

asio::awaitable<void> probe(http::client& c, std::string url, int* status) {
  http::client_request req;
  req.method = "GET";
  req.url = std::move(url);
  req.connect_timeout = std::chrono::seconds(2);  // together at most 4 s: within the
  req.timeout = std::chrono::seconds(2);          // HEALTHCHECK's 5 s, and run() ends by itself
  auto r = co_await c.send(std::move(req));
  *status = r ? r->status : -1;
}

int healthcheck(const std::string& url) {
  asio::io_context ioc;
  http::client c(ioc.get_executor());
  int status = 0;
  asio::co_spawn(ioc, probe(c, url, &status), asio::detached);
  ioc.run();  // bounded by the request's own timeouts; nothing outlives the client
  if (status < 200 || status > 299) {
    std::cerr << "videogate: healthcheck " << url << ": " << (status > 0 ? "HTTP " + std::to_string(status) : "no answer") << '\n';
    return 1;
  }
  return 0;
}

/// Whether `host` (a listen address) is reachable only from this machine.
bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

}  // namespace

int main(int argc, char** argv) {
  // Until the reload handler is installed (after the store is open), a SIGHUP — a config
  // tool's or the kubelet's — must not kill the process, as its default action would.
  ::signal(SIGHUP, SIG_IGN);
#ifdef __GLIBC__
  // Two malloc arenas, not 8 per core: the network threads and the store threads would each
  // keep freed heap in arenas of their own, which the periodic trim (api/service) returns to
  // the OS less well; measured: the same speed, less resident memory (tests/bench/run.sh).
  mallopt(M_ARENA_MAX, 2);
#endif
  std::string config_path;
  bool explicit_config = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--version") {
      std::cout << "videogate " VIDEOGATE_VERSION "\n";
      return 0;
    } else if (a == "--help" || a == "-h") {
      usage(std::cout);
      return 0;
    } else if (a == "--check-config" && i + 1 < argc) {
      auto r = config::load_file(argv[++i]);
      int rc = report(r);
      if (rc == 0) std::cout << argv[i] << ": ok\n";
      return rc;
    } else if (a == "--healthcheck" && i + 1 < argc) {
      return healthcheck(argv[++i]);
    } else if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
      explicit_config = true;
    } else {
      usage(std::cerr);
      return 2;
    }
  }

  // A reload reads the same source as the start did (the file, or the embedded demo).
  std::function<config::load_result()> load_config;
  if (!explicit_config && !std::filesystem::exists(default_config_path)) {
    load_config = [] { return config::load_text(config::demo_yaml(), "<embedded demo config>"); };
  } else {
    load_config = [path = explicit_config ? config_path : std::string(default_config_path)] { return config::load_file(path); };
  }
  auto loaded = load_config();
  if (!loaded.cfg) return report(loaded);
  auto cfg = loaded.cfg;
  observe::setup_logging(cfg->log);
  spdlog::info("videogate {} starting with {}", VIDEOGATE_VERSION, cfg->source);
  // DESIGN §8: an open gateway on a reachable address is a decision someone should see.
  if (cfg->clients.empty() && !is_loopback(cfg->listen_host))
    spdlog::warn("listening on {} with no clients configured: every /v1 call is open to anyone who can reach that "
                 "address; configure clients: or listen on 127.0.0.1",
                 cfg->listen_host);

  try {
    auto st = open_store(cfg->store);
    auto secret = resolve_id_secret(*cfg, *st);
    // A networked store gets a thread (and a connection) per concurrent call.
    auto store = std::make_shared<jobs::async_store>(std::move(st), cfg->store.kind == "redis" ? 4 : 1);

    unsigned threads = cfg->threads ? cfg->threads : std::max(1u, std::thread::hardware_concurrency());
    asio::io_context ioc(static_cast<int>(threads));
    auto metrics = std::make_shared<observe::metrics>();
    http::client_options co;
    for (auto& u : cfg->upstreams)
      if (!u.ca_file.empty()) co.ca_files.push_back(u.ca_file);
    auto client = std::make_shared<http::client>(ioc.get_executor(), co);
    http::server* server_ptr = nullptr;  // set below; reloads happen only once it serves
    auto on_reload = [&server_ptr](const config::config& next) {
      observe::reconfigure_logging(next.log);
      if (server_ptr)
        server_ptr->set_limits({next.limits.max_body_bytes, next.limits.request_timeout, next.limits.header_timeout,
                                next.limits.max_connections});
    };
    auto svc = std::make_shared<api::service>(api::service_deps{cfg, store, client, metrics, secret, load_config, on_reload});
    svc->load_state();
    svc->start_watcher(asio::make_strand(ioc));

    http::server_options so;
    so.host = cfg->listen_host;
    so.port = cfg->listen_port;
    so.max_body_bytes = cfg->limits.max_body_bytes;
    so.request_timeout = cfg->limits.request_timeout;
    so.header_timeout = cfg->limits.header_timeout;
    so.max_connections = cfg->limits.max_connections;
    http::server srv(
        ioc, so, [svc](http::request& r) { return svc->handle(r); },
        [svc](const http::request& r, const error& e) { return svc->error_response(r, e); },
        [svc](const http::request& r) { return svc->check_head(r); });
    server_ptr = &srv;
    // Signals are handled on one strand, and set up before the port is announced: a SIGHUP
    // that follows the "listening" line reloads, never kills.
    auto signal_strand = asio::make_strand(ioc);
    asio::signal_set hup(signal_strand, SIGHUP);
    asio::signal_set signals(signal_strand, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      spdlog::info("signal {}: draining connections (at most 10 s)", sig);
      svc->stop();
      hup.cancel();
      srv.stop(std::chrono::seconds(10), [&ioc] { ioc.stop(); });
    });

    // SIGHUP: reload the config (the same as POST /admin/reload).
    std::function<void(const boost::system::error_code&, int)> on_hup = [&](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::info("signal SIGHUP: reloading the config");
      svc->reload();
      hup.async_wait(on_hup);
    };
    hup.async_wait(on_hup);

    auto port = srv.start();
    std::cout << "videogate listening on " << cfg->listen_host << ":" << port << std::endl;
    spdlog::info("listening on {}:{} with {} thread(s)", cfg->listen_host, port, threads);

    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
    store->stop();
    spdlog::info("stopped");
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    std::cerr << "videogate: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
