// Subcommands of the `phalanx` binary, one registration function per area.
// Each returns the exit code through the callback it installs.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "core/error.h"

namespace phalanx::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitAuditFailed = 3;

// Prints "phalanx: <error>" to stderr; returns kExitError.
int report(const Error& error);

// Gives every unsigned option of `app` and its subcommands a check that
// refuses a negative number (CLI11 would wrap "-1" to 2^64-1). Call once
// every command is registered.
void refuse_negative_numbers(CLI::App& app);

// Sets `run` to the chosen subcommand's action.
void add_key_commands(CLI::App& app, std::function<int()>& run);
void add_storage_commands(CLI::App& app, std::function<int()>& run);
void add_sim_commands(CLI::App& app, std::function<int()>& run);
void add_cluster_commands(CLI::App& app, std::function<int()>& run);
void add_kv_commands(CLI::App& app, std::function<int()>& run);
void add_bench_command(CLI::App& app, std::function<int()>& run);
void add_evidence_commands(CLI::App& app, std::function<int()>& run);

}  // namespace phalanx::cli
