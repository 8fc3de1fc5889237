#include "entropix/data/prepare.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <tuple>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "entropix/data/documents.h"
#include "entropix/data/sentencepiece_tokenizer.h"
#include "entropix/data/token_writer.h"
#include "entropix/data/tokenizer.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"
#include "entropix/util/hash.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kSplitBuckets = 10000;
constexpr size_t kBatchBytesPerThread = 4u << 20;  // text encoded per thread between writes
const char* const kOutputs[] = {"train.tok", "val.tok", "train.bin", "val.bin", "meta.json",
                                "vocab.json", "merges.txt", "tokenizer.model"};


bool goes_to_val(const std::string& key, double val_fraction) {
  return static_cast<double>(fnv1a64(key) % kSplitBuckets) < val_fraction * kSplitBuckets;
}

std::string join_sources(const std::vector<fs::path>& sources) {
  std::string out;
  for (size_t i = 0; i < sources.size(); ++i) out += (i ? ", " : "") + sources[i].string();
  return out;
}

// --- options -----------------------------------------------------------------------------

void check_options(const PrepareOptions& o) {
  const double f = o.val_fraction;
  if (!(f > 0.0 && f < 1.0))
    throw InputError("prepare: val_fraction is " + std::to_string(f) + "; it must be between 0 and 1 (exclusive)");
  if (o.format != "entropix" && o.format != "nanogpt")
    throw InputError("prepare: --format " + o.format + " is unknown; expected entropix (train.tok, val.tok) or nanogpt (train.bin, val.bin)");
  if (o.threads < 1) throw InputError("prepare: --threads " + std::to_string(o.threads) + " must be at least 1");
  const std::string& t = o.tokenizer;
  if (t != "byte" && t != "gpt2-bpe" && t != "sentencepiece")
    throw InputError("prepare: --tokenizer " + t + " is unknown; expected byte, gpt2-bpe or sentencepiece");
  const bool bpe_files = !o.vocab.empty() || !o.merges.empty();
  const bool sp_opts = !o.sp_model.empty() || o.sp_vocab_size > 0;
  if (t == "gpt2-bpe" && (o.vocab.empty() || o.merges.empty()))
    throw InputError("prepare: --tokenizer gpt2-bpe needs --vocab vocab.json and --merges merges.txt (GPT-2's: "
                     "the openai-community/gpt2 repository on Hugging Face; see docs/data.md)");
  if (t != "gpt2-bpe" && bpe_files)
    throw InputError("prepare: --vocab and --merges go with --tokenizer gpt2-bpe (the tokenizer is " + t + ")");
  if (t == "sentencepiece" && o.sp_model.empty() == (o.sp_vocab_size == 0))
    throw InputError("prepare: --tokenizer sentencepiece needs either --model FILE (apply a model) or "
                     "--vocab-size N (train one on the corpus), not both");
  if (t != "sentencepiece" && sp_opts)
    throw InputError("prepare: --model and --vocab-size go with --tokenizer sentencepiece (the tokenizer is " + t + ")");
}

void check_out_dir(const fs::path& out, bool overwrite) {
  if (out.empty()) throw InputError("prepare: no output directory given (it receives train.tok, val.tok, meta.json)");
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec)) {
    throw InputError(out.string() + ": exists and is not a directory; prepare writes train.tok, val.tok and meta.json into a directory");
  }
  if (overwrite) return;
  std::string present;
  for (const char* name : kOutputs) {
    if (fs::exists(out / name, ec)) present += (present.empty() ? "" : ", ") + std::string(name);
  }
  if (!present.empty()) {
    throw InputError(out.string() + ": already holds a prepared corpus (" + present +
                     "); refusing to overwrite it: pass --overwrite or choose another output directory");
  }
}

// --- progress ----------------------------------------------------------------------------

class Progress {
 public:
  Progress(bool on, uint64_t total) : on_(on), tty_(::isatty(2) == 1), total_(total), start_(now()), last_(start_) {}
  double elapsed() const { return seconds(now() - start_); }
  void update(uint64_t done, bool final = false) {
    if (!on_) return;
    const auto t = now();
    if (!final && seconds(t - last_) < (tty_ ? 0.5 : 5.0)) return;
    last_ = t;
    const double el = std::max(seconds(t - start_), 1e-9), mb = done / 1e6, rate = mb / el;
    char line[160];
    const double left = rate > 0 ? (total_ / 1e6 - mb) / rate : 0;
    std::snprintf(line, sizeof(line), "prepare: %.1f/%.1f MB (%3.0f%%) | %.2f MB/s | %s %s", mb, total_ / 1e6,
                  total_ ? 100.0 * done / total_ : 100.0, rate, final ? "took" : "eta", duration(final ? el : left).c_str());
    std::cerr << (tty_ ? "\r" : "") << line << (tty_ && !final ? "" : "\n") << std::flush;
  }

 private:
  using Clock = std::chrono::steady_clock;
  static Clock::time_point now() { return Clock::now(); }
  static double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
  static std::string duration(double s) {
    const long v = std::lround(std::max(0.0, s));
    char b[32];
    if (v >= 3600) std::snprintf(b, sizeof(b), "%ldh%02ldm", v / 3600, v % 3600 / 60);
    else if (v >= 60) std::snprintf(b, sizeof(b), "%ldm%02lds", v / 60, v % 60);
    else std::snprintf(b, sizeof(b), "%lds", v);
    return b;
  }
  bool on_, tty_;
  uint64_t total_;
  Clock::time_point start_, last_;
};

uint64_t total_bytes(const std::vector<InputFile>& files) {
  uint64_t n = 0;
  std::error_code ec;
  for (const auto& f : files) {
    const auto s = fs::file_size(f.path, ec);
    if (!ec) n += s;
  }
  return n;
}

// --- tokenizer ---------------------------------------------------------------------------

// The tokenizer, and the files to store beside the tokens: role -> (file name, bytes).
struct TokenizerSetup {
  std::unique_ptr<Tokenizer> tokenizer;
  std::vector<std::tuple<std::string, std::string, std::string>> files;
};

TokenizerSetup make_tokenizer(const PrepareOptions& o, const std::vector<InputFile>& files) {
  TokenizerSetup s;
  if (o.tokenizer == "byte") {
    s.tokenizer = make_byte_tokenizer();
  } else if (o.tokenizer == "gpt2-bpe") {
    s.tokenizer = make_gpt2_bpe_tokenizer(o.vocab, o.merges);
    s.files = {{"vocab", "vocab.json", read_file(o.vocab)}, {"merges", "merges.txt", read_file(o.merges)}};
  } else if (!o.sp_model.empty()) {
    s.tokenizer = make_sentencepiece_tokenizer(o.sp_model);
    s.files = {{"model", "tokenizer.model", read_file(o.sp_model)}};
  } else {
    if (!have_sentencepiece()) make_sentencepiece_tokenizer(o.sp_model);  // throws the install hint
    DocumentReader reader(files, o.jsonl_field);
    Document doc;
    SentencePieceTraining t;
    t.vocab_size = o.sp_vocab_size;
    t.threads = o.threads;
    t.next_document = [&](std::string& text) {
      if (!reader.next(doc)) return false;
      text.swap(doc.text);
      return true;
    };
    if (o.progress) std::cerr << "prepare: training a sentencepiece model of " << o.sp_vocab_size << " pieces" << std::endl;
    s.files = {{"model", "tokenizer.model", train_sentencepiece(t)}};
    const fs::path model = o.out / "tokenizer.model";
    write_file_atomic(model, std::get<2>(s.files[0]));
    s.tokenizer = make_sentencepiece_tokenizer(model);
  }
  if (s.tokenizer->vocab_size() > 65536)
    throw InputError("prepare: the tokenizer has " + std::to_string(s.tokenizer->vocab_size()) +
                     " tokens; token files hold uint16 tokens, so at most 65536");
  return s;
}

// --- encoding ----------------------------------------------------------------------------

struct Writers {
  std::unique_ptr<TokenStreamWriter> train, val;
};

// Encodes documents in batches, `threads` at a time, each thread a contiguous range of the batch
// with its own tokenizer clone; the results are written in document order, so the output is the
// same for any thread count.
class Encoder {
 public:
  Encoder(const Tokenizer& tokenizer, int threads) {
    for (int i = 0; i < threads; ++i) clones_.push_back(tokenizer.clone());
  }
  void run(DocumentReader& reader, Writers& w, double val_fraction, Progress& progress) {
    const size_t batch_bytes = kBatchBytesPerThread * clones_.size();
    std::vector<Document> docs;
    while (true) {
      docs.clear();
      size_t bytes = 0;
      Document d;
      while (bytes < batch_bytes && reader.next(d)) {
        bytes += d.text.size();
        docs.push_back(std::move(d));
      }
      if (docs.empty()) break;
      encode_batch(docs);
      for (size_t i = 0; i < docs.size(); ++i) {
        auto& dst = goes_to_val(docs[i].key, val_fraction) ? *w.val : *w.train;
        dst.append(ids_[i].data(), ids_[i].size());
      }
      progress.update(reader.bytes_read());
    }
  }

 private:
  void encode_range(Tokenizer& t, const std::vector<Document>& docs, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      ids_[i].clear();
      t.encode_document(docs[i].text, ids_[i]);
    }
  }
  void encode_batch(const std::vector<Document>& docs) {
    if (ids_.size() < docs.size()) ids_.resize(docs.size());
    const size_t n_threads = std::min(clones_.size(), docs.size());
    if (n_threads <= 1) return encode_range(*clones_[0], docs, 0, docs.size());
    // Cut the batch into contiguous ranges of about equal text size.
    size_t total = 0;
    for (const auto& d : docs) total += d.text.size();
    std::vector<size_t> cut{0};
    size_t acc = 0;
    for (size_t i = 0; i < docs.size() && cut.size() < n_threads; ++i) {
      acc += docs[i].text.size();
      if (acc * n_threads >= total * cut.size()) cut.push_back(i + 1);
    }
    cut.push_back(docs.size());
    std::vector<std::thread> pool;
    std::exception_ptr error;
    std::mutex error_mutex;
    for (size_t k = 0; k + 1 < cut.size(); ++k) {
      pool.emplace_back([&, k] {
        try {
          encode_range(*clones_[k], docs, cut[k], cut[k + 1]);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (!error) error = std::current_exception();
        }
      });
    }
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
  }

  std::vector<std::unique_ptr<Tokenizer>> clones_;
  std::vector<std::vector<uint32_t>> ids_;  // per document of the batch, reused
};

// When the by-document split leaves a side empty: the last ceil(f * n) tokens of the stream
// (at least 1, leaving at least 1) are validation.
void split_tail_if_needed(Writers& w, double val_fraction) {
  if (w.train->count() > 0 && w.val->count() > 0) return;
  if (w.train->count() == 0) std::swap(w.train, w.val);
  const uint64_t n = w.train->count();
  uint64_t n_val = static_cast<uint64_t>(std::ceil(val_fraction * static_cast<double>(n)));
  n_val = std::min<uint64_t>(std::max<uint64_t>(n_val, 1), n - 1);
  w.train->move_tail_to(n_val, *w.val);
}

// The corpus, into the existing folder o.out: token files, tokenizer files, meta.json last.
PrepareResult write_corpus(const PrepareOptions& o, const std::vector<InputFile>& files, PrepareResult r) {
  std::error_code ec;
  // meta.json marks a complete corpus: drop it first, write it last. Outputs of another format
  // or tokenizer from an earlier run would be stale beside the new ones.
  for (const char* name : kOutputs) fs::remove(o.out / name, ec);

  TokenizerSetup setup = make_tokenizer(o, files);
  const Tokenizer& tok = *setup.tokenizer;
  const auto format = o.format == "nanogpt" ? TokenFileFormat::nanogpt : TokenFileFormat::entropix;
  Writers w{std::make_unique<TokenStreamWriter>(o.out, format, tok.vocab_size()),
            std::make_unique<TokenStreamWriter>(o.out, format, tok.vocab_size())};

  DocumentReader reader(files, o.jsonl_field);
  Progress progress(o.progress, total_bytes(files));
  Encoder(tok, o.threads).run(reader, w, o.val_fraction, progress);
  r.seconds = progress.elapsed();
  progress.update(reader.bytes_read(), true);
  if (w.train->count() + w.val->count() < 2) {
    throw InputError(r.source + ": all " + std::to_string(files.size()) +
                     " input files are empty (or too short); prepare needs some text");
  }
  split_tail_if_needed(w, o.val_fraction);

  const std::string ext = format == TokenFileFormat::nanogpt ? ".bin" : ".tok";
  r.file_count = reader.files_used();
  r.documents = reader.documents();
  r.input_bytes = reader.bytes_read();
  r.train_tokens = w.train->count();
  r.val_tokens = w.val->count();
  r.hash = hex16(reader.hash());
  r.tokenizer = tok.kind();
  r.vocab_size = tok.vocab_size();
  w.train->finish(o.out / ("train" + ext));
  w.val->finish(o.out / ("val" + ext));

  nlohmann::ordered_json info = {{"kind", tok.kind()}, {"vocab_size", tok.vocab_size()}};
  if (tok.kind() != "byte") info["end_of_text"] = tok.end_of_text();
  nlohmann::ordered_json names = nlohmann::ordered_json::object(), sums = nlohmann::ordered_json::object();
  for (const auto& [role, name, bytes] : setup.files) {
    write_file_atomic(o.out / name, bytes);
    names[role] = name;
    sums[role] = file_checksum(o.out / name);
  }
  if (!setup.files.empty()) {
    info["files"] = names;
    info["checksums"] = sums;
  }
  nlohmann::ordered_json meta = {
      {"format", "entropix-tokens"}, {"version", 1}, {"tokenizer", tok.kind()}, {"vocab_size", tok.vocab_size()},
      {"source", r.source},          {"files", r.file_count}};
  if (!o.jsonl_field.empty()) meta["jsonl_field"] = o.jsonl_field;
  meta["documents"] = r.documents;
  meta["eot_id"] = tok.end_of_text();  // what data.sampling: documents splits on (docs/data.md)
  meta["token_format"] = o.format;
  meta["train_tokens"] = r.train_tokens;
  meta["val_tokens"] = r.val_tokens;
  meta["val_fraction"] = o.val_fraction;
  meta["hash"] = r.hash;
  meta["tokenizer_info"] = info;
  write_file_atomic(o.out / "meta.json", meta.dump(2) + "\n");
  return r;
}

// The outermost folder of `dir` that does not exist yet ("" when `dir` exists).
fs::path first_missing(const fs::path& dir) {
  fs::path missing;
  for (fs::path p = dir; !p.empty() && !fs::exists(p); p = p.parent_path()) missing = p;
  return missing;
}

}  // namespace

PrepareResult prepare_corpus(const PrepareOptions& o) {
  check_options(o);
  check_out_dir(o.out, o.overwrite);

  PrepareResult r;
  std::vector<InputFile> files;
  if (o.pystdlib) {
    const fs::path root = find_python_stdlib();
    files = collect_pystdlib_files(root);
    r.source = "pystdlib:" + root.string();
  } else {
    files = collect_input_files(o.sources, o.out, !o.jsonl_field.empty());
    r.source = join_sources(o.sources);
  }
  if (files.empty()) throw InputError(r.source + ": no input files found (hidden and binary files are skipped)");

  const fs::path out = o.out.has_filename() ? o.out : o.out.parent_path();  // without a trailing '/'
  const fs::path created = first_missing(out);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw InputError(o.out.string() + ": cannot create output directory (" + ec.message() + ")");
  try {
    return write_corpus(o, files, std::move(r));
  } catch (...) {
    // A failed prepare leaves nothing: its writers have removed their partial files, and the
    // folders it created go too (fs::remove takes only empty ones).
    if (!created.empty())
      for (fs::path p = out; fs::remove(p, ec) && p != created; p = p.parent_path()) {
      }
    throw;
  }
}

}  // namespace entropix
