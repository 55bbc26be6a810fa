//go:build noasm || !(amd64 || arm64)

package bench

// gonumKind says how gonum's Sgemm runs in this build.
const gonumKind = "pure Go (-tags noasm)"
