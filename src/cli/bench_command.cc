// phalanx bench: a closed-loop load generator over the client library.
//
// Each of --concurrency workers is one client identity (client-1 ... client-C
// of the cluster directory) with one call in flight at a time; a worker
// issues its next call as soon as the last one is answered. The workers
// share --threads event loops (one per core by default), as wrk's
// connections do. Operations that finish during the warm-up or after the
// end are not counted.
#include <fmt/format.h>

#include <asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/layout.h"
#include "cli/target.h"
#include "loadgen/report.h"
#include "phalanx/client.h"

namespace phalanx::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using loadgen::OpKind;

struct BenchOptions {
  fs::path dir;
  std::uint32_t concurrency = 1;
  std::uint32_t threads = 0;  // event-loop threads; 0: one per core
  std::string mix = "put:100";
  std::string distribution = "distinct";
  std::uint64_t keys = 100'000;
  std::size_t value_bytes = 64;
  double duration = 10;
  std::uint64_t ops = 0;  // 0: run for --duration
  double warmup = 1;
  std::string prefix = "bench-";
  std::string target;
  fs::path json;
  fs::path plot;
  std::uint64_t timeout_ms = 10'000;
  std::uint64_t seed = 1;
};

// Shared by the workers and the main thread.
struct Shared {
  loadgen::Recorder recorder;
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> claimed{0};  // measured operations started (--ops)
  std::atomic<std::uint32_t> running{0};
  std::atomic<std::uint32_t> failed_to_open{0};
};

// A finished operation: (ok, cas conflict).
using OpDone = std::function<void(bool ok, bool conflict)>;

bool ok_status(const Result<kv::KvReply>& r, bool not_found_ok) {
  return r &&
         (r->status == kv::KvStatus::kOk || (not_found_ok && r->status == kv::KvStatus::kNotFound));
}

// One closed-loop worker: a client identity with one call in flight,
// issuing the next as soon as the last one is answered.
class Worker {
 public:
  Worker(client::Client client, const BenchOptions& o, const loadgen::OpMix& mix,
         loadgen::Distribution distribution, std::uint32_t index, Shared& shared,
         std::uint32_t& stopped_here)
      : client_(std::move(client)),
        o_(o),
        mix_(mix),
        shared_(shared),
        stopped_here_(stopped_here),
        index_(index),
        keys_(distribution, std::max<std::uint64_t>(o.keys, 1), o.seed * 1'000'003 + index),
        // Distinct keys: each worker its own run of names.
        prefix_(distribution == loadgen::Distribution::kDistinct
                    ? fmt::format("{}w{}-", o.prefix, index)
                    : o.prefix),
        value_(o.value_bytes, 'v') {}

  // Starts the next operation, or stops (shared.running and this thread's
  // count of stopped workers record it) once the run is over.
  void next() {
    const bool measured = shared_.measuring.load(std::memory_order_relaxed);
    if (shared_.stop.load(std::memory_order_relaxed) ||
        (measured && o_.ops != 0 && shared_.claimed.fetch_add(1) >= o_.ops)) {
      --shared_.running;
      ++stopped_here_;
      return;
    }
    const OpKind op = mix_.pick(keys_.uniform());
    const std::string key = loadgen::key_name(prefix_, keys_.next());
    const std::string stamp = fmt::format("{}:{}:", index_, n_++);
    std::copy_n(stamp.begin(), std::min(stamp.size(), value_.size()), value_.begin());
    const Clock::time_point t0 = Clock::now();
    run(op, key, to_bytes(value_), [this, op, measured, t0](bool ok, bool conflict) {
      const auto ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
      // Only operations that began and ended while measuring count.
      if (measured && !shared_.stop.load(std::memory_order_relaxed)) {
        shared_.recorder.record(op, static_cast<std::uint64_t>(ns), ok, conflict);
      }
      next();
    });
  }

 private:
  void call(kv::KvCommand command, std::function<void(Result<kv::KvReply>)> done) {
    client_.start(
        [&command](ClientId client, std::uint64_t sequence) {
          command.client = client;
          command.sequence = sequence;
          return codec::encode(command);
        },
        [done = std::move(done)](Result<Bytes> reply) {
          if (!reply) return done(Unexpected(std::move(reply).error()));
          done(codec::decode<kv::KvReply>(*reply));
        });
  }

  void run(OpKind op, const std::string& key, Bytes value, OpDone done) {
    switch (op) {
      case OpKind::kPut:
        return call({{}, 0, kv::KvOp::kPut, key, std::move(value), std::nullopt},
                    [done](Result<kv::KvReply> r) { done(ok_status(r, false), false); });
      case OpKind::kGet:
        return call({{}, 0, kv::KvOp::kGet, key, {}, std::nullopt},
                    [done](Result<kv::KvReply> r) { done(ok_status(r, true), false); });
      case OpKind::kCas:
        // Read, then compare-and-set against what was read.
        return call({{}, 0, kv::KvOp::kGet, key, {}, std::nullopt},
                    [this, key, value = std::move(value), done](Result<kv::KvReply> read) {
                      if (!ok_status(read, true)) return done(false, false);
                      call({{}, 0, kv::KvOp::kCompareAndSet, key, value, read->value},
                           [done](Result<kv::KvReply> r) {
                             const bool conflict = r && r->status == kv::KvStatus::kCompareFailed;
                             done(ok_status(r, false) || conflict, conflict);
                           });
                    });
    }
  }

  client::Client client_;
  const BenchOptions& o_;
  const loadgen::OpMix& mix_;
  Shared& shared_;
  std::uint32_t& stopped_here_;
  std::uint32_t index_;
  loadgen::KeyChooser keys_;
  std::string prefix_;
  std::string value_;
  std::uint64_t n_ = 0;
};

// One event-loop thread driving workers first, first + stride, ... on one
// io_context, as wrk drives its connections.
void event_loop(const BenchOptions& o, const loadgen::OpMix& mix,
                loadgen::Distribution distribution, std::uint32_t first, std::uint32_t stride,
                Shared& shared) {
  asio::io_context io(1);
  std::vector<std::unique_ptr<Worker>> workers;  // destroyed before io, while it is not running
  std::uint32_t stopped = 0;
  for (std::uint32_t i = first; i < o.concurrency; i += stride) {
    client::ClientOptions co;
    co.manifest = layout::manifest(o.dir).string();
    co.identity_dir = layout::client_dir(o.dir, ClientId{i + 1}).string();
    co.timeout = std::chrono::milliseconds(o.timeout_ms);
    co.io = &io;
    Result<client::Client> c = client::Client::open(co);
    if (!c) {
      if (shared.failed_to_open++ == 0) report(c.error());
      --shared.running;
      continue;
    }
    workers.push_back(
        std::make_unique<Worker>(std::move(*c), o, mix, distribution, i, shared, stopped));
  }
  for (const auto& w : workers) w->next();
  while (stopped < workers.size()) io.run_one_for(std::chrono::milliseconds(100));
}

Status write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return fail(ErrorCode::kIo, fmt::format("cannot write {}", path.string()));
  return {};
}

int run_bench(const BenchOptions& o) {
  if (o.dir.empty()) {
    return report(Error(ErrorCode::kInvalidArgument, "say where the cluster is: --dir D"));
  }
  Result<loadgen::OpMix> mix = loadgen::OpMix::parse(o.mix);
  if (!mix) return report(mix.error());
  Result<loadgen::Distribution> distribution = loadgen::parse_distribution(o.distribution);
  if (!distribution) return report(distribution.error());
  for (std::uint32_t i = 1; i <= o.concurrency; ++i) {
    if (!fs::exists(layout::client_dir(o.dir, ClientId{i}))) {
      return report(Error(
          ErrorCode::kInvalidArgument,
          fmt::format("--concurrency {} needs a client identity per worker, and {} has none for "
                      "client {}: make the cluster with `phalanx cluster init --clients {}`",
                      o.concurrency, o.dir.string(), i, o.concurrency)));
    }
  }
  auto shared = std::make_unique<Shared>();
  shared->running = o.concurrency;
  const std::uint32_t loops =
      std::min(o.concurrency,
               o.threads != 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (std::uint32_t first = 0; first < loops; ++first) {
    threads.emplace_back(event_loop, std::cref(o), std::cref(*mix), *distribution, first, loops,
                         std::ref(*shared));
  }
  const Clock::time_point start = Clock::now();
  Clock::time_point measure_start = start;
  Clock::time_point end = start;
  const auto since = [](Clock::time_point from) {
    return std::chrono::duration<double>(Clock::now() - from).count();
  };
  if (o.warmup <= 0) shared->measuring = true;
  std::uint64_t last_ops = 0;
  double last_end = 0;  // where the last interval closed
  Clock::time_point next_tick = start;
  for (;;) {
    next_tick += std::chrono::milliseconds(250);
    std::this_thread::sleep_until(next_tick);
    if (!shared->measuring) {
      if (since(start) >= o.warmup) {
        shared->recorder.reset();
        measure_start = Clock::now();
        shared->measuring = true;
      }
      fmt::print(stderr, "\r  warming up {:.1f} s   ", since(start));
      continue;
    }
    const double t = since(measure_start);
    const bool finished = shared->running == 0 || (o.ops == 0 && t >= o.duration);
    if (finished) {
      shared->stop = true;
      end = Clock::now();
    }
    // An interval per second, and a last, shorter one.
    const auto whole = static_cast<std::uint64_t>(t);
    if (static_cast<double>(whole) > last_end || finished) {
      const double interval_end = finished ? t : static_cast<double>(whole);
      const double length = interval_end - last_end;
      shared->recorder.close_interval(interval_end);
      last_end = interval_end;
      const loadgen::Recorder::Progress p = shared->recorder.progress();
      fmt::print(stderr,
                 "\r  {:>6.1f} s  {:>8.0f} ops/s  total {:>9}  p50 {:>7.2f} ms  p99 {:>7.2f} ms  "
                 "errors {}   ",
                 t, static_cast<double>(p.ops - last_ops) / std::max(length, 1e-3), p.ops,
                 static_cast<double>(p.p50_ns) / 1e6, static_cast<double>(p.p99_ns) / 1e6,
                 p.errors);
      last_ops = p.ops;
    }
    if (finished) break;
  }
  for (std::thread& th : threads) th.join();
  fmt::print(stderr, "\n");
  if (shared->failed_to_open == o.concurrency) {
    return report(Error(ErrorCode::kUnavailable, "no worker could open its client"));
  }
  loadgen::RunSettings settings{
      o.target.empty() ? fmt::format("phalanx ({})", o.dir.string()) : o.target,
      o.concurrency,
      *mix,
      *distribution,
      o.keys,
      o.value_bytes,
      o.warmup};
  const loadgen::RunResult result =
      shared->recorder.result(settings, std::chrono::duration<double>(end - measure_start).count());
  fmt::print("{}", loadgen::to_table(result));
  if (!o.json.empty()) {
    if (o.json == "-") {
      fmt::print("{}\n", loadgen::to_json(result));
    } else if (Status s = write_file(o.json, loadgen::to_json(result) + "\n"); !s) {
      return report(s.error());
    }
  }
  if (!o.plot.empty()) {
    if (Status s = write_file(o.plot, loadgen::plot_svg(result)); !s) return report(s.error());
    fmt::print(stderr, "plot: {}\n", o.plot.string());
  }
  if (result.ops() == 0) {
    return report(Error(ErrorCode::kUnavailable, "no operation completed while measuring"));
  }
  return kExitOk;
}

}  // namespace

void add_bench_command(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Closed-loop load: C workers (client-1..client-C of --dir), each one call at a time");
  cmd->add_option("--dir", o->dir, "Cluster directory from `phalanx cluster init`")->required();
  cmd->add_option("-c,--concurrency", o->concurrency, "Workers, each its own client identity")
      ->check(CLI::Range(1u, 4096u))
      ->capture_default_str();
  cmd->add_option("--threads", o->threads,
                  "Event-loop threads the workers are shared out on (0: one per core)")
      ->check(CLI::Range(0u, 1024u))
      ->capture_default_str();
  cmd->add_option("--mix", o->mix, "Operation weights: put:W,get:W,cas:W (cas: read, then cas)")
      ->capture_default_str();
  cmd->add_option("--distribution", o->distribution,
                  "Keys: distinct (never reused), uniform or zipfian over --keys")
      ->capture_default_str();
  cmd->add_option("--keys", o->keys, "Key space of uniform and zipfian")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40))
      ->capture_default_str();
  cmd->add_option("--value-bytes", o->value_bytes, "Value size")
      ->check(CLI::Range(std::size_t{1}, kv::kValueBytesMax))
      ->capture_default_str();
  cmd->add_option("--duration", o->duration, "Seconds measured (after the warm-up)")
      ->check(CLI::Range(0.001, 86'400.0))
      ->capture_default_str();
  cmd->add_option("--ops", o->ops, "Stop after this many measured operations instead");
  cmd->add_option("--warmup", o->warmup, "Seconds of load before measuring")
      ->check(CLI::Range(0.0, 86'400.0))
      ->capture_default_str();
  cmd->add_option("--prefix", o->prefix, "Key prefix")
      ->check(key_prefix_check())
      ->capture_default_str();
  cmd->add_option("--target", o->target, "Label for the results (default: the directory)");
  cmd->add_option("--json", o->json, "Write the results as JSON to this file (- for stdout)");
  cmd->add_option("--plot", o->plot, "Draw throughput and p50/p99 over time into this SVG file");
  cmd->add_option("--timeout-ms", o->timeout_ms, "A call fails after this long, retries included")
      ->check(CLI::Range(std::uint64_t{1}, kTimeoutMsMax))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the key and operation choices")
      ->capture_default_str();
  cmd->callback([&run, o] { run = [o] { return run_bench(*o); }; });
}

}  // namespace phalanx::cli
