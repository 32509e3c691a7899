// The convolution and pooling windows every device's kernels take: output
// sizes and padding under SAME, VALID and EXPLICIT, layouts, and the errors
// for attrs the kernels cannot run.
#include "kernels/window_params.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "tests/kernel_test_util.h"

namespace sluice {
namespace {

using testing::AddSingleOpNode;

// An f32 constant of `shape`; the window functions read only a node's attrs
// and take the shapes separately.
Tensor F32(const Shape& shape) { return Tensor(DType::kF32, shape); }

TEST_CASE("ParseDataFormat knows NHWC and NCHW") {
  CHECK(ParseDataFormat("NHWC").value() == DataFormat::kNhwc);
  CHECK(ParseDataFormat("NCHW").value() == DataFormat::kNchw);
  const absl::Status status = ParseDataFormat("NDHWC").status();
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) == "data_format must be NHWC or NCHW, got 'NDHWC'");
}

TEST_CASE("Conv2DWindow pads SAME as TensorFlow does") {
  Graph graph;
  // 3x3 filter, stride 2 over 7x8: out 4x4, padding 2 (1 before, 1 after)
  // in height and 1 (0 before, 1 after) in width.
  const Node* node =
      AddSingleOpNode(graph, "Conv2D", {F32(Shape{2, 7, 8, 3}), F32(Shape{3, 3, 3, 5})},
                      {{"strides", {1, 2, 2, 1}}, {"padding", "SAME"}})
          .value();
  absl::StatusOr<Window2D> w = Conv2DWindow(Shape{2, 7, 8, 3}, Shape{3, 3, 3, 5}, *node);
  REQUIRE(w.ok());
  CHECK(w->out_h == 4);
  CHECK(w->out_w == 4);
  CHECK(w->pad_top == 1);
  CHECK(w->pad_bottom == 1);
  CHECK(w->pad_left == 0);
  CHECK(w->pad_right == 1);
  CHECK(w->OutputShape() == Shape{2, 4, 4, 5});
  CHECK(w->FilterShape() == Shape{3, 3, 3, 5});
  CHECK_FALSE(w->symmetric());
  CHECK(w->padded_h() == 9);
  CHECK(w->ToString() == "[2,7,8,3] -> [2,4,4,5] k3x3 s2x2 d1x1 pad t1 b1 l0 r1");
}

TEST_CASE("Conv2DWindow reads NCHW, dilations and explicit padding") {
  Graph graph;
  const Node* node =
      AddSingleOpNode(graph, "Conv2D", {F32(Shape{1, 4, 6, 6}), F32(Shape{3, 2, 4, 8})},
                      {{"strides", {1, 1, 1, 1}},
                       {"padding", "EXPLICIT"},
                       {"explicit_paddings", {0, 0, 0, 0, 1, 2, 3, 0}},
                       {"data_format", "NCHW"},
                       {"dilations", {1, 1, 2, 1}}})
          .value();
  absl::StatusOr<Window2D> w = Conv2DWindow(Shape{1, 4, 6, 6}, Shape{3, 2, 4, 8}, *node);
  REQUIRE(w.ok());
  CHECK_FALSE(w->nhwc());
  // Dilated filter height 5 over 6 + 1 + 2; width 2 over 6 + 3.
  CHECK(w->out_h == 5);
  CHECK(w->out_w == 8);
  CHECK(w->pad_top == 1);
  CHECK(w->pad_bottom == 2);
  CHECK(w->pad_left == 3);
  CHECK(w->pad_right == 0);
  CHECK(w->InputShape() == Shape{1, 4, 6, 6});
  CHECK(w->OutputShape() == Shape{1, 8, 5, 8});
}

TEST_CASE("Conv2DWindow rejects what the kernels cannot run") {
  Graph graph;
  const Node* valid =
      AddSingleOpNode(graph, "Conv2D", {F32(Shape{1, 5, 5, 2}), F32(Shape{3, 3, 2, 1})},
                      {{"strides", {1, 1, 1, 1}}, {"padding", "VALID"}})
          .value();
  absl::Status status = Conv2DWindow(Shape{1, 5, 5, 2}, Shape{3, 3, 4, 1}, *valid).status();
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) ==
        "input depth 2 differs from the filter's in-depth 4: input [1,5,5,2], filter [3,3,4,1] "
        "(grouped convolution is not supported)");
  status = Conv2DWindow(Shape{1, 5, 5}, Shape{3, 3, 2, 1}, *valid).status();
  CHECK(std::string(status.message()) == "input must be a fully known 4-D shape, got [1,5,5]");
  status = Conv2DWindow(Shape{1, 2, 5, 2}, Shape{4, 3, 2, 1}, *valid).status();
  CHECK(std::string(status.message()) ==
        "window of 4 (dilated) in height exceeds the padded input size 2");
}

TEST_CASE("Pool2DWindow takes ksize and strides and only SAME or VALID padding") {
  Graph graph;
  const Node* node =
      AddSingleOpNode(graph, "MaxPool", {F32(Shape{3, 5, 4, 7})},
                      {{"ksize", {1, 2, 2, 1}}, {"strides", {1, 2, 2, 1}}, {"padding", "VALID"}})
          .value();
  absl::StatusOr<Window2D> w = Pool2DWindow(Shape{3, 5, 4, 7}, *node);
  REQUIRE(w.ok());
  CHECK(w->OutputShape() == Shape{3, 2, 2, 7});
  CHECK(w->k_h == 2);
  CHECK(w->stride_w == 2);
  CHECK(w->symmetric());
  // The window of a Conv2D node's padding: pooling has no EXPLICIT.
  Graph conv_graph;
  const Node* conv =
      AddSingleOpNode(conv_graph, "Conv2D", {F32(Shape{3, 5, 4, 7}), F32(Shape{1, 1, 7, 1})},
                      {{"strides", {1, 1, 1, 1}},
                       {"padding", "EXPLICIT"},
                       {"explicit_paddings", {0, 0, 0, 0, 0, 0, 0, 0}}})
          .value();
  const absl::Status status = Pool2DWindow(Shape{3, 5, 4, 7}, *conv).status();
  CHECK(std::string(status.message()) == "pooling padding must be SAME or VALID, got 'EXPLICIT'");
}

}  // namespace
}  // namespace sluice
