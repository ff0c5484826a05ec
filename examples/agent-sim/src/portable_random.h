// Random draws that are the same on every platform for a given seed.
//
// std::mt19937_64 is fully specified by the standard, but the std::*_distribution
// templates are not (libstdc++, libc++ and MSVC give different numbers), and
// std::exp/std::log may differ in the last bit between C libraries. So every
// draw here is built from the raw engine with operations IEEE 754 rounds
// exactly (+ - * / floor ldexp); the target is compiled with
// -ffp-contract=off so no compiler fuses them into FMAs either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace tpark::sim {

// e^x from a range reduction and a Taylor series: |error| < 1 ulp for
// |x| <= 700, and the same bits everywhere. Larger |x| is clamped.
double portable_exp(double x);

class PortableRandom {
 public:
  explicit PortableRandom(uint64_t seed) : engine_(seed) {}

  // Uniform on [0, 1) with 53 random bits.
  double uniform01();
  // Uniform on [low, high).
  double uniform(double low, double high);
  // Uniform integer on [0, n) without modulo bias; n must be > 0.
  uint64_t below(uint64_t n);
  // Uniform integer on [low, high], inclusive.
  int64_t between(int64_t low, int64_t high);
  // true with probability p.
  bool chance(double p);
  // Approximately normal: the Irwin–Hall sum of 12 uniforms, shifted, which
  // has mean 0 and variance 1 exactly and tails cut at ±6 standard deviations.
  double normal(double mean, double standard_deviation);
  // median · e^(sigma·z): the shape of request latencies.
  double log_normal(double median, double sigma);
  // An index drawn with probability proportional to its weight (weights >= 0,
  // at least one > 0).
  std::size_t weighted(std::span<const double> weights);
  // 64 raw bits, for ids.
  uint64_t bits() { return engine_(); }

  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(below(items.size()))];
  }

 private:
  std::mt19937_64 engine_;
};

// Rounds half away from zero to `decimals` digits (values the simulator reports).
double round_to(double value, int decimals);
// 16 lowercase hex digits.
std::string hex64(uint64_t value);

}  // namespace tpark::sim
