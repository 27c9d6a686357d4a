#include "storage/key_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "testing/temp_dir.h"

namespace phalanx::storage {
namespace {

using testing::TempDir;

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_mode & 07777;
}

void write_raw(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

TEST(KeyFile, SecretRoundTripWithMode0600) {
  TempDir dir;
  const crypto::KeyPair kp = crypto::KeyPair::generate();
  ASSERT_TRUE(write_secret_key_file(dir / "n1.key", kp));
  EXPECT_EQ(mode_of(dir / "n1.key"), 0600u);
  EXPECT_FALSE(std::filesystem::exists(dir / "n1.key.tmp"));
  Result<crypto::KeyPair> back = read_secret_key_file(dir / "n1.key");
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->public_key(), kp.public_key());
}

TEST(KeyFile, PublicRoundTrip) {
  TempDir dir;
  const crypto::KeyPair kp = crypto::KeyPair::generate();
  ASSERT_TRUE(write_public_key_file(dir / "n1.pub", kp.public_key()));
  Result<crypto::PublicKey> back = read_public_key_file(dir / "n1.pub");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, kp.public_key());
}

TEST(KeyFile, NeverOverwritesAnExistingKey) {
  TempDir dir;
  const crypto::KeyPair first = crypto::KeyPair::generate();
  ASSERT_TRUE(write_secret_key_file(dir / "n1.key", first));
  Status again = write_secret_key_file(dir / "n1.key", crypto::KeyPair::generate());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(read_secret_key_file(dir / "n1.key")->public_key(), first.public_key());
}

TEST(KeyFile, RefusesGroupOrWorldAccessibleSecret) {
  TempDir dir;
  ASSERT_TRUE(write_secret_key_file(dir / "n1.key", crypto::KeyPair::generate()));
  for (mode_t mode : {0640, 0604, 0660, 0644, 0601}) {
    ASSERT_EQ(::chmod((dir / "n1.key").c_str(), mode), 0);
    Result<crypto::KeyPair> kp = read_secret_key_file(dir / "n1.key");
    ASSERT_FALSE(kp) << std::oct << mode;
    EXPECT_EQ(kp.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(kp.error().message().find("chmod 600"), std::string::npos);
  }
  ASSERT_EQ(::chmod((dir / "n1.key").c_str(), 0400), 0);
  EXPECT_TRUE(read_secret_key_file(dir / "n1.key"));
}

TEST(KeyFile, RefusesSymlink) {
  TempDir dir;
  ASSERT_TRUE(write_secret_key_file(dir / "real.key", crypto::KeyPair::generate()));
  std::filesystem::create_symlink(dir / "real.key", dir / "link.key");
  Result<crypto::KeyPair> kp = read_secret_key_file(dir / "link.key");
  ASSERT_FALSE(kp);
  EXPECT_EQ(kp.error().code(), ErrorCode::kInvalidArgument);
}

TEST(KeyFile, MissingFileIsNotFound) {
  TempDir dir;
  Result<crypto::KeyPair> kp = read_secret_key_file(dir / "absent.key");
  ASSERT_FALSE(kp);
  EXPECT_EQ(kp.error().code(), ErrorCode::kNotFound);
}

TEST(KeyFile, CorruptContentIsATypedError) {
  TempDir dir;
  write_raw(dir / "bad.key", "phalanx-ed25519-secret-key-v1\nnot-hex\n");
  ASSERT_EQ(::chmod((dir / "bad.key").c_str(), 0600), 0);
  Result<crypto::KeyPair> kp = read_secret_key_file(dir / "bad.key");
  ASSERT_FALSE(kp);
  EXPECT_EQ(kp.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(kp.error().message().find("bad.key"), std::string::npos);
}

TEST(KeyFile, OversizedFileRefused) {
  TempDir dir;
  write_raw(dir / "big.pub", std::string(5000, 'a'));
  Result<crypto::PublicKey> key = read_public_key_file(dir / "big.pub");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code(), ErrorCode::kInvalidArgument);
}

TEST(KeyFile, DirectoryIsNotAKeyFile) {
  TempDir dir;
  std::filesystem::create_directory(dir / "d.pub");
  EXPECT_FALSE(read_public_key_file(dir / "d.pub"));
}

}  // namespace
}  // namespace phalanx::storage
