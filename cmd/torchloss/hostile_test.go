//go:build linux

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The hostile-input suite: `torchloss eval` and `torchloss conform` run as
// a child process (this test binary, re-executed as the command) on crafted
// files. Each must exit non-zero with a clear one-line error, no stack
// trace, and a peak resident memory under 256 MB (the files are about
// 1 MB at most).

const (
	childEnv = "TORCHLOSS_TEST_CHILD"
	hwmEnv   = "TORCHLOSS_TEST_HWM"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		code := run(os.Args[1:], os.Stdout, os.Stderr)
		if hwm := os.Getenv(hwmEnv); hwm != "" {
			// The peak resident memory of this process alone (the
			// rusage of a child counts the parent's pages shared
			// before the exec).
			status, _ := os.ReadFile("/proc/self/status")
			os.WriteFile(hwm, status, 0o644)
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

type childResult struct {
	code           int
	stdout, stderr string
	maxRSS         int64 // bytes
}

// runChild runs the command line args in a child process with dir as its
// working directory.
func runChild(t *testing.T, dir string, args ...string) childResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Dir = dir
	hwm := filepath.Join(t.TempDir(), "status")
	cmd.Env = append(os.Environ(), childEnv+"=1", hwmEnv+"="+hwm)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v: did not finish in 60 s", args)
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("%v: %v", args, err)
	}
	r := childResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	status, _ := os.ReadFile(hwm)
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err == nil {
				r.maxRSS = kb * 1024
			}
		}
	}
	return r
}

// checkHostile checks the child's answer to a hostile input: a non-zero
// exit, one line on stderr containing want, no stack trace, and peak memory
// under limit.
func checkHostile(t *testing.T, name string, r childResult, want string, limit int64) {
	t.Helper()
	t.Logf("%s: exit %d, %d MB: %s", name, r.code, r.maxRSS>>20, strings.TrimSpace(r.stderr))
	errText := strings.TrimSuffix(r.stderr, "\n")
	switch {
	case r.code == 0:
		t.Errorf("%s: exit 0, want a failure; stdout %q", name, r.stdout)
	case strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic"):
		t.Errorf("%s: a stack trace:\n%s", name, r.stderr)
	case strings.Contains(errText, "\n") || errText == "":
		t.Errorf("%s: stderr is not one line: %q", name, r.stderr)
	case !strings.Contains(errText, want):
		t.Errorf("%s: stderr %q, want it to contain %q", name, errText, want)
	}
	if !raceEnabled && r.maxRSS > limit {
		t.Errorf("%s: peak memory %d MB, want under %d MB", name, r.maxRSS>>20, limit>>20)
	}
}

const rssLimit = 256 << 20

func npyBytes(major byte, header string, data []byte) []byte {
	b := []byte{0x93, 'N', 'U', 'M', 'P', 'Y', major, 0}
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(header)))
	}
	return append(append(b, header...), data...)
}

func f32Bytes(n int, f func(i int) float32) []byte {
	b := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f(i)))
	}
	return b
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHostileEval runs eval on crafted .npy files and bad command lines.
func TestHostileEval(t *testing.T) {
	dir := t.TempDir()
	good := npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", f32Bytes(3, func(i int) float32 { return float32(i + 1) }))
	writeFile(t, dir, "good.npy", good)
	hlen := int(binary.LittleEndian.Uint16(good[8:]))
	withLen := func(n int) []byte {
		b := append([]byte{}, good...)
		binary.LittleEndian.PutUint16(b[8:], uint16(n))
		return b
	}
	hdr := func(h string) []byte { return npyBytes(1, h, f32Bytes(3, func(int) float32 { return 1 })) }
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.npy")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.npy"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"p.npy":          []byte("\x93NUMPY\x01000"),
		"v2huge.npy":     []byte("\x93NUMPY\x02\x00\xff\xff\xff\xff"),
		"cut.npy":        good[:30],
		"len0.npy":       withLen(0),
		"long4.npy":      withLen(hlen + 4),
		"short.npy":      withLen(hlen - 8),
		"nobrace.npy":    hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), "),
		"shapeempty.npy": hdr("{'descr': '<f4', 'fortran_order': False, 'shape': , }"),
		"shape3.npy":     hdr("{'descr': '<f4', 'fortran_order': False, 'shape': 3, }"),
		"shapelist.npy":  hdr("{'descr': '<f4', 'fortran_order': False, 'shape': [3], }"),
		"xf4.npy":        hdr("{'descr': 'Xf4', 'fortran_order': False, 'shape': (3,), }"),
		"unquoted.npy":   hdr("{'descr': <f4, 'fortran_order': False, 'shape': (3,), }"),
		"huge.npy":       hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,), }"),
		"dims.npy":       hdr("{'descr': '<f4', 'fortran_order': True, 'shape': (" + strings.Repeat("1, ", 65) + "3), }"),
		"u8.npy":         npyBytes(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", []byte{1, 2, 3}),
		// No data, and a (2^40,) result once the empty dimension is summed.
		"emptyhuge.npy": npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 0), }\n", nil),
	}
	for name, b := range files {
		writeFile(t, dir, name, b)
	}
	// ctc_loss with T = 46000 frames and a target of S = 23000 labels
	// (552 KB of input) asks for a 46000 x 46001 alpha table: refused
	// under --max-memory 1G before it is allocated.
	const T, S = 46000, 23000
	writeFile(t, dir, "lp.npy", npyBytes(1, fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 1, 2), }", T), f32Bytes(2*T, func(int) float32 { return float32(math.Log(0.5)) })))
	labels := make([]byte, S)
	for i := range labels {
		labels[i] = 1
	}
	writeFile(t, dir, "tg.npy", npyBytes(1, fmt.Sprintf("{'descr': '|u1', 'fortran_order': False, 'shape': (1, %d), }", S), labels))
	in := func(f string) []string { return []string{"--arg", "input=" + f, "--arg", "target=good.npy"} }
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"the issue's 11 bytes", in("p.npy"), "version 1.48"},
		{"v2 header length 0xFFFFFFFF", in("v2huge.npy"), "more than the 10000"},
		{"cut inside the header", in("cut.npy"), "truncated"},
		{"header length 0", in("len0.npy"), "malformed header"},
		{"header length too long by 4", in("long4.npy"), "after the dict"},
		{"header length too short", in("short.npy"), "malformed header"},
		{"no closing brace", in("nobrace.npy"), "malformed header"},
		{"'shape': ,", in("shapeempty.npy"), "expected a value"},
		{"'shape': 3", in("shape3.npy"), "shape is the int 3"},
		{"'shape': [3]", in("shapelist.npy"), "shape is a list"},
		{"Xf4", in("xf4.npy"), "unsupported dtype"},
		{"unquoted descr", in("unquoted.npy"), "malformed header"},
		{"a shape larger than the file", in("huge.npy"), "truncated file"},
		{"66 dimensions", in("dims.npy"), "more than 64"},
		{"/dev/zero", in("zero.npy"), "not a regular file"},
		{"a FIFO", in("fifo.npy"), "not a regular file"},
		{"a bad --grad-output", append(in("good.npy"), "--grad-output", "p.npy"), "--grad-output"},
		{"an unknown --arg", append(in("good.npy"), "--arg", "wieght=good.npy"), "has no argument wieght"},
		{"a repeated --arg", append(in("good.npy"), "--arg", "input=good.npy"), "--arg input given twice"},
		{"a repeated --kw", append(in("good.npy"), "--kw", "reduction=sum", "--kw", "reduction=mean"), "--kw reduction given twice"},
		{"an empty --kw", append(in("good.npy"), "--kw", "reduction="), "--kw reduction: empty value"},
		{"a missing argument", []string{"--arg", "input=good.npy"}, "missing argument target"},
		{"a bad bool", append(in("good.npy"), "--kw", "reduction=sum", "--kw", "size_average=yes"), `size_average: expected True, False or None, got "yes"`},
		{"a bad number", []string{"--arg", "input=good.npy", "--arg", "target=good.npy", "--kw", "beta=abc"}, `beta: expected a number, got "abc"`},
		{"a uint8 input", in("u8.npy"), "holds uint8"},
		{"CTC tables over --max-memory", []string{"--arg", "log_probs=lp.npy", "--arg", "targets=tg.npy", "--arg", fmt.Sprintf("input_lengths=%d,", T), "--arg", fmt.Sprintf("target_lengths=[%d]", S), "--max-memory", "1G"}, "more than tensor.MaxElements"},
		{"an unknown function", []string{"--arg", "input=good.npy"}, "unknown function"},
		{"empty (2^40, 0) arrays", []string{"--arg", "input=emptyhuge.npy", "--arg", "target=emptyhuge.npy"}, "more than tensor.MaxElements"},
		{"empty (2^40, 0) classes", []string{"--arg", "input=emptyhuge.npy", "--arg", "target=emptyhuge.npy"}, "more than tensor.MaxElements"},
	} {
		fn := "smooth_l1_loss"
		switch {
		case strings.HasPrefix(tt.name, "CTC"):
			fn = "ctc_loss"
		case tt.name == "an unknown function":
			fn = "mse\x1b[31m_loss"
		case tt.name == "a uint8 input":
			fn = "mse_loss"
		case tt.name == "empty (2^40, 0) arrays":
			fn = "multilabel_soft_margin_loss"
		case tt.name == "empty (2^40, 0) classes":
			fn = "cross_entropy"
		}
		args := append([]string{"eval", fn, "--out", t.TempDir()}, tt.args...)
		checkHostile(t, tt.name, runChild(t, dir, args...), tt.want, rssLimit)
	}
}

// TestEvalWritesAllOrNothing: when one result cannot be written, none is.
func TestEvalWritesAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "x.npy", npyBytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", make([]byte, 16)))
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(filepath.Join(out, "grad_target.npy"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := runChild(t, dir, "eval", "mse_loss", "--arg", "input=x.npy", "--arg", "target=x.npy", "--out", out)
	checkHostile(t, "grad_target.npy is a directory", r, "grad_target.npy exists and is not a regular file", rssLimit)
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("out holds %v, want only the directory grad_target.npy", names)
	}
}

// TestEvalMemoryFollowsData: eval of mse_loss on two 16 MB float32
// inputs stays within a small multiple of the data (the inputs, the
// output, two gradients and their .npy encodings).
func TestEvalMemoryFollowsData(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("measures memory; slow under -race")
	}
	dir := t.TempDir()
	const n = 4 << 20
	h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }", n)
	writeFile(t, dir, "a.npy", npyBytes(1, h, f32Bytes(n, func(i int) float32 { return float32(i % 7) })))
	writeFile(t, dir, "b.npy", npyBytes(1, h, f32Bytes(n, func(i int) float32 { return float32(i % 5) })))
	r := runChild(t, dir, "eval", "mse_loss", "--arg", "input=a.npy", "--arg", "target=b.npy", "--kw", "reduction=none", "--out", filepath.Join(dir, "out"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r.maxRSS > 6*32<<20 {
		t.Errorf("peak memory %d MB for 32 MB of input", r.maxRSS>>20)
	}
	t.Logf("peak memory %d MB for 32 MB of input", r.maxRSS>>20)
}

// gzipMembers concatenates gzip members (a valid multi-member stream):
// each part compressed once and repeated count times.
func gzipMembers(t *testing.T, parts ...any) []byte {
	var out bytes.Buffer
	for i := 0; i < len(parts); i += 2 {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write([]byte(parts[i].(string)))
		zw.Close()
		for range parts[i+1].(int) {
			out.Write(b.Bytes())
		}
	}
	return out.Bytes()
}

const hostileCase = `{"id": "mse_loss/0001", "fn": "mse_loss", "args": {"input": {"dtype": "float64", "shape": [2], "data": [1, 2]}, "target": {"dtype": "float64", "shape": [2], "data": [1, 4]}}, "kwargs": {}, "output": {"dtype": "float64", "shape": [], "data": [2]}}`

// TestHostileConform runs conform on crafted vector files.
func TestHostileConform(t *testing.T) {
	dir := t.TempDir()
	head := `{"format": "torch-loss-vectors/1", "cases": [`
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.json")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	bigCase := strings.Replace(hostileCase, `"data": [1, 2]}`, `"data": [1, 2`+strings.Repeat(",0", 9<<20)+`]}`, 1)
	files := map[string][]byte{
		// 300,001 copies of one case.
		"dups.json.gz":      gzipMembers(t, head+hostileCase, 1, strings.Repeat(","+hostileCase, 1000), 300),
		"null.json":         []byte(`{"format": "torch-loss-vectors/1", "cases": null}`),
		"unsupported.json":  []byte(head + strings.ReplaceAll(hostileCase, `"mse_loss`, `"no_such_loss`) + "]}"),
		"truncated.json.gz": gzipMembers(t, head+hostileCase, 1)[:60],
		"notjson.json":      []byte("\x93NUMPY"),
	}
	if !raceEnabled && !testing.Short() {
		files["bigcase.json.gz"] = gzipMembers(t, head+bigCase+"]}", 1)
		// A JSON document padded with more than a gigabyte of spaces (a
		// 1 MB file).
		files["spaces.json.gz"] = gzipMembers(t, head, 1, strings.Repeat(" ", 1<<20), 1025, "]}", 1)
		// 300 cases named by a 1 MiB function name each (a 300 KB file):
		// every name would be kept for the report.
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		name := strings.Repeat("f", 1<<20)
		zw.Write([]byte(head))
		for i := range 300 {
			if i > 0 {
				zw.Write([]byte(","))
			}
			fmt.Fprintf(zw, `{"id": "x/%d", "fn": "%s"}`, i, name)
		}
		zw.Write([]byte("]}"))
		zw.Close()
		files["longfn.json.gz"] = b.Bytes()
	}
	for name, b := range files {
		// deflate compresses at most 1032:1: a gigabyte takes 1.04 MB.
		if len(b) > 1100<<10 {
			t.Fatalf("%s is %d bytes, want a file of about 1 MB at most", name, len(b))
		}
		writeFile(t, dir, name, b)
	}
	tests := []struct{ name, file, want string }{
		{"/dev/zero", "zero.json", "not a regular file"},
		{"a FIFO", "fifo.json", "not a regular file"},
		{"300,001 copies of one case", "dups.json.gz", `case #2 repeats the id "mse_loss/0001"`},
		{`"cases": null`, "null.json", "no case ran"},
		{"only unsupported cases", "unsupported.json", "no case ran"},
		{"a cut gzip stream", "truncated.json.gz", "unexpected EOF"},
		{"not JSON", "notjson.json", "parsing vector file"},
	}
	if files["spaces.json.gz"] != nil {
		tests = append(tests, struct{ name, file, want string }{"an 18 MB case", "bigcase.json.gz", "larger than 16777216 bytes"},
			struct{ name, file, want string }{"a gigabyte of spaces", "spaces.json.gz", "more than 1073741824 bytes of JSON"},
			struct{ name, file, want string }{"1 MiB function names", "longfn.json.gz", "fn is 1048576 bytes long, more than 64"})
	}
	for _, tt := range tests {
		checkHostile(t, tt.name, runChild(t, dir, "conform", tt.file), tt.want, rssLimit)
	}
	r := runChild(t, dir, "conform", "null.json", "--write-results", "./null.json")
	checkHostile(t, "--write-results onto the input", r, "would overwrite the vector file", rssLimit)
	if b, _ := os.ReadFile(filepath.Join(dir, "null.json")); !bytes.Equal(b, files["null.json"]) {
		t.Error("--write-results changed the vector file")
	}
	// --max-memory 64K: no tensor over 8192 elements (8 bytes each).
	wide := strings.NewReplacer(`"shape": [2], "data": [1, 2]}`, `"shape": [10001], "data": [1`+strings.Repeat(",0", 10000)+`]}`).Replace(hostileCase)
	writeFile(t, dir, "wide.json", []byte(head+wide+"]}"))
	if r := runChild(t, dir, "conform", "wide.json", "--max-memory", "64K"); r.code != 1 || !strings.Contains(r.stdout, "shape [10001] has 10001 elements, more than tensor.MaxElements (8192)") {
		t.Errorf("--max-memory 64K: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// A case just under the 16 MiB limit (two 3.5M-element tensors, in a
	// 30 KB file) runs, and fails on its recorded output, within the bound.
	if raceEnabled || testing.Short() {
		return
	}
	zeros := strings.Repeat(",0", 3500000)
	nearCase := strings.NewReplacer(`"shape": [2], "data": [1, 2]}`, `"shape": [3500001], "data": [1`+zeros+`]}`,
		`"shape": [2], "data": [1, 4]}`, `"shape": [3500001], "data": [1`+zeros+`]}`).Replace(hostileCase)
	writeFile(t, dir, "near.json.gz", gzipMembers(t, head+nearCase+"]}", 1))
	if r := runChild(t, dir, "conform", "near.json.gz"); r.code != 1 || !strings.Contains(r.stdout, "1 failed") || !raceEnabled && r.maxRSS > rssLimit {
		t.Errorf("a 14 MB case: exit %d, %d MB, stdout %q, stderr %q", r.code, r.maxRSS>>20, r.stdout, r.stderr)
	} else {
		t.Logf("a 14 MB case: %d MB", r.maxRSS>>20)
	}
}

// TestConformEscapesAndTransforms: a case id with an escape sequence and a
// newline is printed escaped, and a transform naming an argument the case
// lacks fails the case.
func TestConformEscapesAndTransforms(t *testing.T) {
	dir := t.TempDir()
	evil := strings.Replace(hostileCase, `"mse_loss/0001"`, `"x\u001b[31m\nFAIL forged"`, 1)
	evil = strings.Replace(evil, `"output"`, `"transform": {"inptu": {"op": "sigmoid", "dim": null}}, "output"`, 1)
	writeFile(t, dir, "evil.json", []byte(`{"format": "torch-loss-vectors/1", "cases": [`+evil+`]}`))
	r := runChild(t, dir, "conform", "evil.json")
	if r.code != 1 || strings.Contains(r.stdout, "\x1b") || strings.Contains(r.stdout, "\nFAIL forged") {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, `FAIL "x\x1b[31m\nFAIL forged": decoding the case: transform of "inptu": the case has no tensor argument "inptu"`) {
		t.Errorf("stdout %q", r.stdout)
	}
}
