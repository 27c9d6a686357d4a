// Test-only: runs the real `phalanx` binary (PHALANX_CLI_PATH, set by the
// unit-test target) and captures its exit code and output.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace phalanx::testing {

struct CliResult {
  int exit_code;    // -1 if a signal ended it
  std::string out;  // stdout and stderr
  int signal = 0;   // the signal that ended it (SIGABRT: an assertion), else 0
};

inline CliResult phalanx_cli(const std::string& args) {
  // exec: the shell becomes the binary, so a signal that ends it shows here.
  const std::string cmd = "exec " + std::string(PHALANX_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out,
          WIFSIGNALED(status) ? WTERMSIG(status) : 0};
}

}  // namespace phalanx::testing
