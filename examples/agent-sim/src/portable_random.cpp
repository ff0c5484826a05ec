#include "portable_random.h"

#include <cmath>

namespace tpark::sim {

double portable_exp(double x) {
  if (x > 700.0) x = 700.0;
  if (x < -700.0) x = -700.0;
  // x = k·ln2 + r with |r| <= ln2/2; ln2 split in two so k·ln2_hi is exact.
  constexpr double kInvLn2 = 1.4426950408889634;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  const double k = std::floor(x * kInvLn2 + 0.5);
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  // Horner form of sum r^n/n! for n <= 18: enough for |r| <= 0.35.
  double sum = 1.0;
  for (int n = 18; n >= 1; --n) sum = 1.0 + r * sum / static_cast<double>(n);
  return std::ldexp(sum, static_cast<int>(k));
}

double PortableRandom::uniform01() {
  return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

double PortableRandom::uniform(double low, double high) {
  return low + (high - low) * uniform01();
}

uint64_t PortableRandom::below(uint64_t n) {
  // Reject the top partial copy of [0, n) so every residue is equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t draw = engine_();
  while (draw >= limit) draw = engine_();
  return draw % n;
}

int64_t PortableRandom::between(int64_t low, int64_t high) {
  if (high <= low) return low;
  const uint64_t span = static_cast<uint64_t>(high - low) + 1;
  return low + static_cast<int64_t>(below(span));
}

bool PortableRandom::chance(double p) {
  return uniform01() < p;
}

double PortableRandom::normal(double mean, double standard_deviation) {
  double sum = 0.0;
  for (int i = 0; i < 12; ++i) sum += uniform01();
  return mean + standard_deviation * (sum - 6.0);
}

double PortableRandom::log_normal(double median, double sigma) {
  return median * portable_exp(sigma * normal(0.0, 1.0));
}

std::size_t PortableRandom::weighted(std::span<const double> weights) {
  double total = 0.0;
  for (double w : weights) total += w;
  double point = uniform01() * total;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (point < weights[i]) return i;
    point -= weights[i];
  }
  // Rounding can leave the point just past the end: the last positive weight.
  for (std::size_t i = weights.size(); i > 0; --i)
    if (weights[i - 1] > 0.0) return i - 1;
  return 0;
}

double round_to(double value, int decimals) {
  double scale = 1.0;
  for (int i = 0; i < decimals; ++i) scale *= 10.0;
  return std::round(value * scale) / scale;
}

std::string hex64(uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[value & 0xf];
    value >>= 4;
  }
  return out;
}

}  // namespace tpark::sim
