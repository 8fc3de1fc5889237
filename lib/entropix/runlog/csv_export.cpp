#include "entropix/runlog/csv_export.h"

#include <sstream>

#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix::runlog {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string cell(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();  // numbers (round-trip precision) and booleans
}

void flatten_into(const std::string& name, const json& v, std::vector<std::pair<std::string, std::string>>& out) {
  if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) flatten_into(name + "_" + std::to_string(i), v[i], out);
  } else if (v.is_object()) {
    for (const auto& [k, sub] : v.items()) flatten_into(name + "_" + k, sub, out);
  } else {
    out.emplace_back(name, cell(v));
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> flatten_record(const json& record) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, v] : record.items()) {
    if (key == "headwise" && v.is_array()) {
      for (size_t l = 0; l < v.size(); ++l)
        for (size_t h = 0; h < v[l].size(); ++h)
          out.emplace_back("layer" + std::to_string(l) + "_head" + std::to_string(h), cell(v[l][h]));
    } else if (key == "layerwise" && v.is_array()) {
      for (size_t l = 0; l < v.size(); ++l) out.emplace_back("layer" + std::to_string(l), cell(v[l]));
    } else {
      flatten_into(key, v, out);
    }
  }
  return out;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::vector<fs::path> write_csv_tables(const std::vector<json>& records, const fs::path& dir) {
  struct Table {
    std::vector<std::string> columns;
    std::map<std::string, size_t> index;
    std::vector<std::vector<std::pair<std::string, std::string>>> rows;
  };
  std::vector<std::string> kinds;  // in order of first appearance
  std::map<std::string, Table> tables;
  for (const auto& r : records) {
    std::string kind = r.contains("kind") && r["kind"].is_string() ? r["kind"].get<std::string>() : "";
    // The kind names a file: anything but a plain word goes to other.csv.
    if (kind.empty() || kind.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) kind = "other";
    if (!tables.count(kind)) kinds.push_back(kind);
    Table& t = tables[kind];
    auto row = flatten_record(r);
    for (const auto& [col, value] : row)
      if (t.index.emplace(col, t.columns.size()).second) t.columns.push_back(col);
    t.rows.push_back(std::move(row));
  }
  std::vector<fs::path> written;
  for (const auto& kind : kinds) {
    const Table& t = tables[kind];
    const fs::path file = dir / (kind + ".csv");
    std::ostringstream out;
    for (size_t c = 0; c < t.columns.size(); ++c) out << (c ? "," : "") << csv_field(t.columns[c]);
    out << "\n";
    for (const auto& row : t.rows) {
      std::vector<std::string> cells(t.columns.size());
      for (const auto& [col, value] : row) cells[t.index.at(col)] = value;
      for (size_t c = 0; c < cells.size(); ++c) out << (c ? "," : "") << csv_field(cells[c]);
      out << "\n";
    }
    write_file_atomic(file, out.str());  // "cannot write FILE: <reason>" on a full disk
    written.push_back(file);
  }
  return written;
}

}  // namespace entropix::runlog
