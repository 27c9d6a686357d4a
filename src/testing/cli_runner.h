// Test-only: runs the real `phalanx` binary (PHALANX_CLI_PATH, set by the
// unit-test target) and captures its exit code and output.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace phalanx::testing {

struct CliResult {
  int exit_code;
  std::string out;  // stdout and stderr
};

inline CliResult phalanx_cli(const std::string& args) {
  const std::string cmd = std::string(PHALANX_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace phalanx::testing
