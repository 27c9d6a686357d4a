// phalanx kv put | get | del | cas | range | load | verify
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>

#include "cli/commands.h"
#include "cli/layout.h"
#include "cli/target.h"
#include "phalanx/client.h"

namespace phalanx::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using kv::KvStatus;

constexpr int kExitNotFound = 4;
constexpr int kExitCompareFailed = 5;

Result<client::KvClient> open_kv(const Target& t) {
  PHALANX_ASSIGN_OR_RETURN(client::Client c, t.open_client());
  return client::KvClient(std::move(c));
}

// Prints a reply the way a shell user wants it; returns the exit code.
int show(const Result<kv::KvReply>& reply, bool print_value) {
  if (!reply) return report(reply.error());
  switch (reply->status) {
    case KvStatus::kOk:
      if (print_value && reply->value) {
        fmt::print("{}\n", std::string(reply->value->begin(), reply->value->end()));
      } else if (!print_value) {
        fmt::print("OK\n");
      }
      return kExitOk;
    case KvStatus::kNotFound: fmt::print(stderr, "not found\n"); return kExitNotFound;
    case KvStatus::kCompareFailed:
      fmt::print(
          stderr, "compare failed; current value: {}\n",
          reply->value ? std::string(reply->value->begin(), reply->value->end()) : "(absent)");
      return kExitCompareFailed;
    case KvStatus::kReplay:
      return report(Error(ErrorCode::kInvalidArgument,
                          "refused as a replay: this client's sequence numbers went backwards "
                          "(was the clock set back, or is another process using this identity?)"));
    case KvStatus::kSessionsFull:
      return report(Error(ErrorCode::kUnavailable, "the cluster's session table is full"));
    case KvStatus::kMalformed:
      return report(Error(ErrorCode::kInvalidArgument, "the cluster could not decode the command"));
  }
  return kExitError;
}

// Opens a client of `t`, runs `op` and prints its reply.
int with_kv(const Target& t, const std::function<Result<kv::KvReply>(client::KvClient&)>& op,
            bool print_value) {
  Result<client::KvClient> c = open_kv(t);
  if (!c) return report(c.error());
  return show(op(*c), print_value);
}

struct LoadOptions {
  Target target;
  std::uint64_t count = 1000;
  std::string prefix = "key";
  std::size_t value_bytes = 64;
  fs::path out;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const auto at = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(at), v.end());
  return v[at];
}

// Writes `count` distinct keys one after another; every acknowledged write is
// appended to --out, so `kv verify` can read each one back later.
int run_load(const LoadOptions& o) {
  Result<client::KvClient> kv = open_kv(o.target);
  if (!kv) return report(kv.error());
  std::ofstream out(o.out, std::ios::app);
  if (!out) return report(Error(ErrorCode::kIo, fmt::format("cannot write {}", o.out.string())));
  std::vector<double> latencies_ms;
  std::uint64_t failed = 0;
  const Clock::time_point start = Clock::now();
  Clock::time_point last_print = start;
  for (std::uint64_t i = 0; i < o.count; ++i) {
    const std::string key = fmt::format("{}-{:08}", o.prefix, i);
    std::string value = fmt::format("v{}-", i);
    value.resize(std::max(o.value_bytes, value.size()), 'x');
    const Clock::time_point t0 = Clock::now();
    Result<kv::KvReply> r = kv->put(key, to_bytes(value));
    const Clock::time_point t1 = Clock::now();
    if (r && r->status == KvStatus::kOk) {
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      out << key << '\t' << value << '\n' << std::flush;
    } else if (!r && r.error().code() == ErrorCode::kInvalidArgument) {
      fmt::print(stderr, "\n");
      return report(r.error());  // every later write would be refused the same way
    } else {
      ++failed;
      fmt::print(stderr, "\nput {}: {}\n", key, r ? "refused" : r.error().to_string());
    }
    if (t1 - last_print > std::chrono::milliseconds(250) || i + 1 == o.count) {
      last_print = t1;
      const double secs = std::chrono::duration<double>(t1 - start).count();
      fmt::print(stderr,
                 "\r  {:>7}/{} writes acknowledged  {:>7.0f} ops/s  p50 {:>6.2f} ms  "
                 "p99 {:>6.2f} ms  failed {}   ",
                 latencies_ms.size(), o.count, static_cast<double>(latencies_ms.size()) / secs,
                 percentile(latencies_ms, 0.5), percentile(latencies_ms, 0.99), failed);
    }
  }
  fmt::print(stderr, "\n");
  fmt::print("{} of {} writes acknowledged; each is recorded in {}\n", latencies_ms.size(), o.count,
             o.out.string());
  return failed == 0 ? kExitOk : kExitError;
}

struct RangeOptions {
  Target target;
  std::string from;
  std::string end;
  std::optional<std::string> prefix;
  std::uint64_t limit = 0;  // 0: every key in the range
  std::uint32_t page = kv::kRangeEntriesMax;
  bool keys_only = false;
};

// Prints the range page by page (each page one linearizable read of at most
// --page entries), up to --limit entries in all.
int run_range(const RangeOptions& o) {
  Result<client::KvClient> kv = open_kv(o.target);
  if (!kv) return report(kv.error());
  std::string from = o.prefix ? *o.prefix : o.from;
  const std::string end = o.prefix ? kv::prefix_end(*o.prefix) : o.end;
  std::uint64_t printed = 0;
  for (;;) {
    const std::uint64_t left = o.limit == 0 ? o.page : o.limit - printed;
    const auto page_limit = static_cast<std::uint32_t>(std::min<std::uint64_t>(left, o.page));
    Result<kv::KvReply> r = kv->range(from, end, page_limit);
    if (!r || r->status != KvStatus::kOk) return show(r, false);
    for (const kv::KvEntry& e : r->entries) {
      if (o.keys_only) {
        fmt::print("{}\n", e.key);
      } else {
        fmt::print("{}\t{}\n", e.key, std::string(e.value.begin(), e.value.end()));
      }
    }
    printed += r->entries.size();
    if (!r->more || r->entries.empty() || (o.limit != 0 && printed >= o.limit)) break;
    from = r->entries.back().key + '\0';  // the first key after the last one printed
  }
  return kExitOk;
}

int run_verify(const Target& t, const fs::path& in_path) {
  Result<client::KvClient> kv = open_kv(t);
  if (!kv) return report(kv.error());
  std::ifstream in(in_path);
  if (!in)
    return report(Error(ErrorCode::kNotFound, fmt::format("cannot read {}", in_path.string())));
  std::uint64_t checked = 0;
  std::uint64_t wrong = 0;
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const std::string key = line.substr(0, tab);
    const std::string want = line.substr(tab + 1);
    Result<kv::KvReply> r = kv->get(key);
    ++checked;
    if (!r || r->status != KvStatus::kOk || !r->value ||
        std::string(r->value->begin(), r->value->end()) != want) {
      ++wrong;
      fmt::print(stderr, "\n{}: {}\n", key,
                 !r ? r.error().to_string()
                    : (r->status == KvStatus::kNotFound ? "LOST (not found)" : "WRONG value"));
    }
    if (checked % 100 == 0) fmt::print(stderr, "\r  {} read back", checked);
  }
  fmt::print(stderr, "\n");
  fmt::print("{} acknowledged writes read back: {} correct, {} lost or wrong\n", checked,
             checked - wrong, wrong);
  return wrong == 0 ? kExitOk : kExitError;
}

}  // namespace

void add_kv_commands(CLI::App& app, std::function<int()>& run) {
  CLI::App* kv =
      app.add_subcommand("kv", "Use the replicated key-value store (linearizable in both modes)");
  kv->require_subcommand(1);
  auto t = std::make_shared<Target>();
  auto key = std::make_shared<std::string>();
  auto value = std::make_shared<std::string>();
  auto expect = std::make_shared<std::optional<std::string>>();
  auto expect_absent = std::make_shared<bool>(false);

  CLI::App* put = kv->add_subcommand("put", "Set KEY to VALUE");
  put->add_option("key", *key, "Key")->required();
  put->add_option("value", *value, "Value")->required();
  add_target_options(put, *t);
  put->callback([&run, t, key, value] {
    run = [t, key, value] {
      return with_kv(
          *t, [&](client::KvClient& c) { return c.put(*key, to_bytes(*value)); }, false);
    };
  });

  CLI::App* get = kv->add_subcommand("get", "Print KEY's value (exit 4 if absent)");
  get->add_option("key", *key, "Key")->required();
  add_target_options(get, *t);
  get->callback([&run, t, key] {
    run = [t, key] {
      return with_kv(
          *t, [&](client::KvClient& c) { return c.get(*key); }, true);
    };
  });

  CLI::App* del = kv->add_subcommand("del", "Delete KEY (exit 4 if absent)");
  del->add_option("key", *key, "Key")->required();
  add_target_options(del, *t);
  del->callback([&run, t, key] {
    run = [t, key] {
      return with_kv(
          *t, [&](client::KvClient& c) { return c.del(*key); }, false);
    };
  });

  CLI::App* cas = kv->add_subcommand(
      "cas",
      "Set KEY to VALUE only if it is --expect OLD (or absent, --expect-absent); exit 5 if not");
  cas->add_option("key", *key, "Key")->required();
  cas->add_option("value", *value, "New value")->required();
  auto* expect_opt = cas->add_option("--expect", *expect, "The value KEY must have now");
  cas->add_flag("--expect-absent", *expect_absent, "KEY must not exist now")->excludes(expect_opt);
  add_target_options(cas, *t);
  cas->callback([&run, t, key, value, expect, expect_absent] {
    run = [t, key, value, expect, expect_absent] {
      if (!*expect && !*expect_absent) {
        return report(Error(ErrorCode::kInvalidArgument, "give --expect OLD or --expect-absent"));
      }
      std::optional<Bytes> want;
      if (*expect) want = to_bytes(**expect);
      return with_kv(
          *t, [&](client::KvClient& c) { return c.cas(*key, want, to_bytes(*value)); }, false);
    };
  });

  auto range = std::make_shared<RangeOptions>();
  CLI::App* range_cmd =
      kv->add_subcommand("range",
                         "Print the keys in [FROM, END) in order, one `key<TAB>value` line each "
                         "(END omitted: to the last key)");
  auto* from_opt = range_cmd->add_option("from", range->from, "First key (default: the first)");
  auto* end_opt = range_cmd->add_option("end", range->end, "Key after the range");
  range_cmd->add_option("--prefix", range->prefix, "Every key starting with this")
      ->excludes(from_opt)
      ->excludes(end_opt);
  range_cmd->add_option("--limit", range->limit, "Print at most this many (0: all)")
      ->capture_default_str();
  range_cmd->add_option("--page", range->page, "Entries per request; each page is one read")
      ->check(CLI::Range(1u, kv::kRangeEntriesMax))
      ->capture_default_str();
  range_cmd->add_flag("--keys-only", range->keys_only, "Print keys without values");
  add_target_options(range_cmd, range->target);
  range_cmd->callback([&run, range] { run = [range] { return run_range(*range); }; });

  auto load = std::make_shared<LoadOptions>();
  CLI::App* load_cmd =
      kv->add_subcommand("load",
                         "Write COUNT distinct keys one by one with a progress line; record each "
                         "acknowledged write in --out");
  load_cmd->add_option("--count", load->count, "Writes")->capture_default_str();
  load_cmd->add_option("--prefix", load->prefix, "Key prefix")
      ->check(key_prefix_check())
      ->capture_default_str();
  load_cmd->add_option("--value-bytes", load->value_bytes, "Value size")
      ->check(CLI::Range(std::size_t{0}, kv::kValueBytesMax))
      ->capture_default_str();
  load_cmd->add_option("--out", load->out, "File of acknowledged writes (appended)")->required();
  add_target_options(load_cmd, load->target);
  load_cmd->callback([&run, load] { run = [load] { return run_load(*load); }; });

  auto in = std::make_shared<fs::path>();
  CLI::App* verify = kv->add_subcommand(
      "verify", "Read back every write recorded by `kv load` and check its value");
  verify->add_option("--in", *in, "File written by `kv load --out`")->required();
  add_target_options(verify, *t);
  verify->callback([&run, t, in] { run = [t, in] { return run_verify(*t, *in); }; });
}

}  // namespace phalanx::cli
