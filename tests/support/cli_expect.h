// GoogleTest expectations on a finished entropix command (support/test_util.h's CommandResult).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "support/test_util.h"

namespace entropix::test {

// An input error: exit 2, stderr starting with "error: " and naming `needle`, no uncaught exception.
inline void expect_bad_input(const CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;
}

// The same, and stderr is that one line only.
inline void expect_one_error_line(const CommandResult& r, const std::string& needle) {
  expect_bad_input(r, needle);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace entropix::test
