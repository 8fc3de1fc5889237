// Runs every case of tests/faults/catalogue.yaml (docs/reliability.md, "Fault catalogue") as a
// real process of the built binary, in a fresh temporary directory, and checks what the case
// promises: the exit code, the first line of stderr, every stderr line an `error:`/`warning:`
// line when the exit is 2, files that stay byte-identical, paths that must not appear, and no
// temporary file left behind. A case that runs longer than its time limit is killed and fails.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "support/test_util.h"

namespace entropix::test {
namespace {
namespace fs = std::filesystem;

struct FaultCase {
  std::string name, issue, cwd, command;
  std::map<std::string, std::string> files;  // created before the command
  std::vector<std::string> setup;            // shell lines run in the case directory before it
  int exit_code = 0;
  std::string stderr_first, stdout_regex;
  int stderr_lines = -1;                     // exact count when >= 0
  std::vector<std::string> unchanged, absent;
  std::map<std::string, std::string> file_matches;  // path -> regex its content must match
  double timeout_s = 20;
};

fs::path catalogue_path() { return source_dir() / "tests/faults/catalogue.yaml"; }

std::vector<std::string> strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n) for (const auto& s : n) out.push_back(s.as<std::string>());
  return out;
}

std::vector<FaultCase> load_cases() {
  std::vector<FaultCase> cases;
  const YAML::Node root = YAML::LoadFile(catalogue_path().string());
  for (const auto& c : root["cases"]) {
    FaultCase f;
    f.name = c["name"].as<std::string>();
    f.issue = c["issue"] ? c["issue"].as<std::string>() : "";
    f.cwd = c["cwd"] ? c["cwd"].as<std::string>() : "";
    f.command = c["command"].as<std::string>();
    if (c["files"]) for (const auto& kv : c["files"]) f.files[kv.first.as<std::string>()] = kv.second.as<std::string>();
    f.setup = strings(c["setup"]);
    f.exit_code = c["exit"].as<int>();
    f.stderr_first = c["stderr"] ? c["stderr"].as<std::string>() : "";
    f.stdout_regex = c["stdout"] ? c["stdout"].as<std::string>() : "";
    f.stderr_lines = c["stderr_lines"] ? c["stderr_lines"].as<int>() : -1;
    f.unchanged = strings(c["unchanged"]);
    f.absent = strings(c["absent"]);
    if (c["file_matches"])
      for (const auto& kv : c["file_matches"]) f.file_matches[kv.first.as<std::string>()] = kv.second.as<std::string>();
    if (c["timeout_s"]) f.timeout_s = c["timeout_s"].as<double>();
    cases.push_back(f);
  }
  return cases;
}

// {src} in a command or setup line: the repository root.
std::string expand(std::string text) {
  const std::string key = "{src}";
  for (size_t at; (at = text.find(key)) != std::string::npos;) text.replace(at, key.size(), source_dir().string());
  return text;
}

struct Outcome {
  int exit_code = -1;
  bool timed_out = false;
  double seconds = 0;
};

// Runs `line` with /bin/sh in `dir` in its own process group; kills the group after `timeout_s`.
Outcome run_shell(const std::string& line, const fs::path& dir, const fs::path& out, const fs::path& err,
                  double timeout_s) {
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    if (::chdir(dir.c_str()) != 0) ::_exit(127);
    // A subshell, so that a line's own redirections (`... > big.yaml`) are not overridden by ours.
    const std::string redirected = "( " + line + "\n) >" + out.string() + " 2>" + err.string() + " </dev/null";
    ::execl("/bin/sh", "sh", "-c", redirected.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  Outcome o;
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (done == pid) break;
    if (o.seconds > timeout_s) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      o.timed_out = true;
      return o;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return o;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class FaultCatalogue : public ::testing::TestWithParam<FaultCase> {};

TEST_P(FaultCatalogue, BehavesAsCatalogued) {
  const FaultCase& c = GetParam();
  SCOPED_TRACE("case " + c.name + " (" + c.issue + "): entropix " + c.command);
  TempDir tmp("entropix-fault");
  TempDir captured("entropix-fault-out");
  const fs::path dir = tmp.path();
  for (const auto& [name, content] : c.files) {
    fs::create_directories((dir / name).parent_path());
    write_text(dir / name, content);
  }
  for (const auto& line : c.setup) {
    const Outcome s = run_shell(expand(line), dir, captured / "setup.out", captured / "setup.err", 120);
    ASSERT_EQ(s.exit_code, 0) << "setup failed: " << line << "\n" << read_text(captured / "setup.err");
  }
  std::map<std::string, std::string> before;
  for (const auto& f : c.unchanged) {
    ASSERT_TRUE(fs::is_regular_file(dir / f)) << f << " must exist before the command";
    before[f] = read_text(dir / f);
  }
  const fs::path cwd = c.cwd.empty() ? dir : dir / c.cwd;
  fs::create_directories(cwd);
  const std::string line = "exec '" + std::string(ENTROPIX_BIN) + "' " + expand(c.command);
  const Outcome o = run_shell(line, cwd, captured / "stdout", captured / "stderr", c.timeout_s);
  const std::string out = read_text(captured / "stdout"), err = read_text(captured / "stderr");
  ASSERT_FALSE(o.timed_out) << "still running after " << c.timeout_s << " s; killed";
  EXPECT_EQ(o.exit_code, c.exit_code) << "stderr:\n" << err << "stdout:\n" << out.substr(0, 2000);
  const auto err_lines = lines_of(err);
  if (!c.stderr_first.empty()) {
    ASSERT_FALSE(err_lines.empty()) << "no stderr";
    EXPECT_TRUE(std::regex_search(err_lines.front(), std::regex(c.stderr_first)))
        << "first stderr line: " << err_lines.front() << "\nexpected to match: " << c.stderr_first;
  }
  if (c.stderr_lines >= 0) {
    EXPECT_EQ(static_cast<int>(err_lines.size()), c.stderr_lines) << err;
  }
  if (c.exit_code == 2) {
    for (const auto& l : err_lines)
      EXPECT_TRUE(l.rfind("error: ", 0) == 0 || l.rfind("warning: ", 0) == 0) << "stray stderr line: " << l;
  }
  if (!c.stdout_regex.empty()) {
    EXPECT_TRUE(std::regex_search(out, std::regex(c.stdout_regex))) << "stdout:\n" << out.substr(0, 2000);
  }
  for (const auto& [f, content] : before) EXPECT_EQ(read_text(dir / f), content) << f << " changed";
  for (const auto& f : c.absent) EXPECT_FALSE(fs::exists(fs::symlink_status(dir / f))) << f << " was created";
  for (const auto& [f, re] : c.file_matches) {
    ASSERT_TRUE(fs::is_regular_file(dir / f)) << f << " missing";
    EXPECT_TRUE(std::regex_search(read_text(dir / f), std::regex(re))) << f << " does not match " << re;
  }
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec))
    EXPECT_EQ(it->path().filename().string().find(".tmp."), std::string::npos) << "temp file left: " << it->path();
}

std::string case_name(const ::testing::TestParamInfo<FaultCase>& info) {
  std::string out;
  for (char ch : info.param.name) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return out;
}

INSTANTIATE_TEST_SUITE_P(Catalogue, FaultCatalogue, ::testing::ValuesIn(load_cases()), case_name);

// The catalogue itself: names are unique (each is one ctest test) and every case says which
// problem it covers and what it expects.
TEST(FaultCatalogueFile, CasesAreWellFormed) {
  const auto cases = load_cases();
  EXPECT_GE(cases.size(), 40u);
  std::set<std::string> names;
  for (const auto& c : cases) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case name " << c.name;
    EXPECT_FALSE(c.issue.empty()) << c.name << ": issue (what it covers) is required";
    EXPECT_TRUE(c.exit_code == 0 || !c.stderr_first.empty()) << c.name << ": a failing case needs a stderr pattern";
  }
}

}  // namespace
}  // namespace entropix::test
