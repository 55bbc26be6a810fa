//go:build !noasm && (amd64 || arm64)

package bench

// gonumKind says how gonum's Sgemm runs in this build: on amd64 and arm64
// its level-1 float32 helpers (gonum.org/v1/gonum/internal/asm/f32) are
// assembly unless built with -tags noasm.
const gonumKind = "Go with gonum's SSE/NEON axpy assembly (-tags noasm for pure Go)"
