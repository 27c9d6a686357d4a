// phalanx bench: a closed-loop load generator over the client library.
//
// Each of --concurrency workers is one client identity (client-1 ... client-C
// of the cluster directory) with one call in flight at a time; a worker
// issues its next call as soon as the last one is answered. Operations that
// finish during the warm-up or after the end are not counted.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/layout.h"
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

// One operation; returns (ok, cas conflict).
std::pair<bool, bool> run_op(client::KvClient& kv, OpKind op, const std::string& key,
                             const Bytes& value) {
  switch (op) {
    case OpKind::kPut: {
      Result<kv::KvReply> r = kv.put(key, value);
      return {r && r->status == kv::KvStatus::kOk, false};
    }
    case OpKind::kGet: {
      Result<kv::KvReply> r = kv.get(key);
      return {r && (r->status == kv::KvStatus::kOk || r->status == kv::KvStatus::kNotFound), false};
    }
    case OpKind::kCas: {
      Result<kv::KvReply> read = kv.get(key);
      if (!read || (read->status != kv::KvStatus::kOk && read->status != kv::KvStatus::kNotFound)) {
        return {false, false};
      }
      Result<kv::KvReply> r = kv.cas(key, read->value, value);
      if (!r) return {false, false};
      return {r->status == kv::KvStatus::kOk || r->status == kv::KvStatus::kCompareFailed,
              r->status == kv::KvStatus::kCompareFailed};
    }
  }
  return {false, false};
}

void worker(const BenchOptions& o, const loadgen::OpMix& mix, loadgen::Distribution distribution,
            std::uint32_t index, Shared& shared) {
  client::ClientOptions co;
  co.manifest = layout::manifest(o.dir).string();
  co.identity_dir = layout::client_dir(o.dir, ClientId{index + 1}).string();
  co.timeout = std::chrono::milliseconds(o.timeout_ms);
  Result<client::Client> c = client::Client::open(co);
  if (!c) {
    if (shared.failed_to_open++ == 0) report(c.error());
    --shared.running;
    return;
  }
  client::KvClient kv(std::move(*c));
  loadgen::KeyChooser keys(distribution, std::max<std::uint64_t>(o.keys, 1),
                           o.seed * 1'000'003 + index);
  // Distinct keys: each worker its own run of names.
  const std::string prefix = distribution == loadgen::Distribution::kDistinct
                                 ? fmt::format("{}w{}-", o.prefix, index)
                                 : o.prefix;
  std::string value(o.value_bytes, 'v');
  std::uint64_t n = 0;
  while (!shared.stop.load(std::memory_order_relaxed)) {
    const bool measured = shared.measuring.load(std::memory_order_relaxed);
    if (measured && o.ops != 0 && shared.claimed.fetch_add(1) >= o.ops) break;
    const OpKind op = mix.pick(keys.uniform());
    const std::string key = loadgen::key_name(prefix, keys.next());
    const std::string stamp = fmt::format("{}:{}:", index, n++);
    std::copy_n(stamp.begin(), std::min(stamp.size(), value.size()), value.begin());
    const Clock::time_point t0 = Clock::now();
    const auto [ok, conflict] = run_op(kv, op, key, to_bytes(value));
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    // Only operations that began and ended while measuring count.
    if (measured && !shared.stop.load(std::memory_order_relaxed)) {
      shared.recorder.record(op, static_cast<std::uint64_t>(ns), ok, conflict);
    }
  }
  --shared.running;
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
  std::vector<std::thread> threads;
  for (std::uint32_t i = 0; i < o.concurrency; ++i) {
    threads.emplace_back(worker, std::cref(o), std::cref(*mix), *distribution, i,
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
  cmd->add_option("--mix", o->mix, "Operation weights: put:W,get:W,cas:W (cas: read, then cas)")
      ->capture_default_str();
  cmd->add_option("--distribution", o->distribution,
                  "Keys: distinct (never reused), uniform or zipfian over --keys")
      ->capture_default_str();
  cmd->add_option("--keys", o->keys, "Key space of uniform and zipfian")->capture_default_str();
  cmd->add_option("--value-bytes", o->value_bytes, "Value size")
      ->check(CLI::Range(std::size_t{1}, kv::kValueBytesMax))
      ->capture_default_str();
  cmd->add_option("--duration", o->duration, "Seconds measured (after the warm-up)")
      ->capture_default_str();
  cmd->add_option("--ops", o->ops, "Stop after this many measured operations instead");
  cmd->add_option("--warmup", o->warmup, "Seconds of load before measuring")->capture_default_str();
  cmd->add_option("--prefix", o->prefix, "Key prefix")->capture_default_str();
  cmd->add_option("--target", o->target, "Label for the results (default: the directory)");
  cmd->add_option("--json", o->json, "Write the results as JSON to this file (- for stdout)");
  cmd->add_option("--plot", o->plot, "Draw throughput and p50/p99 over time into this SVG file");
  cmd->add_option("--timeout-ms", o->timeout_ms, "A call fails after this long, retries included")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the key and operation choices")
      ->capture_default_str();
  cmd->callback([&run, o] { run = [o] { return run_bench(*o); }; });
}

}  // namespace phalanx::cli
