// An in-memory input pipeline in the style of tf.data: a Dataset describes a
// sequence of elements (each a tuple of Tensors) built from tensors and
// transformations; an iterator made from it produces the elements.
//
//   ASSIGN_OR_RETURN(Dataset ds, Dataset::FromTensorSlices({images, labels}));
//   ds = ds.Shuffle(/*seed=*/1).Batch(128, /*drop_remainder=*/false)
//            .Map(NormalizeImages()).Map(OneHot(10)).Prefetch(2);
//   ASSIGN_OR_RETURN(auto it, ds.MakeIterator());
//   while (true) {
//     ASSIGN_OR_RETURN(std::optional<Element> batch, it->Next());
//     if (!batch) break;
//     ...
//   }
//
// Errors in building a pipeline (a bad batch size, shuffling an infinite
// dataset, ...) are kept by the Dataset like Scope keeps them: the first one
// is reported by status() and by MakeIterator(). Errors while iterating (a
// failing map function, elements that cannot be stacked) come from Next().
//
// Fast paths. A chain of FromTensorSlices, Shuffle, Repeat and Take with no
// Map in it only moves indices, so it runs on indices alone: Batch over such
// a chain gathers rows from the source tensors straight into the batch
// tensors with memcpy (coalescing consecutive rows), and unbatched elements
// are views of rows of the source tensors, not copies. A Map whose function
// is row-wise (MapFn::Rowwise; every built-in below is) that sits directly
// before a Batch runs after it, once per batch, on all rows at once; the
// result is the same as running it per element. NormalizeImages and OneHot
// work on any leading dims, so writing them after Batch is the plain,
// recommended order; FlattenFrom and ReshapeTo are defined on the element
// they see, so before Batch they take element axes and after Batch the
// batch axis counts too.
#ifndef SLUICE_RUNTIME_DATASET_H_
#define SLUICE_RUNTIME_DATASET_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/tensor.h"

namespace sluice {

// One element of a dataset: a tuple of components.
using Element = std::vector<Tensor>;

// Cardinality of a dataset that never ends (Repeat() forever).
inline constexpr int64_t kInfiniteCardinality = -1;
// Cardinality of a dataset whose length cannot be computed (it holds an
// error, or its length overflows int64).
inline constexpr int64_t kUnknownCardinality = -2;

// A function applied by Dataset::Map. A plain function (any callable taking
// an Element and returning StatusOr<Element>) is applied to exactly the
// elements its input yields. A row-wise function also accepts `batch_dims`
// extra leading dims (rows stacked by Batch) and must give, for a stack of
// rows, the stack of its per-row results; the pipeline then may run it on
// whole batches.
class MapFn {
 public:
  using Fn = std::function<absl::StatusOr<Element>(Element)>;
  using RowwiseFn = std::function<absl::StatusOr<Element>(Element, int batch_dims)>;

  MapFn() = default;
  // Implicit, so that lambdas and std::functions can be passed to Map().
  template <typename F, typename = std::enable_if_t<
                            !std::is_same_v<std::decay_t<F>, MapFn> &&
                            std::is_invocable_r_v<absl::StatusOr<Element>, F&, Element>>>
  MapFn(F fn)  // NOLINT(google-explicit-constructor)
      : fn_([f = Fn(std::move(fn))](Element e, int) { return f(std::move(e)); }), rowwise_(false) {}

  // A row-wise function named `name` (the name appears in errors).
  static MapFn Rowwise(std::string name, RowwiseFn fn);

  // Applies the function to `element`, which carries `batch_dims` leading
  // dims of stacked rows (0 for an element as the pipeline defines it;
  // nonzero only for row-wise functions).
  absl::StatusOr<Element> Apply(Element element, int batch_dims = 0) const {
    return fn_(std::move(element), batch_dims);
  }
  absl::StatusOr<Element> operator()(Element element) const { return Apply(std::move(element)); }

  bool rowwise() const { return rowwise_; }
  const std::string& name() const { return name_; }
  bool valid() const { return static_cast<bool>(fn_); }

 private:
  RowwiseFn fn_;
  bool rowwise_ = false;
  std::string name_ = "map function";
};

// Built-in row-wise map functions. `component` is the index of the tensor
// in the element they change; the others pass through untouched.
//
// Converts any real dtype to f32 as value * scale + offset (defaults map
// u8 pixels to [0, 1]).
MapFn NormalizeImages(float scale = 1.0f / 255, float offset = 0, int component = 0);
// Integer labels of any shape S -> f32 one-hot of shape S + [depth]. A label
// outside [0, depth) is an error naming it and its position.
MapFn OneHot(int64_t depth, int component = 1);
// Converts to `dtype` (floats to integers truncate toward zero and saturate;
// NaN becomes 0; to bool: nonzero is true).
MapFn CastTo(DType dtype, int component);
// Merges the dims from `axis` (0 <= axis <= rank of the element's component;
// negative counts from the end) into one: [28,28] with axis 0 -> [784].
MapFn FlattenFrom(int axis, int component);
// Reshapes the component to `shape` (one dim may be -1, inferred); rows
// stacked by Batch keep their leading dims. A view, not a copy.
MapFn ReshapeTo(Shape shape, int component);

class DatasetIterator;

namespace dataset_internal {
struct Node;
}  // namespace dataset_internal

// An immutable description of a pipeline; copies share it. Transformations
// return new Datasets and never change this one.
class Dataset {
 public:
  // An empty, invalid dataset (status() is an error).
  Dataset();

  // Element i is the i-th slice along dim 0 of every component. Components
  // must be non-empty, valid, of rank >= 1, and agree in dim 0; errors name
  // the components and their shapes.
  static absl::StatusOr<Dataset> FromTensorSlices(std::vector<Tensor> components);

  // A full, uniformly random permutation of one pass over the input,
  // determined by `seed`. With `reshuffle_each_iteration`, each pass (each
  // repetition under a Repeat placed after it) uses a new permutation,
  // still determined by the seed and the pass number; every iterator made
  // from the dataset sees the same sequence. The input must be finite.
  Dataset Shuffle(uint64_t seed, bool reshuffle_each_iteration = true) const;
  // Applies `fn` to each element (see MapFn for row-wise functions).
  Dataset Map(MapFn fn) const;
  // Stacks `batch_size` (> 0) consecutive elements along a new leading dim;
  // a last, shorter batch is kept unless `drop_remainder`. Elements of a
  // batch must agree in dtypes and shapes.
  Dataset Batch(int64_t batch_size, bool drop_remainder = false) const;
  // Repeats the input `count` times (0: empty), or forever with -1. An
  // input that yields nothing in a pass ends the repetition.
  Dataset Repeat(int64_t count = -1) const;
  // Produces elements on a background thread, up to `buffer_size` (> 0)
  // ahead of the consumer.
  Dataset Prefetch(int buffer_size) const;
  // At most the first `n` elements; n = -1 takes all.
  Dataset Take(int64_t n) const;

  // The number of elements, kInfiniteCardinality, or kUnknownCardinality.
  int64_t Cardinality() const;
  // The first error made building the pipeline, or OK.
  absl::Status status() const { return status_; }

  // A new iterator at the start of the sequence; the error of status() if
  // there is one.
  absl::StatusOr<std::unique_ptr<DatasetIterator>> MakeIterator() const;

 private:
  Dataset(std::shared_ptr<const dataset_internal::Node> node, absl::Status status);
  Dataset Chain(std::shared_ptr<dataset_internal::Node> node) const;
  Dataset WithError(absl::Status status) const;

  std::shared_ptr<const dataset_internal::Node> node_;
  absl::Status status_;
};

// Produces the elements of a dataset in order. Not thread-safe: one consumer
// calls Next(). Destroying an iterator stops and joins any background work.
class DatasetIterator {
 public:
  virtual ~DatasetIterator() = default;
  // The next element; nullopt after the last; an error from a map function
  // or from stacking elements, after which the iterator should not be used.
  virtual absl::StatusOr<std::optional<Element>> Next() = 0;
};

}  // namespace sluice

#endif  // SLUICE_RUNTIME_DATASET_H_
