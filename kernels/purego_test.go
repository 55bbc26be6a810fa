//go:build purego

package kernels

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPuregoHasNoAssembly: the purego tag leaves only the generic path and
// no assembly file in the build.
func TestPuregoHasNoAssembly(t *testing.T) {
	if got := Available(); len(got) != 1 || got[0] != "generic" {
		t.Fatalf("purego build offers %v, want only generic", got)
	}
	out, err := exec.Command("go", "list", "-tags", "purego", "-f", "{{join .SFiles \" \"}}", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list unavailable: %v: %s", err, out)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Fatalf("purego build still assembles %s", s)
	}
}
