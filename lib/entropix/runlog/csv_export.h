// metrics.jsonl as CSV tables, one per record kind (docs/logs.md, "Exporting"): train.csv,
// eval.csv, entropy.csv, event.csv. Nested arrays become one column per entry: headwise[l][h] ->
// layer<l>_head<h>, layerwise[l] -> layer<l>, any other array x -> x_<i> (x_<i>_<j> when nested).
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace entropix::runlog {

// One record as flat (column, cell) pairs in the record's order. Numbers are written as JSON
// writes them (shortest text that reads back to the same double), null as an empty cell, strings
// as they are, booleans as true/false.
std::vector<std::pair<std::string, std::string>> flatten_record(const nlohmann::json& record);

// A CSV field quoted per RFC 4180 when it holds a comma, quote, CR or LF.
std::string csv_field(const std::string& text);

// Writes <kind>.csv into `dir` for each kind present in `records` (columns: the union over that
// kind's records, in order of first appearance; a record lacking a column leaves it empty).
// Returns the files written.
std::vector<std::filesystem::path> write_csv_tables(const std::vector<nlohmann::json>& records,
                                                    const std::filesystem::path& dir);

}  // namespace entropix::runlog
