#include "cli_errors.h"

#include <algorithm>
#include <vector>

#include "entropix/util/error.h"
#include "entropix/util/mix.h"

namespace entropix::cli {
namespace {

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// One line: newlines of multi-line CLI11 messages become "; ".
std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::string out;
  for (char c : text) out += c == '\n' ? std::string("; ") : std::string(1, c);
  return out;
}

}  // namespace

void check_command_name(const CLI::App& app, int argc, char** argv) {
  if (argc < 2) return;
  const std::string word = argv[1];
  if (word.empty() || word[0] == '-') return;
  const auto names = command_names(app);
  if (std::find(names.begin(), names.end(), word) != names.end()) return;
  // Words users type for a command, with the command they mean ("train" is `run`).
  std::vector<std::pair<std::string, std::string>> candidates = {{"train", "run"}, {"check", "validate"},
                                                                 {"evaluate", "eval"}, {"info", "describe"}};
  for (const auto& n : names) candidates.emplace_back(n, n);
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& [typed, command] : candidates) {
    const size_t d = edit_distance(word, typed);
    if (d < best_d) best_d = d, best = command;
  }
  const bool close = best_d <= std::max<size_t>(2, word.size() / 2);
  throw InputError("unknown command '" + word + "'" + (close ? " (did you mean " + best + "?)" : std::string()) +
                   "; commands: " + joined(names) + " (entropix --help)");
}

std::string parse_error_line(const CLI::App& app, const CLI::ParseError& e) {
  std::string where;
  for (const auto* sub : app.get_subcommands()) where = "entropix " + sub->get_name();
  std::string message = one_line(e.what());
  if (message == "A subcommand is required")
    return "a command is required; commands: " + joined(command_names(app)) + " (entropix --help)";
  return message + " (" + (where.empty() ? std::string("entropix") : where) + " --help)";
}

std::string filesystem_error_line(const std::filesystem::filesystem_error& e) {
  // libstdc++: "filesystem error: cannot create directories: No space left on device [/a/b]".
  std::string what = e.what();
  const std::string prefix = "filesystem error: ";
  if (what.rfind(prefix, 0) == 0) what.erase(0, prefix.size());
  const size_t bracket = what.find(" [");
  if (bracket != std::string::npos) what.erase(bracket);
  std::string paths = e.path1().string();
  if (!e.path2().empty()) paths += " -> " + e.path2().string();
  return paths.empty() ? what : paths + ": " + what;
}

}  // namespace entropix::cli
