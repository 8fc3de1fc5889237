#include <iostream>

#include "cli_checks.h"
#include "commands.h"
#include "entropix/sweep/slurm_script.h"
#include "entropix/sweep/sweep_plan.h"
#include "entropix/sweep/sweep_runner.h"
#include "entropix/sweep/sweep_summary.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix::cli {

void add_sweep_command(CLI::App& app, Context& ctx) {
  struct Args {
    std::string spec, out, slurm, device;
    std::vector<std::string> sets, grid;
    bool dry_run = false, summarize = false, quiet = false;
    int jobs = 1;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("sweep", "run a grid or list of variants of a spec (locally or as a Slurm job array)");
  cmd->add_option("SPEC", args->spec, "spec with a sweep section (grid and/or variants)")->required();
  cmd->add_option("--set", args->sets, "override a spec key in every run (repeatable)");
  cmd->add_option("--grid", args->grid, "add a grid axis: --grid train.lr=1e-3,3e-3 (repeatable)");
  cmd->add_option("--out", args->out, "sweep directory (default: runs/<sweep name>)");
  cmd->add_flag("--dry-run", args->dry_run, "list the runs, their directories and states; run nothing");
  cmd->add_option("--jobs", args->jobs, "runs at a time; CPU threads are split between them")->check(integer_between(1, 1024));
  cmd->add_flag("--summarize", args->summarize, "only rebuild summary.csv and summary.md from the run directories");
  cmd->add_option("--slurm", args->slurm, "write an sbatch job-array script to this file instead of running");
  cmd->add_option("--device", args->device, "auto | cpu | cuda, passed to every run")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_flag("--quiet", args->quiet, "no per-run lines");
  cmd->callback([args, &ctx] {
    const SweepPlan plan = plan_sweep(args->spec, args->sets, args->grid, args->out);
    if (args->dry_run) {
      std::cout << "sweep " << plan.name << ": " << plan.runs.size() << " runs in " << plan.dir.string()
                << " (baseline " << plan.baseline << ")\n";
      for (size_t i = 0; i < plan.runs.size(); ++i) {
        const auto& r = plan.runs[i];
        std::cout << "  " << i << "  " << r.name << "  [" << run_state(r.dir) << "]  " << r.dir.string() << "\n"
                  << "       " << (r.overrides.empty() ? std::string("(no overrides)") : overrides_text(r.overrides)) << "\n";
      }
      return;
    }
    if (!args->slurm.empty()) {
      write_file_atomic(args->slurm, slurm_script(plan, std::filesystem::read_symlink("/proc/self/exe")));
      // Slurm does not create the directory of --output; without it a task's output is lost.
      std::filesystem::create_directories(plan.dir / "slurm");
      std::cout << "wrote " << args->slurm << ": " << plan.runs.size() << " array tasks (0-" << plan.runs.size() - 1
                << "); submit with: sbatch " << args->slurm << "\n";
      return;
    }
    if (!args->summarize) {
      SweepOptions options;
      options.jobs = args->jobs;
      options.quiet = args->quiet;
      options.device = args->device;
      const SweepOutcome outcome = run_sweep(plan, options);
      ctx.exit_code = outcome.exit_code;
      auto list = [](const std::vector<std::string>& names) {
        std::string s;
        for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
        return s;
      };
      if (!outcome.diverged.empty()) std::cerr << "diverged: " << list(outcome.diverged) << "\n";
      if (!outcome.interrupted.empty()) std::cerr << "interrupted (run the sweep again to resume): " << list(outcome.interrupted) << "\n";
      if (!outcome.not_started.empty()) std::cerr << "not started (run the sweep again to run them): " << list(outcome.not_started) << "\n";
      if (!outcome.failed.empty())
        std::cerr << "failed (see console.log in their run directories): " << list(outcome.failed) << "\n";
    }
    write_sweep_summary(plan);
    if (!args->quiet || args->summarize) std::cout << read_file(plan.dir / "summary.md");
  });
}

}  // namespace entropix::cli
