package kernels

var genericImpl = &impl{
	name: "generic", mr: genericMR, nr: genericNR, kernel: gemmKernelGeneric,
	mc: 128, kc: 256, nc: 2048,
	elem: genericElem,
}
