//go:build gc && !purego

package kernels

// Placeholder until the NEON element-wise assembly lands.
var neonElem = genericElem
