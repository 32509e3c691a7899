// Training data named on the command line: a folder of MNIST-style IDX
// files, a folder of .npy files, or an explicit list of .npy files.
#ifndef SLUICE_RUNTIME_DATA_SOURCE_H_
#define SLUICE_RUNTIME_DATA_SOURCE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "graph/tensor.h"

namespace sluice {

// Examples of one split: `inputs` and `labels` agree in dim 0 (the number of
// examples).
struct DataSplit {
  Tensor inputs;
  Tensor labels;
};

struct DataSplits {
  DataSplit train;
  std::optional<DataSplit> test;
};

// Loads the data a SPEC names. SPEC is one of:
//  (a) a folder with IDX files named as MNIST and Fashion-MNIST name them:
//      train-images-idx3-ubyte and train-labels-idx1-ubyte, optionally
//      t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each possibly
//      with a .gz suffix (compression is detected from the contents);
//  (b) a folder with train_inputs.npy and train_labels.npy, optionally
//      test_inputs.npy and test_labels.npy;
//  (c) a comma list `train=INPUTS:LABELS[,test=INPUTS:LABELS]` of files,
//      .npy or (any other name) IDX.
// Errors start with the spec and name the missing or mismatched file: a
// folder with none of the expected files lists the names looked for; a test
// split with only one of its two files, or inputs and labels that disagree
// in the number of examples, are errors.
absl::StatusOr<DataSplits> LoadDataSplits(const std::string& spec);

}  // namespace sluice

#endif  // SLUICE_RUNTIME_DATA_SOURCE_H_
