#include "loadgen/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace phalanx::loadgen {
namespace {

constexpr std::array<OpKind, 3> kOps = {OpKind::kPut, OpKind::kGet, OpKind::kCas};

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string xml_escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

nlohmann::json latency_json(const Histogram& h) {
  return {{"count", h.count()},
          {"mean_ms", h.mean() / 1e6},
          {"p50_ms", ms(h.percentile(50))},
          {"p90_ms", ms(h.percentile(90))},
          {"p99_ms", ms(h.percentile(99))},
          {"p999_ms", ms(h.percentile(99.9))},
          {"max_ms", ms(h.max())}};
}

}  // namespace

void Recorder::record(OpKind op, std::uint64_t latency_ns, bool ok, bool cas_conflict) {
  const std::scoped_lock lock(mu_);
  if (!ok) {
    ++run_.errors;
    return;
  }
  if (cas_conflict) ++run_.cas_conflicts;
  run_.by_op[static_cast<std::size_t>(op)].record(latency_ns);
  run_.all.record(latency_ns);
  interval_.record(latency_ns);
}

void Recorder::close_interval(double end_seconds) {
  const std::scoped_lock lock(mu_);
  const double length = end_seconds - interval_start_;
  run_.timeline.push_back({end_seconds, interval_.count(),
                           length > 0 ? static_cast<double>(interval_.count()) / length : 0,
                           interval_.percentile(50), interval_.percentile(99)});
  interval_ = Histogram{};
  interval_start_ = end_seconds;
}

void Recorder::reset() {
  const std::scoped_lock lock(mu_);
  run_ = RunResult{};
  interval_ = Histogram{};
  interval_start_ = 0;
}

Recorder::Progress Recorder::progress() const {
  const std::scoped_lock lock(mu_);
  return {run_.all.count(), run_.errors, run_.all.percentile(50), run_.all.percentile(99)};
}

RunResult Recorder::result(RunSettings settings, double seconds) const {
  const std::scoped_lock lock(mu_);
  RunResult r = run_;
  r.settings = std::move(settings);
  r.seconds = seconds;
  return r;
}

std::string to_table(const RunResult& r) {
  const RunSettings& s = r.settings;
  std::string out = fmt::format(
      "{}: concurrency {}, mix {}, keys {}{}, values {} B, {:.1f} s measured after {:.1f} s "
      "warm-up\n",
      s.target, s.concurrency, s.mix.to_string(), distribution_name(s.distribution),
      s.distribution == Distribution::kDistinct ? "" : fmt::format(" over {}", s.key_space),
      s.value_bytes, r.seconds, s.warmup_seconds);
  out += fmt::format("{:<6} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "op", "count", "ops/s",
                     "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms");
  const auto row = [&](std::string_view name, const Histogram& h) {
    out += fmt::format("{:<6} {:>9} {:>10.0f} {:>9.3f} {:>9.3f} {:>9.3f} {:>9.3f} {:>9.3f}\n", name,
                       h.count(), r.seconds > 0 ? static_cast<double>(h.count()) / r.seconds : 0,
                       ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)),
                       ms(h.percentile(99.9)), ms(h.max()));
  };
  for (OpKind op : kOps) {
    const Histogram& h = r.by_op[static_cast<std::size_t>(op)];
    if (h.count() > 0) row(op_name(op), h);
  }
  row("all", r.all);
  out += fmt::format("errors {}, cas conflicts {}\n", r.errors, r.cas_conflicts);
  return out;
}

std::string to_json(const RunResult& r) {
  const RunSettings& s = r.settings;
  nlohmann::json ops = nlohmann::json::object();
  for (OpKind op : kOps) {
    const Histogram& h = r.by_op[static_cast<std::size_t>(op)];
    if (h.count() > 0) ops[std::string(op_name(op))] = latency_json(h);
  }
  nlohmann::json timeline = nlohmann::json::array();
  for (const Interval& i : r.timeline) {
    timeline.push_back({{"end_s", i.end_seconds},
                        {"ops", i.ops},
                        {"ops_per_s", i.ops_per_second},
                        {"p50_ms", ms(i.p50_ns)},
                        {"p99_ms", ms(i.p99_ns)}});
  }
  nlohmann::json j{{"target", s.target},
                   {"concurrency", s.concurrency},
                   {"mix", s.mix.to_string()},
                   {"distribution", distribution_name(s.distribution)},
                   {"key_space", s.key_space},
                   {"value_bytes", s.value_bytes},
                   {"warmup_s", s.warmup_seconds},
                   {"seconds", r.seconds},
                   {"ops", r.ops()},
                   {"ops_per_s", r.ops_per_second()},
                   {"errors", r.errors},
                   {"cas_conflicts", r.cas_conflicts},
                   {"latency", latency_json(r.all)},
                   {"by_op", ops},
                   {"timeline", timeline}};
  return j.dump(2);
}

std::string plot_svg(const RunResult& r) {
  constexpr double kWidth = 720, kPanel = 220, kLeft = 70, kRight = 20, kTop = 40, kGap = 60;
  const double plot_w = kWidth - kLeft - kRight;
  const double height = kTop + 2 * kPanel + kGap + 40;
  double t_max = 1, ops_max = 1, lat_max = 0.001;
  for (const Interval& i : r.timeline) {
    t_max = std::max(t_max, i.end_seconds);
    ops_max = std::max(ops_max, i.ops_per_second);
    lat_max = std::max(lat_max, ms(i.p99_ns));
  }
  ops_max *= 1.1;
  lat_max *= 1.1;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"20\" font-size=\"14\">{3}: concurrency {4}, {5:.0f} ops/s, "
      "p99 {6:.2f} ms</text>\n",
      kWidth, height, kLeft, xml_escaped(r.settings.target), r.settings.concurrency,
      r.ops_per_second(), ms(r.all.percentile(99)));
  // One panel: axes, labels and a polyline per series.
  const auto panel = [&](double top, std::string_view label, double y_max,
                         const std::vector<std::pair<std::string_view, std::vector<double>>>&
                             series) {
    svg += fmt::format(
        "<g><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n"
        "<text x=\"{}\" y=\"{}\">{}</text>\n<text x=\"{}\" y=\"{}\" "
        "text-anchor=\"end\">{:.4g}</text>\n"
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\n",
        kLeft, top, plot_w, kPanel, kLeft, top - 6, label, kLeft - 6, top + 12, y_max, kLeft - 6,
        top + kPanel);
    const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c"};
    std::size_t color = 0;
    for (const auto& [name, ys] : series) {
      std::string points;
      for (std::size_t k = 0; k < ys.size() && k < r.timeline.size(); ++k) {
        const double x = kLeft + plot_w * r.timeline[k].end_seconds / t_max;
        const double y = top + kPanel - kPanel * std::min(ys[k] / y_max, 1.0);
        points += fmt::format("{:.1f},{:.1f} ", x, y);
      }
      svg += fmt::format(
          "<polyline fill=\"none\" stroke=\"{0}\" stroke-width=\"2\" points=\"{1}\"/>\n"
          "<text x=\"{2}\" y=\"{3}\" fill=\"{0}\" text-anchor=\"end\">{4}</text>\n",
          colors[color % 3], points, kLeft + plot_w - 4, top + 14 + 14 * static_cast<double>(color),
          name);
      ++color;
    }
    svg += "</g>\n";
  };
  std::vector<double> ops, p50, p99;
  for (const Interval& i : r.timeline) {
    ops.push_back(i.ops_per_second);
    p50.push_back(ms(i.p50_ns));
    p99.push_back(ms(i.p99_ns));
  }
  panel(kTop + 10, "operations per second", ops_max, {{"ops/s", ops}});
  panel(kTop + 10 + kPanel + kGap, "latency (ms)", lat_max, {{"p50", p50}, {"p99", p99}});
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">seconds ({:.0f} s)</text>\n",
                     kLeft + plot_w / 2, height - 10, t_max);
  svg += "</svg>\n";
  return svg;
}

}  // namespace phalanx::loadgen
