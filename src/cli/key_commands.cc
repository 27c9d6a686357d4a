// phalanx keygen | pubkey
#include <fmt/format.h>

#include <filesystem>

#include "cli/commands.h"
#include "crypto/keys.h"
#include "storage/key_file.h"

namespace phalanx::cli {
namespace {

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
  if (Status s = storage::write_secret_key_file(secret_path, key); !s) return report(s.error());
  if (Status s = storage::write_public_key_file(public_path, key.public_key()); !s) {
    return report(s.error());
  }
  fmt::print("secret key: {} (mode 0600, keep it private)\n", secret_path.string());
  fmt::print("public key: {}\n", public_path.string());
  fmt::print("ed25519:{}\n", to_hex(key.public_key().view()));
  return kExitOk;
}

int run_pubkey(const std::filesystem::path& secret_path) {
  Result<crypto::KeyPair> key = storage::read_secret_key_file(secret_path);
  if (!key) return report(key.error());
  fmt::print("ed25519:{}\n", to_hex(key->public_key().view()));
  return kExitOk;
}

}  // namespace

void add_key_commands(CLI::App& app, std::function<int()>& run) {
  auto out = std::make_shared<std::filesystem::path>();
  CLI::App* keygen = app.add_subcommand(
      "keygen", "Generate an Ed25519 key pair: PREFIX.key (secret, 0600) and PREFIX.pub");
  keygen->add_option("--out", *out, "Path prefix for the two files")->required();
  keygen->callback([&run, out] { run = [out] { return run_keygen(*out); }; });

  auto in = std::make_shared<std::filesystem::path>();
  CLI::App* pubkey = app.add_subcommand("pubkey", "Print the public key of a secret key file");
  pubkey->add_option("secret_key_file", *in, "A PREFIX.key file")
      ->required()
      ->check(CLI::ExistingFile);
  pubkey->callback([&run, in] { run = [in] { return run_pubkey(*in); }; });
}

}  // namespace phalanx::cli
