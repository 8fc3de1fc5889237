#include "support/test_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <stdexcept>
#include "entropix/util/remove_tree.h"

namespace entropix::test {
namespace fs = std::filesystem;

TempDir::TempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  path_ = fs::temp_directory_path() /
          (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  entropix::remove_tree(path_);
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void write_raw(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  write_text(path, bytes);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult run_entropix(const std::string& args) {
  TempDir tmp("entropix-cmd");
  const fs::path out = tmp / "stdout", err = tmp / "stderr";
  const std::string cmd = std::string(ENTROPIX_BIN) + " " + args + " >" + out.string() + " 2>" + err.string();
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

std::string q(const fs::path& path) { return "'" + path.string() + "'"; }

fs::path source_dir() { return ENTROPIX_SOURCE_DIR; }
fs::path smoke_spec_path() { return source_dir() / "experiments" / "smoke.yaml"; }
std::string smoke_spec_arg() { return q(smoke_spec_path()); }

int wait_exit(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string le(uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

std::string le_tokens(const std::vector<uint16_t>& tokens) {
  std::string out;
  for (uint16_t t : tokens) out += le(t, 2);
  return out;
}

EnvGuard::EnvGuard(const char* name, const char* value) : name_(name) {
  const char* v = std::getenv(name);
  had_ = v != nullptr;
  if (had_) old_ = v;
  if (value) ::setenv(name, value, 1);
  else ::unsetenv(name);
}

EnvGuard::~EnvGuard() {
  if (had_) ::setenv(name_.c_str(), old_.c_str(), 1);
  else ::unsetenv(name_.c_str());
}

}  // namespace entropix::test
