#include "entropix/sweep/slurm_script.h"

#include <sstream>

#include "entropix/version.h"

namespace entropix {
namespace fs = std::filesystem;

std::string shell_word(const std::string& text) {
  const char* safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%";
  if (!text.empty() && text.find_first_not_of(safe) == std::string::npos) return text;
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string slurm_script(const SweepPlan& plan, const fs::path& entropix_bin) {
  const SlurmOptions& s = plan.slurm;
  const fs::path dir = fs::absolute(plan.dir).lexically_normal();
  const size_t n = plan.runs.size();
  std::ostringstream o;
  o << "#!/bin/bash\n"
    << "# The entropix sweep '" << plan.name << "' (" << n << " runs) as a Slurm job array: one array task per run.\n"
    << "# Written by entropix " << ENTROPIX_VERSION << " from " << plan.spec_file.string() << ".\n"
    << "# Submit with: sbatch THIS_FILE. A task that is preempted or reaches its time limit checkpoints\n"
    << "# (SIGUSR1 " << s.signal_seconds << " s before the limit) and is requeued; it resumes from its checkpoint.\n"
    << "# Results: entropix sweep " << shell_word(plan.spec_file.string()) << " --out " << shell_word(dir.string())
    << " --summarize\n"
    << "#SBATCH --job-name=" << shell_word("entropix-" + plan.name) << "\n"
    << "#SBATCH --array=0-" << (n - 1) << (s.max_parallel > 0 ? "%" + std::to_string(s.max_parallel) : "") << "\n"
    << "#SBATCH --requeue\n"
    << "#SBATCH --signal=B:USR1@" << s.signal_seconds << "\n"
    << "#SBATCH --time=" << s.time << "\n"
    << "#SBATCH --output=" << (dir / "slurm" / "%A_%a.out").string() << "\n";
  if (!s.partition.empty()) o << "#SBATCH --partition=" << s.partition << "\n";
  if (!s.account.empty()) o << "#SBATCH --account=" << s.account << "\n";
  if (!s.qos.empty()) o << "#SBATCH --qos=" << s.qos << "\n";
  if (!s.mem.empty()) o << "#SBATCH --mem=" << s.mem << "\n";
  if (s.gpus > 0) o << "#SBATCH --gres=gpu:" << s.gpus << "\n";
  if (s.cpus_per_task > 0) o << "#SBATCH --cpus-per-task=" << s.cpus_per_task << "\n";
  for (const auto& e : s.extra) o << "#SBATCH " << e << "\n";
  o << "\nset -uo pipefail\n"
    << "ENTROPIX=\"${ENTROPIX:-" << fs::absolute(entropix_bin).string() << "}\"\n"
    << "SPEC=" << shell_word(fs::absolute(plan.spec_file).lexically_normal().string()) << "\n"
    << "COMMON=(";
  for (const auto& c : plan.common_sets) o << " --set " << shell_word(c);
  o << " )\n"
    << "task=\"${SLURM_ARRAY_TASK_ID:?submit with sbatch, or set SLURM_ARRAY_TASK_ID to a run index 0-" << (n - 1) << "}\"\n"
    << "case \"$task\" in\n";
  for (size_t i = 0; i < n; ++i) {
    const auto& run = plan.runs[i];
    o << "  " << i << ") RUN_DIR=" << shell_word(fs::absolute(run.dir).lexically_normal().string()) << "; SETS=(";
    for (const auto& [k, v] : run.overrides) o << " --set " << shell_word(k + "=" + v);
    o << " --set " << shell_word("name=" + run.name) << " ) ;;\n";
  }
  o << "  *) echo \"no run for array task $task (valid: 0-" << (n - 1) << ")\" >&2; exit 2 ;;\n"
    << "esac\n";
  for (const auto& line : s.setup) o << line << "\n";
  o << "mkdir -p \"$RUN_DIR\" \"" << (dir / "slurm").string() << "\"\n"
    << "echo \"task $task: $RUN_DIR (log: $RUN_DIR/console.log)\"\n"
    // ${A[@]+...}: empty arrays are fine under `set -u` in every bash version.
    << "\"$ENTROPIX\" run \"$SPEC\" ${COMMON[@]+\"${COMMON[@]}\"} \"${SETS[@]}\" --out \"$RUN_DIR\" --resume auto --quiet \\\n"
    << "  >> \"$RUN_DIR/console.log\" 2>&1 &\n"
    << "child=$!\n"
    << "# Slurm signals this shell (B:USR1) before the time limit; a time limit or preemption sends TERM to\n"
    << "# every process of the job, then KILL after KillWait. Pass each on: entropix takes any number of\n"
    << "# TERM/INT/USR1 as one request to finish its step, checkpoint it and exit 4 (SIGQUIT, e.g.\n"
    << "# scancel --full --signal=QUIT, leaves at once without a checkpoint; docs/reliability.md).\n"
    << "trap 'kill -USR1 \"$child\" 2>/dev/null' USR1 TERM INT\n"
    << "while :; do\n"
    << "  wait \"$child\"; code=$?\n"
    << "  kill -0 \"$child\" 2>/dev/null || break  # a trap interrupted wait: keep waiting\n"
    << "done\n"
    << "if [ \"$code\" -gt 128 ]; then wait \"$child\" 2>/dev/null; last=$?; [ \"$last\" -ne 127 ] && code=$last; fi\n"
    << "echo \"task $task: entropix exited with $code\"\n"
    << "if [ \"$code\" -eq 4 ] && [ -n \"${SLURM_JOB_ID:-}\" ] && command -v scontrol >/dev/null; then\n"
    << "  # Interrupted after a checkpoint: back in the queue, to resume where it stopped.\n"
    << "  scontrol requeue \"${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}_${task}\"\n"
    << "fi\n"
    << "exit \"$code\"\n";
  return o.str();
}

}  // namespace entropix
