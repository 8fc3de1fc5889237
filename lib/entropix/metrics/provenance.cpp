#include "entropix/metrics/provenance.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <regex>

namespace entropix {
namespace fs = std::filesystem;

namespace {

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Standard output of `git -C dir ARGS` (stderr discarded); nullopt unless it exits 0.
std::optional<std::string> git_output(const fs::path& dir, const std::string& args) {
  const std::string command = "git -C " + shell_quoted(dir.string()) + " " + args + " 2>/dev/null";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

}  // namespace

std::optional<SummaryRecord::Git> git_state(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::nullopt;
  const auto head = git_output(dir, "rev-parse HEAD");
  if (!head) return std::nullopt;
  std::smatch m;
  static const std::regex sha(R"(^([0-9a-f]{40}|[0-9a-f]{64})\s*$)");  // SHA-1, or SHA-256 repositories
  if (!std::regex_match(*head, m, sha)) return std::nullopt;
  const auto status = git_output(dir, "status --porcelain --untracked-files=no");
  if (!status) return std::nullopt;
  return SummaryRecord::Git{m[1].str(), !status->empty()};
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

}  // namespace entropix
