package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchJSON runs `torchloss bench --json` on mse_loss at its full size:
// the report says which loop it timed, the copy bandwidth of the run, a
// steady-state step under 64 KB, and the must-move bytes of the counting
// rule (x and y read, ∂x zeroed and written: 4 × 2^22 float32 values).
func TestBenchJSON(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := run([]string{"bench", "--workload", "mse_loss", "--reps", "2", "--threads", "2", "--copy-mb", "8", "--json"}, &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	var rep struct {
		Loop    string  `json:"loop"`
		Copy    float64 `json:"copy_bytes_per_s"`
		Results map[string]struct {
			BytesPerStep float64 `json:"bytes_per_step"`
			FirstStep    int64   `json:"first_step_bytes"`
			MustMove     int64   `json:"must_move_bytes"`
			CopyFraction float64 `json:"copy_fraction"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	r, ok := rep.Results["mse_loss"]
	if !ok || !strings.Contains(rep.Loop, "ZeroGrad") || rep.Copy <= 0 || r.CopyFraction <= 0 {
		t.Fatalf("report: %s", out.String())
	}
	if r.BytesPerStep >= 64<<10 || r.FirstStep < 1<<24 {
		t.Errorf("bytes per steady-state step %.0f (want < 64 KB), first step %d (want >= the 16 MB gradient)", r.BytesPerStep, r.FirstStep)
	}
	if want := int64(4 * 4 << 22); r.MustMove != want {
		t.Errorf("must_move_bytes %d, want %d", r.MustMove, want)
	}
}
