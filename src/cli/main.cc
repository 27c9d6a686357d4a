// The `phalanx` command-line tool. Errors from the library become a message
// on stderr and a non-zero exit code here, and nowhere else.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>

#include "core/bytes.h"
#include "crypto/keys.h"
#include "phalanx/version.h"
#include "storage/key_file.h"

namespace {

using namespace phalanx;

constexpr int kExitError = 1;

int report(const Error& error) {
  std::fprintf(stderr, "phalanx: %s\n", error.to_string().c_str());
  return kExitError;
}

int run_keygen(const std::filesystem::path& out_prefix) {
  crypto::KeyPair key = crypto::KeyPair::generate();
  std::filesystem::path secret_path = out_prefix;
  secret_path += ".key";
  std::filesystem::path public_path = out_prefix;
  public_path += ".pub";
  if (std::filesystem::exists(public_path)) {
    return report(Error(ErrorCode::kInvalidArgument,
                        public_path.string() + " already exists; refusing to overwrite"));
  }
  if (Status s = storage::write_secret_key_file(secret_path, key); !s) {
    return report(s.error());
  }
  if (Status s = storage::write_public_key_file(public_path, key.public_key()); !s) {
    return report(s.error());
  }
  fmt::print("secret key: {} (mode 0600, keep it private)\n", secret_path.string());
  fmt::print("public key: {}\n", public_path.string());
  fmt::print("ed25519:{}\n", to_hex(key.public_key().view()));
  return 0;
}

int run_pubkey(const std::filesystem::path& secret_path) {
  Result<crypto::KeyPair> key = storage::read_secret_key_file(secret_path);
  if (!key) return report(key.error());
  fmt::print("ed25519:{}\n", to_hex(key->public_key().view()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Phalanx: a replicated state machine that keeps one linearizable history\n"
      "while up to f replicas crash (mode crash, Raft) or lie (mode byzantine, BFT)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(phalanx::kVersion));

  CLI::App* version = app.add_subcommand("version", "Print the version");

  std::filesystem::path keygen_out;
  CLI::App* keygen = app.add_subcommand(
      "keygen", "Generate an Ed25519 key pair: PREFIX.key (secret, 0600) and PREFIX.pub");
  keygen->add_option("--out", keygen_out, "Path prefix for the two files")->required();

  std::filesystem::path pubkey_in;
  CLI::App* pubkey = app.add_subcommand("pubkey", "Print the public key of a secret key file");
  pubkey->add_option("secret_key_file", pubkey_in, "A PREFIX.key file")
      ->required()
      ->check(CLI::ExistingFile);

  CLI11_PARSE(app, argc, argv);

  if (version->parsed()) {
    fmt::print("phalanx {}\n", phalanx::kVersion);
    return 0;
  }
  if (keygen->parsed()) return run_keygen(keygen_out);
  if (pubkey->parsed()) return run_pubkey(pubkey_in);
  return kExitError;
}
