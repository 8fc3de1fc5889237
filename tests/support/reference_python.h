// The Python interpreter that holds the outside references entropix is checked against: PyTorch,
// transformers, tokenizers, safetensors and tbparse (scripts/python-requirements.txt). Configured
// with -DENTROPIX_PYTHON=... (scripts/bootstrap.sh passes its cached venv).
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "support/test_util.h"

namespace entropix::test {

// The configured interpreter, or "" when the build has none.
std::string reference_python();

// Runs `reference_python() <script> <args>` (args are passed as given, so quote them); stdout and
// stderr captured.
CommandResult run_reference_python(const std::string& script, const std::string& args);

}  // namespace entropix::test

// At the top of a test that needs the references. Without a configured interpreter the test is
// skipped on a developer's build and fails where ENTROPIX_REQUIRE_REFERENCES=1 (bootstrap's `test`
// mode, hence CI): a check against an outside reference never silently disappears there.
#define ENTROPIX_REQUIRE_REFERENCE_PYTHON()                                                       \
  do {                                                                                            \
    if (::entropix::test::reference_python().empty()) {                                          \
      const char* req = std::getenv("ENTROPIX_REQUIRE_REFERENCES");                              \
      if (req && std::string(req) == "1")                                                         \
        FAIL() << "ENTROPIX_PYTHON is not configured; scripts/bootstrap.sh test sets it up";      \
      GTEST_SKIP() << "no reference Python configured (-DENTROPIX_PYTHON)";                       \
    }                                                                                             \
  } while (0)
