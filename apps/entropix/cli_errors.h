// Command-line errors as one `error:` line each (docs/cli.md, docs/reliability.md).
#pragma once
#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

namespace entropix::cli {

// Throws InputError when the first argument is neither an option nor a command: it names the
// word, the nearest command and every valid one ("entropix trian").
void check_command_name(const CLI::App& app, int argc, char** argv);

// A CLI11 parse error as one line (no "Run with --help" second line), naming the command.
std::string parse_error_line(const CLI::App& app, const CLI::ParseError& e);

// A file-system error that reached main (a directory that cannot be created on a full disk, say)
// as "PATH: what failed: reason" instead of the standard library's "filesystem error: ... [PATH]".
std::string filesystem_error_line(const std::filesystem::filesystem_error& e);

}  // namespace entropix::cli
