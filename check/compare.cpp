// The readable difference of two Observations. See compare.hpp for the shape of the lines
// and the order they come in.

#include "check/compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "check/observation_text.hpp"
#include "ops/layout_claim.hpp"
#include "ops/number_text.hpp"
#include "ops/types.hpp"

namespace check {

namespace {

using ops::PageKey;
using Pages = std::vector<PageKey>;

constexpr size_t unmatched = std::numeric_limits<size_t>::max();

struct Names {
  std::string_view a, b;

  // "model rw  impl r"
  std::string versus(std::string_view x, std::string_view y) const {
    return fmt::format("{} {}  {} {}", a, x, b, y);
  }
};

std::string_view yes_no(bool v) { return v ? "yes" : "no"; }

// ---- differences keyed by a page ----

// Differences keyed by one page, where runs of consecutive vpns of one process that differ
// in the same way share a line: "page (1,0x100) prot: ..." / "pages (1,0x100-0x103) prot: ...".
class KeyedLines {
 public:
  explicit KeyedLines(std::string_view many) : many_(many) {}

  // `lines` say it for page k alone. `what_run` says the same for a run of pages after
  // the key "MANY (pid,first-last)", in words that do not name the page; empty if these
  // differences never join a run.
  void add(PageKey k, std::vector<std::string> lines, std::vector<std::string> what_run) {
    if (lines.empty()) return;
    if (!entries_.empty()) {
      Entry& e = entries_.back();
      if (e.pid == k.first && e.last + 1 == k.second && !what_run.empty() &&
          e.what_run == what_run) {
        e.last = k.second;
        return;
      }
    }
    entries_.push_back({k.first, k.second, k.second, std::move(lines), std::move(what_run)});
  }

  // The common case: each line is "ONE (pid,vpn)" followed by one of `what`, and a run
  // says the same after its own key.
  void add_keyed(PageKey k, std::string_view one, const std::vector<std::string>& what) {
    std::vector<std::string> lines;
    for (const std::string& w : what)
      lines.push_back(fmt::format("{} {}{}", one, page_key_text(k), w));
    add(k, std::move(lines), what);
  }

  void append_to(std::vector<std::string>& out) const {
    for (const Entry& e : entries_) {
      if (e.first == e.last) {
        out.insert(out.end(), e.lines.begin(), e.lines.end());
        continue;
      }
      std::string key =
          fmt::format("{} ({},{}-{})", many_, e.pid, ops::hex_text(e.first), ops::hex_text(e.last));
      for (const std::string& w : e.what_run) out.push_back(key + w);
    }
  }

 private:
  struct Entry {
    ops::Pid pid;
    ops::Vpn first, last;  // inclusive
    std::vector<std::string> lines, what_run;
  };
  std::string_view many_;
  std::vector<Entry> entries_;
};

// ---- VMAs ----

std::string anon_vma_text(const ops::VmaObs& v) {
  return !v.anon_vma ? "none" : v.forked ? "forked" : "own";
}

// Per process: the extents when they differ ("VMAs of pid 1: model [0x100,0x102)  impl
// [0x100,0x101) [0x101,0x102)"), else each VMA whose anon_vma differs.
void append_vma_lines(const std::vector<ops::VmaObs>& a, const std::vector<ops::VmaObs>& b, const Names& n,
                      std::vector<std::string>& lines) {
  std::set<ops::Pid> pids;
  for (const auto* side : {&a, &b})
    for (const ops::VmaObs& v : *side) pids.insert(v.pid);
  for (ops::Pid pid : pids) {
    std::vector<ops::VmaObs> x, y;
    std::copy_if(a.begin(), a.end(), std::back_inserter(x), [&](const ops::VmaObs& v) { return v.pid == pid; });
    std::copy_if(b.begin(), b.end(), std::back_inserter(y), [&](const ops::VmaObs& v) { return v.pid == pid; });
    const bool same_extents = std::ranges::equal(x, y, [](const ops::VmaObs& p, const ops::VmaObs& q) {
      return p.start == q.start && p.end == q.end;
    });
    if (!same_extents) {
      lines.push_back(fmt::format("VMAs of pid {}: {}", pid, n.versus(ops::layout_text(x, pid), ops::layout_text(y, pid))));
      continue;
    }
    for (size_t i = 0; i < x.size(); ++i)
      if (!(x[i] == y[i]))
        lines.push_back(fmt::format("VMA ({},[{},{})) anon_vma: {}", pid, ops::hex_text(x[i].start),
                                    ops::hex_text(x[i].end), n.versus(anon_vma_text(x[i]), anon_vma_text(y[i]))));
  }
}

// ---- pages ----

std::vector<std::string> page_differences(const ops::PageObs& x, const ops::PageObs& y,
                                          const Names& n) {
  std::vector<std::string> what;
  auto add = [&](std::string_view attribute, std::string_view vx, std::string_view vy) {
    if (vx == vy) return;
    what.push_back(
        fmt::format("{}{}: {}", attribute.empty() ? "" : " ", attribute, n.versus(vx, vy)));
  };
  const ops::VmaAttrs &ax = x.vma, &ay = y.vma;
  add("", pte_state_name(x.state), pte_state_name(y.state));
  add("prot", ops::prot_name(ax.prot), ops::prot_name(ay.prot));
  add("sharing", ax.shared ? "shared" : "private", ay.shared ? "shared" : "private");
  add("backing", backing_text(ax), backing_text(ay));
  add("pgoff", std::to_string(ax.pgoff), std::to_string(ay.pgoff));
  add("locked", yes_no(ax.locked), yes_no(ay.locked));
  add("dontfork", yes_no(ax.dontfork), yes_no(ay.dontfork));
  add("wipeonfork", yes_no(ax.wipeonfork), yes_no(ay.wipeonfork));
  add("mergeable", yes_no(ax.mergeable), yes_no(ay.mergeable));
  add("hugepage", yes_no(ax.hugepage), yes_no(ay.hugepage));
  add("nohugepage", yes_no(ax.nohugepage), yes_no(ay.nohugepage));
  add("account", yes_no(ax.account), yes_no(ay.account));
  return what;
}

PageKey key_of(const ops::PageObs& p) { return {p.pid, p.vpn}; }

// Walks both sorted page lists together; a key either side lists more than once is
// compared by its first entry and reported as "entries".
void append_page_lines(const std::vector<ops::PageObs>& a, const std::vector<ops::PageObs>& b,
                       const Names& n, std::vector<std::string>& lines) {
  KeyedLines out("pages");
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    PageKey k = i == a.size()   ? key_of(b[j])
                : j == b.size() ? key_of(a[i])
                                : std::min(key_of(a[i]), key_of(b[j]));
    size_t ia = i, jb = j;
    while (i < a.size() && key_of(a[i]) == k) ++i;
    while (j < b.size() && key_of(b[j]) == k) ++j;
    size_t ca = i - ia, cb = j - jb;
    std::vector<std::string> what;
    if (ca == 0) {
      what.push_back(fmt::format(": only in {}", n.b));
    } else if (cb == 0) {
      what.push_back(fmt::format(": only in {}", n.a));
    } else {
      what = page_differences(a[ia], b[jb], n);
      if (ca != cb) {
        what.push_back(" entries: " + n.versus(std::to_string(ca), std::to_string(cb)));
      }
    }
    out.add_keyed(k, "page", what);
  }
  out.append_to(lines);
}

// ---- partitions (frame classes by frame, swapped pages by slot) ----

// Pairs classes with equal pages, one to one, in order.
struct Matching {
  std::vector<size_t> a_to_b, b_to_a;  // `unmatched` where there is no partner
};

Matching match_classes(const std::vector<Pages>& a, const std::vector<Pages>& b) {
  Matching m{std::vector<size_t>(a.size(), unmatched), std::vector<size_t>(b.size(), unmatched)};
  std::map<Pages, std::vector<size_t>> in_b;
  for (size_t j = b.size(); j-- > 0;) in_b[b[j]].push_back(j);  // back() is the lowest index
  for (size_t i = 0; i < a.size(); ++i) {
    auto it = in_b.find(a[i]);
    if (it == in_b.end() || it->second.empty()) continue;
    m.a_to_b[i] = it->second.back();
    m.b_to_a[it->second.back()] = i;
    it->second.pop_back();
  }
  return m;
}

using Where = std::map<PageKey, std::vector<size_t>>;  // page -> classes holding it

Where where(const std::vector<Pages>& classes) {
  Where w;
  for (size_t i = 0; i < classes.size(); ++i) {
    for (const PageKey& p : classes[i]) w[p].push_back(i);
  }
  return w;
}

struct PartitionWords {
  std::string_view of, many;  // "class of", "classes of"
  std::string_view whole;     // "class", as in "class {(1,0x101)}: only in model"
  std::string_view none;      // "no frame"
  std::string_view empty;     // "classes with no pages"
};

// One side's class(es) of page p, or `none`.
std::string holding_text(const std::vector<Pages>& classes, const Where& w, const PageKey& p,
                         std::string_view none) {
  auto it = w.find(p);
  if (it == w.end()) return std::string(none);
  std::string s;
  for (size_t i : it->second) {
    if (!s.empty()) s += ' ';
    s += class_text(classes[i]);
  }
  return s;
}

// If p is in no class of `other` but in exactly one class of `side`, none of whose pages
// is in a class of `other`: that class.
const Pages* only_on_one_side(const std::vector<Pages>& side, const Where& w_side,
                              const Where& w_other, const PageKey& p) {
  if (w_other.count(p)) return nullptr;
  auto it = w_side.find(p);
  if (it == w_side.end() || it->second.size() != 1) return nullptr;
  const Pages& c = side[it->second.front()];
  for (const PageKey& q : c) {
    if (w_other.count(q)) return nullptr;
  }
  return &c;
}

void append_partition_lines(const std::vector<Pages>& a, const std::vector<Pages>& b,
                            const Matching& m, const Names& n, const PartitionWords& words,
                            std::vector<std::string>& lines) {
  auto empties = [](const std::vector<Pages>& cs) {
    return std::count_if(cs.begin(), cs.end(), [](const Pages& c) { return c.empty(); });
  };
  if (empties(a) != empties(b)) {
    lines.push_back(fmt::format("{}: {}", words.empty,
                                n.versus(std::to_string(empties(a)), std::to_string(empties(b)))));
  }
  std::set<PageKey> todo;  // pages of classes without a partner
  for (size_t i = 0; i < a.size(); ++i) {
    if (m.a_to_b[i] == unmatched) todo.insert(a[i].begin(), a[i].end());
  }
  for (size_t j = 0; j < b.size(); ++j) {
    if (m.b_to_a[j] == unmatched) todo.insert(b[j].begin(), b[j].end());
  }
  const Where wa = where(a), wb = where(b);
  std::set<PageKey> shown;
  KeyedLines out(words.many);
  for (const PageKey& p : todo) {
    if (shown.count(p)) continue;
    shown.insert(p);
    // A whole class that the other side knows nothing about: "class {...}: only in model".
    const Pages* only_a = only_on_one_side(a, wa, wb, p);
    const Pages* only_b = only_a ? nullptr : only_on_one_side(b, wb, wa, p);
    if (const Pages* c = only_a ? only_a : only_b) {
      std::string_view side = only_a ? n.a : n.b;
      std::vector<std::string> what_run;
      if (*c == Pages{p}) what_run.push_back(fmt::format(": only in {}, one page each", side));
      out.add(p, {fmt::format("{} {}: only in {}", words.whole, class_text(*c), side)},
              std::move(what_run));
      shown.insert(c->begin(), c->end());
      continue;
    }
    out.add(p,
            {fmt::format(
                "{} {}: {}", words.of, page_key_text(p),
                n.versus(holding_text(a, wa, p, words.none), holding_text(b, wb, p, words.none)))},
            std::vector<std::string>{});
    // Pages in a class on both sides are now placed on both sides by this line; a page in
    // a class on one side only still gets its own line saying so.
    auto show = [&](const std::vector<Pages>& classes, const Where& w) {
      auto it = w.find(p);
      if (it == w.end()) return;
      for (size_t i : it->second) {
        for (const PageKey& q : classes[i]) {
          if (wa.count(q) && wb.count(q)) shown.insert(q);
        }
      }
    };
    show(a, wa);
    show(b, wb);
  }
  out.append_to(lines);
}

// ---- frame classes ----

std::string class_key_text(const Pages& pages) {
  return pages.empty() ? class_text(pages) : page_key_text(pages.front());
}

void append_class_attribute_lines(const std::vector<ops::FrameClass>& a,
                                  const std::vector<ops::FrameClass>& b, const Matching& m,
                                  const Names& n, std::vector<std::string>& lines) {
  KeyedLines out("classes of");
  for (size_t i = 0; i < a.size(); ++i) {
    if (m.a_to_b[i] == unmatched || a[i].pages.empty()) continue;
    const ops::FrameClass &x = a[i], &y = b[m.a_to_b[i]];
    std::vector<std::string> what;
    auto add = [&](std::string_view attribute, std::string_view vx, std::string_view vy) {
      if (vx != vy) what.push_back(fmt::format(" {}: {}", attribute, n.versus(vx, vy)));
    };
    add("kind", frame_kind_name(x.kind), frame_kind_name(y.kind));
    add("value", std::to_string(x.value), std::to_string(y.value));
    add("mapcount", std::to_string(x.mapcount), std::to_string(y.mapcount));
    add("pmd-mapped", yes_no(x.pmd_mapped), yes_no(y.pmd_mapped));
    add("mlocked", yes_no(x.mlocked), yes_no(y.mlocked));
    add("pins", std::to_string(x.pins), std::to_string(y.pins));
    out.add_keyed(x.pages.front(), "class of", what);
  }
  out.append_to(lines);
}

// Pages of a folio: "{(1,0x201-0x203),(1,0x205),(1,0x206)}", runs of three or more
// consecutive vpns of one process written as one (a folio of 2^9 pages would otherwise
// take a screen).
std::string page_set_text(const Pages& sorted) {
  std::string s = "{";
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i + 1;
    while (j < sorted.size() && sorted[j].first == sorted[i].first &&
           sorted[j].second == sorted[j - 1].second + 1) {
      ++j;
    }
    if (j - i < 3) j = i + 1;
    s += i ? "," : "";
    s += j - i == 1 ? page_key_text(sorted[i])
                    : fmt::format("({},{}-{})", sorted[i].first, ops::hex_text(sorted[i].second),
                                  ops::hex_text(sorted[j - 1].second));
    i = j;
  }
  return s + "}";
}

// One side's large folios as groups of matched classes (indices into a, ascending).
using Folios = std::map<unsigned, std::vector<size_t>>;  // label -> classes

template <class Label>
Folios folios(const std::vector<size_t>& matched, const Label& label) {
  Folios f;
  for (size_t k : matched) {
    if (label(k) != 0) f[label(k)].push_back(k);
  }
  return f;
}

void append_folio_lines(const std::vector<ops::FrameClass>& a,
                        const std::vector<ops::FrameClass>& b, const Matching& m, const Names& n,
                        std::vector<std::string>& lines) {
  std::vector<size_t> matched;
  for (size_t i = 0; i < a.size(); ++i) {
    if (m.a_to_b[i] != unmatched) matched.push_back(i);
  }
  auto label_a = [&](size_t k) { return a[k].folio; };
  auto label_b = [&](size_t k) { return b[m.a_to_b[k]].folio; };
  const Folios fa = folios(matched, label_a), fb = folios(matched, label_b);
  // The classes sharing i's folio on one side, i included; nothing for a small folio.
  auto group = [](const Folios& f, unsigned label) -> const std::vector<size_t>* {
    return label == 0 ? nullptr : &f.at(label);
  };
  auto text = [&](const std::vector<size_t>* g, size_t i) -> std::string {
    if (!g) return "small folio";
    if (g->size() == 1) return "alone in a large folio";
    Pages pages;
    for (size_t k : *g) {
      if (k != i) pages.insert(pages.end(), a[k].pages.begin(), a[k].pages.end());
    }
    std::sort(pages.begin(), pages.end());
    return "shares with " + page_set_text(pages);
  };
  // Classes whose folio on both sides is settled: said by a line, or the same on both
  // sides (then it is the same for every class in it, so each folio is compared once).
  std::vector<bool> done(a.size());
  auto settle = [&](const std::vector<size_t>* g) {
    if (g) {
      for (size_t k : *g) done[k] = true;
    }
  };
  for (size_t i : matched) {
    if (done[i]) continue;
    done[i] = true;
    const std::vector<size_t>* ga = group(fa, label_a(i));
    const std::vector<size_t>* gb = group(fb, label_b(i));
    if (ga && gb ? *ga == *gb : ga == gb) {  // the same folio, or small on both sides
      settle(ga);
      continue;
    }
    lines.push_back(fmt::format("folio of {}: {}", class_key_text(a[i].pages),
                                n.versus(text(ga, i), text(gb, i))));
    settle(ga);
    settle(gb);
  }
}

template <class Class>
std::vector<Pages> pages_of(const std::vector<Class>& classes) {
  std::vector<Pages> out;
  out.reserve(classes.size());
  for (const Class& c : classes) out.push_back(c.pages);
  return out;
}

std::vector<std::string> all_differences(const ops::Observation& a, const ops::Observation& b,
                                         const Names& n) {
  std::vector<std::string> lines;
  append_vma_lines(a.vmas, b.vmas, n, lines);
  append_page_lines(a.pages, b.pages, n, lines);

  const std::vector<Pages> fa = pages_of(a.frames), fb = pages_of(b.frames);
  const Matching fm = match_classes(fa, fb);
  append_partition_lines(fa, fb, fm, n,
                         {"class of", "classes of", "class", "no frame", "classes with no pages"},
                         lines);
  append_class_attribute_lines(a.frames, b.frames, fm, n, lines);
  append_folio_lines(a.frames, b.frames, fm, n, lines);

  const std::vector<Pages> sa = pages_of(a.swap), sb = pages_of(b.swap);
  append_partition_lines(sa, sb, match_classes(sa, sb), n,
                         {"swap of", "swap of", "swap slot", "no slot", "swap slots with no pages"},
                         lines);
  return lines;
}

}  // namespace

std::vector<std::string> diff(const ops::Observation& a, std::string_view a_name,
                              const ops::Observation& b, std::string_view b_name,
                              size_t max_lines) {
  if (a == b) return {};
  const Names n{a_name, b_name};
  ops::Observation ca = a, cb = b;
  ops::canonicalize(ca);
  ops::canonicalize(cb);
  std::vector<std::string> lines = all_differences(ca, cb, n);
  if (lines.empty()) {
    // a != b must never read as "no difference".
    lines.push_back(ca == cb ? fmt::format("{} and {} differ only in order or folio labels "
                                           "(observations not canonical)",
                                           a_name, b_name)
                             : fmt::format("{} and {} differ only in repeated or empty entries",
                                           a_name, b_name));
  }
  if (lines.size() > max_lines) {
    size_t more = lines.size() - max_lines;
    lines.resize(max_lines);
    lines.push_back(fmt::format("… and {} more difference{}", more, more == 1 ? "" : "s"));
  }
  return lines;
}

std::optional<std::string> first_difference(const ops::Observation& a, std::string_view a_name,
                                            const ops::Observation& b, std::string_view b_name) {
  std::vector<std::string> lines = diff(a, a_name, b, b_name, 1);
  if (lines.empty()) return std::nullopt;
  return lines.front();
}

}  // namespace check
