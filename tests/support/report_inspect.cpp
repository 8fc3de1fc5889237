#include "support/report_inspect.h"

#include <sys/wait.h>

#include <cstdlib>

namespace entropix::test {
namespace fs = std::filesystem;

CommandResult run_shell(const std::string& command) {
  TempDir tmp("entropix-sh");
  const fs::path out = tmp / "stdout", err = tmp / "stderr";
  const int status = std::system(("(" + command + ") >" + q(out) + " 2>" + q(err) + " </dev/null").c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

CommandResult inspect(const std::string& mode, const fs::path& file) {
  const fs::path script = source_dir() / "tests" / "support" / "svg_inspect.py";
  CommandResult r = run_shell("python3 " + q(script) + " " + mode + " " + q(file));
  if (r.exit_code == 127) r.err = "python3 is not installed (scripts/bootstrap.sh test installs it): " + r.err;
  return r;
}

std::vector<nlohmann::json> of_class(const nlohmann::json& inspected, const std::string& cls) {
  std::vector<nlohmann::json> out;
  for (const auto& e : inspected.at("elements"))
    if (e.at("attrs").value("class", "") == cls) out.push_back(e);
  return out;
}

}  // namespace entropix::test
