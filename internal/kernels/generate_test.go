package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// TestVecmathUpToDate runs gen_vecmath.py and compares its output with the
// committed vecmath_amd64.s (run go generate ./internal/kernels after
// editing the generator).
func TestVecmathUpToDate(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: vecmath_amd64.s is not checked against gen_vecmath.py")
	}
	got, err := exec.Command(py, "gen_vecmath.py").Output()
	if err != nil {
		t.Fatalf("gen_vecmath.py: %v", err)
	}
	want, err := os.ReadFile("vecmath_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("vecmath_amd64.s differs from gen_vecmath.py's output: run go generate ./internal/kernels")
	}
}
