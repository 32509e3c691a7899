#include "runtime/data_source.h"

#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "graph/status_macros.h"
#include "runtime/idx.h"
#include "runtime/npy.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

// `status` with its message prefixed by the spec, keeping the code.
absl::Status InSpec(absl::string_view spec, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("data spec '", spec, "': ", status.message()));
}

absl::StatusOr<Tensor> ReadArray(const std::string& path) {
  if (absl::EndsWith(path, ".npy")) return ReadNpy(path);
  return ReadIdx(path);
}

bool IsFile(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

absl::StatusOr<DataSplit> LoadSplit(absl::string_view spec, const std::string& inputs_path,
                                    const std::string& labels_path) {
  DataSplit split;
  auto inputs = ReadArray(inputs_path);
  if (!inputs.ok()) return InSpec(spec, inputs.status());
  auto labels = ReadArray(labels_path);
  if (!labels.ok()) return InSpec(spec, labels.status());
  if (inputs->shape().rank() < 1 || labels->shape().rank() < 1 ||
      inputs->shape().dim(0) != labels->shape().dim(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data spec '", spec,
        "': inputs and labels must hold the same number of examples (dim 0), "
        "but ",
        inputs_path, " is ", DTypeName(inputs->dtype()), inputs->shape().ToString(), " and ",
        labels_path, " is ", DTypeName(labels->dtype()), labels->shape().ToString()));
  }
  split.inputs = std::move(*inputs);
  split.labels = std::move(*labels);
  return split;
}

// The first of `names` that exists in `dir` as a file, or "".
std::string FindFile(const fs::path& dir, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (IsFile(dir / name)) return (dir / name).string();
  }
  return "";
}

std::vector<std::string> IdxNames(absl::string_view prefix, absl::string_view kind) {
  const std::string base = absl::StrCat(prefix, "-", kind);
  return {base, base + ".gz"};
}

// Loads the pair named (inputs, labels) when present: nullopt when neither
// exists, an error when only one does.
absl::StatusOr<std::optional<DataSplit>> LoadPair(absl::string_view spec,
                                                  const std::vector<std::string>& input_names,
                                                  const std::string& inputs,
                                                  const std::vector<std::string>& label_names,
                                                  const std::string& labels) {
  if (inputs.empty() && labels.empty()) return std::nullopt;
  if (inputs.empty() || labels.empty()) {
    const auto& missing = inputs.empty() ? input_names : label_names;
    return absl::NotFoundError(absl::StrCat("data spec '", spec, "': found ",
                                            inputs.empty() ? labels : inputs, " but not ",
                                            absl::StrJoin(missing, " or ")));
  }
  ASSIGN_OR_RETURN(DataSplit split, LoadSplit(spec, inputs, labels));
  return std::optional<DataSplit>(std::move(split));
}

absl::StatusOr<DataSplits> LoadFolder(const std::string& spec) {
  const fs::path dir(spec);
  struct Layout {
    std::vector<std::string> train_inputs, train_labels, test_inputs, test_labels;
  };
  const Layout layouts[] = {
      {IdxNames("train", "images-idx3-ubyte"), IdxNames("train", "labels-idx1-ubyte"),
       IdxNames("t10k", "images-idx3-ubyte"), IdxNames("t10k", "labels-idx1-ubyte")},
      {{"train_inputs.npy"}, {"train_labels.npy"}, {"test_inputs.npy"}, {"test_labels.npy"}},
  };
  std::vector<std::string> looked_for;
  for (const Layout& layout : layouts) {
    const std::string train_inputs = FindFile(dir, layout.train_inputs);
    const std::string train_labels = FindFile(dir, layout.train_labels);
    const std::string test_inputs = FindFile(dir, layout.test_inputs);
    const std::string test_labels = FindFile(dir, layout.test_labels);
    for (const auto* names : {&layout.train_inputs, &layout.train_labels}) {
      looked_for.insert(looked_for.end(), names->begin(), names->end());
    }
    if (train_inputs.empty() && train_labels.empty()) {
      if (!test_inputs.empty() || !test_labels.empty()) {
        return absl::NotFoundError(absl::StrCat("data spec '", spec, "': found test data (",
                                                test_inputs.empty() ? test_labels : test_inputs,
                                                ") but no training data (",
                                                absl::StrJoin(layout.train_inputs, " or "), " and ",
                                                absl::StrJoin(layout.train_labels, " or "), ")"));
      }
      continue;
    }
    ASSIGN_OR_RETURN(
        std::optional<DataSplit> train,
        LoadPair(spec, layout.train_inputs, train_inputs, layout.train_labels, train_labels));
    ASSIGN_OR_RETURN(std::optional<DataSplit> test, LoadPair(spec, layout.test_inputs, test_inputs,
                                                             layout.test_labels, test_labels));
    return DataSplits{std::move(*train), std::move(test)};
  }
  return absl::NotFoundError(absl::StrCat("data spec '", spec,
                                          "': the folder holds none of the expected files (",
                                          absl::StrJoin(looked_for, ", "), ")"));
}

absl::StatusOr<DataSplits> LoadList(const std::string& spec) {
  std::optional<DataSplit> train;
  std::optional<DataSplit> test;
  for (absl::string_view part : absl::StrSplit(spec, ',')) {
    const std::vector<absl::string_view> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    const std::vector<std::string> files =
        kv.size() == 2 ? absl::StrSplit(kv[1], ':') : std::vector<std::string>();
    if (kv.size() != 2 || kv[0].empty() || files.size() != 2 || files[0].empty() ||
        files[1].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("data spec '", spec, "': '", part,
                       "' is not of the form train=INPUTS:LABELS or test=INPUTS:LABELS"));
    }
    std::optional<DataSplit>* slot = nullptr;
    if (kv[0] == "train") slot = &train;
    if (kv[0] == "test") slot = &test;
    if (slot == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("data spec '", spec, "': unknown split '",
                                                     kv[0], "'; use train= and test="));
    }
    if (slot->has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("data spec '", spec, "': split '", kv[0], "' is given twice"));
    }
    ASSIGN_OR_RETURN(DataSplit split, LoadSplit(spec, files[0], files[1]));
    *slot = std::move(split);
  }
  if (!train.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("data spec '", spec, "': no train=INPUTS:LABELS part"));
  }
  return DataSplits{std::move(*train), std::move(test)};
}

}  // namespace

absl::StatusOr<DataSplits> LoadDataSplits(const std::string& spec) {
  if (spec.empty()) {
    return absl::InvalidArgumentError(
        "empty data spec; give a folder or train=INPUTS:LABELS[,test=INPUTS:LABELS]");
  }
  std::error_code ec;
  if (fs::is_directory(spec, ec)) return LoadFolder(spec);
  if (absl::StrContains(spec, '=')) return LoadList(spec);
  return absl::NotFoundError(
      absl::StrCat("data spec '", spec,
                   "': no such folder; give a folder of IDX or .npy files, or "
                   "train=INPUTS:LABELS[,test=INPUTS:LABELS]"));
}

}  // namespace sluice
