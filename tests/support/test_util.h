// Shared helpers for tests: temporary directories and running the entropix binary.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace entropix::test {

// A fresh directory under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "entropix-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_text(const std::filesystem::path& path, const std::string& text);
std::string read_text(const std::filesystem::path& path);
// write_text after creating the file's parent directories.
void write_raw(const std::filesystem::path& path, const std::string& bytes);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the built entropix binary with `args` (already shell-quoted as needed).
CommandResult run_entropix(const std::string& args);

// Waits for child `pid` to end: its exit code, 128 + the signal that ended it, or -1 when it
// was still running after `limit` (it and its process group are then killed).
int wait_exit(pid_t pid, std::chrono::seconds limit);

// A path single-quoted for the shell command line of run_entropix.
std::string q(const std::filesystem::path& path);

// The repository root (for experiments/ and docs/).
std::filesystem::path source_dir();
// experiments/smoke.yaml (a tiny spec that trains in seconds), and the same shell-quoted.
std::filesystem::path smoke_spec_path();
std::string smoke_spec_arg();

// Sets an environment variable for its lifetime (nullptr unsets it), then restores the old value.
class EnvGuard {
 public:
  EnvGuard(const char* name, const char* value);
  ~EnvGuard();
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  std::string name_, old_;
  bool had_ = false;
};

// Little-endian bytes of `v` (its low `bytes` bytes), and uint16 tokens as a token file holds them:
// for hand-built headers and shards.
std::string le(uint64_t v, int bytes);
std::string le_tokens(const std::vector<uint16_t>& tokens);

}  // namespace entropix::test
