//go:build gc && !purego

package kernels

// Placeholders until the element-wise assembly lands.
var avx2Elem, avx512Elem = genericElem, genericElem
