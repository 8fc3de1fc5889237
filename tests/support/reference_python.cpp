#include "support/reference_python.h"

#include "support/report_inspect.h"

namespace entropix::test {

std::string reference_python() {
#ifdef ENTROPIX_PYTHON
  return ENTROPIX_PYTHON;
#else
  return "";
#endif
}

CommandResult run_reference_python(const std::string& script, const std::string& args) {
  return run_shell("'" + reference_python() + "' '" + script + "' " + args);
}

}  // namespace entropix::test
