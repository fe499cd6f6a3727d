// docs/ops/<tag>.md states each op's contract as its card does: the block between the
// "card:begin" and "card:end" markers is rendered from the card here and must match the page.
// MHC_UPDATE_DOCS=1 rewrites the blocks (then review the diff); the rest of a page is prose.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "../src/ops/op_card.hpp"
#include "../src/ops/tensors.hpp"
#include "catch.hpp"

namespace {

const char* kBegin = "<!-- card:begin (generated from src/ops/";
const char* kEnd = "<!-- card:end -->";

const char* dim_name(mhc::Dim d) {
  switch (d) {
    case mhc::Dim::kTokens: return "T";
    case mhc::Dim::kStreams: return "n";
    case mhc::Dim::kHidden: return "C";
    case mhc::Dim::kK: return "n*C";
    case mhc::Dim::kMixes: return "N";
    case mhc::Dim::kParts: return "S";
    case mhc::Dim::kOne: return "1";
    case mhc::Dim::kThree: return "3";
  }
  return "?";
}

std::string shape(const mhc::TensorCard& t, bool with_parts) {
  std::string s = "[";
  for (int k = 0; k < t.rank; ++k) {
    if (t.dims[k] == mhc::Dim::kParts && !with_parts) continue;
    s += (s.size() > 1 ? ", " : "") + std::string(dim_name(t.dims[k]));
  }
  return s + "]";
}

bool has_parts(const mhc::TensorCard& t) {
  for (int k = 0; k < t.rank; ++k)
    if (t.dims[k] == mhc::Dim::kParts) return true;
  return false;
}

std::string dtype(const mhc::OpCard& c, mhc::Storage s) {
  if (s == mhc::Storage::kBf16) return "bf16";
  if (s == mhc::Storage::kFp32) return "fp32";
  return c.act_bf16 && c.act_fp32 ? "act_dtype" : c.act_bf16 ? "bf16" : "fp32";
}

// "`MHC_DESC_FLAG_NORM`", "`MHC_DESC_FLAG_SHIFTED` and `MHC_DESC_FLAG_NORM`"
std::string flag_list(uint32_t bits) {
  std::string s;
  const std::pair<uint32_t, const char*> flags[] = {{MHC_DESC_FLAG_SPLIT_PARTIALS, "MHC_DESC_FLAG_SPLIT_PARTIALS"},
                                                    {MHC_DESC_FLAG_SHIFTED, "MHC_DESC_FLAG_SHIFTED"},
                                                    {MHC_DESC_FLAG_NORM, "MHC_DESC_FLAG_NORM"}};
  for (const auto& f : flags)
    if (bits & f.first) s += (s.empty() ? "`" : " and `") + std::string(f.second) + "`";
  return s;
}

bool has_tokens(const mhc::TensorCard& t) {
  for (int k = 0; k < t.rank; ++k)
    if (t.dims[k] == mhc::Dim::kTokens) return true;
  return false;
}

// The last column of a tensor row: required or optional, the mode that changes it, and for a
// gradient output its accumulate bit (and, without a T dimension, that it sums the run's tokens).
std::string need(const mhc::TensorCard& t) {
  std::string s = t.required ? "required" : "optional";
  if (t.required_with != 0) s += "; required with " + flag_list(t.required_with);
  if (t.only_with != 0) s = "with " + flag_list(t.only_with) + ": " + s + "; without: `NULL` (not read)";
  if (t.role == mhc::Role::kOutput)
    for (const mhc::GradAccumulateBit& b : mhc::grad_accumulate_bits())
      if (b.offset == t.offset)
        s += std::string(has_tokens(t) ? "" : "; summed over the run's tokens") + "; adds to its contents with `" +
             b.name + "`";
  return s;
}

std::string render(const mhc::OpCard& c) {
  std::ostringstream o;
  o << kBegin << c.tag << ".cpp by tests/test_op_docs.cpp) -->\n";
  o << "| | |\n| --- | --- |\n";
  o << "| op | `" << c.name << "` (" << c.id << "), family " << (c.family == mhc::Family::kDynamic ? "A" : "B")
    << " |\n";
  o << "| what | " << c.summary << " |\n";
  o << "| n | " << c.n_min << ".." << c.n_max << " |\n";
  o << "| residual dtype | " << (c.act_bf16 && c.act_fp32 ? "bf16 or fp32 (`act_dtype`)" : c.act_bf16 ? "bf16" : "fp32")
    << "; `mhc_desc_init` sets " << (c.default_act == MHC_DTYPE_BF16 ? "bf16" : "fp32") << " |\n";
  o << "| N (mixes) | "
    << (c.mixes == mhc::MixRule::kPreMixes ? "n(n+2)" : c.mixes == mhc::MixRule::kStreams ? "n" : "none") << " |\n";
  o << "| num_splits | "
    << (c.splits == mhc::SplitRule::kSplitK
            ? "S of the K axis: 0 = the default policy, else 1..ceil(n*C/64)"
            : c.splits == mhc::SplitRule::kPartialCount
                  ? "the partial count S with `MHC_DESC_FLAG_SPLIT_PARTIALS`, else 0 (reduced input)"
                  : "0")
    << " |\n";
  o << "| `MHC_DESC_FLAG_SPLIT_PARTIALS` | " << (c.partials_flag ? "taken" : "refused") << " |\n";
  o << "| `MHC_DESC_FLAG_SHIFTED` | " << (c.mode_flags & MHC_DESC_FLAG_SHIFTED ? "taken" : "refused") << " |\n";
  o << "| `MHC_DESC_FLAG_NORM` | " << (c.mode_flags & MHC_DESC_FLAG_NORM ? "taken" : "refused") << " |\n";
  std::string used;
  const std::pair<uint32_t, const char*> uses[] = {
      {mhc::kUsesWeightPrecision, "weight_precision"}, {mhc::kUsesSinkhornRepeat, "sinkhorn_repeat"},
      {mhc::kUsesRmsEps, "rms_eps"},   {mhc::kUsesPreEps, "pre_eps"},       {mhc::kUsesSinkhornEps, "sinkhorn_eps"},
      {mhc::kUsesPostMult, "post_mult"}, {mhc::kUsesStaticEps, "static_eps"}};
  for (const auto& u : uses)
    if (c.uses & u.first) used += (used.empty() ? "`" : ", `") + std::string(u.second) + "`";
  if (c.uses & mhc::kUsesNorm)
    used += std::string(used.empty() ? "" : ", ") + "`norm_eps` and `norm_scale` with `MHC_DESC_FLAG_NORM`";
  o << "| other fields read | " << (used.empty() ? "none" : used) << " |\n\n";
  o << "| `mhc_args_t` field | role | dtype | shape | |\n| --- | --- | --- | --- | --- |\n";
  for (int i = 0; i < c.tensor_count; ++i) {
    const mhc::TensorCard& t = c.tensors[i];
    std::string sh = "`" + shape(t, true) + "`";
    if (has_parts(t)) sh = "`" + shape(t, true) + "` with partials, else `" + shape(t, false) + "`";
    o << "| `" << t.field << "` | " << (t.role == mhc::Role::kInput ? "in" : "out") << " | " << dtype(c, t.storage)
      << " | " << sh << " | " << need(t) << " |\n";
  }
  o << kEnd;
  return o.str();
}

std::string page_path(const mhc::OpCard& c) { return std::string(MHC_SOURCE_DIR) + "/docs/ops/" + c.tag + ".md"; }

}  // namespace

TEST_CASE("op docs: each docs/ops page carries its card", "[cards][docs]") {
  const bool update = std::getenv("MHC_UPDATE_DOCS") != nullptr;
  for (const mhc::OpCard* card : mhc::op_cards()) {
    const mhc::OpCard& c = *card;
    INFO(page_path(c));
    std::ifstream in(page_path(c));
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string page = ss.str();
    const size_t b = page.find(kBegin), e = page.find(kEnd);
    REQUIRE(b != std::string::npos);
    REQUIRE(e != std::string::npos);
    REQUIRE(b < e);
    const std::string want = render(c);
    const std::string have = page.substr(b, e + std::string(kEnd).size() - b);
    if (update && have != want) {
      page.replace(b, have.size(), want);
      std::ofstream(page_path(c)) << page;
      continue;
    }
    CHECK(have == want);
  }
}
