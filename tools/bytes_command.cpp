// rmapcheck encode / decode. Fuzz bytes carry no limits but their world byte (THP
// "always", exec_only: ops/world_byte.hpp): they decode in the fuzzers' world
// (ops::campaign_limits(), changed by limits flags) with the byte's choices, so both
// commands work in that world, and a decoded trace records it in its `# limits:` line.

#include "tools/bytes_command.hpp"

#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ops/decode.hpp"
#include "ops/world_byte.hpp"
#include "ops/limits_text.hpp"
#include "ops/relocate.hpp"
#include "ops/trace.hpp"
#include "tools/cli_io.hpp"
#include "tools/exit_code.hpp"
#include "tools/limits_options.hpp"
#include "tools/replay.hpp"

namespace tools {
namespace {

namespace fs = std::filesystem;

struct EncodeOptions {
  std::vector<std::string> inputs;
  std::string output;      // one input: the bytes file
  std::string output_dir;  // any number of inputs: DIR/NAME.bin each
  bool move_down = false;  // move addresses down by whole huge pages first
  LimitsOptions limits;
};

struct DecodeOptions {
  std::string input;
  std::string output;  // default: stdout
  LimitsOptions limits;
};

ops::Limits fuzz_world(const LimitsOptions& flags) {
  ops::Limits limits = ops::campaign_limits();
  flags.apply(limits);
  ops::validate_limits(limits);
  return limits;
}

bool write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  out.close();
  if (!out) print_error("{}: error: cannot write file\n", path);
  return bool(out);
}

// The bytes of one trace, or nothing (the reason printed) if it cannot be encoded.
std::optional<std::vector<uint8_t>> encode_trace(const std::string& path, const ops::Limits& world,
                                                 const LimitsOptions& flags, bool move_down) {
  const std::optional<std::string> text = read_file(path);
  if (!text) {
    print_error("{}: error: cannot read file\n", path);
    return std::nullopt;
  }
  try {
    const ops::Trace trace = ops::parse_trace(*text);
    // THP and exec_only travel in the world byte (flags have the last word); the rest
    // of the trace's limits do not.
    const ops::Limits own = ops::limits_from_trace(trace, ops::Limits{});
    ops::Limits limits = world;
    if (!flags.thp_always_given()) limits.thp_always = own.thp_always;
    if (!flags.exec_only_given()) limits.exec_only = own.exec_only;
    if (ops::with_world_byte(own, ops::world_byte(ops::Limits{})) != ops::Limits{})
      fmt::print("{}: note: of its `# limits:` line only thp_always and exec_only travel with the bytes; they "
                 "decode in the fuzzers' world\n",
                 path);
    std::vector<ops::Op> ops = trace.ops();
    if (move_down) ops = ops::move_addresses_down(ops, ops::lowest_aligned_address(ops, limits.hpage_pages()));
    return ops::encode_input(ops, limits);
  } catch (const ops::ParseError& e) {
    print_error("{}\n", parse_error_text(path, e));
  } catch (const ops::EncodeError& e) {
    print_error("{}: error: {} (the fuzzers' world: {})\n", path, e.what(), ops::limits_comment(world));
  }
  return std::nullopt;
}

std::string as_text(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

// With --output-dir, traces that do not fit the world are skipped (and said so): a seed
// corpus is made of those that fit.
int encode_files(const EncodeOptions& opts) {
  const ops::Limits limits = fuzz_world(opts.limits);
  if (opts.output_dir.empty()) {
    if (opts.inputs.size() != 1 || opts.output.empty()) {
      print_error("rmapcheck encode: error: give one TRACE with -o FILE, or --output-dir DIR\n");
      return exit_usage;
    }
    const auto bytes = encode_trace(opts.inputs[0], limits, opts.limits, opts.move_down);
    if (!bytes) return exit_usage;
    return write_file(opts.output, as_text(*bytes)) ? exit_ok : exit_usage;
  }
  fs::create_directories(opts.output_dir);
  size_t written = 0;
  for (const std::string& input : opts.inputs) {
    const auto bytes = encode_trace(input, limits, opts.limits, opts.move_down);
    if (!bytes) continue;
    const std::string out = (fs::path(opts.output_dir) / fs::path(input).stem()).string() + ".bin";
    if (!write_file(out, as_text(*bytes))) return exit_usage;
    ++written;
  }
  fmt::print("encoded {} of {} traces into {}\n", written, opts.inputs.size(), opts.output_dir);
  return exit_ok;
}

int decode_file(const DecodeOptions& opts) {
  const ops::Limits world = fuzz_world(opts.limits);
  const std::optional<std::string> content = read_file(opts.input);
  if (!content) {
    print_error("{}: error: cannot read file\n", opts.input);
    return exit_usage;
  }
  const auto* data = reinterpret_cast<const uint8_t*>(content->data());
  ops::FuzzInput input = ops::decode_input(std::span<const uint8_t>(data, content->size()), world);
  opts.limits.apply(input.limits);  // flags have the last word over the world byte
  const ops::Limits& limits = input.limits;
  ops::Trace trace;
  auto comment = [&trace](std::string text) {
    ops::Line line;
    line.comment = std::move(text);
    trace.lines.push_back(std::move(line));
  };
  comment(fmt::format("# decoded from {} ({} bytes)", fs::path(opts.input).filename().string(), content->size()));
  if (std::string l = ops::limits_comment(limits); !l.empty()) comment(std::move(l));
  for (ops::Op& op : input.ops) {
    ops::Line line;
    line.op = std::move(op);
    trace.lines.push_back(std::move(line));
  }
  const std::string text = ops::print_trace(trace);
  if (opts.output.empty()) {
    fmt::print("{}", text);
    return exit_ok;
  }
  return write_file(opts.output, text) ? exit_ok : exit_usage;
}

template <class F>
void guarded(int& exit_code, F f) {
  try {
    exit_code = f();
  } catch (const std::invalid_argument& e) {  // limits flags out of range
    print_error("rmapcheck: error: {}\n", e.what());
    exit_code = exit_usage;
  }
}

}  // namespace

void add_bytes_commands(CLI::App& app, int& exit_code) {
  auto enc = std::make_shared<EncodeOptions>();
  CLI::App* e = app.add_subcommand("encode", "Turn traces into fuzz inputs (the seed corpus)");
  e->footer(
      "Bytes carry no limits: they are encoded for the fuzzers' world (--address-space 0x100 "
      "--max-pages 0x100, changed by limits flags), where `rmapcheck decode` gives back the same ops.\n"
      "The seed corpus is made with\n"
      "  rmapcheck encode --move-down corpus/regressions/*.trace --output-dir corpus/seed\n"
      "Exit: 0 written (with --output-dir, traces that do not fit are skipped and named), 2 error.");
  e->add_option("TRACE", enc->inputs, "trace files")->required()->type_name("");
  e->add_option("-o,--output", enc->output, "the bytes file (one TRACE)")->type_name("FILE");
  e->add_option("--output-dir", enc->output_dir, "write DIR/NAME.bin for each TRACE")->type_name("DIR");
  e->add_flag("--move-down", enc->move_down,
              "first move all addresses down together by whole huge pages, as far as they go "
              "(traces written for the 4096-page default then fit the fuzzers' 256 pages)");
  enc->limits.add_to(*e);
  e->callback([enc, &exit_code] { guarded(exit_code, [&] { return encode_files(*enc); }); });

  auto dec = std::make_shared<DecodeOptions>();
  CLI::App* d = app.add_subcommand("decode", "Turn a fuzz input (a crash file, a corpus entry) into a trace");
  d->footer(
      "Decodes exactly as the fuzz targets do, so `rmapcheck replay` of the trace runs what the "
      "fuzzer ran. The trace's `# limits:` line records the fuzzers' world.\n"
      "Exit: 0 written, 2 error.");
  d->add_option("BYTES", dec->input, "fuzz input file")->required()->type_name("");
  d->add_option("-o,--output", dec->output, "the trace file (default: stdout)")->type_name("FILE");
  dec->limits.add_to(*d);
  d->callback([dec, &exit_code] { guarded(exit_code, [&] { return decode_file(*dec); }); });
}

}  // namespace tools
