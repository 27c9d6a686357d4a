// The `phalanx` command-line tool. Errors from the library become a message
// on stderr and a non-zero exit code here, and nowhere else.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "phalanx/version.h"

namespace phalanx::cli {

int report(const Error& error) {
  std::fprintf(stderr, "phalanx: %s\n", error.to_string().c_str());
  return kExitError;
}

void refuse_negative_numbers(CLI::App& app) {
  static const CLI::Validator not_negative(
      [](const std::string& text) -> std::string {
        const std::size_t first = text.find_first_not_of(" \t");
        if (first != std::string::npos && text[first] == '-') return "must not be negative";
        return {};
      },
      "", "NOT NEGATIVE");
  for (CLI::Option* option : app.get_options()) {
    if (option->get_type_name().starts_with("UINT")) option->check(not_negative);
  }
  for (CLI::App* sub : app.get_subcommands({})) refuse_negative_numbers(*sub);
}

}  // namespace phalanx::cli

int main(int argc, char** argv) {
  using namespace phalanx::cli;
  CLI::App app{
      "Phalanx: a replicated state machine that keeps one linearizable history\n"
      "while up to f replicas crash (mode crash, Raft) or lie (mode byzantine, BFT)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(phalanx::kVersion));

  std::function<int()> run;
  app.add_subcommand("version", "Print the version")->callback([&run] {
    run = [] {
      fmt::print("phalanx {}\n", phalanx::kVersion);
      return kExitOk;
    };
  });
  add_key_commands(app, run);
  add_storage_commands(app, run);
  add_sim_commands(app, run);
  add_cluster_commands(app, run);
  add_kv_commands(app, run);
  add_evidence_commands(app, run);
  add_bench_command(app, run);
  refuse_negative_numbers(app);

  CLI11_PARSE(app, argc, argv);
  return run ? run() : kExitError;
}
