//go:build openblas && !cgo

package bench

// The openblas tag links OpenBLAS through cgo: without cgo (CGO_ENABLED=0,
// or cross-compiling) the build stops here with a message that says so.
var _ = openblas_tag_needs_cgo_set_CGO_ENABLED_1_and_install_a_C_compiler
