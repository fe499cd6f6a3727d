package mhc

// The constants of mhc.h, by hand; abi_test.go checks every one against the header (and that
// the header has no constant missing here).

// The header version this package was written for (mhc.h MHC_VERSION_*); LibraryVersion is the
// loaded library's.
const (
	VersionMajor uint32 = 0
	VersionMinor uint32 = 2
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
	OpPrenormGemm Op = 1  // A1
	OpPreFuse     Op = 2  // A2
	OpPre         Op = 3  // A3
	OpPost        Op = 4  // A4
	OpHead        Op = 5  // A5
	OpExpand      Op = 6  // A6
	OpStaticPre   Op = 16 // B1
	OpStaticPost  Op = 17 // B2
	OpStaticLayer Op = 18 // B3
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
const DescFlagSplitPartials uint32 = 0x1

// Tensor info (TensorInfo, RawTensorInfo).
const (
	TensorMaxRank = 4 // the length of mhc_tensor_info_t.shape

	TensorRoleInput  TensorRole = 1
	TensorRoleOutput TensorRole = 2
)

// Kernel SKUs.
const (
	SKUNone                   SKU = 0
	SKUHostPrenormGemm        SKU = 0x00010100
	SKUHostPreFuse            SKU = 0x00010200
	SKUHostPre                SKU = 0x00010300
	SKUHostPost               SKU = 0x00010400
	SKUHostHead               SKU = 0x00010500
	SKUHostExpand             SKU = 0x00010600
	SKUHostStaticPre          SKU = 0x00011000
	SKUHostStaticPost         SKU = 0x00011100
	SKUHostStaticLayer        SKU = 0x00011200
	SKUSM80PrenormGemm        SKU = 0x00500100
	SKUSM80PreFuse            SKU = 0x00500200
	SKUSM80Pre                SKU = 0x00500300
	SKUSM80Post               SKU = 0x00500400
	SKUSM80Head               SKU = 0x00500500
	SKUSM80Expand             SKU = 0x00500600
	SKUSM80StaticPre          SKU = 0x00501000
	SKUSM80StaticPost         SKU = 0x00501100
	SKUSM80StaticLayer        SKU = 0x00501200
	SKUSM80StaticLayer1Stage  SKU = 0x00501201
	SKUSM90PrenormGemm        SKU = 0x00900100
	SKUSM90Pre                SKU = 0x00900300
	SKUSM90Head               SKU = 0x00900500
	SKUSM80PreFuseTokens      SKU = 0x00500201
	SKUSM90PrenormGemmOnepass SKU = 0x00900101
	SKUSM90PreOnepass         SKU = 0x00900301
	SKUSM90PreOnepassTB16     SKU = 0x00900302
	SKUSM90HeadOnepass        SKU = 0x00900501
)
