package mhc

// The constants of mhc.h, by hand; abi_test.go checks every one against the header (and that
// the header has no constant missing here).

// The header version this package was written for (mhc.h MHC_VERSION_*); LibraryVersion is the
// loaded library's.
const (
	VersionMajor uint32 = 0
	VersionMinor uint32 = 5
	VersionPatch uint32 = 0
	Version             = VersionMajor*10000 + VersionMinor*100 + VersionPatch
	ABIVersion   uint32 = 1
)

// Status codes.
const (
	StatusSuccess                   Status = 0
	StatusBadParam                  Status = 2000
	StatusBadParamNullPointer       Status = 2001
	StatusBadParamStructSize        Status = 2002
	StatusBadParamShape             Status = 2003
	StatusBadParamValue             Status = 2004
	StatusBadParamUnknownEnum       Status = 2005
	StatusBadParamMisaligned        Status = 2006
	StatusBadParamWorkspace         Status = 2007
	StatusBadParamMemorySpace       Status = 2008
	StatusBadParamABIMismatch       Status = 2009
	StatusBadParamDevice            Status = 2010
	StatusNotSupported              Status = 3000
	StatusNotSupportedNoDevice      Status = 3001
	StatusNotSupportedSKU           Status = 3002
	StatusNotSupportedGuarantee     Status = 3003
	StatusNotSupportedWorkspaceCap  Status = 3004
	StatusInternal                  Status = 4000
	StatusInternalHostAllocFailed   Status = 4001
	StatusInternalDeviceAllocFailed Status = 4002
	StatusExecutionFailed           Status = 5000
	StatusExecutionFailedCUDA       Status = 5001
	StatusExecutionFailedLaunch     Status = 5002
)

// Ops (docs/numerics.md).
const (
	OpPrenormGemm Op = 1 // A1
	OpPreFuse     Op = 2 // A2
	OpPre         Op = 3 // A3
	OpPost        Op = 4 // A4
	OpHead        Op = 5 // A5
	OpExpand      Op = 6 // A6
	// The layer boundary (A7): post of one sublayer, then the next sublayer's pre, in one op.
	OpBoundary         Op = 7  // post, mix of the new H, collapse (+ RMSNorm); V4, or V4.1 with DescFlagShifted
	OpBoundaryCollapse Op = 8  // V4.1 critical part: post, collapse with the carried pre (+ RMSNorm); the V4.1 head
	OpBoundaryMix      Op = 9  // V4.1 mix part: pre, post, comb of H (no layer input)
	OpBoundaryFirst    Op = 10 // first boundary: H = expand(E), its mix, collapse (+ RMSNorm)
	OpStaticPre        Op = 16 // B1
	OpStaticPost       Op = 17 // B2
	OpStaticLayer      Op = 18 // B3
	// Backward ops (training; since 0.4): 64 + the forward's id. Each reads the gradients of its
	// forward's outputs (Args.Grad*) and writes those of its inputs (Args.OutGrad*);
	// Args.GradAccumulate picks, per gradient output, overwrite or add.
	OpPreBackward    Op = 67 // A3': dR, dfn, dscale, dbase from dlayer_input, dpost, dcomb (saved D, Q)
	OpPostBackward   Op = 68 // A4': dX, dR, dpost, dcomb from dout
	OpHeadBackward   Op = 69 // A5': dR, dfn, dscale, dbase from dy (saved D, Q)
	OpExpandBackward Op = 70 // A6': dE[t,:] = sum_i dR[t,i,:]
	// Family B backward (since 0.5).
	OpStaticPreBackward   Op = 80 // B1': dx, dh_pre, dw from dlayer_input
	OpStaticPostBackward  Op = 81 // B2': dx, dF, dh_post, dh_res from dout
	OpStaticLayerBackward Op = 82 // B3': dx, dh_pre, dh_post, dh_res, dw from dout
)

// Dtypes and precisions.
const (
	DtypeBF16   Dtype = 1
	DtypeFP32   Dtype = 2
	DtypeTF32   Dtype = 3
	DtypeFP64   Dtype = 4
	DtypeTF32X3 Dtype = 5
)

// Backends.
const (
	BackendCUDA Backend = 0x1
	BackendHost Backend = 0x2
	BackendAny  Backend = 0x3
)

// Guarantees.
const (
	GuaranteeDeterministic  Guarantee = 0x1
	GuaranteeBitStable      Guarantee = 0x2
	GuaranteeBatchInvariant Guarantee = 0x4
	GuaranteeNoAtomics      Guarantee = 0x8
)

// Desc.Flags.
const (
	DescFlagSplitPartials uint32 = 0x1 // A1: write partials [S,T,N]/[S,T]; A2: read them
	DescFlagShifted       uint32 = 0x2 // OpBoundary, OpBoundaryFirst: V4.1 shifted collapse (the carried pre)
	DescFlagNorm          uint32 = 0x4 // OpBoundary*, not OpBoundaryMix: RMSNorm of the layer input
)

// Args.GradAccumulate (since 0.4): one bit per gradient output of the backward ops. Set: the op
// adds its gradient to the output's contents (one rounding of the fp64 sum); clear: it overwrites.
const (
	GradAccumulateResidual    uint32 = 0x01  // OutGradResidual
	GradAccumulateLayerOutput uint32 = 0x02  // OutGradLayerOutput
	GradAccumulatePostMix     uint32 = 0x04  // OutGradPostMix
	GradAccumulateCombMix     uint32 = 0x08  // OutGradCombMix
	GradAccumulateEmbedding   uint32 = 0x10  // OutGradEmbedding
	GradAccumulateFn          uint32 = 0x20  // OutGradFn
	GradAccumulateScale       uint32 = 0x40  // OutGradScale
	GradAccumulateBase        uint32 = 0x80  // OutGradBase
	GradAccumulateHPre        uint32 = 0x100 // OutGradHPre (since 0.5)
	GradAccumulateHPost       uint32 = 0x200 // OutGradHPost
	GradAccumulateHRes        uint32 = 0x400 // OutGradHRes
	GradAccumulateNormWeight  uint32 = 0x800 // OutGradNormWeight
)

// Tensor info (TensorInfo, RawTensorInfo).
const (
	TensorMaxRank = 4 // the length of mhc_tensor_info_t.shape

	TensorRoleInput  TensorRole = 1
	TensorRoleOutput TensorRole = 2
)

// Kernel SKUs.
const (
	SKUNone                            SKU = 0
	SKUHostPrenormGemm                 SKU = 0x00010100
	SKUHostPreFuse                     SKU = 0x00010200
	SKUHostPre                         SKU = 0x00010300
	SKUHostPost                        SKU = 0x00010400
	SKUHostHead                        SKU = 0x00010500
	SKUHostExpand                      SKU = 0x00010600
	SKUHostBoundary                    SKU = 0x00010700
	SKUHostBoundaryCollapse            SKU = 0x00010800
	SKUHostBoundaryMix                 SKU = 0x00010900
	SKUHostBoundaryFirst               SKU = 0x00010a00
	SKUHostStaticPre                   SKU = 0x00011000
	SKUHostStaticPost                  SKU = 0x00011100
	SKUHostStaticLayer                 SKU = 0x00011200
	SKUHostPreBackward                 SKU = 0x00014300
	SKUHostPostBackward                SKU = 0x00014400
	SKUHostHeadBackward                SKU = 0x00014500
	SKUHostExpandBackward              SKU = 0x00014600
	SKUHostStaticPreBackward           SKU = 0x00015000
	SKUHostStaticPostBackward          SKU = 0x00015100
	SKUHostStaticLayerBackward         SKU = 0x00015200
	SKUSM80PrenormGemm                 SKU = 0x00500100
	SKUSM80PreFuse                     SKU = 0x00500200
	SKUSM80Pre                         SKU = 0x00500300
	SKUSM80Post                        SKU = 0x00500400
	SKUSM80Head                        SKU = 0x00500500
	SKUSM80Expand                      SKU = 0x00500600
	SKUSM80PostBackward                SKU = 0x00504400
	SKUSM80PreBackward                 SKU = 0x00504300
	SKUSM80HeadBackward                SKU = 0x00504500
	SKUSM80ExpandBackward              SKU = 0x00504600
	SKUSM80StaticPre                   SKU = 0x00501000
	SKUSM80StaticPost                  SKU = 0x00501100
	SKUSM80StaticLayer                 SKU = 0x00501200
	SKUSM80StaticLayer1Stage           SKU = 0x00501201
	SKUSM80StaticPreBackward           SKU = 0x00505000
	SKUSM80StaticPostBackward          SKU = 0x00505100
	SKUSM80StaticLayerBackward         SKU = 0x00505200
	SKUSM90PrenormGemm                 SKU = 0x00900100
	SKUSM90Pre                         SKU = 0x00900300
	SKUSM90Head                        SKU = 0x00900500
	SKUSM80PreFuseTokens               SKU = 0x00500201
	SKUSM80Boundary                    SKU = 0x00500700
	SKUSM80BoundaryCollapse            SKU = 0x00500800
	SKUSM80BoundaryMix                 SKU = 0x00500900
	SKUSM80BoundaryFirst               SKU = 0x00500a00
	SKUSM90PrenormGemmOnepass          SKU = 0x00900101
	SKUSM90PrenormGemmNarrow           SKU = 0x00900102 // split-K GEMM without the wide-token kernel
	SKUSM90PrenormGemmWideRegs         SKU = 0x00900103 // wide-token kernel with A in registers, not staged
	SKUSM90PreOnepass                  SKU = 0x00900301
	SKUSM90PreOnepassTB16              SKU = 0x00900302
	SKUSM90PrenormGemmBF16             SKU = 0x00900104
	SKUSM90PreBF16                     SKU = 0x00900303
	SKUSM90HeadOnepass                 SKU = 0x00900501
	SKUSM80StaticPreBackwardStreamed   SKU = 0x00505001
	SKUSM80StaticLayerBackwardStreamed SKU = 0x00505201
	SKUSM90PreCluster                  SKU = 0x00900304
	SKUSM90BoundaryCluster             SKU = 0x00900700
	SKUSM90HeadCluster                 SKU = 0x00900502
	SKUSM90HeadClusterPipelined        SKU = 0x00900503
	SKUSM90PreBackwardChunked          SKU = 0x00904300
	SKUSM90HeadBackwardChunked         SKU = 0x00904500
)
