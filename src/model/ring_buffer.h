// Fixed-capacity FIFO that overwrites its oldest element: the bounded series
// behind timelines, residual windows and recent-call lists.
#pragma once

#include <cstddef>
#include <vector>

namespace ramflow::model {

template <class T>
class RingBuffer {
 public:
  explicit RingBuffer(std::size_t capacity = 1) : capacity_(capacity == 0 ? 1 : capacity) {}

  void push(T value) {
    if (items_.size() < capacity_) {
      items_.push_back(std::move(value));
    } else {
      items_[head_] = std::move(value);
      head_ = (head_ + 1) % capacity_;
    }
    ++pushed_;
  }

  std::size_t size() const { return items_.size(); }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return items_.empty(); }
  // Total ever pushed; element i (0 = oldest kept) has sequence pushed() - size() + i.
  std::size_t pushed() const { return pushed_; }
  const T& operator[](std::size_t i) const { return items_[(head_ + i) % items_.size()]; }
  const T& back() const { return (*this)[items_.size() - 1]; }

  // Oldest first.
  std::vector<T> to_vector() const {
    std::vector<T> out;
    out.reserve(items_.size());
    for (std::size_t i = 0; i < items_.size(); ++i) out.push_back((*this)[i]);
    return out;
  }

  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < items_.size(); ++i) f((*this)[i]);
  }

 private:
  std::size_t capacity_;
  std::size_t head_ = 0;
  std::size_t pushed_ = 0;
  std::vector<T> items_;
};

// A copy holding only the last `n` elements of `ring` (what a report shows of a
// process that ended).
template <class T>
RingBuffer<T> last_of(const RingBuffer<T>& ring, std::size_t n) {
  RingBuffer<T> out(n);
  const std::size_t from = ring.size() > n ? ring.size() - n : 0;
  for (std::size_t i = from; i < ring.size(); ++i) out.push(ring[i]);
  return out;
}

}  // namespace ramflow::model
