#include "runtime/trainer.h"

#include <chrono>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/status_macros.h"
#include "runtime/checkpoint.h"
#include "runtime/dataset.h"

namespace sluice {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The node of an output name ("node" or "node:index").
const Node* NodeOf(const Graph& graph, absl::string_view output) {
  const size_t colon = output.rfind(':');
  if (colon != absl::string_view::npos) {
    if (const Node* n = graph.FindNode(output.substr(0, colon))) return n;
  }
  return graph.FindNode(output);
}

absl::Status CheckNode(const Graph& graph, absl::string_view role, const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("no ", role, " was named"));
  if (NodeOf(graph, name) == nullptr) {
    return absl::NotFoundError(absl::StrCat(role, " '", name, "' is not a node of the graph"));
  }
  return absl::OkStatus();
}

bool IsPlaceholder(const Node& n) {
  return n.op() == "Placeholder" || n.op() == "PlaceholderWithDefault";
}

double ScalarValue(const Tensor& t) { return t.num_elements() > 0 ? t.ElementAsDouble(0) : 0; }

// Converts `data` ([N, ...]) to `dtype` with `shape`'s trailing dims. u8
// data (images) going to a floating type is scaled to [0, 1].
absl::StatusOr<Tensor> ConvertInputs(const Tensor& data, DType dtype, const Shape& shape,
                                     absl::string_view what) {
  const int64_t n = data.shape().dim(0);
  Shape target = data.shape();
  if (!shape.unknown_rank()) {
    if (shape.rank() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": the placeholder is a scalar; it needs a batch dimension"));
    }
    const int64_t per_example = n == 0 ? 0 : data.num_elements() / n;
    int64_t known = 1, unknown = -1;
    for (int d = 1; d < shape.rank(); ++d) {
      if (shape.dim(d) < 0) {
        if (unknown >= 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              what, ": the placeholder's shape ", shape.ToString(),
              " has more than one unknown dimension after the batch"));
        }
        unknown = d;
      } else {
        known *= shape.dim(d);
      }
    }
    std::vector<int64_t> dims(shape.dims().begin(), shape.dims().end());
    dims[0] = n;
    if (unknown >= 0 && known > 0 && per_example % known == 0) dims[unknown] = per_example / known;
    int64_t product = 1;
    for (size_t d = 1; d < dims.size(); ++d) product *= dims[d];
    if (product != per_example) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": examples of shape ",
          Shape(absl::MakeConstSpan(data.shape().dims()).subspan(1)).ToString(), " (",
          per_example, " values) do not fit the placeholder's shape ", shape.ToString()));
    }
    target = Shape(absl::MakeConstSpan(dims));
  }
  const bool scale = data.dtype() == DType::kU8 && IsFloating(dtype);
  if (data.dtype() == dtype) return data.Reshaped(target);
  if (!IsFloating(dtype) && IsFloating(data.dtype())) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", DTypeName(data.dtype()),
                                                   " data cannot feed a ", DTypeName(dtype),
                                                   " placeholder"));
  }
  Tensor out(dtype, target);
  const int64_t count = data.num_elements();
  const double factor = scale ? 1.0 / 255.0 : 1.0;
  if (dtype == DType::kF32 && data.dtype() == DType::kU8) {
    const uint8_t* src = data.data<uint8_t>();
    float* dst = out.data<float>();
    for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<float>(src[i]) * (1.0f / 255.0f);
    return out;
  }
  VisitDType(dtype, [&]<typename T>() {
    if constexpr (std::is_arithmetic_v<T>) {
      T* dst = out.data<T>();
      for (int64_t i = 0; i < count; ++i) {
        dst[i] = static_cast<T>(data.ElementAsDouble(i) * factor);
      }
    }
  });
  return out;
}

// Labels as the placeholder wants them: cast, or integer classes turned
// into one-hot rows for a floating [batch, classes] placeholder.
absl::StatusOr<Tensor> ConvertLabels(const Tensor& data, DType dtype, const Shape& shape,
                                     absl::string_view what) {
  const int64_t n = data.shape().dim(0);
  const bool one_hot = IsFloating(dtype) && !IsFloating(data.dtype()) && shape.rank() == 2 &&
                       data.shape().rank() == 1;
  if (one_hot) {
    const int64_t classes = shape.dim(1);
    if (classes <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": the placeholder ", shape.ToString(), " needs a known class count for one-hot labels"));
    }
    Tensor out = Tensor::Zeros(dtype, Shape{n, classes});
    for (int64_t i = 0; i < n; ++i) {
      const int64_t label = static_cast<int64_t>(data.ElementAsDouble(i));
      if (label < 0 || label >= classes) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": label ", label, " of example ", i,
                                                       " is outside [0, ", classes, ")"));
      }
      if (dtype == DType::kF32) {
        out.data<float>()[i * classes + label] = 1.0f;
      } else {
        out.data<double>()[i * classes + label] = 1.0;
      }
    }
    return out;
  }
  return ConvertInputs(data, dtype, shape, what);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(const Graph& graph,
                                                         TrainerOptions options) {
  std::unique_ptr<Trainer> t(new Trainer);
  RETURN_IF_ERROR(CheckNode(graph, "train op", options.train_op));
  RETURN_IF_ERROR(CheckNode(graph, "loss", options.loss));
  if (!options.accuracy.empty()) RETURN_IF_ERROR(CheckNode(graph, "accuracy", options.accuracy));
  if (options.epochs < 1) {
    return absl::InvalidArgumentError(absl::StrCat("epochs must be >= 1, got ", options.epochs));
  }
  if (options.batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size must be >= 1, got ", options.batch_size));
  }
  if (options.eval_batch_size < 1) options.eval_batch_size = options.batch_size;

  // The placeholders for inputs and labels.
  std::vector<const Node*> candidates;
  for (const Node* n : graph.nodes()) {
    if (n->op() == "Placeholder") candidates.push_back(n);
  }
  auto find_placeholder = [&](absl::string_view role, const std::string& name) -> absl::Status {
    const Node* n = graph.FindNode(name);
    if (n == nullptr) {
      return absl::NotFoundError(absl::StrCat(role, " placeholder '", name,
                                              "' is not a node of the graph"));
    }
    if (!IsPlaceholder(*n)) {
      return absl::InvalidArgumentError(absl::StrCat(role, " placeholder '", name, "' is ",
                                                     n->DebugName(), ", not a placeholder"));
    }
    return absl::OkStatus();
  };
  std::string inputs = options.inputs, labels = options.labels;
  auto others = [&](const std::string& taken) {
    std::vector<const Node*> rest;
    for (const Node* n : candidates) {
      if (n->name() != taken) rest.push_back(n);
    }
    return rest;
  };
  auto names_of = [](const std::vector<const Node*>& nodes) {
    std::vector<std::string> names;
    for (const Node* n : nodes) names.push_back(absl::StrCat("'", n->name(), "'"));
    return names.empty() ? std::string("none") : absl::StrJoin(names, ", ");
  };
  if (inputs.empty() && labels.empty()) {
    if (candidates.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot tell which placeholders take the inputs and the labels: the graph has ",
          candidates.size(), " placeholders (", names_of(candidates), "); name them"));
    }
    // Labels: the one named so, else the integer one.
    int label_index = -1;
    for (int i = 0; i < 2; ++i) {
      if (absl::StrContains(absl::AsciiStrToLower(candidates[i]->name()), "label")) label_index = i;
    }
    if (label_index < 0) {
      for (int i = 0; i < 2; ++i) {
        if (!IsFloating(candidates[i]->output_dtype(0))) label_index = i;
      }
    }
    if (label_index < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot tell which of the placeholders ", names_of(candidates),
          " takes the labels; name them"));
    }
    labels = candidates[label_index]->name();
    inputs = candidates[1 - label_index]->name();
  } else if (inputs.empty() || labels.empty()) {
    const std::string& given = inputs.empty() ? labels : inputs;
    RETURN_IF_ERROR(find_placeholder(inputs.empty() ? "labels" : "inputs", given));
    std::vector<const Node*> rest = others(given);
    if (rest.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot tell which placeholder takes the ", inputs.empty() ? "inputs" : "labels",
          ": candidates are ", names_of(rest), "; name it"));
    }
    (inputs.empty() ? inputs : labels) = rest[0]->name();
  }
  RETURN_IF_ERROR(find_placeholder("inputs", inputs));
  RETURN_IF_ERROR(find_placeholder("labels", labels));
  if (inputs == labels) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", inputs, "' cannot take both the inputs and the labels"));
  }
  const Node* in = graph.FindNode(inputs);
  const Node* lab = graph.FindNode(labels);
  t->inputs_ = inputs;
  t->labels_ = labels;
  t->input_dtype_ = in->output_dtype(0);
  t->input_shape_ = in->output_shape(0);
  t->label_dtype_ = lab->output_dtype(0);
  t->label_shape_ = lab->output_shape(0);

  std::string flag = options.training_flag;
  if (flag.empty()) {
    const Node* n = graph.FindNode("training");
    if (n != nullptr && n->op() == "PlaceholderWithDefault" && n->output_dtype(0) == DType::kBool) {
      flag = "training";
    }
  } else {
    RETURN_IF_ERROR(find_placeholder("training flag", flag));
    if (graph.FindNode(flag)->output_dtype(0) != DType::kBool) {
      return absl::InvalidArgumentError(
          absl::StrCat("training flag '", flag, "' must be a bool placeholder"));
    }
  }
  t->training_flag_ = flag;

  if (!options.checkpoint_path.empty()) {
    // Found now rather than after the first epoch's work.
    RETURN_IF_ERROR(CheckCheckpointDestination(options.checkpoint_path));
  }
  t->graph_ = graph.Clone();
  ASSIGN_OR_RETURN(t->session_, Session::Create(graph, options.session_options));
  if (!options.logdir.empty()) {
    ASSIGN_OR_RETURN(t->events_, EventWriter::Create(options.logdir));
  }
  t->options_ = std::move(options);
  return t;
}

absl::Status Trainer::Initialize() {
  if (!options_.restore_path.empty()) return session_->RestoreCheckpoint(options_.restore_path);
  std::vector<std::string> initializers;
  for (const Node* n : graph_->nodes()) {
    if (n->op() != "Variable") continue;
    const std::string& init = n->attr("initializer").s();
    if (init.empty() || graph_->FindNode(init) == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "variable '", n->name(), "' has no initializer node; restore a checkpoint instead"));
    }
    initializers.push_back(init);
  }
  if (initializers.empty()) return absl::OkStatus();
  return session_->Run(FeedList{}, {}, initializers).status();
}

absl::StatusOr<DataSplit> Trainer::Prepare(const DataSplit& split, absl::string_view what) const {
  if (split.inputs.shape().rank() < 1 || split.labels.shape().rank() < 1 ||
      split.inputs.shape().dim(0) != split.labels.shape().dim(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": inputs ", split.inputs.shape().ToString(), " and labels ",
        split.labels.shape().ToString(), " must hold the same number of examples"));
  }
  DataSplit out;
  ASSIGN_OR_RETURN(out.inputs, ConvertInputs(split.inputs, input_dtype_, input_shape_,
                                             absl::StrCat(what, " inputs for '", inputs_, "'")));
  ASSIGN_OR_RETURN(out.labels, ConvertLabels(split.labels, label_dtype_, label_shape_,
                                             absl::StrCat(what, " labels for '", labels_, "'")));
  return out;
}

absl::StatusOr<Evaluation> Trainer::Evaluate(const DataSplit& split) {
  ASSIGN_OR_RETURN(DataSplit prepared, Prepare(split, "evaluation"));
  return EvaluatePrepared(prepared);
}

absl::StatusOr<Evaluation> Trainer::EvaluatePrepared(const DataSplit& split) {
  ASSIGN_OR_RETURN(Dataset data, Dataset::FromTensorSlices({split.inputs, split.labels}));
  ASSIGN_OR_RETURN(auto it, data.Batch(options_.eval_batch_size).MakeIterator());
  std::vector<std::string> fetches = {options_.loss};
  if (!options_.accuracy.empty()) fetches.push_back(options_.accuracy);
  Evaluation result;
  double loss_sum = 0, correct_sum = 0;
  while (true) {
    ASSIGN_OR_RETURN(std::optional<Element> batch, it->Next());
    if (!batch) break;
    const int64_t n = (*batch)[0].shape().dim(0);
    ASSIGN_OR_RETURN(std::vector<Tensor> out,
                     session_->Run({{inputs_, (*batch)[0]}, {labels_, (*batch)[1]}}, fetches));
    loss_sum += ScalarValue(out[0]) * static_cast<double>(n);
    if (out.size() > 1) correct_sum += ScalarValue(out[1]) * static_cast<double>(n);
    result.examples += n;
  }
  if (result.examples > 0) {
    result.loss = loss_sum / static_cast<double>(result.examples);
    if (!options_.accuracy.empty()) {
      result.accuracy = correct_sum / static_cast<double>(result.examples);
    }
  }
  return result;
}

absl::StatusOr<std::vector<EpochSummary>> Trainer::Fit(
    const DataSplits& data, const std::function<void(const TrainProgress&)>& on_progress,
    const std::function<void(const EpochSummary&)>& on_epoch) {
  ASSIGN_OR_RETURN(DataSplit train, Prepare(data.train, "training"));
  std::optional<DataSplit> test;
  if (data.test) {
    ASSIGN_OR_RETURN(test, Prepare(*data.test, "test"));
  }
  ASSIGN_OR_RETURN(Dataset source, Dataset::FromTensorSlices({train.inputs, train.labels}));
  const Dataset batches =
      source.Shuffle(options_.seed).Batch(options_.batch_size).Prefetch(2);
  RETURN_IF_ERROR(batches.status());

  std::vector<std::string> feed_names = {inputs_, labels_};
  if (!training_flag_.empty()) feed_names.push_back(training_flag_);
  std::vector<std::string> fetches = {options_.loss};
  if (!options_.accuracy.empty()) fetches.push_back(options_.accuracy);
  ASSIGN_OR_RETURN(Session::CallableHandle step,
                   session_->MakeCallable(feed_names, fetches, {options_.train_op}));
  const Tensor training_true = Tensor::Scalar(true);
  const int64_t examples = train.inputs.shape().dim(0);
  const int64_t steps = (examples + options_.batch_size - 1) / options_.batch_size;

  std::vector<EpochSummary> summaries;
  // A fresh iterator per epoch keeps the shuffle deterministic per seed.
  ASSIGN_OR_RETURN(auto it, batches.Repeat(options_.epochs).MakeIterator());
  for (int e = 0; e < options_.epochs; ++e) {
    const int epoch = epochs_done_ + 1;
    const Clock::time_point start = Clock::now();
    TrainProgress progress{.epoch = epoch, .steps = steps};
    double loss_sum = 0, correct_sum = 0;
    std::vector<Tensor> feeds(feed_names.size());
    if (!training_flag_.empty()) feeds[2] = training_true;
    for (int64_t s = 0; s < steps; ++s) {
      ASSIGN_OR_RETURN(std::optional<Element> batch, it->Next());
      if (!batch) return absl::InternalError("the data set ended before the epoch did");
      const int64_t n = (*batch)[0].shape().dim(0);
      feeds[0] = (*batch)[0];
      feeds[1] = (*batch)[1];
      ASSIGN_OR_RETURN(std::vector<Tensor> out, session_->RunCallable(step, feeds));
      const double loss = ScalarValue(out[0]);
      if (!std::isfinite(loss)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the loss became ", loss, " at epoch ", epoch, " batch ", s + 1,
            "; lower the learning rate"));
      }
      loss_sum += loss * static_cast<double>(n);
      if (out.size() > 1) correct_sum += ScalarValue(out[1]) * static_cast<double>(n);
      progress.step = s + 1;
      progress.examples += n;
      ++global_batches_;
      if (events_ && global_batches_ % options_.progress_every == 0) {
        RETURN_IF_ERROR(events_->AddScalar("batch/loss", global_batches_, loss));
      }
      if (on_progress && (progress.step % options_.progress_every == 0 || progress.step == steps)) {
        const double seconds = SecondsSince(start);
        progress.examples_per_second =
            seconds > 0 ? static_cast<double>(progress.examples) / seconds : 0;
        progress.running_loss = loss_sum / static_cast<double>(progress.examples);
        on_progress(progress);
      }
    }
    EpochSummary summary;
    summary.epoch = epoch;
    summary.seconds = SecondsSince(start);
    summary.examples_per_second =
        summary.seconds > 0 ? static_cast<double>(progress.examples) / summary.seconds : 0;
    summary.train_loss = loss_sum / static_cast<double>(std::max<int64_t>(progress.examples, 1));
    if (!options_.accuracy.empty()) {
      summary.train_accuracy =
          correct_sum / static_cast<double>(std::max<int64_t>(progress.examples, 1));
    }
    if (test) {
      ASSIGN_OR_RETURN(Evaluation eval, EvaluatePrepared(*test));
      summary.test_loss = eval.loss;
      summary.test_accuracy = eval.accuracy;
    }
    if (!options_.checkpoint_path.empty()) {
      RETURN_IF_ERROR(session_->SaveCheckpoint(options_.checkpoint_path));
    }
    if (events_) {
      RETURN_IF_ERROR(events_->AddScalar("epoch/train_loss", epoch, summary.train_loss));
      if (summary.train_accuracy) {
        RETURN_IF_ERROR(events_->AddScalar("epoch/train_accuracy", epoch, *summary.train_accuracy));
      }
      if (summary.test_loss) {
        RETURN_IF_ERROR(events_->AddScalar("epoch/test_loss", epoch, *summary.test_loss));
      }
      if (summary.test_accuracy) {
        RETURN_IF_ERROR(events_->AddScalar("epoch/test_accuracy", epoch, *summary.test_accuracy));
      }
      RETURN_IF_ERROR(events_->Flush());
    }
    ++epochs_done_;
    summaries.push_back(summary);
    if (on_epoch) on_epoch(summary);
  }
  RETURN_IF_ERROR(session_->ReleaseCallable(step));
  return summaries;
}

}  // namespace sluice
