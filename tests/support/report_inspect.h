// Independent readers of `entropix report` output for tests: tests/support/svg_inspect.py parses
// SVG with Python's xml.etree (a strict XML parser), decodes PNG screenshots and lists the <svg>
// ids of an HTML DOM. Nothing here uses entropix's own code.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_util.h"

namespace entropix::test {

// Runs `command` with /bin/sh; stdout and stderr captured.
CommandResult run_shell(const std::string& command);

// svg_inspect.py MODE FILE (MODE: elements | png | dom). Exit code 0 and JSON on stdout, or a
// non-zero exit code with the reason on stderr (e.g. the XML parser's message).
CommandResult inspect(const std::string& mode, const std::filesystem::path& file);

// The elements of an `inspect("elements", ...)` result whose class attribute is `cls`.
std::vector<nlohmann::json> of_class(const nlohmann::json& inspected, const std::string& cls);

// Writes an SVG document (anything with `str(bool)`, e.g. svg::Document) to `dir / name` and reads
// it back with inspect("elements", ...); an empty element list (and a test failure) when the
// parser rejects it.
template <typename Document, typename Dir>  // Dir: a path or a TempDir
nlohmann::json parse_back(const Document& doc, const Dir& dir, const std::string& name = "figure.svg") {
  const std::filesystem::path file = dir / name;
  write_text(file, doc.str(true));
  const auto r = inspect("elements", file);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json{{"elements", nlohmann::json::array()}};
}

}  // namespace entropix::test
