// phalanx evidence submit | posterior | sources | proof | config | configure
#include <fmt/format.h>

#include <cmath>
#include <memory>

#include "cli/commands.h"
#include "cli/target.h"

namespace phalanx::cli {
namespace {

using evidence::EvidenceReply;
using evidence::EvidenceStatus;

constexpr int kExitNotFound = 4;

std::string short_hex(const crypto::Hash32& h) { return to_hex(h.view()).substr(0, 16); }

std::string nats_text(evidence::Units u) { return fmt::format("{:.6f}", evidence::to_nats(u)); }

void print_posterior(const evidence::Posterior& p) {
  if (!p.log_odds) {
    fmt::print("hypothesis '{}': insufficient evidence ({} of the {} distinct sources needed)\n",
               p.hypothesis, p.sources, p.min_sources);
    return;
  }
  // The probability is for people; the replicated state has only log-odds.
  const double probability = 1.0 / (1.0 + std::exp(-evidence::to_nats(*p.log_odds)));
  fmt::print("hypothesis '{}': log-odds {} nats (probability {:.6f})\n", p.hypothesis,
             nats_text(*p.log_odds), probability);
  fmt::print("  from {} sources ({} trimmed at each end), trimmed mean {} nats, prior {} nats\n",
             p.sources, p.trimmed / 2, nats_text(*p.mean), nats_text(p.prior));
}

// Runs `op` against the cluster and prints its reply with `print`; the exit
// code says how it went.
int with_evidence(const Target& t,
                  const std::function<Result<EvidenceReply>(client::EvidenceClient&)>& op,
                  const std::function<int(const EvidenceReply&, const client::Client&)>& print) {
  Result<client::Client> c = t.open_client();
  if (!c) return report(c.error());
  client::EvidenceClient ev(std::move(*c));
  Result<EvidenceReply> reply = op(ev);
  if (!reply) return report(reply.error());
  switch (reply->status) {
    case EvidenceStatus::kOk: return print(*reply, ev.client());
    case EvidenceStatus::kInsufficientEvidence:
      print_posterior(*reply->posterior);
      return kExitNotFound;
    case EvidenceStatus::kNotFound:
      fmt::print(stderr, "not found: {}\n", reply->detail);
      return kExitNotFound;
    default:
      return report(Error(
          ErrorCode::kInvalidArgument,
          fmt::format("refused ({}): {}", evidence::status_name(reply->status), reply->detail)));
  }
}

void print_config(const evidence::EvidenceConfig& c, std::uint64_t version) {
  fmt::print("evidence configuration, version {}{}\n", version, version == 0 ? " (genesis)" : "");
  fmt::print("  resolution       {} nats\n", evidence::to_nats(c.resolution));
  fmt::print("  ratio_bound      {} nats\n", evidence::to_nats(c.ratio_bound));
  fmt::print("  source_clip      {} nats\n", evidence::to_nats(c.source_clip));
  fmt::print("  prior            {} nats\n", evidence::to_nats(c.prior));
  fmt::print("  trim             {}\n", c.trim);
  fmt::print("  min_sources      {}\n", c.min_sources);
  fmt::print("  items_per_block  {}\n", c.items_per_block);
  fmt::print("  hypotheses_max   {}\n", c.hypotheses_max);
  fmt::print("  weighted         {}\n", c.weighted);
}

// SOURCE:SEQUENCE, both positive.
Result<std::pair<ClientId, std::uint64_t>> parse_item(const std::string& text) {
  const auto colon = text.find(':');
  std::uint64_t source = 0;
  std::uint64_t sequence = 0;
  if (colon != std::string::npos) {
    try {
      std::size_t used = 0;
      source = std::stoull(text.substr(0, colon), &used);
      if (used != colon) source = 0;
      const std::string rest = text.substr(colon + 1);
      sequence = std::stoull(rest, &used);
      if (used != rest.size()) sequence = 0;
    } catch (const std::exception&) {
      source = sequence = 0;
    }
  }
  if (source == 0 || sequence == 0) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' is not SOURCE:SEQUENCE (e.g. 3:17)", text));
  }
  return std::pair{ClientId{source}, sequence};
}

struct Overrides {
  std::optional<double> resolution, ratio_bound, source_clip, prior;
  std::optional<std::uint32_t> trim, min_sources, items_per_block, hypotheses_max;
  std::optional<bool> weighted;

  // kInvalidArgument if a ratio given is no number nats() can hold.
  [[nodiscard]] Status check() const {
    for (const auto& [what, n] : {std::pair{"--resolution", resolution},
                                  {"--ratio-bound", ratio_bound},
                                  {"--source-clip", source_clip},
                                  {"--prior", prior}}) {
      if (n) PHALANX_TRY(evidence::check_nats(what, *n));
    }
    return {};
  }

  [[nodiscard]] evidence::EvidenceConfig apply(evidence::EvidenceConfig c) const {
    if (resolution) c.resolution = evidence::nats(*resolution);
    if (ratio_bound) c.ratio_bound = evidence::nats(*ratio_bound);
    if (source_clip) c.source_clip = evidence::nats(*source_clip);
    if (prior) c.prior = evidence::nats(*prior);
    if (trim) c.trim = *trim;
    if (min_sources) c.min_sources = *min_sources;
    if (items_per_block) c.items_per_block = *items_per_block;
    if (hypotheses_max) c.hypotheses_max = *hypotheses_max;
    if (weighted) c.weighted = *weighted;
    return c;
  }
};

}  // namespace

void add_evidence_commands(CLI::App& app, std::function<int()>& run) {
  CLI::App* ev = app.add_subcommand(
      "evidence",
      "Use the evidence service (a cluster made with `cluster init --app evidence`): sources "
      "submit signed, chained log-likelihood ratios; the cluster agrees on robust posteriors");
  ev->require_subcommand(1);
  auto t = std::make_shared<Target>();
  auto hypothesis = std::make_shared<std::string>();
  auto llr = std::make_shared<double>(0);
  auto item = std::make_shared<std::string>();
  auto overrides = std::make_shared<Overrides>();

  CLI::App* submit = ev->add_subcommand(
      "submit", "As source --client N: sign the next item of its chain and submit it");
  submit->add_option("hypothesis", *hypothesis, "Hypothesis name (at most 128 bytes)")->required();
  submit->add_option("llr", *llr, "Log-likelihood ratio in nats (positive supports it)")
      ->required();
  add_target_options(submit, *t);
  submit->callback([&run, t, hypothesis, llr] {
    run = [t, hypothesis, llr] {
      return with_evidence(
          *t,
          [&](client::EvidenceClient& c) -> Result<EvidenceReply> {
            PHALANX_TRY(evidence::check_nats("the log-likelihood ratio", *llr));
            return c.submit(*hypothesis, evidence::nats(*llr));
          },
          [](const EvidenceReply& r, const client::Client& c) {
            fmt::print("accepted from source {}\n", c.id().value());
            if (r.posterior) print_posterior(*r.posterior);
            return kExitOk;
          });
    };
  });

  CLI::App* posterior = ev->add_subcommand(
      "posterior", "Print a hypothesis's posterior log-odds (exit 4: insufficient evidence)");
  posterior->add_option("hypothesis", *hypothesis, "Hypothesis name")->required();
  add_target_options(posterior, *t);
  posterior->callback([&run, t, hypothesis] {
    run = [t, hypothesis] {
      return with_evidence(
          *t, [&](client::EvidenceClient& c) { return c.posterior(*hypothesis); },
          [](const EvidenceReply& r, const client::Client& c) {
            print_posterior(*r.posterior);
            fmt::print("  (agreed by {} matching signed replies)\n", c.replies_needed());
            return kExitOk;
          });
    };
  });

  CLI::App* sources =
      ev->add_subcommand("sources", "List the registered sources and their standing");
  add_target_options(sources, *t);
  sources->callback([&run, t] {
    run = [t] {
      return with_evidence(
          *t, [](client::EvidenceClient& c) { return c.sources(); },
          [](const EvidenceReply& r, const client::Client&) {
            fmt::print("{:>7} {:>8} {:>10} {:>9}  {}\n", "source", "items", "reputation",
                       "penalized", "chain head");
            for (const evidence::SourceStanding& s : r.sources) {
              fmt::print("{:>7} {:>8} {:>10} {:>9}  {}\n", s.source.value(), s.sequence,
                         s.reputation, s.penalized, s.sequence == 0 ? "-" : short_hex(s.head));
            }
            return kExitOk;
          });
    };
  });

  CLI::App* proof = ev->add_subcommand(
      "proof",
      "Fetch item SOURCE:SEQUENCE with its inclusion proof and verify it (exit 3 if it fails)");
  proof->add_option("item", *item, "SOURCE:SEQUENCE, e.g. 3:17")->required();
  add_target_options(proof, *t);
  proof->callback([&run, t, item] {
    run = [t, item]() -> int {
      Result<std::pair<ClientId, std::uint64_t>> which = parse_item(*item);
      if (!which) return report(which.error());
      return with_evidence(
          *t, [&](client::EvidenceClient& c) { return c.proof(which->first, which->second); },
          [](const EvidenceReply& r, const client::Client& c) {
            const evidence::ItemProof& p = *r.proof;
            fmt::print("item {}:{} on '{}': {} nats at {} ms, previous {}\n", p.item.source.value(),
                       p.item.sequence, p.item.hypothesis, nats_text(p.item.llr),
                       p.item.timestamp_ms, short_hex(p.item.previous));
            fmt::print(
                "  in block {} ({} items), path {} hashes; block in the log, path {} hashes\n",
                p.block_height, p.block_items, p.item_path.path.size(), p.block_path.path.size());
            fmt::print("  state digest {} (agreed by {} matching signed replies)\n",
                       to_hex(p.digest.view()), c.replies_needed());
            if (!evidence::verify_proof(p)) {
              fmt::print("  proof FAILED: the path does not lead from the item to the digest\n");
              return kExitAuditFailed;
            }
            fmt::print("  proof verified: the item is in the log under that digest\n");
            return kExitOk;
          });
    };
  });

  CLI::App* config = ev->add_subcommand("config", "Print the committed aggregation configuration");
  add_target_options(config, *t);
  config->callback([&run, t] {
    run = [t] {
      return with_evidence(
          *t, [](client::EvidenceClient& c) { return c.config(); },
          [](const EvidenceReply& r, const client::Client&) {
            print_config(*r.config, r.config_version);
            return kExitOk;
          });
    };
  });

  CLI::App* configure = ev->add_subcommand(
      "configure",
      "As an administrator (--client N of role admin): commit a new configuration; fields not "
      "given keep their value");
  configure->add_option("--resolution", overrides->resolution, "Nats every ratio is rounded to");
  configure->add_option("--ratio-bound", overrides->ratio_bound,
                        "Largest |ratio| of one item, nats");
  configure->add_option("--source-clip", overrides->source_clip,
                        "Largest |total| of one source on a hypothesis, nats");
  configure->add_option("--prior", overrides->prior, "Prior log-odds of every hypothesis, nats");
  configure->add_option("--trim", overrides->trim, "Sources dropped at each end (t)");
  configure->add_option("--min-sources", overrides->min_sources,
                        "Distinct sources before a posterior is reported (≥ 2t+1)");
  configure->add_option("--items-per-block", overrides->items_per_block, "Per source and block");
  configure->add_option("--hypotheses-max", overrides->hypotheses_max,
                        "Hypotheses tracked at most");
  configure->add_option("--weighted", overrides->weighted,
                        "Scale sources by reputation (true/false)");
  add_target_options(configure, *t);
  configure->callback([&run, t, overrides] {
    run = [t, overrides] {
      return with_evidence(
          *t,
          [&](client::EvidenceClient& c) -> Result<EvidenceReply> {
            PHALANX_TRY(overrides->check());
            PHALANX_ASSIGN_OR_RETURN(EvidenceReply current, c.config());
            if (!current.config) {
              return fail(ErrorCode::kInvalidArgument,
                          "the cluster did not return its configuration");
            }
            return c.configure(overrides->apply(*current.config));
          },
          [](const EvidenceReply& r, const client::Client&) {
            print_config(*r.config, r.config_version);
            return kExitOk;
          });
    };
  });
}

}  // namespace phalanx::cli
