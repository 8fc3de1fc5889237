// entropix: experiment runner for private-inference-friendly language models.
#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "cli_errors.h"
#include "commands.h"
#include "entropix/util/allocator.h"
#include "entropix/util/error.h"
#include "entropix/util/openblas.h"
#include "entropix/util/torch_compat.h"
#include "entropix/version.h"

namespace {

std::string shell_quote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") ==
                          std::string::npos)
    return arg;
  std::string out = "'";
  for (char c : arg) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string command_line(int argc, char** argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) out += (i ? " " : "") + shell_quote(argv[i]);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace entropix;
  cli::reexec_with_openmp_wait_settings(argc, argv);  // before anything else (docs/performance.md)
  // A file-size limit (ulimit -f) then fails the write with EFBIG, reported as one error line,
  // instead of killing the process (docs/reliability.md, "Faults").
  std::signal(SIGXFSZ, SIG_IGN);
  cli::Context ctx;
  ctx.command_line = command_line(argc, argv);
  ctx.argv.assign(argv, argv + argc);
  select_openblas_kernels();  // before any matrix product (docs/performance.md)
  // No page faults on each step's tensors (docs/performance.md). Not for the other commands:
  // without mmap, a large growing buffer (prepare's) is copied on realloc instead of remapped.
  if (cli::runs_training_steps(argc, argv)) keep_freed_memory_for_reuse();

  CLI::App app{"entropix: train GPT-2-style decoders with nonlinearities removed and log attention entropy"};
  app.name("entropix");
  app.set_version_flag("--version", std::string("entropix ") + ENTROPIX_VERSION + " (LibTorch " +
                                        compat::torch_version() + ")");
  app.require_subcommand(1);
  cli::add_run_command(app, ctx);
  cli::add_validate_command(app, ctx);
  cli::add_describe_command(app, ctx);
  cli::add_list_command(app, ctx);
  cli::add_prepare_command(app, ctx);
  cli::add_eval_command(app, ctx);
  cli::add_cost_command(app, ctx);
  cli::add_report_command(app, ctx);
  cli::add_sweep_command(app, ctx);
  cli::add_bench_command(app, ctx);
  cli::add_export_command(app, ctx);
  cli::add_sample_command(app, ctx);
  cli::add_logs_command(app, ctx);
  cli::add_watch_command(app, ctx);

  try {
    cli::check_command_name(app, argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << cli::parse_error_line(app, e) << "\n";
    return kExitBadInput;
  } catch (const InputError& e) {
    for (const auto& p : e.problems()) std::cerr << "error: " << p << "\n";
    return kExitBadInput;
  } catch (const c10::Error& e) {
    // LibTorch errors carry a backtrace; the first line is the message.
    std::string msg = e.what_without_backtrace();
    std::cerr << "error: " << msg.substr(0, msg.find('\n')) << "\n";
    return kExitFailure;
  } catch (const std::filesystem::filesystem_error& e) {
    std::cerr << "error: " << cli::filesystem_error_line(e) << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailure;
  }
  return ctx.exit_code;
}
