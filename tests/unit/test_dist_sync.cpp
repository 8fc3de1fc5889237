// Data-parallel pieces against one process doing the whole batch: the ranks' shares of a batch,
// bucketed gradient averaging and merged entropy records. Two ranks are two threads of this test,
// each with its own real Gloo process group on 127.0.0.1.
#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <thread>

#include "entropix/data/batches.h"
#include "entropix/dist/communicator.h"
#include "entropix/dist/grad_sync.h"
#include "entropix/dist/local_launch.h"
#include "entropix/dist/rank_stats.h"
#include "entropix/entropy/attention_entropy.h"
#include "entropix/entropy/entropy.h"
#include "entropix/entropy/regulariser.h"
#include "entropix/model/gpt.h"
#include "entropix/train/train_step.h"

namespace entropix::dist {
namespace {

ModelSpec sync_model_spec() {
  ModelSpec m;
  m.n_layer = 2;
  m.n_head = 2;
  m.n_embd = 32;
  m.context = 16;
  m.vocab_size = 64;
  return m;
}

// Runs fn(rank, communicator) for ranks 0..world-1 on as many threads, each rank in a Gloo group
// of its own on 127.0.0.1; rethrows the first exception a rank threw.
void on_ranks(int world, const std::function<void(int, std::shared_ptr<Communicator>)>& fn) {
  const int port = free_local_port();
  std::vector<std::exception_ptr> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        LaunchEnv env;
        env.rank = r;
        env.world_size = world;
        env.master_addr = "127.0.0.1";
        env.master_port = port;
        env.launcher = "test";
        fn(r, Communicator::connect(env, torch::kCPU, std::chrono::seconds(30)));
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

std::vector<torch::Tensor> grads_of(GPT& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
  return out;
}

Batch rows(const torch::Tensor& x, const torch::Tensor& y, int64_t first, int64_t n) {
  return {x.narrow(0, first, n), y.narrow(0, first, n)};
}

TEST(Shards, RanksShareOfABatchIsASliceOfTheWholeBatch) {
  std::vector<uint16_t> tokens;
  for (int i = 0; i < 5000; ++i) tokens.push_back(static_cast<uint16_t>((i * 7919) % 256));
  auto data = std::make_shared<const TokenData>(TokenData::in_memory(tokens, 256, "<memory>"));
  const BatchSampler whole(data, 8, 16, 42, 0);
  const BatchSampler rank0(data, 4, 16, 42, 0, /*first_row=*/0), rank1(data, 4, 16, 42, 0, /*first_row=*/4);
  for (uint64_t k : {0u, 1u, 17u}) {
    auto [x, y] = whole.batch(k);
    EXPECT_TRUE(torch::equal(rank0.batch(k).first, x.narrow(0, 0, 4))) << k;
    EXPECT_TRUE(torch::equal(rank1.batch(k).first, x.narrow(0, 4, 4))) << k;
    EXPECT_TRUE(torch::equal(rank1.batch(k).second, y.narrow(0, 4, 4))) << k;
  }
  EXPECT_THROW(BatchSampler(data, 4, 16, 42, 0, -1), std::invalid_argument);
}

TEST(Communicator, OneProcessReturnsItsInput) {
  auto comm = Communicator::single();
  EXPECT_EQ(comm->world_size(), 1);
  EXPECT_TRUE(comm->is_main());
  EXPECT_EQ(comm->backend(), "none");
  EXPECT_EQ(comm->sum(std::vector<double>{1.5, -2}), (std::vector<double>{1.5, -2}));
  EXPECT_EQ(comm->max(3.25), 3.25);
  auto t = torch::tensor({1.0f, 2.0f});
  comm->sum(t);
  EXPECT_TRUE(torch::equal(t, torch::tensor({1.0f, 2.0f})));
}

// A build without Gloo (LibTorch without it, or no libgloo-dev) trains in one process only.
#define SKIP_WITHOUT_GLOO()                                                 \
  if (backend_for(torch::kCPU).empty()) {                                   \
    GTEST_SKIP() << "this build has no Gloo backend";                       \
  }

TEST(Communicator, TwoRanksSumTakeTheMaximumAndCopyRankZero) {
  SKIP_WITHOUT_GLOO();
  std::vector<std::vector<double>> sums(2);
  std::vector<double> maxima(2);
  std::vector<torch::Tensor> copied(2), summed(2);
  std::vector<std::string> backends(2);
  on_ranks(2, [&](int r, std::shared_ptr<Communicator> comm) {
    sums[r] = comm->sum(std::vector<double>{r + 1.0, 10.0});
    maxima[r] = comm->max(r == 0 ? 7.0 : -3.0);
    summed[r] = torch::full({3}, r + 1.0f);
    comm->sum(summed[r]);
    copied[r] = torch::full({2, 2}, 10.0f * (r + 1));
    comm->broadcast_from_main({copied[r]});
    backends[r] = comm->backend();
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(sums[r], (std::vector<double>{3.0, 20.0}));
    EXPECT_EQ(maxima[r], 7.0);
    EXPECT_TRUE(torch::equal(summed[r], torch::full({3}, 3.0f)));
    EXPECT_TRUE(torch::equal(copied[r], torch::full({2, 2}, 10.0f)));
    EXPECT_EQ(backends[r], "gloo");
  }
}

// Hooked bucketing with one rank must leave exactly the gradients an unhooked backward leaves,
// including accumulation over micro-batches and a parameter that gets no gradient at all.
TEST(GradientSync, OneRankReproducesAnUnhookedBackwardBitForBit) {
  EntropyRegSpec reg;
  reg.enabled = true;  // adds learned thresholds, unused while the coefficient is 0
  torch::manual_seed(4);
  GPT model = build_model(sync_model_spec(), reg);
  auto x = torch::randint(0, 64, {8, 16}, torch::kLong), y = torch::randint(0, 64, {8, 16}, torch::kLong);
  const std::vector<Batch> micro = {rows(x, y, 0, 4), rows(x, y, 4, 4)};

  model->zero_grad();
  const double plain_loss = accumulate_gradients(model, micro).loss;
  const auto plain = grads_of(model);
  const torch::Tensor threshold = attached_entropy_regulariser(model)->threshold;
  ASSERT_FALSE(threshold.grad().defined());

  // A TrainStep given a communicator averages its gradients, even over one rank.
  TrainStep train_step(model, ExperimentSpec{}, nullptr, Communicator::single(), /*bucket_bytes=*/2048);
  const GradientSync& sync = *train_step.gradient_sync();
  EXPECT_GT(sync.bucket_count(), 4u);  // small buckets: several start during backward
  for (int step = 0; step < 2; ++step) {  // the second step checks the buckets were reset
    model->zero_grad();
    const double loss = train_step.accumulate(micro, /*regularise=*/false).loss;
    EXPECT_EQ(loss, plain_loss);
    const auto synced = grads_of(model);
    ASSERT_EQ(synced.size(), plain.size());
    for (size_t i = 0; i < plain.size(); ++i) {
      ASSERT_EQ(synced[i].defined(), plain[i].defined()) << i;
      if (plain[i].defined()) {
        EXPECT_TRUE(torch::equal(synced[i], plain[i])) << "parameter " << i << ", step " << step;
      }
    }
  }
  EXPECT_FALSE(threshold.grad().defined());
  // The thresholds, registered last, sit in the first bucket (buckets run from the last parameter
  // back) and get no gradient: that bucket waits for finish(), and so, to keep the order, do all.
  EXPECT_EQ(sync.started_in_backward(), 0u);
}

// Two ranks with half the rows each (and two micro-batches each) must end with the gradient of the
// whole batch in one backward, and with identical gradients on both ranks.
TEST(GradientSync, TwoRanksAverageToTheWholeBatchGradient) {
  SKIP_WITHOUT_GLOO();
  torch::manual_seed(5);
  auto x = torch::randint(0, 64, {8, 16}, torch::kLong), y = torch::randint(0, 64, {8, 16}, torch::kLong);
  torch::manual_seed(4);
  GPT whole(sync_model_spec());
  whole->zero_grad();
  const double whole_loss = accumulate_gradients(whole, {{x, y}}).loss;
  const auto expected = grads_of(whole);

  std::vector<GPT> models;
  for (int r = 0; r < 2; ++r) {  // built here: the seeded generator is global to the process
    torch::manual_seed(4);
    models.emplace_back(sync_model_spec());
  }
  std::vector<std::vector<torch::Tensor>> grads(2);
  std::vector<double> losses(2);
  std::vector<size_t> buckets(2), started(2);
  on_ranks(2, [&](int r, std::shared_ptr<Communicator> comm) {
    TrainStep train_step(models[r], ExperimentSpec{}, nullptr, comm, /*bucket_bytes=*/4096);
    models[r]->zero_grad();
    losses[r] = train_step.accumulate({rows(x, y, 4 * r, 2), rows(x, y, 4 * r + 2, 2)}, /*regularise=*/false).loss;
    grads[r] = grads_of(models[r]);
    buckets[r] = train_step.gradient_sync()->bucket_count();
    started[r] = train_step.gradient_sync()->started_in_backward();
  });
  EXPECT_GT(buckets[0], 4u);
  EXPECT_EQ(started[0], buckets[0]);  // every bucket began reducing while backward still ran
  EXPECT_EQ(started[1], buckets[1]);
  // The mean of the two halves' mean losses is the whole batch's mean loss up to float32 rounding.
  EXPECT_NEAR((losses[0] + losses[1]) / 2, whole_loss, 1e-5);
  for (size_t i = 0; i < expected.size(); ++i) {
    // The same sum in another order (rows split, then added across ranks): as the accumulation
    // test in test_model.cpp, 1e-6 absolute / 1e-4 relative covers float32 rounding.
    EXPECT_TRUE(torch::allclose(grads[0][i], expected[i], 1e-4, 1e-6)) << "parameter " << i;
    EXPECT_TRUE(torch::equal(grads[0][i], grads[1][i])) << "ranks disagree on parameter " << i;
  }
}

TEST(RankStats, MergedEntropyRecordsEqualTheWholeBatchRecord) {
  SKIP_WITHOUT_GLOO();
  torch::manual_seed(6);
  GPT model(sync_model_spec());
  model->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randint(0, 64, {8, 16}, torch::kLong);
  const EntropyRecord whole = measure_attention_entropy(model->forward(x, true), 3, "train");
  std::vector<EntropyRecord> shares = {measure_attention_entropy(model->forward(x.narrow(0, 0, 4), true), 3, "train"),
                                       measure_attention_entropy(model->forward(x.narrow(0, 4, 4), true), 3, "train")};
  ASSERT_NE(shares[0].headwise, shares[1].headwise);  // the halves differ: merging has work to do
  on_ranks(2, [&](int r, std::shared_ptr<Communicator> comm) { merge_entropy_over_ranks(shares[r], *comm, 16); });
  for (const auto& merged : shares) {
    for (size_t l = 0; l < whole.headwise.size(); ++l) {
      // Means of float32 row entropies over 4 rows each, then over 2 ranks, against one mean over
      // 8 rows: equal up to float32 rounding of sums of a few hundred terms.
      for (size_t h = 0; h < whole.headwise[l].size(); ++h) EXPECT_NEAR(merged.headwise[l][h], whole.headwise[l][h], 1e-6);
      EXPECT_NEAR(merged.layerwise[l], whole.layerwise[l], 1e-6);
      EXPECT_EQ(merged.nan_counts[l], whole.nan_counts[l]);
    }
    EXPECT_EQ(merged.bins.fractions, whole.bins.fractions);
  }
  EXPECT_EQ(shares[0].headwise, shares[1].headwise);  // both ranks log the same record
}

}  // namespace
}  // namespace entropix::dist
