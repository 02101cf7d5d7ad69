package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/torchloss/torchloss/tensor"
)

const memUsage = "refuse, with an ErrLimit error before allocating, any tensor or scratch table (ctc_loss's alpha tables) larger than `BYTES` (a number with an optional K, M, G suffix: 512M, 2G); conform also reads cases of at most BYTES/16 of JSON"

// memFlag is --max-memory: a byte count with an optional K, M or G suffix
// (powers of 1024).
type memFlag int64

func (m *memFlag) String() string { return strconv.FormatInt(int64(*m), 10) }

func (m *memFlag) Set(s string) error {
	mult := int64(1)
	t := strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B")
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "M"):
		mult, t = 1<<20, t[:len(t)-1]
	case strings.HasSuffix(t, "G"):
		mult, t = 1<<30, t[:len(t)-1]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return fmt.Errorf("%q is not a positive byte count such as 512M or 2G", s)
	}
	*m = memFlag(n * mult)
	return nil
}

// apply lowers tensor.MaxElements so that no tensor or scratch table holds
// more than m bytes of its widest elements (8 bytes).
func (m memFlag) apply() {
	if n := int(int64(m) / 8); n < tensor.MaxElements() {
		tensor.SetMaxElements(n)
	}
}

// oneLine formats err for a one-line message after the command's prefix:
// without torchloss.Error's own "torchloss: " prefixes, and with control
// characters (a newline, an escape sequence from a file name or a case)
// written as Go escapes.
func oneLine(err error) string {
	var b strings.Builder
	msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), "torchloss: "), ": torchloss: ", ": ")
	for _, r := range msg {
		if unicode.IsPrint(r) {
			b.WriteRune(r)
		} else {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}
