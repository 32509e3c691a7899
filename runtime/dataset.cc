#include "runtime/dataset.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"

namespace sluice {
namespace dataset_internal {

enum class Kind { kSlices, kShuffle, kMap, kBatch, kRepeat, kPrefetch, kTake };

struct Node {
  Kind kind = Kind::kSlices;
  std::shared_ptr<const Node> input;
  // kSlices: the source tensors and their common dim 0.
  std::vector<Tensor> components;
  int64_t rows = 0;
  // kShuffle.
  uint64_t seed = 0;
  bool reshuffle = true;
  // kMap.
  MapFn fn;
  // kBatch: batch size; kRepeat: count; kTake: n; kPrefetch: buffer size.
  int64_t count = 0;
  bool drop_remainder = false;
  int64_t cardinality = 0;
  // True for a chain of Slices, Shuffle, Repeat and Take only: its elements
  // are rows of `source`, so it can be run on row indices.
  bool index_only = false;
  std::shared_ptr<const Node> source;
};

}  // namespace dataset_internal

namespace {

using dataset_internal::Kind;
using dataset_internal::Node;
using NodePtr = std::shared_ptr<const Node>;

// State shared by all iterators of one MakeIterator() call: how many passes
// each Shuffle has started, so that reshuffling differs per pass yet is the
// same for every iterator made from the dataset.
class IterationContext {
 public:
  int64_t StartPass(const Node* shuffle) {
    std::lock_guard<std::mutex> lock(mu_);
    return passes_[shuffle]++;
  }

 private:
  std::mutex mu_;  // guards passes_
  std::map<const Node*, int64_t> passes_;
};
using ContextPtr = std::shared_ptr<IterationContext>;

// SplitMix64: small, fast and fully specified, so that a seed gives the same
// permutation with every compiler and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0, without modulo bias (Lemire's method).
  uint64_t Uniform(uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(Next()) * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<unsigned __int128>(Next()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

 private:
  uint64_t state_;
};

// The permutation of [0, n) for `seed` and pass number `pass`.
std::vector<int64_t> Permutation(int64_t n, uint64_t seed, int64_t pass) {
  Rng mix(seed);
  Rng rng(mix.Next() ^ (static_cast<uint64_t>(pass) * 0xd1b54a32d192ed03ULL));
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    std::swap(order[i], order[rng.Uniform(static_cast<uint64_t>(i) + 1)]);
  }
  return order;
}

// ---- Index iterators: chains that only move rows of the source tensors.

class IndexIterator {
 public:
  virtual ~IndexIterator() = default;
  // The next row of the source tensors, or -1 at the end.
  virtual int64_t NextIndex() = 0;
};

std::unique_ptr<IndexIterator> MakeIndexIterator(const NodePtr& node, const ContextPtr& ctx);

class RangeIndexIterator : public IndexIterator {
 public:
  explicit RangeIndexIterator(int64_t n) : n_(n) {}
  int64_t NextIndex() override { return next_ < n_ ? next_++ : -1; }

 private:
  int64_t n_;
  int64_t next_ = 0;
};

class ShuffleIndexIterator : public IndexIterator {
 public:
  ShuffleIndexIterator(const NodePtr& node, const ContextPtr& ctx) {
    std::vector<int64_t> rows;
    auto input = MakeIndexIterator(node->input, ctx);
    for (int64_t i = input->NextIndex(); i >= 0; i = input->NextIndex()) rows.push_back(i);
    const int64_t pass = node->reshuffle ? ctx->StartPass(node.get()) : 0;
    const std::vector<int64_t> order =
        Permutation(static_cast<int64_t>(rows.size()), node->seed, pass);
    rows_.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) rows_[i] = rows[order[i]];
  }
  int64_t NextIndex() override { return next_ < rows_.size() ? rows_[next_++] : -1; }

 private:
  std::vector<int64_t> rows_;
  size_t next_ = 0;
};

class RepeatIndexIterator : public IndexIterator {
 public:
  RepeatIndexIterator(NodePtr node, ContextPtr ctx)
      : node_(std::move(node)), ctx_(std::move(ctx)) {}
  int64_t NextIndex() override {
    while (!done_) {
      if (input_ == nullptr) {
        if (node_->count >= 0 && passes_ >= node_->count) break;
        input_ = MakeIndexIterator(node_->input, ctx_);
        ++passes_;
        produced_ = false;
      }
      const int64_t i = input_->NextIndex();
      if (i >= 0) {
        produced_ = true;
        return i;
      }
      input_.reset();
      // A pass that yields nothing would make Repeat() spin forever.
      if (!produced_) break;
    }
    done_ = true;
    return -1;
  }

 private:
  NodePtr node_;
  ContextPtr ctx_;
  std::unique_ptr<IndexIterator> input_;
  int64_t passes_ = 0;
  bool produced_ = false;
  bool done_ = false;
};

class TakeIndexIterator : public IndexIterator {
 public:
  TakeIndexIterator(std::unique_ptr<IndexIterator> input, int64_t n)
      : input_(std::move(input)), left_(n) {}
  int64_t NextIndex() override {
    if (left_ == 0) return -1;
    if (left_ > 0) --left_;
    return input_->NextIndex();
  }

 private:
  std::unique_ptr<IndexIterator> input_;
  int64_t left_;  // -1: no limit
};

std::unique_ptr<IndexIterator> MakeIndexIterator(const NodePtr& node, const ContextPtr& ctx) {
  switch (node->kind) {
    case Kind::kShuffle:
      return std::make_unique<ShuffleIndexIterator>(node, ctx);
    case Kind::kRepeat:
      return std::make_unique<RepeatIndexIterator>(node, ctx);
    case Kind::kTake:
      return std::make_unique<TakeIndexIterator>(MakeIndexIterator(node->input, ctx), node->count);
    default:
      return std::make_unique<RangeIndexIterator>(node->rows);
  }
}

// The Slices node whose rows an index-only chain moves.
const NodePtr& SourceOf(const NodePtr& node) {
  return node->kind == Kind::kSlices ? node : node->source;
}

bool Finite(int64_t cardinality) { return cardinality >= 0; }

// Bytes of one row (slice along dim 0) of `t`, which has `rows` rows.
size_t RowBytes(const Tensor& t, int64_t rows) {
  return rows == 0 ? 0 : t.num_bytes() / static_cast<size_t>(rows);
}

Shape RowShape(const Shape& shape) { return Shape(shape.dims().subspan(1)); }

// ---- Element iterators.

std::unique_ptr<DatasetIterator> MakeElementIterator(const NodePtr& node, const ContextPtr& ctx);

// Rows of the source tensors as views: no copy, no allocation of data.
class RowIterator : public DatasetIterator {
 public:
  RowIterator(NodePtr source, std::unique_ptr<IndexIterator> rows)
      : source_(std::move(source)), rows_(std::move(rows)) {
    for (const Tensor& t : source_->components) {
      row_shapes_.push_back(RowShape(t.shape()));
      row_bytes_.push_back(RowBytes(t, source_->rows));
    }
  }
  absl::StatusOr<std::optional<Element>> Next() override {
    const int64_t i = rows_->NextIndex();
    if (i < 0) return std::nullopt;
    Element element;
    element.reserve(source_->components.size());
    for (size_t c = 0; c < source_->components.size(); ++c) {
      const Tensor& t = source_->components[c];
      // The view's owner shares ownership of the dataset's node, which keeps
      // the source tensors alive.
      auto* base = static_cast<char*>(const_cast<void*>(t.raw_data()));
      std::shared_ptr<void> owner(source_, base);
      element.push_back(Tensor::WrapBuffer(t.dtype(), row_shapes_[c], std::move(owner),
                                           base + i * row_bytes_[c]));
    }
    return element;
  }

 private:
  NodePtr source_;
  std::unique_ptr<IndexIterator> rows_;
  std::vector<Shape> row_shapes_;
  std::vector<size_t> row_bytes_;
};

// Batches of rows gathered from the source tensors with memcpy, one copy per
// run of consecutive rows.
class GatherBatchIterator : public DatasetIterator {
 public:
  GatherBatchIterator(NodePtr source, std::unique_ptr<IndexIterator> rows, int64_t batch_size,
                      bool drop_remainder)
      : source_(std::move(source)),
        rows_(std::move(rows)),
        batch_size_(batch_size),
        drop_remainder_(drop_remainder) {
    for (const Tensor& t : source_->components) row_bytes_.push_back(RowBytes(t, source_->rows));
  }
  absl::StatusOr<std::optional<Element>> Next() override {
    indices_.clear();
    while (static_cast<int64_t>(indices_.size()) < batch_size_) {
      const int64_t i = rows_->NextIndex();
      if (i < 0) break;
      indices_.push_back(i);
    }
    const int64_t n = static_cast<int64_t>(indices_.size());
    if (n == 0 || (drop_remainder_ && n < batch_size_)) return std::nullopt;
    Element batch;
    batch.reserve(source_->components.size());
    for (size_t c = 0; c < source_->components.size(); ++c) {
      const Tensor& src = source_->components[c];
      Shape shape = src.shape();
      shape.set_dim(0, n);
      Tensor out(src.dtype(), shape);
      const size_t row = row_bytes_[c];
      const char* from = static_cast<const char*>(src.raw_data());
      char* to = static_cast<char*>(out.raw_data());
      for (int64_t k = 0; k < n;) {
        int64_t run = 1;
        while (k + run < n && indices_[k + run] == indices_[k] + run) ++run;
        std::memcpy(to + k * row, from + indices_[k] * row, run * row);
        k += run;
      }
      batch.push_back(std::move(out));
    }
    return batch;
  }

 private:
  NodePtr source_;
  std::unique_ptr<IndexIterator> rows_;
  int64_t batch_size_;
  bool drop_remainder_;
  std::vector<size_t> row_bytes_;
  std::vector<int64_t> indices_;
};

// Stacks elements of any input.
class StackBatchIterator : public DatasetIterator {
 public:
  StackBatchIterator(std::unique_ptr<DatasetIterator> input, int64_t batch_size,
                     bool drop_remainder)
      : input_(std::move(input)), batch_size_(batch_size), drop_remainder_(drop_remainder) {}
  absl::StatusOr<std::optional<Element>> Next() override {
    std::vector<Element> elements;
    while (static_cast<int64_t>(elements.size()) < batch_size_) {
      ASSIGN_OR_RETURN(std::optional<Element> e, input_->Next());
      if (!e) break;
      if (!elements.empty()) RETURN_IF_ERROR(CheckLike(elements.front(), *e, elements.size()));
      elements.push_back(std::move(*e));
    }
    const int64_t n = static_cast<int64_t>(elements.size());
    if (n == 0 || (drop_remainder_ && n < batch_size_)) return std::nullopt;
    Element batch;
    for (size_t c = 0; c < elements.front().size(); ++c) {
      const Tensor& first = elements.front()[c];
      Shape shape({n});
      for (int64_t d : first.shape().dims()) shape.AddDim(d);
      Tensor out(first.dtype(), shape);
      char* to = static_cast<char*>(out.raw_data());
      const size_t row = first.num_bytes();
      for (int64_t k = 0; k < n; ++k) {
        if (row > 0) std::memcpy(to + k * row, elements[k][c].raw_data(), row);
      }
      batch.push_back(std::move(out));
    }
    return batch;
  }

 private:
  static absl::Status CheckLike(const Element& first, const Element& e, size_t position) {
    if (e.size() != first.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Batch: element ", position, " of a batch has ", e.size(),
                       " components but the first has ", first.size()));
    }
    for (size_t c = 0; c < e.size(); ++c) {
      if (e[c].dtype() != first[c].dtype() || e[c].shape() != first[c].shape()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Batch: cannot stack element ", position, " of a batch: its component ", c, " is ",
            DTypeName(e[c].dtype()), e[c].shape().ToString(), " but the first element's is ",
            DTypeName(first[c].dtype()), first[c].shape().ToString()));
      }
    }
    return absl::OkStatus();
  }

  std::unique_ptr<DatasetIterator> input_;
  int64_t batch_size_;
  bool drop_remainder_;
};

class MapIterator : public DatasetIterator {
 public:
  MapIterator(std::unique_ptr<DatasetIterator> input, MapFn fn, int batch_dims)
      : input_(std::move(input)), fn_(std::move(fn)), batch_dims_(batch_dims) {}
  absl::StatusOr<std::optional<Element>> Next() override {
    ASSIGN_OR_RETURN(std::optional<Element> e, input_->Next());
    if (!e) return std::nullopt;
    ASSIGN_OR_RETURN(Element out, fn_.Apply(std::move(*e), batch_dims_));
    return out;
  }

 private:
  std::unique_ptr<DatasetIterator> input_;
  MapFn fn_;
  int batch_dims_;
};

// Shuffles an input that is not a plain chain of rows: holds one pass of it.
class BufferShuffleIterator : public DatasetIterator {
 public:
  BufferShuffleIterator(const NodePtr& node, const ContextPtr& ctx)
      : input_(MakeElementIterator(node->input, ctx)),
        seed_(node->seed),
        pass_(node->reshuffle ? ctx->StartPass(node.get()) : 0) {}
  absl::StatusOr<std::optional<Element>> Next() override {
    if (input_ != nullptr) {
      while (true) {
        ASSIGN_OR_RETURN(std::optional<Element> e, input_->Next());
        if (!e) break;
        elements_.push_back(std::move(*e));
      }
      input_.reset();
      order_ = Permutation(static_cast<int64_t>(elements_.size()), seed_, pass_);
    }
    if (next_ == order_.size()) return std::nullopt;
    return elements_[order_[next_++]];
  }

 private:
  std::unique_ptr<DatasetIterator> input_;
  uint64_t seed_;
  int64_t pass_;
  std::vector<Element> elements_;
  std::vector<int64_t> order_;
  size_t next_ = 0;
};

class RepeatIterator : public DatasetIterator {
 public:
  RepeatIterator(NodePtr node, ContextPtr ctx) : node_(std::move(node)), ctx_(std::move(ctx)) {}
  absl::StatusOr<std::optional<Element>> Next() override {
    while (!done_) {
      if (input_ == nullptr) {
        if (node_->count >= 0 && passes_ >= node_->count) break;
        input_ = MakeElementIterator(node_->input, ctx_);
        ++passes_;
        produced_ = false;
      }
      ASSIGN_OR_RETURN(std::optional<Element> e, input_->Next());
      if (e) {
        produced_ = true;
        return e;
      }
      input_.reset();
      if (!produced_) break;  // an empty pass: stop instead of spinning
    }
    done_ = true;
    return std::nullopt;
  }

 private:
  NodePtr node_;
  ContextPtr ctx_;
  std::unique_ptr<DatasetIterator> input_;
  int64_t passes_ = 0;
  bool produced_ = false;
  bool done_ = false;
};

class TakeIterator : public DatasetIterator {
 public:
  TakeIterator(std::unique_ptr<DatasetIterator> input, int64_t n)
      : input_(std::move(input)), left_(n) {}
  absl::StatusOr<std::optional<Element>> Next() override {
    if (left_ == 0) return std::nullopt;
    if (left_ > 0) --left_;
    return input_->Next();
  }

 private:
  std::unique_ptr<DatasetIterator> input_;
  int64_t left_;
};

// Runs the input on a background thread, `capacity` elements ahead. The end
// of the input and errors travel through the queue like elements.
class PrefetchIterator : public DatasetIterator {
 public:
  using Item = absl::StatusOr<std::optional<Element>>;

  PrefetchIterator(std::unique_ptr<DatasetIterator> input, int64_t capacity)
      : input_(std::move(input)), capacity_(static_cast<size_t>(capacity)) {
    thread_ = std::thread([this] { Produce(); });
  }
  ~PrefetchIterator() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  Item Next() override {
    if (last_.has_value()) return *last_;
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [this] { return !queue_.empty(); });
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    changed_.notify_all();  // there is room again
    // The end and errors are final: later calls give them again.
    if (!item.ok() || !item->has_value()) last_ = item;
    return item;
  }

 private:
  void Produce() {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        changed_.wait(lock, [this] { return cancelled_ || queue_.size() < capacity_; });
        if (cancelled_) return;
      }
      // Produced outside the lock, so the consumer can take what is queued.
      Item item = input_->Next();
      const bool final = !item.ok() || !item->has_value();
      {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(std::move(item));
      }
      changed_.notify_all();  // there is an item
      if (final) return;
    }
  }

  std::unique_ptr<DatasetIterator> input_;  // used by the producer thread only
  const size_t capacity_;
  // Standard primitives, which ThreadSanitizer sees (docs/build.md).
  std::mutex mu_;  // guards queue_ and cancelled_
  // Signalled when an item is queued or taken, or on cancellation; the
  // producer and the consumer each wait on it for their own condition.
  std::condition_variable changed_;
  std::deque<Item> queue_;
  bool cancelled_ = false;
  std::optional<Item> last_;  // consumer side only
  std::thread thread_;
};

std::unique_ptr<DatasetIterator> MakeBatchIterator(const NodePtr& node, const ContextPtr& ctx) {
  // Row-wise maps right before the batch run after it, on whole batches.
  std::vector<MapFn> moved;
  NodePtr input = node->input;
  while (input->kind == Kind::kMap && input->fn.rowwise()) {
    moved.push_back(input->fn);
    input = input->input;
  }
  std::unique_ptr<DatasetIterator> it;
  if (input->index_only) {
    it = std::make_unique<GatherBatchIterator>(SourceOf(input), MakeIndexIterator(input, ctx),
                                               node->count, node->drop_remainder);
  } else {
    it = std::make_unique<StackBatchIterator>(MakeElementIterator(input, ctx), node->count,
                                              node->drop_remainder);
  }
  for (auto fn = moved.rbegin(); fn != moved.rend(); ++fn) {
    it = std::make_unique<MapIterator>(std::move(it), std::move(*fn), /*batch_dims=*/1);
  }
  return it;
}

std::unique_ptr<DatasetIterator> MakeElementIterator(const NodePtr& node, const ContextPtr& ctx) {
  if (node->index_only) {
    return std::make_unique<RowIterator>(SourceOf(node), MakeIndexIterator(node, ctx));
  }
  switch (node->kind) {
    case Kind::kMap:
      return std::make_unique<MapIterator>(MakeElementIterator(node->input, ctx), node->fn, 0);
    case Kind::kBatch:
      return MakeBatchIterator(node, ctx);
    case Kind::kShuffle:
      return std::make_unique<BufferShuffleIterator>(node, ctx);
    case Kind::kRepeat:
      return std::make_unique<RepeatIterator>(node, ctx);
    case Kind::kTake:
      return std::make_unique<TakeIterator>(MakeElementIterator(node->input, ctx), node->count);
    case Kind::kPrefetch:
      return std::make_unique<PrefetchIterator>(MakeElementIterator(node->input, ctx), node->count);
    case Kind::kSlices:
      break;  // always index_only
  }
  return nullptr;
}

}  // namespace

// ---- Dataset.

Dataset::Dataset()
    : status_(
          absl::FailedPreconditionError("empty Dataset; make one with Dataset::FromTensorSlices")) {
}

Dataset::Dataset(std::shared_ptr<const Node> node, absl::Status status)
    : node_(std::move(node)), status_(std::move(status)) {}

absl::StatusOr<Dataset> Dataset::FromTensorSlices(std::vector<Tensor> components) {
  if (components.empty()) {
    return absl::InvalidArgumentError("Dataset::FromTensorSlices needs at least one tensor");
  }
  for (size_t c = 0; c < components.size(); ++c) {
    const Tensor& t = components[c];
    if (!t.valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Dataset::FromTensorSlices: component ", c, " is an empty Tensor"));
    }
    if (t.shape().rank() < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("Dataset::FromTensorSlices: component ", c, " is a scalar (",
                       DTypeName(t.dtype()), t.shape().ToString(), "); slicing needs rank >= 1"));
    }
    if (t.shape().dim(0) != components[0].shape().dim(0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Dataset::FromTensorSlices: components must agree in dim 0, but component 0 is ",
          DTypeName(components[0].dtype()), components[0].shape().ToString(), " and component ", c,
          " is ", DTypeName(t.dtype()), t.shape().ToString()));
    }
  }
  auto node = std::make_shared<Node>();
  node->kind = Kind::kSlices;
  node->rows = components[0].shape().dim(0);
  node->components = std::move(components);
  node->cardinality = node->rows;
  node->index_only = true;
  // The node is its own source; `source` is set by the chain nodes above it
  // (holding itself would be a reference cycle).
  return Dataset(std::move(node), absl::OkStatus());
}

Dataset Dataset::Chain(std::shared_ptr<Node> node) const {
  if (!status_.ok()) return *this;  // keep the first error
  node->input = node_;
  if (node->index_only) {
    node->source = SourceOf(node_);
  }
  return Dataset(std::move(node), absl::OkStatus());
}

Dataset Dataset::WithError(absl::Status status) const {
  if (!status_.ok()) return *this;
  return Dataset(node_, std::move(status));
}

Dataset Dataset::Shuffle(uint64_t seed, bool reshuffle_each_iteration) const {
  if (!status_.ok()) return *this;
  if (node_->cardinality == kInfiniteCardinality) {
    return WithError(absl::InvalidArgumentError(
        "Dataset::Shuffle: the input is infinite (a Repeat() forever before it); a full shuffle "
        "needs a finite input, so put Repeat after Shuffle"));
  }
  auto node = std::make_shared<Node>();
  node->kind = Kind::kShuffle;
  node->seed = seed;
  node->reshuffle = reshuffle_each_iteration;
  node->cardinality = node_->cardinality;
  node->index_only = node_->index_only;
  return Chain(std::move(node));
}

Dataset Dataset::Map(MapFn fn) const {
  if (!status_.ok()) return *this;
  if (!fn.valid()) {
    return WithError(absl::InvalidArgumentError("Dataset::Map: the map function is empty"));
  }
  auto node = std::make_shared<Node>();
  node->kind = Kind::kMap;
  node->fn = std::move(fn);
  node->cardinality = node_->cardinality;
  return Chain(std::move(node));
}

Dataset Dataset::Batch(int64_t batch_size, bool drop_remainder) const {
  if (!status_.ok()) return *this;
  if (batch_size <= 0) {
    return WithError(absl::InvalidArgumentError(
        absl::StrCat("Dataset::Batch: batch_size must be positive, got ", batch_size)));
  }
  auto node = std::make_shared<Node>();
  node->kind = Kind::kBatch;
  node->count = batch_size;
  node->drop_remainder = drop_remainder;
  const int64_t n = node_->cardinality;
  node->cardinality =
      !Finite(n) ? n : (drop_remainder ? n / batch_size : n / batch_size + (n % batch_size != 0));
  return Chain(std::move(node));
}

Dataset Dataset::Repeat(int64_t count) const {
  if (!status_.ok()) return *this;
  if (count < -1) {
    return WithError(absl::InvalidArgumentError(
        absl::StrCat("Dataset::Repeat: count must be >= 0, or -1 for forever; got ", count)));
  }
  auto node = std::make_shared<Node>();
  node->kind = Kind::kRepeat;
  node->count = count;
  const int64_t n = node_->cardinality;
  int64_t product = 0;
  if (count == 0 || n == 0) {
    node->cardinality = 0;
  } else if (count == -1 || n == kInfiniteCardinality) {
    node->cardinality = kInfiniteCardinality;
  } else if (n == kUnknownCardinality || __builtin_mul_overflow(n, count, &product)) {
    node->cardinality = kUnknownCardinality;
  } else {
    node->cardinality = product;
  }
  node->index_only = node_->index_only;
  return Chain(std::move(node));
}

Dataset Dataset::Prefetch(int buffer_size) const {
  if (!status_.ok()) return *this;
  if (buffer_size <= 0) {
    return WithError(absl::InvalidArgumentError(
        absl::StrCat("Dataset::Prefetch: buffer_size must be positive, got ", buffer_size)));
  }
  auto node = std::make_shared<Node>();
  node->kind = Kind::kPrefetch;
  node->count = buffer_size;
  node->cardinality = node_->cardinality;
  return Chain(std::move(node));
}

Dataset Dataset::Take(int64_t n) const {
  if (!status_.ok()) return *this;
  if (n < -1) {
    return WithError(absl::InvalidArgumentError(
        absl::StrCat("Dataset::Take: n must be >= 0, or -1 for all; got ", n)));
  }
  auto node = std::make_shared<Node>();
  node->kind = Kind::kTake;
  node->count = n;
  const int64_t in = node_->cardinality;
  if (n == -1) {
    node->cardinality = in;
  } else if (in == kInfiniteCardinality) {
    node->cardinality = n;
  } else if (in == kUnknownCardinality) {
    node->cardinality = kUnknownCardinality;
  } else {
    node->cardinality = std::min(n, in);
  }
  node->index_only = node_->index_only;
  return Chain(std::move(node));
}

int64_t Dataset::Cardinality() const {
  return status_.ok() ? node_->cardinality : kUnknownCardinality;
}

absl::StatusOr<std::unique_ptr<DatasetIterator>> Dataset::MakeIterator() const {
  RETURN_IF_ERROR(status_);
  return MakeElementIterator(node_, std::make_shared<IterationContext>());
}

// ---- Map functions.

MapFn MapFn::Rowwise(std::string name, RowwiseFn fn) {
  MapFn result;
  result.fn_ = std::move(fn);
  result.rowwise_ = true;
  result.name_ = std::move(name);
  return result;
}

namespace {

// Checks that `element` has a component `component`; the error names the
// function.
absl::Status CheckComponent(absl::string_view fn, const Element& element, int component) {
  if (component < 0 || static_cast<size_t>(component) >= element.size()) {
    return absl::InvalidArgumentError(absl::StrCat(fn, ": component ", component,
                                                   " requested but the element has ",
                                                   element.size(), " components"));
  }
  return absl::OkStatus();
}

std::string Describe(const Tensor& t) {
  return absl::StrCat(DTypeName(t.dtype()), t.shape().ToString());
}

template <typename T>
double ToDouble(T v) {
  if constexpr (std::is_same_v<T, Half>) {
    return HalfToFloat(v);
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return BFloat16ToFloat(v);
  } else {
    return static_cast<double>(v);
  }
}

template <typename T>
float ToFloat(T v) {
  if constexpr (std::is_same_v<T, double> || std::is_same_v<T, Half> ||
                std::is_same_v<T, BFloat16>) {
    return static_cast<float>(ToDouble(v));
  } else {
    return static_cast<float>(v);
  }
}

// Converts with saturation for integers, so no input is undefined behaviour.
template <typename U>
U FromDouble(double v) {
  if constexpr (std::is_same_v<U, bool>) {
    return v != 0;
  } else if constexpr (std::is_same_v<U, Half>) {
    return FloatToHalf(static_cast<float>(v));
  } else if constexpr (std::is_same_v<U, BFloat16>) {
    return FloatToBFloat16(static_cast<float>(v));
  } else if constexpr (std::is_floating_point_v<U>) {
    return static_cast<U>(v);
  } else {
    if (std::isnan(v)) return 0;
    // Both limits as doubles; 2^63 (i64 max rounded up) must clamp first.
    if (v <= static_cast<double>(std::numeric_limits<U>::min())) {
      return std::numeric_limits<U>::min();
    }
    if (v >= static_cast<double>(std::numeric_limits<U>::max())) {
      return std::numeric_limits<U>::max();
    }
    return static_cast<U>(v);
  }
}

template <typename T>
constexpr bool kPlainInteger = std::is_integral_v<T> && !std::is_same_v<T, bool>;

}  // namespace

MapFn NormalizeImages(float scale, float offset, int component) {
  return MapFn::Rowwise("NormalizeImages", [=](Element element, int) -> absl::StatusOr<Element> {
    RETURN_IF_ERROR(CheckComponent("NormalizeImages", element, component));
    const Tensor& in = element[component];
    Tensor out(DType::kF32, in.shape());
    float* to = out.data<float>();
    const int64_t n = in.num_elements();
    VisitDType(in.dtype(), [&]<typename T>() {
      const T* from = in.data<T>();
      for (int64_t i = 0; i < n; ++i) to[i] = ToFloat(from[i]) * scale + offset;
    });
    element[component] = std::move(out);
    return element;
  });
}

MapFn OneHot(int64_t depth, int component) {
  return MapFn::Rowwise("OneHot", [=](Element element, int) -> absl::StatusOr<Element> {
    RETURN_IF_ERROR(CheckComponent("OneHot", element, component));
    if (depth <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("OneHot: depth must be positive, got ", depth));
    }
    const Tensor& in = element[component];
    if (!IsInteger(in.dtype())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "OneHot: component ", component, " must hold integer labels, got ", Describe(in)));
    }
    Shape shape = in.shape();
    shape.AddDim(depth);
    ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(DType::kF32, shape));
    float* to = out.data<float>();
    std::memset(to, 0, out.num_bytes());
    const int64_t n = in.num_elements();
    absl::Status status;
    VisitDType(in.dtype(), [&]<typename T>() {
      if constexpr (kPlainInteger<T>) {
        const T* labels = in.data<T>();
        for (int64_t i = 0; i < n; ++i) {
          const int64_t label = static_cast<int64_t>(labels[i]);
          if (label < 0 || label >= depth) {
            status = absl::InvalidArgumentError(
                absl::StrCat("OneHot: label ", label, " at position ", i, " of component ",
                             component, " (", Describe(in), ") is outside [0, ", depth, ")"));
            return;
          }
          to[i * depth + label] = 1.0f;
        }
      }
    });
    RETURN_IF_ERROR(status);
    element[component] = std::move(out);
    return element;
  });
}

MapFn CastTo(DType dtype, int component) {
  return MapFn::Rowwise("CastTo", [=](Element element, int) -> absl::StatusOr<Element> {
    RETURN_IF_ERROR(CheckComponent("CastTo", element, component));
    if (DTypeSize(dtype) == 0) {
      return absl::InvalidArgumentError("CastTo: the target dtype is invalid");
    }
    const Tensor& in = element[component];
    if (in.dtype() == dtype) return element;
    Tensor out(dtype, in.shape());
    const int64_t n = in.num_elements();
    VisitDType(in.dtype(), [&]<typename T>() {
      const T* from = in.data<T>();
      VisitDType(dtype, [&]<typename U>() {
        U* to = out.data<U>();
        if constexpr (kPlainInteger<T> && kPlainInteger<U>) {
          // Integer to integer wraps like C++ (and TensorFlow's Cast), and
          // keeps i64 values exact.
          for (int64_t i = 0; i < n; ++i) to[i] = static_cast<U>(from[i]);
        } else {
          for (int64_t i = 0; i < n; ++i) to[i] = FromDouble<U>(ToDouble(from[i]));
        }
      });
    });
    element[component] = std::move(out);
    return element;
  });
}

MapFn FlattenFrom(int axis, int component) {
  return MapFn::Rowwise(
      "FlattenFrom", [=](Element element, int batch_dims) -> absl::StatusOr<Element> {
        RETURN_IF_ERROR(CheckComponent("FlattenFrom", element, component));
        const Tensor& in = element[component];
        const int rank = in.shape().rank() - batch_dims;
        const int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a > rank) {
          return absl::InvalidArgumentError(
              absl::StrCat("FlattenFrom: axis ", axis, " is out of range for component ", component,
                           " of rank ", rank, " (", Describe(in), ")"));
        }
        Shape shape(in.shape().dims().subspan(0, batch_dims + a));
        int64_t rest = 1;
        for (int d = batch_dims + a; d < in.shape().rank(); ++d) rest *= in.shape().dim(d);
        shape.AddDim(rest);
        ASSIGN_OR_RETURN(element[component], in.Reshaped(shape));
        return element;
      });
}

MapFn ReshapeTo(Shape shape, int component) {
  return MapFn::Rowwise(
      "ReshapeTo", [=](Element element, int batch_dims) -> absl::StatusOr<Element> {
        RETURN_IF_ERROR(CheckComponent("ReshapeTo", element, component));
        const Tensor& in = element[component];
        int64_t row = 1;
        for (int d = batch_dims; d < in.shape().rank(); ++d) row *= in.shape().dim(d);
        int unknown = -1;
        int64_t known = 1;
        for (int d = 0; d < shape.rank(); ++d) {
          if (shape.dim(d) >= 0) {
            known *= shape.dim(d);
          } else if (shape.dim(d) == kUnknownDim && unknown < 0) {
            unknown = d;
          } else {
            return absl::InvalidArgumentError(
                absl::StrCat("ReshapeTo: target shape ", shape.ToString(),
                             " may hold one -1 dim and otherwise dims >= 0"));
          }
        }
        Shape target(in.shape().dims().subspan(0, batch_dims));
        for (int d = 0; d < shape.rank(); ++d) {
          if (d == unknown) {
            if (known == 0 || row % known != 0) {
              return absl::InvalidArgumentError(absl::StrCat("ReshapeTo: cannot reshape component ",
                                                             component, " (", Describe(in), ") to ",
                                                             shape.ToString()));
            }
            target.AddDim(row / known);
          } else {
            target.AddDim(shape.dim(d));
          }
        }
        auto reshaped = in.Reshaped(target);
        if (!reshaped.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("ReshapeTo: cannot reshape component ", component, " (", Describe(in),
                           ") to ", shape.ToString(), ": ", reshaped.status().message()));
        }
        element[component] = std::move(*reshaped);
        return element;
      });
}

}  // namespace sluice
