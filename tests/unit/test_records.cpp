// The typed log records (metrics/records.h, EntropyRecord) against docs/log-schema.json, and the
// run status read from summary.json. The schema is checked against the types' field lists both
// ways, so neither can gain or lose a field without the other.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "entropix/entropy/entropy.h"
#include "entropix/metrics/records.h"
#include "entropix/metrics/run_status.h"
#include "support/json_schema.h"
#include "support/test_util.h"

namespace entropix {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const json& schema_definitions() {
  static const json defs =
      json::parse(test::read_text(test::source_dir() / "docs" / "log-schema.json"))["definitions"];
  return defs;
}

std::set<std::string> names(const std::vector<RecordField>& fields, bool required_only) {
  std::set<std::string> out;
  for (const auto& f : fields)
    if (!required_only || f.required) out.insert(f.name);
  return out;
}

std::set<std::string> keys(const json& object) {
  std::set<std::string> out;
  for (const auto& item : object.items()) out.insert(item.key());
  return out;
}

// The definition's properties are exactly the type's fields, and its required list exactly the
// type's required fields.
void expect_schema_matches(const std::string& definition, const std::vector<RecordField>& fields) {
  SCOPED_TRACE(definition);
  const json& d = schema_definitions().at(definition);
  EXPECT_EQ(keys(d.at("properties")), names(fields, false));
  const auto required = d.at("required").get<std::vector<std::string>>();
  EXPECT_EQ(std::set<std::string>(required.begin(), required.end()), names(fields, true));
  EXPECT_EQ(required.size(), names(fields, true).size()) << "a required field listed twice";
}

TEST(Records, SchemaListsExactlyTheFieldsOfEachRecordType) {
  expect_schema_matches("train", TrainRecord::fields());
  expect_schema_matches("eval", EvalRecord::fields());
  expect_schema_matches("entropy", EntropyRecord::fields());
  expect_schema_matches("event", EventRecord::fields());
  expect_schema_matches("summary", SummaryRecord::fields());
}

// Each type's to_json writes its required fields always, its optional ones when set, and nothing
// else; and what it writes is valid against the schema.
template <typename Record>
void expect_writes_its_fields(const Record& minimal, const Record& full, const std::string& definition) {
  SCOPED_TRACE(definition);
  const json a = to_json(minimal), b = to_json(full);
  EXPECT_EQ(keys(a), names(Record::fields(), true));
  EXPECT_EQ(keys(b), names(Record::fields(), false));
  const auto schema = jsonschema::load_schema((test::source_dir() / "docs" / "log-schema.json").string(),
                                              "#/definitions/" + definition);
  for (const json& j : {a, b}) {
    const auto problems = jsonschema::validate_json(j, schema);
    EXPECT_TRUE(problems.empty()) << (problems.empty() ? "" : problems.front()) << "\n" << j.dump();
  }
}

EntropyRecord entropy_record(bool learned) {
  EntropyRecord r;
  r.step = 3;
  r.split = "val";
  r.max_entropy = std::log(8.0);
  r.headwise = {{1.0, 2.0}};
  r.layerwise = {1.5};
  r.nan_counts = {0};
  r.bins = bin_heads(r.headwise, 2.0);
  if (learned)
    for (const char* name : {"temperature", "threshold", "slope", "ffn_alpha", "ffn_beta"}) r.learned[name] = {{0.5}};
  return r;
}

TEST(Records, ToJsonWritesExactlyTheListedFields) {
  TrainRecord train{4, 512, 2.5, 1e-3, 0.7, 12.0, 1000.0, 3.0, std::nullopt};
  TrainRecord train_reg = train;
  train_reg.ereg_loss = 0.01;
  expect_writes_its_fields(train, train_reg, "train");

  expect_writes_its_fields(EvalRecord{5, 2.0, 640, 1.5}, EvalRecord{5, 2.0, 640, 1.5}, "eval");
  expect_writes_its_fields(EventRecord{1, "checkpoint", "wrote x", std::nullopt},
                           EventRecord{1, "collapse_warning", "layer 0", int64_t{0}}, "event");
  expect_writes_its_fields(entropy_record(false), entropy_record(true), "entropy");

  SummaryRecord s;
  s.name = "x";
  s.final_val_loss = s.best_val_loss = std::numeric_limits<double>::quiet_NaN();
  s.device = "cpu";
  s.entropix_version = s.libtorch_version = "1";
  s.started_at = s.finished_at = "2025-01-31T09:30:00Z";
  SummaryRecord full = s;
  full.status = RunStatus::diverged;
  full.diverged_step = 7;
  full.nan_layers = std::vector<int64_t>{1};
  full.message = "training diverged";
  full.resumed_from = SummaryRecord::ResumedFrom{"ck", 5};
  full.git = SummaryRecord::Git{std::string(40, 'a'), true};
  full.cuda_version = "12.1";
  // world_size is always written but optional in the schema (older summaries lack it).
  const json minimal = to_json(s);
  EXPECT_EQ(keys(minimal), [] {
    auto n = names(SummaryRecord::fields(), true);
    n.insert("world_size");
    return n;
  }());
  EXPECT_EQ(keys(to_json(full)), names(SummaryRecord::fields(), false));
}

TEST(Records, NonFiniteNumbersBecomeNull) {
  const json e = to_json(EvalRecord{2, std::numeric_limits<double>::infinity()});
  EXPECT_TRUE(e["val_loss"].is_null());
  EXPECT_TRUE(e["val_ppl"].is_null());
  TrainRecord t;
  t.grad_norm = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(to_json(t)["grad_norm"].is_null());
  SummaryRecord s;
  s.final_val_loss = 2.0;
  s.best_val_loss = std::numeric_limits<double>::quiet_NaN();
  const json j = to_json(s);
  EXPECT_DOUBLE_EQ(j["final_val_ppl"].get<double>(), std::exp(2.0));
  EXPECT_TRUE(j["best_val_loss"].is_null());
  EXPECT_TRUE(j["best_step"].is_null());
  EXPECT_TRUE(j["final_entropy"].is_null());
}

TEST(RunStatus, EachStatusHasOneSpellingBothWays) {
  for (RunStatus s : {RunStatus::completed, RunStatus::diverged, RunStatus::interrupted, RunStatus::failed,
                      RunStatus::unfinished})
    EXPECT_EQ(parse_run_status(to_string(s)), s) << to_string(s);
  EXPECT_EQ(to_string(RunStatus::completed), "completed");
  EXPECT_EQ(to_string(RunStatus::interrupted), "interrupted");
  EXPECT_FALSE(parse_run_status("Completed").has_value());
  EXPECT_FALSE(parse_run_status("").has_value());
}

TEST(RunStatus, SchemaEnumIsTheStatusesARunWrites) {
  const auto listed = schema_definitions()["summary"]["properties"]["status"]["enum"].get<std::vector<std::string>>();
  std::set<std::string> expected;
  for (RunStatus s : {RunStatus::completed, RunStatus::diverged, RunStatus::interrupted, RunStatus::failed})
    expected.insert(to_string(s));
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), expected);
}

TEST(RunStatus, ReadFromSummaryJsonWithOneFallback) {
  test::TempDir dir("entropix-status");
  const fs::path run = dir.path();
  EXPECT_EQ(read_run_status(run), RunStatus::unfinished);  // no summary.json
  EXPECT_EQ(read_run_status(run / "missing"), RunStatus::unfinished);
  test::write_text(run / "summary.json", R"({"status": "diverged", "steps": 3})");
  EXPECT_EQ(read_run_status(run), RunStatus::diverged);
  test::write_text(run / "summary.json", R"({"status": "interrupted"})");
  EXPECT_EQ(read_run_status(run), RunStatus::interrupted);
  for (const char* bad : {"{\"steps\": 3}", "{\"status\": \"done\"}", "{\"status\": 1}", "not json", "[1, 2]"}) {
    test::write_text(run / "summary.json", bad);
    EXPECT_EQ(read_run_status(run), RunStatus::unfinished) << bad;
  }
}

}  // namespace
}  // namespace entropix
