// Plain red-black tree machinery for intrusive trees: the links every element embeds,
// rotations, rebalancing after an insert and after an erase, in-order stepping.
//
// It knows nothing about keys. A keyed tree (impl/interval_tree.hpp) walks down to the
// empty slot where a new node belongs, calls link(), then insert_rebalance(). Erase needs
// no key at all: the node knows its place.
//
// A tree may keep a summary of each subtree in its nodes (the interval tree keeps the
// largest `last` below each node). It passes an Augment policy with two static hooks:
//   rotated(down, up)  `up` was just lifted over `down` and now roots the subtree that
//                      `down` rooted before: same elements, so `up` takes down's summary
//                      and `down` recomputes its own from its new children;
//   propagate(from)    the elements below `from` changed; recompute from `from` up to the
//                      root (erase calls it before rebalancing, rotations keep it right).
// NoAugment is the policy of a tree without summaries.
//
// The red-black rules, checked by IntervalTree::verify():
//   1. the root is black;
//   2. a red node has no red child;
//   3. every path from a node down to a missing child meets the same number of black nodes.
// Together they bound the height by 2*log2(n+1).

#pragma once

#include <cstdint>

namespace impl::rb {

enum class Color : std::uint8_t { red = 0, black = 1 };

// What poison() writes into all three links: "rb" in a non-canonical x86-64 address, so a
// stray dereference faults at once and the value is recognisable in a debugger.
inline constexpr std::uintptr_t poison_value = 0xdead'0000'7262'0000;

// The links of one element in one tree. States:
//   unlinked  parent points to the node itself, no children (a fresh node; after remove);
//   linked    parent is the parent node, or nullptr at the root;
//   poisoned  all three links hold poison_value (the owner marks a node it freed).
struct Node {
  Node* parent = this;
  Node* left = nullptr;
  Node* right = nullptr;
  Color color = Color::red;

  Node() = default;
  // Copying an element does not copy its place in a tree: the copy starts unlinked, and
  // assigning one element to another leaves the target's links alone.
  Node(const Node&) noexcept {}
  Node& operator=(const Node&) noexcept { return *this; }

  static Node* poison_pointer() { return reinterpret_cast<Node*>(poison_value); }

  bool poisoned() const {
    return parent == poison_pointer() && left == poison_pointer() && right == poison_pointer();
  }
  bool linked() const { return parent != this && !poisoned(); }

  // Back to the unlinked state (what a tree does on remove; an owner reusing a node).
  void clear() {
    parent = this;
    left = right = nullptr;
    color = Color::red;
  }
  void poison() { parent = left = right = poison_pointer(); }
};

inline bool is_red(const Node* n) { return n && n->color == Color::red; }
inline bool is_black(const Node* n) { return !is_red(n); }

struct NoAugment {
  static void rotated(Node*, Node*) {}
  static void propagate(Node*) {}
};

// Points whatever pointed at `old` (its parent's child link, or the root) at `now`.
inline void replace_child(Node* parent, const Node* old, Node* now, Node*& root) {
  if (!parent)
    root = now;
  else if (parent->left == old)
    parent->left = now;
  else
    parent->right = now;
}

// Lifts `up` over its parent: a right rotation when `up` is a left child, a left rotation
// otherwise. In-order sequence is unchanged.
template <class Augment>
void rotate_up(Node* up, Node*& root) {
  Node* down = up->parent;
  if (down->left == up) {
    down->left = up->right;
    if (up->right) up->right->parent = down;
    up->right = down;
  } else {
    down->right = up->left;
    if (up->left) up->left->parent = down;
    up->left = down;
  }
  up->parent = down->parent;
  replace_child(down->parent, down, up, root);
  down->parent = up;
  Augment::rotated(down, up);
}

// Hangs `n` as a red leaf in the empty child slot `slot` of `parent` (&root if empty tree).
inline void link(Node* n, Node* parent, Node** slot) {
  n->parent = parent;
  n->left = n->right = nullptr;
  n->color = Color::red;
  *slot = n;
}

// Restores the rules after link(). The only possible violation is a red node (`n`) under
// a red parent; it is either pushed up two levels by recolouring (red uncle) or ended by
// at most two rotations (black uncle).
template <class Augment>
void insert_rebalance(Node* n, Node*& root) {
  for (;;) {
    Node* parent = n->parent;
    if (!parent) {
      n->color = Color::black;
      return;
    }
    if (parent->color == Color::black) return;
    Node* grand = parent->parent;  // exists: a red parent is never the root
    Node* uncle = grand->left == parent ? grand->right : grand->left;
    if (is_red(uncle)) {
      parent->color = uncle->color = Color::black;
      grand->color = Color::red;
      n = grand;
      continue;
    }
    // Black uncle. If n is an inner grandchild (zigzag), lift it first so that the
    // red pair lies on the outer edge; then lift the upper red node over `grand`.
    if ((grand->left == parent) != (parent->left == n)) {
      rotate_up<Augment>(n, root);
      parent = n;
    }
    rotate_up<Augment>(parent, root);
    parent->color = Color::black;
    grand->color = Color::red;
    return;
  }
}

// After an erase removed a black node, the side of `x` (possibly null) below `parent`
// has one black too few. Either borrow a black from the sibling's side through rotations,
// or recolour the sibling red and move the deficit up one level.
template <class Augment>
void erase_rebalance(Node* x, Node* parent, Node*& root) {
  while (x != root && is_black(x)) {
    const bool x_left = parent->left == x;
    // The sibling exists: its side has at least one black node more than x's side.
    Node* sibling = x_left ? parent->right : parent->left;
    if (is_red(sibling)) {
      // Make the sibling black: lift it, so x's new sibling is one of its black children.
      rotate_up<Augment>(sibling, root);
      sibling->color = Color::black;
      parent->color = Color::red;
      sibling = x_left ? parent->right : parent->left;
    }
    Node* near = x_left ? sibling->left : sibling->right;
    Node* far = x_left ? sibling->right : sibling->left;
    if (is_black(near) && is_black(far)) {
      sibling->color = Color::red;
      x = parent;
      parent = x->parent;
      continue;
    }
    if (is_black(far)) {
      // Only the near nephew is red: lift it so the red one is on the far side.
      rotate_up<Augment>(near, root);
      near->color = Color::black;
      sibling->color = Color::red;
      far = sibling;
      sibling = near;
    }
    // The far nephew is red: lifting the sibling adds a black on x's side.
    rotate_up<Augment>(sibling, root);
    sibling->color = parent->color;
    parent->color = Color::black;
    far->color = Color::black;
    x = root;
  }
  if (x) x->color = Color::black;
}

// Unlinks `z` and leaves it in the unlinked state. With two children, z's in-order
// successor (leftmost of its right subtree) takes z's place and colour, so the node that
// really leaves its position is the successor.
template <class Augment>
void erase(Node* z, Node*& root) {
  Node* x;        // what now sits where a node was taken out (may be null)
  Node* parent;   // x's parent; the lowest node whose subtree lost an element
  Color removed;  // colour that left the tree at that position
  if (!z->left || !z->right) {
    x = z->left ? z->left : z->right;
    parent = z->parent;
    removed = z->color;
    replace_child(parent, z, x, root);
    if (x) x->parent = parent;
  } else {
    Node* succ = z->right;
    while (succ->left) succ = succ->left;
    x = succ->right;
    removed = succ->color;
    if (succ->parent == z) {
      parent = succ;
    } else {
      parent = succ->parent;
      parent->left = x;
      if (x) x->parent = parent;
      succ->right = z->right;
      succ->right->parent = succ;
    }
    succ->left = z->left;
    succ->left->parent = succ;
    succ->parent = z->parent;
    succ->color = z->color;
    replace_child(z->parent, z, succ, root);
  }
  Augment::propagate(parent);
  if (removed == Color::black) erase_rebalance<Augment>(x, parent, root);
  z->clear();
}

inline const Node* leftmost(const Node* n) {
  if (n)
    while (n->left) n = n->left;
  return n;
}
inline const Node* rightmost(const Node* n) {
  if (n)
    while (n->right) n = n->right;
  return n;
}

// In-order successor / predecessor of a linked node, nullptr at the end.
inline const Node* next(const Node* n) {
  if (n->right) return leftmost(n->right);
  while (n->parent && n->parent->right == n) n = n->parent;
  return n->parent;
}
inline const Node* prev(const Node* n) {
  if (n->left) return rightmost(n->left);
  while (n->parent && n->parent->left == n) n = n->parent;
  return n->parent;
}

}  // namespace impl::rb
