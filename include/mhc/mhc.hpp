// libmhc C++ layer: header-only RAII over the C ABI (no ABI of its own).
//
//   mhc::Desc desc(MHC_OP_PRE);          // docs/numerics.md defaults
//   desc.get().tokens = T; desc.get().hidden = C;
//   mhc::Plan plan(desc);                // throws mhc::Error on failure
//   plan.run(stream, args);              // reuse across many calls
//
// Errors are mhc::Error (an std::runtime_error carrying the status and the library's message).
#ifndef MHC_MHC_HPP_
#define MHC_MHC_HPP_

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include "mhc.h"

namespace mhc {

class Error : public std::runtime_error {
 public:
  Error(mhc_status_t status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  mhc_status_t status() const noexcept { return status_; }
  mhc_status_t category() const noexcept { return MHC_STATUS_CATEGORY(status_); }

 private:
  mhc_status_t status_;
};

// The calling thread's last error message.
inline std::string last_error() {
  const size_t len = mhc_get_last_error(nullptr, 0);
  std::string s(len + 1, '\0');
  mhc_get_last_error(&s[0], s.size());
  s.resize(len);
  return s;
}

// Throws mhc::Error for a failed status: "<STATUS_NAME>: <message>".
inline void check(mhc_status_t status) {
  if (status != MHC_STATUS_SUCCESS)
    throw Error(status, std::string(mhc_status_string(status)) + ": " + last_error());
}

inline int cuda_device_count() {
  int32_t count = 0;
  check(mhc_cuda_device_count(&count));
  return count;
}

// A descriptor with the docs/numerics.md defaults for `op`.
class Desc {
 public:
  explicit Desc(mhc_op_t op) { check(mhc_desc_init_sized(&desc_, sizeof desc_, op)); }
  Desc(mhc_op_t op, int64_t tokens, int32_t n, int64_t hidden) : Desc(op) {
    desc_.tokens = tokens;
    desc_.n = n;
    desc_.hidden = hidden;
  }
  // The descriptor of this forward op's backward (since 0.4): the same fields, op = 64 + op
  // (MHC_OP_PRE -> MHC_OP_PRE_BACKWARD), num_splits 0. Select rejects an op without a backward.
  Desc backward() const {
    Desc d = *this;
    d.desc_.op = desc_.op + 64;
    d.desc_.num_splits = 0;
    return d;
  }
  mhc_desc_t& get() noexcept { return desc_; }
  const mhc_desc_t& get() const noexcept { return desc_; }
  mhc_desc_t* operator->() noexcept { return &desc_; }
  const mhc_desc_t* operator->() const noexcept { return &desc_; }

 private:
  mhc_desc_t desc_{};
};

class Preference {
 public:
  Preference() { check(mhc_preference_init(&pref_)); }
  Preference& backends(mhc_backend_mask_t b) { pref_.backends = b; return *this; }
  Preference& max_workspace(uint64_t bytes) { pref_.max_workspace_bytes = bytes; return *this; }
  Preference& require(mhc_guarantee_flags_t flags) { pref_.required |= flags; return *this; }
  Preference& force(mhc_sku_t sku) { pref_.forced_sku = sku; return *this; }
  const mhc_preference_t& get() const noexcept { return pref_; }

 private:
  mhc_preference_t pref_{};
};

// Tensors of one run: start empty, set the fields the op uses.
struct Args : mhc_args_t {
  Args() : mhc_args_t() { check(mhc_args_init_sized(this, sizeof(mhc_args_t))); }
  // Backward ops (since 0.4): add the gradients of these outputs (MHC_GRAD_ACCUMULATE_* bits) to
  // their contents instead of overwriting them.
  Args& accumulate(uint32_t bits) noexcept {
    grad_accumulate |= bits;
    return *this;
  }
};

// An owning plan. Movable, not copyable. Every member may be called from several threads.
class Plan {
 public:
  Plan() = default;
  explicit Plan(const Desc& desc, const Preference& pref = Preference()) {
    check(mhc_plan_select(&desc.get(), &pref.get(), &plan_));
  }
  explicit Plan(const mhc_desc_t& desc, const Preference& pref = Preference()) {
    check(mhc_plan_select(&desc, &pref.get(), &plan_));
  }
  ~Plan() { mhc_plan_destroy(plan_); }
  Plan(Plan&& o) noexcept : plan_(std::exchange(o.plan_, nullptr)) {}
  Plan& operator=(Plan&& o) noexcept {
    if (this != &o) {
      mhc_plan_destroy(plan_);
      plan_ = std::exchange(o.plan_, nullptr);
    }
    return *this;
  }
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  mhc_plan_t get() const noexcept { return plan_; }
  explicit operator bool() const noexcept { return plan_ != nullptr; }

  // Returns the status instead of throwing, for callers that want to branch on it.
  mhc_status_t can_implement(const mhc_args_t& args) const noexcept {
    return mhc_plan_can_implement(plan_, &args);
  }
  size_t workspace_size() const {
    size_t bytes = 0;
    check(mhc_plan_workspace_size(plan_, &bytes));
    return bytes;
  }
  void run(void* stream, const mhc_args_t& args, void* workspace = nullptr, size_t workspace_bytes = 0) const {
    check(mhc_plan_run(plan_, stream, workspace, workspace_bytes, &args));
  }
  mhc_sku_t sku() const {
    mhc_sku_t s = 0;
    check(mhc_plan_get_sku(plan_, &s));
    return s;
  }
  std::string sku_name() const {
    const char* name = mhc_sku_name(sku());
    return name ? name : "unknown";
  }
  mhc_precision_guarantee_t precision_guarantee() const {
    mhc_precision_guarantee_t g{};
    g.struct_size = sizeof g;
    check(mhc_plan_get_precision_guarantee(plan_, &g));
    return g;
  }
  mhc_desc_t desc() const {
    mhc_desc_t d{};
    d.struct_size = sizeof d;
    check(mhc_plan_get_desc(plan_, &d));
    return d;
  }

 private:
  mhc_plan_t plan_ = nullptr;
};

}  // namespace mhc

#endif  // MHC_MHC_HPP_
