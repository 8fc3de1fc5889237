// Command-line errors as one `error:` line each (docs/cli.md, docs/reliability.md).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

namespace entropix::cli {

// Throws InputError when the first argument is neither an option nor a command: it names the
// word, the nearest command and every valid one ("entropix trian").
void check_command_name(const CLI::App& app, int argc, char** argv);

// A CLI11 parse error as one line (no "Run with --help" second line), naming the command.
std::string parse_error_line(const CLI::App& app, const CLI::ParseError& e);

}  // namespace entropix::cli
