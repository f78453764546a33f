#pragma once
// The model's ordered containers: a sorted std::vector behind the std::map and
// std::set interface the model uses. The model scans whole address spaces after every
// op; over a vector that is a walk through memory, over a tree it was pointer chasing
// and an allocation per node (most of a campaign's time). Lookups stay logarithmic.
//
// Unlike std::map, inserting or erasing moves the other elements: an iterator or a
// reference into the container is good only until the next insert or erase.

#include <algorithm>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

namespace model {

template <class K, class V>
class FlatMap {
 public:
  using value_type = std::pair<K, V>;
  using Storage = std::vector<value_type>;
  using iterator = typename Storage::iterator;
  using const_iterator = typename Storage::const_iterator;

  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  auto rbegin() const { return items_.rbegin(); }
  auto rend() const { return items_.rend(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  void clear() { items_.clear(); }
  void reserve(size_t n) { items_.reserve(n); }

  iterator lower_bound(const K& k) { return std::lower_bound(begin(), end(), k, key_less); }
  const_iterator lower_bound(const K& k) const { return std::lower_bound(begin(), end(), k, key_less); }
  iterator upper_bound(const K& k) { return std::upper_bound(begin(), end(), k, less_key); }
  const_iterator upper_bound(const K& k) const { return std::upper_bound(begin(), end(), k, less_key); }
  iterator find(const K& k) {
    auto it = lower_bound(k);
    return it != end() && it->first == k ? it : end();
  }
  const_iterator find(const K& k) const {
    auto it = lower_bound(k);
    return it != end() && it->first == k ? it : end();
  }
  size_t count(const K& k) const { return find(k) != end(); }
  bool contains(const K& k) const { return find(k) != end(); }

  V& at(const K& k) {
    auto it = find(k);
    if (it == end()) throw std::out_of_range("FlatMap::at");
    return it->second;
  }
  const V& at(const K& k) const {
    auto it = find(k);
    if (it == end()) throw std::out_of_range("FlatMap::at");
    return it->second;
  }
  V& operator[](const K& k) { return try_emplace(k).first->second; }

  template <class... Args>
  std::pair<iterator, bool> try_emplace(const K& k, Args&&... args) {
    // Keys mostly arrive in order (fresh frame ids, pages mapped upward): past the last
    // key is the end, anything else (the last key itself included) is looked up.
    auto it = !items_.empty() && key_less(items_.back(), k) ? end() : lower_bound(k);
    if (it != end() && it->first == k) return {it, false};
    return {items_.emplace(it, std::piecewise_construct, std::forward_as_tuple(k),
                           std::forward_as_tuple(std::forward<Args>(args)...)),
            true};
  }
  std::pair<iterator, bool> emplace(const K& k, V v) { return try_emplace(k, std::move(v)); }

  iterator erase(const_iterator it) { return items_.erase(it); }
  iterator erase(const_iterator first, const_iterator last) { return items_.erase(first, last); }
  size_t erase(const K& k) {
    auto it = find(k);
    if (it == end()) return 0;
    items_.erase(it);
    return 1;
  }
  template <class Pred>
  friend size_t erase_if(FlatMap& m, Pred pred) {
    return std::erase_if(m.items_, pred);
  }
  // Keeps the entries at the positions `keep` marks, in order.
  void keep_only(const std::vector<bool>& keep) {
    size_t kept = 0;
    for (size_t i = 0; i < items_.size(); ++i)
      if (keep[i]) {
        if (kept != i) items_[kept] = std::move(items_[i]);
        ++kept;
      }
    items_.resize(kept);
  }

  bool operator==(const FlatMap&) const = default;

 private:
  static bool key_less(const value_type& a, const K& k) { return a.first < k; }
  static bool less_key(const K& k, const value_type& a) { return k < a.first; }
  Storage items_;
};

template <class K>
class FlatSet {
 public:
  using const_iterator = typename std::vector<K>::const_iterator;

  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  void clear() { items_.clear(); }

  const_iterator lower_bound(const K& k) const { return std::lower_bound(begin(), end(), k); }
  const_iterator upper_bound(const K& k) const { return std::upper_bound(begin(), end(), k); }
  size_t count(const K& k) const { return std::binary_search(begin(), end(), k); }
  bool contains(const K& k) const { return count(k) != 0; }

  bool insert(const K& k) {
    if (items_.empty() || items_.back() < k) {  // the common case: keys in order
      items_.push_back(k);
      return true;
    }
    auto it = std::lower_bound(items_.begin(), items_.end(), k);
    if (it != items_.end() && *it == k) return false;
    items_.insert(it, k);
    return true;
  }
  size_t erase(const K& k) {
    auto it = std::lower_bound(items_.begin(), items_.end(), k);
    if (it == items_.end() || *it != k) return 0;
    items_.erase(it);
    return 1;
  }
  const_iterator erase(const_iterator first, const_iterator last) { return items_.erase(first, last); }
  template <class Pred>
  friend size_t erase_if(FlatSet& s, Pred pred) {
    return std::erase_if(s.items_, pred);
  }

  bool operator==(const FlatSet&) const = default;

 private:
  std::vector<K> items_;
};

}  // namespace model
