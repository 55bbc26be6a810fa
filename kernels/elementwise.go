package kernels

// elemKernels holds one path's element-wise kernels.
type elemKernels struct{}

var genericElem = elemKernels{}
