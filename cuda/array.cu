// Strided copies and fills of the array family (declared in
// cuda/array_launch.h). Elements are moved as unsigned words of their size.
#include <cstdint>
#include <type_traits>

#include "cuda/array_launch.h"
#include "cuda/launch.cuh"

namespace sluice::cuda {
namespace {

// A 16-byte word for copies whose inner runs were widened that far.
struct alignas(16) Word16 {
  uint64_t lo, hi;
};

// One thread per element in the grid-stride loop. `Index` is int32_t when the
// plan says every coordinate and offset fits (division is much cheaper),
// else int64_t; coordinates are divided as unsigned values.
template <typename W, typename Index>
__global__ void GenericCopyKernel(StridedCopy p, const W* __restrict__ src, W* __restrict__ dst) {
  using Unsigned = std::make_unsigned_t<Index>;
  const Index n = static_cast<Index>(p.num_elements);
  const Index step = static_cast<Index>(blockDim.x) * static_cast<Index>(gridDim.x);
  for (Index i = static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) +
                 static_cast<Index>(threadIdx.x);
       i < n; i += step) {
    Unsigned rest = static_cast<Unsigned>(i);
    Index src_offset = 0;
    Index dst_offset = 0;
    for (int k = p.rank - 1; k >= 0; --k) {
      const Unsigned dim = static_cast<Unsigned>(p.dims[k]);
      const Index coordinate = static_cast<Index>(rest % dim);
      rest /= dim;
      src_offset += coordinate * static_cast<Index>(p.src_strides[k]);
      dst_offset += coordinate * static_cast<Index>(p.dst_strides[k]);
    }
    dst[dst_offset] = src[src_offset];
  }
}

constexpr int kTile = 32;     // tile edge, in elements
constexpr int kTileRows = 8;  // a block is kTile x kTileRows threads

// Dim a = rank-2 reads contiguously, dim b = rank-1 writes contiguously. Each
// block walks whole tiles (a uniform loop, so the barriers are safe): it reads
// a tile with threadIdx.x along a and writes it with threadIdx.x along b.
// The offsets use every stride of the plan, so any strides give the right
// result; the plan picks this kernel only where it is also the fast one.
template <typename W>
__global__ void TiledCopyKernel(StridedCopy p, const W* __restrict__ src, W* __restrict__ dst) {
  __shared__ W tile[kTile][kTile + 1];  // +1: columns fall in different banks
  const int a_dim = p.rank - 2;
  const int b_dim = p.rank - 1;
  const int64_t size_a = p.dims[a_dim];
  const int64_t size_b = p.dims[b_dim];
  const int64_t tiles_a = (size_a + kTile - 1) / kTile;
  const int64_t tiles_b = (size_b + kTile - 1) / kTile;
  const int64_t outer = p.num_elements / (size_a * size_b);
  const int64_t num_tiles = outer * tiles_a * tiles_b;
  for (int64_t t = blockIdx.x; t < num_tiles; t += gridDim.x) {
    const int64_t b0 = (t % tiles_b) * kTile;
    const int64_t a0 = ((t / tiles_b) % tiles_a) * kTile;
    int64_t rest = t / (tiles_b * tiles_a);
    int64_t src_base = 0;
    int64_t dst_base = 0;
    for (int k = p.rank - 3; k >= 0; --k) {
      const int64_t coordinate = rest % p.dims[k];
      rest /= p.dims[k];
      src_base += coordinate * p.src_strides[k];
      dst_base += coordinate * p.dst_strides[k];
    }
    {
      const int64_t a = a0 + threadIdx.x;
      for (int y = threadIdx.y; y < kTile; y += kTileRows) {
        const int64_t b = b0 + y;
        if (a < size_a && b < size_b) {
          tile[y][threadIdx.x] =
              src[src_base + a * p.src_strides[a_dim] + b * p.src_strides[b_dim]];
        }
      }
    }
    __syncthreads();
    {
      const int64_t b = b0 + threadIdx.x;
      for (int y = threadIdx.y; y < kTile; y += kTileRows) {
        const int64_t a = a0 + y;
        if (a < size_a && b < size_b) {
          dst[dst_base + a * p.dst_strides[a_dim] + b * p.dst_strides[b_dim]] =
              tile[threadIdx.x][y];
        }
      }
    }
    __syncthreads();  // the next tile overwrites `tile`
  }
}

template <typename W>
cudaError_t LaunchCopyOf(const StridedCopy& p, const void* src, void* dst, cudaStream_t stream) {
  const W* from = static_cast<const W*>(src);
  W* to = static_cast<W*>(dst);
  if (p.kind == StridedCopyKind::kTiled) {
    const int64_t size_a = p.dims[p.rank - 2];
    const int64_t size_b = p.dims[p.rank - 1];
    const int64_t tiles = p.num_elements / (size_a * size_b) * ((size_a + kTile - 1) / kTile) *
                          ((size_b + kTile - 1) / kTile);
    const int64_t max_blocks = int64_t{65535} * 8;
    const unsigned blocks = static_cast<unsigned>(tiles < max_blocks ? tiles : max_blocks);
    TiledCopyKernel<W><<<blocks, dim3(kTile, kTileRows), 0, stream>>>(p, from, to);
  } else if (p.index32) {
    GenericCopyKernel<W, int32_t>
        <<<BlocksFor(p.num_elements), kThreadsPerBlock, 0, stream>>>(p, from, to);
  } else {
    GenericCopyKernel<W, int64_t>
        <<<BlocksFor(p.num_elements), kThreadsPerBlock, 0, stream>>>(p, from, to);
  }
  return cudaGetLastError();
}

template <typename W>
__global__ void FillKernel(W* __restrict__ dst, int64_t n, const W* __restrict__ device_value,
                           W value) {
  const W v = device_value != nullptr ? *device_value : value;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{blockDim.x} * gridDim.x) {
    dst[i] = v;
  }
}

template <typename W>
cudaError_t LaunchFillOf(void* dst, int64_t n, const void* device_value, uint64_t bits,
                         cudaStream_t stream) {
  FillKernel<W><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
      static_cast<W*>(dst), n, static_cast<const W*>(device_value), static_cast<W>(bits));
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchStridedCopy(const StridedCopy& copy, const void* src, void* dst,
                              cudaStream_t stream) {
  switch (copy.kind) {
    case StridedCopyKind::kNone:
      return cudaSuccess;
    case StridedCopyKind::kContiguous:
      return cudaMemcpyAsync(dst, src, static_cast<size_t>(copy.num_elements) * copy.elem_size,
                             cudaMemcpyDeviceToDevice, stream);
    case StridedCopyKind::kTiled:
    case StridedCopyKind::kGeneric:
      break;
  }
  switch (copy.elem_size) {
    case 1:
      return LaunchCopyOf<uint8_t>(copy, src, dst, stream);
    case 2:
      return LaunchCopyOf<uint16_t>(copy, src, dst, stream);
    case 4:
      return LaunchCopyOf<uint32_t>(copy, src, dst, stream);
    case 8:
      return LaunchCopyOf<uint64_t>(copy, src, dst, stream);
    case 16:
      return LaunchCopyOf<Word16>(copy, src, dst, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

cudaError_t LaunchFill(void* dst, int64_t n, int elem_size, const void* device_value, uint64_t bits,
                       cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (elem_size) {
    case 1:
      return LaunchFillOf<uint8_t>(dst, n, device_value, bits, stream);
    case 2:
      return LaunchFillOf<uint16_t>(dst, n, device_value, bits, stream);
    case 4:
      return LaunchFillOf<uint32_t>(dst, n, device_value, bits, stream);
    case 8:
      return LaunchFillOf<uint64_t>(dst, n, device_value, bits, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace sluice::cuda
