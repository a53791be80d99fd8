// RingBuffer: the bounded series behind timelines, residual windows and
// recent-call lists.
#include "model/ring_buffer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ramflow::model {
namespace {

std::vector<int> filled(std::size_t capacity, int count) {
  RingBuffer<int> ring(capacity);
  for (int i = 1; i <= count; ++i) ring.push(i);
  return ring.to_vector();
}

TEST(RingBuffer, KeepsEveryElementInOrderBelowCapacity) {
  EXPECT_EQ(filled(4, 3), (std::vector<int>{1, 2, 3}));
}

TEST(RingBuffer, OverwritesTheOldestOnceFull) {
  EXPECT_EQ(filled(4, 6), (std::vector<int>{3, 4, 5, 6}));
}

TEST(RingBuffer, NeverHoldsMoreThanItsCapacity) {
  RingBuffer<int> ring(3);
  for (int i = 0; i < 1000; ++i) ring.push(i);
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring.capacity(), 3u);
}

TEST(RingBuffer, CountsEveryPushIncludingTheOverwritten) {
  RingBuffer<int> ring(2);
  for (int i = 0; i < 5; ++i) ring.push(i);
  EXPECT_EQ(ring.pushed(), 5u);
  // Element i has sequence pushed() - size() + i: the kept ones are pushes 3 and 4.
  EXPECT_EQ(ring[0], 3);
  EXPECT_EQ(ring[1], 4);
}

TEST(RingBuffer, BackIsTheNewest) {
  RingBuffer<std::string> ring(2);
  ring.push("a");
  ring.push("b");
  ring.push("c");
  EXPECT_EQ(ring.back(), "c");
}

TEST(RingBuffer, ZeroCapacityIsTreatedAsOne) {
  EXPECT_EQ(filled(0, 3), (std::vector<int>{3}));
}

TEST(RingBuffer, StartsEmpty) {
  RingBuffer<int> ring(8);
  EXPECT_TRUE(ring.empty());
  EXPECT_TRUE(ring.to_vector().empty());
  EXPECT_EQ(ring.pushed(), 0u);
}

TEST(RingBuffer, ForEachVisitsOldestFirst) {
  RingBuffer<int> ring(3);
  for (int i = 1; i <= 5; ++i) ring.push(i);
  std::vector<int> seen;
  ring.for_each([&](int v) { seen.push_back(v); });
  EXPECT_EQ(seen, (std::vector<int>{3, 4, 5}));
}

}  // namespace
}  // namespace ramflow::model
