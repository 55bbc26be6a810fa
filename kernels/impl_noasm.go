//go:build !(amd64 || arm64) || !gc || purego

package kernels

// archImpls: no assembly in this build.
func archImpls() []*impl { return nil }
