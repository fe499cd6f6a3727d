/* A C consumer of an installed libmhc through pkg-config:
 *
 *   cc consumer_pkgconfig.c $(pkg-config --cflags --libs mhc) -o consumer_pkgconfig
 *
 * Runs MHC_OP_PRE on the host backend and checks what docs/numerics.md (A2) promises: comb_mix is (close
 * to) doubly stochastic after Sinkhorn, post_mix lies in (0, post_mult).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mhc/mhc.h>

#define T 2
#define NS 4
#define C 64
#define K (NS * C)
#define N (NS * (NS + 2))

static int check(mhc_status_t s, const char* what) {
  char message[512];
  if (s == MHC_STATUS_SUCCESS) return 1;
  mhc_get_last_error(message, sizeof message);
  fprintf(stderr, "consumer_pkgconfig: %s: %s: %s\n", what, mhc_status_string(s), message);
  return 0;
}

static uint16_t residual[T * K], layer_input[T * C];
static float fn[N * K], scale[3], base[N], post_mix[T * NS], comb_mix[T * NS * NS];

int main(void) {
  mhc_desc_t desc;
  mhc_preference_t pref;
  mhc_args_t args;
  mhc_plan_t plan = NULL;
  mhc_sku_t sku = 0;
  uint32_t state = 12345u;
  int i, j, t, ok = 1;

  for (i = 0; i < T * K; ++i) { /* bf16 values in [1, 2) with a varying mantissa */
    state = state * 1664525u + 1013904223u;
    residual[i] = (uint16_t)(0x3f80u | ((state >> 24) & 0x7fu));
  }
  for (i = 0; i < N * K; ++i) {
    state = state * 1664525u + 1013904223u;
    fn[i] = ((float)(state >> 8) / 16777216.0f - 0.5f) * 0.1f;
  }
  for (i = 0; i < 3; ++i) scale[i] = 1.0f;
  for (i = 0; i < N; ++i) base[i] = 0.01f * (float)(i % 7);

  if (!check(mhc_check_abi(MHC_ABI_VERSION), "mhc_check_abi")) return 1;
  if (!check(mhc_desc_init(&desc, MHC_OP_PRE), "mhc_desc_init")) return 1;
  desc.tokens = T;
  desc.n = NS;
  desc.hidden = C;
  if (!check(mhc_preference_init(&pref), "mhc_preference_init")) return 1;
  pref.backends = MHC_BACKEND_HOST;
  if (!check(mhc_plan_select(&desc, &pref, &plan), "mhc_plan_select")) return 1;
  if (!check(mhc_args_init(&args), "mhc_args_init")) return 1;
  args.residual = residual;
  args.fn = fn;
  args.scale = scale;
  args.base = base;
  args.out_post_mix = post_mix;
  args.out_comb_mix = comb_mix;
  args.out_layer_input = layer_input;
  if (!check(mhc_plan_run(plan, NULL, NULL, 0, &args), "mhc_plan_run")) return 1;
  if (!check(mhc_plan_get_sku(plan, &sku), "mhc_plan_get_sku")) return 1;
  if (!check(mhc_plan_destroy(plan), "mhc_plan_destroy")) return 1;

  for (t = 0; t < T; ++t)
    for (j = 0; j < NS; ++j) {
      float row = 0.0f, col = 0.0f;
      for (i = 0; i < NS; ++i) {
        row += comb_mix[(t * NS + j) * NS + i];
        col += comb_mix[(t * NS + i) * NS + j];
      }
      if (row < 0.99f || row > 1.01f || col < 0.99f || col > 1.01f) ok = 0;
      if (!(post_mix[t * NS + j] > 0.0f && post_mix[t * NS + j] < 2.0f)) ok = 0;
    }
  if (!ok) {
    fprintf(stderr, "consumer_pkgconfig: comb_mix is not doubly stochastic or post_mix out of range\n");
    return 1;
  }
  printf("consumer (pkg-config, libmhc %s): %s OK\n", mhc_get_version_string(), mhc_sku_name(sku));
  return 0;
}
