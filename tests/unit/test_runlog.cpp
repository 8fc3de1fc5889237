// lib/entropix/runlog pieces on their own: CRC-32C against its published check value, the event
// framing against the TFRecord layout, CSV quoting and flattening, the metrics.jsonl follower on a
// half-written line, the sparkline, the 256-colour cube.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>

#include "entropix/runlog/csv_export.h"
#include "entropix/runlog/metrics_follower.h"
#include "entropix/runlog/sparkline.h"
#include "entropix/runlog/terminal_view.h"
#include "entropix/runlog/tfevents.h"
#include "entropix/runlog/watch_state.h"
#include "entropix/util/error.h"
#include "support/test_util.h"

namespace entropix::runlog {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

TEST(Runlog, Crc32cMatchesPublishedCheckValues) {
  // The CRC catalogue's check value for CRC-32C ("123456789"), and RFC 3720 (iSCSI) B.4's
  // 32 bytes of zeros.
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  // Masking as TFRecord defines it: rotate right by 15, add 0xa282ead8.
  const uint32_t c = 0xE3069283u;
  EXPECT_EQ(masked_crc32c("123456789", 9), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST(Runlog, EventFileFramesEachRecord) {
  test::TempDir dir;
  const fs::path file = dir / "events.out.tfevents.1.test";
  {
    EventFileWriter w(file, 1.5);
    w.write_record(event_scalars(2.5, 300, {{"train/loss", 2.25f}}));
    w.close();
  }
  const std::string bytes = test::read_text(file);
  size_t pos = 0, n = 0;
  while (pos < bytes.size()) {  // length | masked crc(length) | data | masked crc(data)
    ASSERT_LE(pos + 12, bytes.size());
    uint64_t len = 0;
    uint32_t len_crc = 0, data_crc = 0;
    std::memcpy(&len, bytes.data() + pos, 8);
    std::memcpy(&len_crc, bytes.data() + pos + 8, 4);
    EXPECT_EQ(len_crc, masked_crc32c(bytes.data() + pos, 8));
    ASSERT_LE(pos + 12 + len + 4, bytes.size());
    std::memcpy(&data_crc, bytes.data() + pos + 12 + len, 4);
    EXPECT_EQ(data_crc, masked_crc32c(bytes.data() + pos + 12, len));
    pos += 12 + len + 4;
    ++n;
  }
  EXPECT_EQ(n, 2u);  // the file_version record, then the scalars
  // The first record's data: field 1 (wall_time, fixed64) = 1.5, field 3 (string) "brain.Event:2".
  const std::string first = event_file_version(1.5);
  ASSERT_EQ(first.size(), 1 + 8 + 1 + 1 + 13u);
  EXPECT_EQ(static_cast<unsigned char>(first[0]), 0x09u);  // (1 << 3) | 1
  double wall = 0;
  std::memcpy(&wall, first.data() + 1, 8);
  EXPECT_EQ(wall, 1.5);
  EXPECT_EQ(static_cast<unsigned char>(first[9]), 0x1Au);  // (3 << 3) | 2
  EXPECT_EQ(first.substr(11), "brain.Event:2");
}

TEST(Runlog, CsvQuotingAndFlattening) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\"\n"), "\"say \"\"hi\"\"\n\"");
  const json r = {{"kind", "entropy"}, {"headwise", {{1.0, nullptr}, {0.25, 3.0}}}, {"layerwise", {1.0, 1.625}},
                  {"bins", {0.5, 0.5}}, {"temperature", {{2.0}}}};
  const auto flat = flatten_record(r);
  std::map<std::string, std::string> m(flat.begin(), flat.end());
  EXPECT_EQ(m.at("layer0_head1"), "");  // null
  EXPECT_EQ(m.at("layer1_head0"), "0.25");
  EXPECT_EQ(m.at("layer1"), "1.625");
  EXPECT_EQ(m.at("bins_1"), "0.5");
  EXPECT_EQ(m.at("temperature_0_0"), "2.0");
  EXPECT_EQ(m.at("kind"), "entropy");
}

TEST(Runlog, FollowerWaitsForTheRestOfAHalfWrittenLine) {
  test::TempDir dir;
  const fs::path file = dir / "metrics.jsonl";
  MetricsFollower f(file);
  EXPECT_TRUE(f.poll().empty());  // no file yet
  std::ofstream out(file, std::ios::binary);
  out << "{\"kind\":\"train\",\"step\":1}\n{\"kind\":\"train\",\"st" << std::flush;
  auto first = f.poll();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0]["step"], 1);
  EXPECT_TRUE(f.poll().empty());  // still half a line
  out << "ep\":2}\n" << std::flush;
  auto second = f.poll();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0]["step"], 2);
  out << "not json\n" << std::flush;
  try {
    f.poll();
    ADD_FAILURE() << "a whole line that is not JSON must be an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:3"), std::string::npos) << e.what();
  }
  // Rewritten shorter (as a resume does): read again from the start.
  out.close();
  test::write_text(file, "{\"kind\":\"eval\",\"step\":1}\n");
  auto again = f.poll();
  EXPECT_TRUE(f.restarted());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0]["kind"], "eval");
}

TEST(Runlog, SparklineScalesMinimumToMaximum) {
  EXPECT_EQ(sparkline({3.0, 2.0, 1.0}, 10), "\u2588\u2585\u2581");  // 1 -> 7/2 rounds to 4 -> U+2585
  EXPECT_EQ(sparkline({5.0, 5.0}, 10), "\u2584\u2584");
  // Eight values into four columns: pairs averaged.
  EXPECT_EQ(sparkline({0, 0, 1, 1, 2, 2, 7, 7}, 4), "\u2581\u2582\u2583\u2588");
  EXPECT_EQ(sparkline({}, 4), "");
}

TEST(Runlog, Ansi256CubeAndDurations) {
  EXPECT_EQ(ansi256_index(0, 0, 0), 16);
  EXPECT_EQ(ansi256_index(255, 255, 255), 231);
  EXPECT_EQ(ansi256_index(255, 0, 0), 196);
  EXPECT_EQ(ansi256_index(95, 135, 175), 16 + 36 * 1 + 6 * 2 + 3);
  EXPECT_EQ(format_duration(254), "4m14s");
  EXPECT_EQ(format_duration(3720), "1h02m");
  EXPECT_EQ(format_duration(12.4), "12s");
}

// A frame from hand-made records: ETA = remaining steps x ms/step (180 x 0.8301 s = 149.4 s).
TEST(Runlog, FrameShowsProgressEtaAndTable) {
  WatchState s;
  s.run_dir = "runs/x";
  s.total_steps = 300;
  s.add({{"kind", "entropy"}, {"step", 100}, {"split", "val"}, {"max_entropy", std::log(128.0)},
         {"causal_ceiling", 3.878}, {"headwise", {{3.51, 3.02}, {nullptr, 1.0}}}, {"layerwise", {3.25, 1.0}}});
  s.add({{"kind", "train"}, {"step", 110}, {"loss", 2.5}, {"tokens_per_s", 2467.0}, {"ms_per_step", 830.1}});
  s.add({{"kind", "train"}, {"step", 120}, {"loss", 2.25}, {"tokens_per_s", 2467.0}, {"ms_per_step", 830.1}});
  const std::string plain = render_frame(s, ViewOptions{Colour::none, 80});
  EXPECT_NE(plain.find("| running | step 120/300 (40%) | 2467 tok/s | 830.1 ms/step | eta 2m29s\n"), std::string::npos)
      << plain;
  EXPECT_NE(plain.find("loss 2.2500 (min 2.2500) \u2588\u2581\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("\nL0     3.51  3.02   3.25\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("\nL1      nan  1.00   1.00\n"), std::string::npos) << plain;
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  const std::string coloured = render_frame(s, ViewOptions{Colour::ansi256, 80});
  EXPECT_NE(coloured.find("\x1b[48;5;"), std::string::npos);
  s.status = "completed";
  EXPECT_EQ(render_frame(s, ViewOptions{}).find("eta"), std::string::npos);
}

}  // namespace
}  // namespace entropix::runlog
