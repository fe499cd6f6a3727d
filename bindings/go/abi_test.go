package mhc

// The header-match test: the hand-written constants and struct mirrors of this package against
// what the C compiler says about include/mhc/mhc.h, read from the output of mhc_abi_facts (a C
// program the CMake build generates from the header; ctest passes its output as
// MHC_ABI_FACTS). Both directions: everything the header has must be here with the same value,
// size, alignment and offset, and everything here must be in the header.

import (
	"bufio"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

type abiFacts struct {
	consts   map[string]int64
	typedefs map[string][3]int64 // size, align, signed
	structs  map[string][2]int64 // size, align
	fields   map[string][2]int64 // "struct.field": offset, size
}

func readFacts(t *testing.T) abiFacts {
	path := os.Getenv("MHC_ABI_FACTS")
	if path == "" {
		t.Fatal("MHC_ABI_FACTS is not set: it names the output of the mhc_abi_facts program the CMake build makes " +
			"(build/bindings/abi_facts.txt); `ctest -L go` sets it")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	facts := abiFacts{map[string]int64{}, map[string][3]int64{}, map[string][2]int64{}, map[string][2]int64{}}
	num := func(s string) int64 {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s: bad number %q", path, s)
		}
		return v
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		switch {
		case len(w) == 3 && w[0] == "const":
			facts.consts[w[1]] = num(w[2])
		case len(w) == 5 && w[0] == "typedef":
			signed := int64(0)
			if w[4] == "signed" {
				signed = 1
			}
			facts.typedefs[w[1]] = [3]int64{num(w[2]), num(w[3]), signed}
		case len(w) == 4 && w[0] == "struct":
			facts.structs[w[1]] = [2]int64{num(w[2]), num(w[3])}
		case len(w) == 5 && w[0] == "field":
			facts.fields[w[1]+"."+w[2]] = [2]int64{num(w[3]), num(w[4])}
		default:
			t.Fatalf("%s: unexpected line %q", path, sc.Text())
		}
	}
	if len(facts.consts) < 50 || len(facts.structs) < 4 {
		t.Fatalf("%s looks truncated", path)
	}
	return facts
}

// Every constant of this package by its C name.
var goConstants = map[string]int64{
	"MHC_VERSION_MAJOR": int64(VersionMajor), "MHC_VERSION_MINOR": int64(VersionMinor),
	"MHC_VERSION_PATCH": int64(VersionPatch), "MHC_VERSION": int64(Version), "MHC_ABI_VERSION": int64(ABIVersion),

	"MHC_STATUS_SUCCESS":                      int64(StatusSuccess),
	"MHC_STATUS_BAD_PARAM":                    int64(StatusBadParam),
	"MHC_STATUS_BAD_PARAM_NULL_POINTER":       int64(StatusBadParamNullPointer),
	"MHC_STATUS_BAD_PARAM_STRUCT_SIZE":        int64(StatusBadParamStructSize),
	"MHC_STATUS_BAD_PARAM_SHAPE":              int64(StatusBadParamShape),
	"MHC_STATUS_BAD_PARAM_VALUE":              int64(StatusBadParamValue),
	"MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM":       int64(StatusBadParamUnknownEnum),
	"MHC_STATUS_BAD_PARAM_MISALIGNED":         int64(StatusBadParamMisaligned),
	"MHC_STATUS_BAD_PARAM_WORKSPACE":          int64(StatusBadParamWorkspace),
	"MHC_STATUS_BAD_PARAM_MEMORY_SPACE":       int64(StatusBadParamMemorySpace),
	"MHC_STATUS_BAD_PARAM_ABI_MISMATCH":       int64(StatusBadParamABIMismatch),
	"MHC_STATUS_BAD_PARAM_DEVICE":             int64(StatusBadParamDevice),
	"MHC_STATUS_NOT_SUPPORTED":                int64(StatusNotSupported),
	"MHC_STATUS_NOT_SUPPORTED_NO_DEVICE":      int64(StatusNotSupportedNoDevice),
	"MHC_STATUS_NOT_SUPPORTED_SKU":            int64(StatusNotSupportedSKU),
	"MHC_STATUS_NOT_SUPPORTED_GUARANTEE":      int64(StatusNotSupportedGuarantee),
	"MHC_STATUS_NOT_SUPPORTED_WORKSPACE_CAP":  int64(StatusNotSupportedWorkspaceCap),
	"MHC_STATUS_INTERNAL":                     int64(StatusInternal),
	"MHC_STATUS_INTERNAL_HOST_ALLOC_FAILED":   int64(StatusInternalHostAllocFailed),
	"MHC_STATUS_INTERNAL_DEVICE_ALLOC_FAILED": int64(StatusInternalDeviceAllocFailed),
	"MHC_STATUS_EXECUTION_FAILED":             int64(StatusExecutionFailed),
	"MHC_STATUS_EXECUTION_FAILED_CUDA":        int64(StatusExecutionFailedCUDA),
	"MHC_STATUS_EXECUTION_FAILED_LAUNCH":      int64(StatusExecutionFailedLaunch),

	"MHC_OP_PRENORM_GEMM": int64(OpPrenormGemm), "MHC_OP_PRE_FUSE": int64(OpPreFuse),
	"MHC_OP_PRE": int64(OpPre), "MHC_OP_POST": int64(OpPost), "MHC_OP_HEAD": int64(OpHead),
	"MHC_OP_EXPAND": int64(OpExpand), "MHC_OP_BOUNDARY": int64(OpBoundary),
	"MHC_OP_BOUNDARY_COLLAPSE": int64(OpBoundaryCollapse), "MHC_OP_BOUNDARY_MIX": int64(OpBoundaryMix),
	"MHC_OP_BOUNDARY_FIRST": int64(OpBoundaryFirst), "MHC_OP_STATIC_PRE": int64(OpStaticPre),
	"MHC_OP_STATIC_POST": int64(OpStaticPost), "MHC_OP_STATIC_LAYER": int64(OpStaticLayer),
	"MHC_OP_PRE_BACKWARD": int64(OpPreBackward), "MHC_OP_POST_BACKWARD": int64(OpPostBackward),
	"MHC_OP_HEAD_BACKWARD": int64(OpHeadBackward), "MHC_OP_EXPAND_BACKWARD": int64(OpExpandBackward),
	"MHC_OP_STATIC_PRE_BACKWARD": int64(OpStaticPreBackward), "MHC_OP_STATIC_POST_BACKWARD": int64(OpStaticPostBackward),
	"MHC_OP_STATIC_LAYER_BACKWARD": int64(OpStaticLayerBackward),

	"MHC_DTYPE_BF16": int64(DtypeBF16), "MHC_DTYPE_FP32": int64(DtypeFP32),
	"MHC_DTYPE_TF32": int64(DtypeTF32), "MHC_DTYPE_FP64": int64(DtypeFP64),
	"MHC_DTYPE_TF32X3": int64(DtypeTF32X3),

	"MHC_BACKEND_CUDA": int64(BackendCUDA), "MHC_BACKEND_HOST": int64(BackendHost), "MHC_BACKEND_ANY": int64(BackendAny),

	"MHC_GUARANTEE_DETERMINISTIC": int64(GuaranteeDeterministic), "MHC_GUARANTEE_BIT_STABLE": int64(GuaranteeBitStable),
	"MHC_GUARANTEE_BATCH_INVARIANT": int64(GuaranteeBatchInvariant), "MHC_GUARANTEE_NO_ATOMICS": int64(GuaranteeNoAtomics),

	"MHC_DESC_FLAG_SPLIT_PARTIALS": int64(DescFlagSplitPartials), "MHC_DESC_FLAG_SHIFTED": int64(DescFlagShifted),
	"MHC_DESC_FLAG_NORM": int64(DescFlagNorm),

	"MHC_GRAD_ACCUMULATE_RESIDUAL": int64(GradAccumulateResidual), "MHC_GRAD_ACCUMULATE_LAYER_OUTPUT": int64(GradAccumulateLayerOutput),
	"MHC_GRAD_ACCUMULATE_POST_MIX": int64(GradAccumulatePostMix), "MHC_GRAD_ACCUMULATE_COMB_MIX": int64(GradAccumulateCombMix),
	"MHC_GRAD_ACCUMULATE_EMBEDDING": int64(GradAccumulateEmbedding), "MHC_GRAD_ACCUMULATE_FN": int64(GradAccumulateFn),
	"MHC_GRAD_ACCUMULATE_SCALE": int64(GradAccumulateScale), "MHC_GRAD_ACCUMULATE_BASE": int64(GradAccumulateBase),
	"MHC_GRAD_ACCUMULATE_H_PRE": int64(GradAccumulateHPre), "MHC_GRAD_ACCUMULATE_H_POST": int64(GradAccumulateHPost),
	"MHC_GRAD_ACCUMULATE_H_RES": int64(GradAccumulateHRes), "MHC_GRAD_ACCUMULATE_NORM_WEIGHT": int64(GradAccumulateNormWeight),

	"MHC_TENSOR_MAX_RANK":    int64(TensorMaxRank),
	"MHC_TENSOR_ROLE_INPUT":  int64(TensorRoleInput),
	"MHC_TENSOR_ROLE_OUTPUT": int64(TensorRoleOutput),

	"MHC_SKU_NONE":                                int64(SKUNone),
	"MHC_SKU_HOST_PRENORM_GEMM":                   int64(SKUHostPrenormGemm),
	"MHC_SKU_HOST_PRE_FUSE":                       int64(SKUHostPreFuse),
	"MHC_SKU_HOST_PRE":                            int64(SKUHostPre),
	"MHC_SKU_HOST_POST":                           int64(SKUHostPost),
	"MHC_SKU_HOST_HEAD":                           int64(SKUHostHead),
	"MHC_SKU_HOST_EXPAND":                         int64(SKUHostExpand),
	"MHC_SKU_HOST_BOUNDARY":                       int64(SKUHostBoundary),
	"MHC_SKU_HOST_BOUNDARY_COLLAPSE":              int64(SKUHostBoundaryCollapse),
	"MHC_SKU_HOST_BOUNDARY_MIX":                   int64(SKUHostBoundaryMix),
	"MHC_SKU_HOST_BOUNDARY_FIRST":                 int64(SKUHostBoundaryFirst),
	"MHC_SKU_HOST_STATIC_PRE":                     int64(SKUHostStaticPre),
	"MHC_SKU_HOST_STATIC_POST":                    int64(SKUHostStaticPost),
	"MHC_SKU_HOST_STATIC_LAYER":                   int64(SKUHostStaticLayer),
	"MHC_SKU_HOST_PRE_BACKWARD":                   int64(SKUHostPreBackward),
	"MHC_SKU_HOST_POST_BACKWARD":                  int64(SKUHostPostBackward),
	"MHC_SKU_HOST_HEAD_BACKWARD":                  int64(SKUHostHeadBackward),
	"MHC_SKU_HOST_EXPAND_BACKWARD":                int64(SKUHostExpandBackward),
	"MHC_SKU_HOST_STATIC_PRE_BACKWARD":            int64(SKUHostStaticPreBackward),
	"MHC_SKU_HOST_STATIC_POST_BACKWARD":           int64(SKUHostStaticPostBackward),
	"MHC_SKU_HOST_STATIC_LAYER_BACKWARD":          int64(SKUHostStaticLayerBackward),
	"MHC_SKU_SM80_PRENORM_GEMM":                   int64(SKUSM80PrenormGemm),
	"MHC_SKU_SM80_PRE_FUSE":                       int64(SKUSM80PreFuse),
	"MHC_SKU_SM80_PRE":                            int64(SKUSM80Pre),
	"MHC_SKU_SM80_POST":                           int64(SKUSM80Post),
	"MHC_SKU_SM80_HEAD":                           int64(SKUSM80Head),
	"MHC_SKU_SM80_EXPAND":                         int64(SKUSM80Expand),
	"MHC_SKU_SM80_POST_BACKWARD":                  int64(SKUSM80PostBackward),
	"MHC_SKU_SM80_PRE_BACKWARD":                   int64(SKUSM80PreBackward),
	"MHC_SKU_SM80_HEAD_BACKWARD":                  int64(SKUSM80HeadBackward),
	"MHC_SKU_SM80_EXPAND_BACKWARD":                int64(SKUSM80ExpandBackward),
	"MHC_SKU_SM80_STATIC_PRE":                     int64(SKUSM80StaticPre),
	"MHC_SKU_SM80_STATIC_POST":                    int64(SKUSM80StaticPost),
	"MHC_SKU_SM80_STATIC_LAYER":                   int64(SKUSM80StaticLayer),
	"MHC_SKU_SM80_STATIC_LAYER_1STAGE":            int64(SKUSM80StaticLayer1Stage),
	"MHC_SKU_SM80_STATIC_PRE_BACKWARD":            int64(SKUSM80StaticPreBackward),
	"MHC_SKU_SM80_STATIC_POST_BACKWARD":           int64(SKUSM80StaticPostBackward),
	"MHC_SKU_SM80_STATIC_LAYER_BACKWARD":          int64(SKUSM80StaticLayerBackward),
	"MHC_SKU_SM90_PRENORM_GEMM":                   int64(SKUSM90PrenormGemm),
	"MHC_SKU_SM90_PRE":                            int64(SKUSM90Pre),
	"MHC_SKU_SM90_HEAD":                           int64(SKUSM90Head),
	"MHC_SKU_SM80_PRE_FUSE_TOKENS":                int64(SKUSM80PreFuseTokens),
	"MHC_SKU_SM80_BOUNDARY":                       int64(SKUSM80Boundary),
	"MHC_SKU_SM80_BOUNDARY_COLLAPSE":              int64(SKUSM80BoundaryCollapse),
	"MHC_SKU_SM80_BOUNDARY_MIX":                   int64(SKUSM80BoundaryMix),
	"MHC_SKU_SM80_BOUNDARY_FIRST":                 int64(SKUSM80BoundaryFirst),
	"MHC_SKU_SM90_PRENORM_GEMM_ONEPASS":           int64(SKUSM90PrenormGemmOnepass),
	"MHC_SKU_SM90_PRENORM_GEMM_NARROW":            int64(SKUSM90PrenormGemmNarrow),
	"MHC_SKU_SM90_PRENORM_GEMM_WIDE_REGS":         int64(SKUSM90PrenormGemmWideRegs),
	"MHC_SKU_SM90_PRE_ONEPASS":                    int64(SKUSM90PreOnepass),
	"MHC_SKU_SM90_PRE_ONEPASS_TB16":               int64(SKUSM90PreOnepassTB16),
	"MHC_SKU_SM90_PRENORM_GEMM_BF16":              int64(SKUSM90PrenormGemmBF16),
	"MHC_SKU_SM90_PRE_BF16":                       int64(SKUSM90PreBF16),
	"MHC_SKU_SM90_HEAD_ONEPASS":                   int64(SKUSM90HeadOnepass),
	"MHC_SKU_SM80_STATIC_PRE_BACKWARD_STREAMED":   int64(SKUSM80StaticPreBackwardStreamed),
	"MHC_SKU_SM80_STATIC_LAYER_BACKWARD_STREAMED": int64(SKUSM80StaticLayerBackwardStreamed),
	"MHC_SKU_SM90_PRE_CLUSTER":                    int64(SKUSM90PreCluster),
	"MHC_SKU_SM90_BOUNDARY_CLUSTER":               int64(SKUSM90BoundaryCluster),
	"MHC_SKU_SM90_HEAD_CLUSTER":                   int64(SKUSM90HeadCluster),
	"MHC_SKU_SM90_HEAD_CLUSTER_PIPELINED":         int64(SKUSM90HeadClusterPipelined),
	"MHC_SKU_SM90_PRE_BACKWARD_CHUNKED":           int64(SKUSM90PreBackwardChunked),
	"MHC_SKU_SM90_HEAD_BACKWARD_CHUNKED":          int64(SKUSM90HeadBackwardChunked),
}

func TestConstantsMatchTheHeader(t *testing.T) {
	facts := readFacts(t)
	for name, v := range facts.consts {
		mine, ok := goConstants[name]
		if !ok {
			t.Errorf("%s = %d is in mhc.h but not in this package", name, v)
		} else if mine != v {
			t.Errorf("%s: mhc.h says %d, this package %d", name, v, mine)
		}
	}
	for name := range goConstants {
		if _, ok := facts.consts[name]; !ok {
			t.Errorf("%s is in this package but not in mhc.h", name)
		}
	}
	t.Logf("%d constants of mhc.h checked", len(facts.consts))
}

func TestTypedefsMatchTheHeader(t *testing.T) {
	facts := readFacts(t)
	signed := func(v interface{}) int64 {
		if reflect.TypeOf(v).Kind() >= reflect.Int && reflect.TypeOf(v).Kind() <= reflect.Int64 {
			return 1
		}
		return 0
	}
	mine := map[string][3]int64{
		"mhc_status_t":          {int64(unsafe.Sizeof(Status(0))), int64(unsafe.Alignof(Status(0))), signed(Status(0))},
		"mhc_op_t":              {int64(unsafe.Sizeof(Op(0))), int64(unsafe.Alignof(Op(0))), signed(Op(0))},
		"mhc_dtype_t":           {int64(unsafe.Sizeof(Dtype(0))), int64(unsafe.Alignof(Dtype(0))), signed(Dtype(0))},
		"mhc_backend_mask_t":    {int64(unsafe.Sizeof(Backend(0))), int64(unsafe.Alignof(Backend(0))), signed(Backend(0))},
		"mhc_guarantee_flags_t": {int64(unsafe.Sizeof(Guarantee(0))), int64(unsafe.Alignof(Guarantee(0))), signed(Guarantee(0))},
		"mhc_sku_t":             {int64(unsafe.Sizeof(SKU(0))), int64(unsafe.Alignof(SKU(0))), signed(SKU(0))},
		"mhc_tensor_role_t":     {int64(unsafe.Sizeof(TensorRole(0))), int64(unsafe.Alignof(TensorRole(0))), signed(TensorRole(0))},
	}
	for name, c := range facts.typedefs {
		if m, ok := mine[name]; !ok {
			t.Errorf("typedef %s is in mhc.h but not in this package", name)
		} else if m != c {
			t.Errorf("%s: mhc.h (size, align, signed) %v, this package %v", name, c, m)
		}
	}
	for name := range mine {
		if _, ok := facts.typedefs[name]; !ok {
			t.Errorf("typedef %s is in this package but not in mhc.h", name)
		}
	}
}

// mirror pairs a C struct with its Go mirror; the Go fields are matched to the C fields in
// order, by name with the underscores dropped (struct_size ~ StructSize).
type mirror struct {
	cName string
	goVal interface{}
}

func TestStructsMatchTheHeader(t *testing.T) {
	facts := readFacts(t)
	mirrors := []mirror{
		{"mhc_desc_t", Desc{}},
		{"mhc_preference_t", Preference{}},
		{"mhc_precision_guarantee_t", PrecisionGuarantee{}},
		{"mhc_args_t", RawArgs{}},
		{"mhc_tensor_info_t", RawTensorInfo{}},
	}
	fieldsChecked := 0
	for _, m := range mirrors {
		typ := reflect.TypeOf(m.goVal)
		c, ok := facts.structs[m.cName]
		if !ok {
			t.Errorf("struct %s is in this package (%s) but not in mhc.h", m.cName, typ.Name())
			continue
		}
		if mine := [2]int64{int64(typ.Size()), int64(typ.Align())}; mine != c {
			t.Errorf("%s: mhc.h (size, align) %v, %s %v", m.cName, c, typ.Name(), mine)
		}
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			key := ""
			for k := range facts.fields {
				if strings.HasPrefix(k, m.cName+".") &&
					strings.EqualFold(strings.ReplaceAll(strings.TrimPrefix(k, m.cName+"."), "_", ""), f.Name) {
					key = k
				}
			}
			if key == "" {
				t.Errorf("%s.%s has no field of %s in mhc.h", typ.Name(), f.Name, m.cName)
				continue
			}
			fieldsChecked++
			if mine := [2]int64{int64(f.Offset), int64(f.Type.Size())}; mine != facts.fields[key] {
				t.Errorf("%s: mhc.h (offset, size) %v, %s.%s %v", key, facts.fields[key], typ.Name(), f.Name, mine)
			}
		}
	}
	for k := range facts.fields {
		s := k[:strings.Index(k, ".")]
		found := false
		for _, m := range mirrors {
			if m.cName == s {
				typ := reflect.TypeOf(m.goVal)
				for i := 0; i < typ.NumField(); i++ {
					if strings.EqualFold(strings.ReplaceAll(k[len(s)+1:], "_", ""), typ.Field(i).Name) {
						found = true
					}
				}
			}
		}
		if !found {
			t.Errorf("%s is in mhc.h but not in this package", k)
		}
	}
	for s := range facts.structs {
		found := false
		for _, m := range mirrors {
			found = found || m.cName == s
		}
		if !found {
			t.Errorf("struct %s is in mhc.h but not in this package", s)
		}
	}
	t.Logf("%d structs, %d fields of mhc.h checked", len(mirrors), fieldsChecked)
}

func TestTheLoadedLibraryIsTheOneDeclared(t *testing.T) {
	if LibraryABIVersion() != ABIVersion || LibraryVersion() != Version {
		t.Fatalf("loaded libmhc: version %d ABI %d; this package: version %d ABI %d",
			LibraryVersion(), LibraryABIVersion(), Version, ABIVersion)
	}
	if err := CheckABI(); err != nil {
		t.Fatal(err)
	}
}
