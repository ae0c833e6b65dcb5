// Using hlsforge-generated CPU inference code from a C++ program.
//
// The model header (jet_tagger.hpp), the kernel library (hlsforge_cpu.hpp) and the weight
// file (jet_tagger.weights) are generated from ../jet_tagger_mlp.onnx by the Makefile or by
// CMake (see README in docs/cpu_backend.md). Run: ./jet_tagger generated/jet_tagger.weights
#include <cstdio>
#include <exception>
#include <vector>

#include "jet_tagger.hpp"

int main(int argc, char** argv) {
  const char* weights = argc > 1 ? argv[1] : "generated/jet_tagger.weights";
  try {
    const jet_tagger::Session session(weights);  // loads and checks the weight file once

    // One event: 16 features in, 5 class probabilities out.
    const float jet[16] = {0.5f, -1.2f, 0.3f, 2.0f, -0.7f, 0.1f, 1.1f, -0.4f,
                           0.9f, 0.0f, -1.5f, 0.8f, 0.2f, -0.3f, 1.7f, -0.9f};
    const std::vector<float> probs = session.infer(jet);
    std::printf("one event:");
    for (float p : probs) std::printf(" %.4f", p);
    std::printf("\n");

    // A batch: events back to back. infer() is const and thread-safe; the overload with a
    // Workspace lets the caller own the scratch memory (here: chunks of up to 64 events).
    const std::size_t batch = 1000;
    std::vector<float> in(batch * jet_tagger::Session::kInputSize[0]);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = float(int(i * 37 % 101) - 50) / 25.0f;
    std::vector<float> out(batch * jet_tagger::Session::kOutputSize[0]);
    jet_tagger::Workspace ws(64);
    session.infer(in.data(), out.data(), batch, ws);
    std::printf("batch of %zu: first event class 0 probability %.4f\n", batch, out[0]);
  } catch (const hlsforge_cpu::WeightFileError& e) {  // a std::runtime_error
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
