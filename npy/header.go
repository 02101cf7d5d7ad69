package npy

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"

	"github.com/torchloss/torchloss"
)

// The limits of a .npy header, which Read checks before allocating.
const (
	// MaxHeaderLen is the longest header Read accepts, in bytes: numpy's
	// own default (numpy.lib.format's max_header_size, 10000).
	MaxHeaderLen = 10000
	// MaxDims is the most dimensions a shape may have: PyTorch's limit (64).
	MaxDims = 64
)

// Header is the header of a .npy file: numpy's dtype string as written
// ('<f4', '|u1'), whether the data is in Fortran (column-major) order, and
// the shape.
type Header struct {
	Descr   string
	Fortran bool
	Shape   []int
}

// formatErr is a malformed-file error (ErrValue).
func formatErr(format string, a ...any) error {
	return torchloss.Errorf(torchloss.ErrValue, "npy", "", format, a...)
}

// ReadHeader reads the magic string, the version and the header of a .npy
// stream, leaving r at the first data byte. It follows numpy's rules
// (numpy.lib.format): versions 1.0, 2.0 and 3.0; a header of at most
// MaxHeaderLen bytes holding a Python dict literal with exactly the keys
// 'descr' (a string), 'fortran_order' (a bool) and 'shape' (a tuple of
// non-negative ints), in any order, followed only by whitespace.
func ReadHeader(r io.Reader) (Header, error) {
	var pre [12]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return Header{}, formatErr("not a .npy file: %s", short(err, "the file is shorter than the magic string"))
	}
	if string(pre[:6]) != "\x93NUMPY" {
		return Header{}, formatErr("not a .npy file: no \\x93NUMPY magic string")
	}
	if pre[7] != 0 || pre[6] < 1 || pre[6] > 3 {
		return Header{}, formatErr("unsupported .npy format version %d.%d (numpy writes 1.0, 2.0 and 3.0)", pre[6], pre[7])
	}
	var hlen int
	if pre[6] == 1 {
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return Header{}, formatErr("truncated file: %s", short(err, "cut inside the header length"))
		}
		hlen = int(binary.LittleEndian.Uint16(pre[8:10]))
	} else {
		if _, err := io.ReadFull(r, pre[8:12]); err != nil {
			return Header{}, formatErr("truncated file: %s", short(err, "cut inside the header length"))
		}
		hlen = int(binary.LittleEndian.Uint32(pre[8:12]))
	}
	if hlen > MaxHeaderLen {
		return Header{}, torchloss.Errorf(torchloss.ErrLimit, "npy", "", "the header is %d bytes long, more than the %d numpy reads", hlen, MaxHeaderLen)
	}
	buf := make([]byte, hlen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return Header{}, formatErr("truncated file: the header is declared %d bytes long, the file ends before", hlen)
	}
	return parseHeader(buf)
}

func short(err error, eof string) string {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return eof
	}
	return err.Error()
}

// parseHeader parses the header dict.
func parseHeader(b []byte) (Header, error) {
	p := &litParser{s: b}
	v, err := p.value(0)
	if err == nil {
		p.space()
		if p.i < len(p.s) {
			err = fmt.Errorf("unexpected %s after the dict at byte %d", p.what(), p.i)
		}
	}
	if err != nil {
		return Header{}, formatErr("malformed header %s: %v", quoteHeader(b), err)
	}
	d, ok := v.(dict)
	if !ok {
		return Header{}, formatErr("malformed header %s: not a dict", quoteHeader(b))
	}
	var h Header
	seen := map[string]bool{}
	for _, kv := range d {
		seen[kv.key] = true
		switch kv.key {
		case "descr":
			s, ok := kv.val.(string)
			if !ok {
				return Header{}, torchloss.Errorf(torchloss.ErrDType, "npy", "", "unsupported dtype %s (only simple dtypes such as '<f4' are read)", describe(kv.val))
			}
			h.Descr = s
		case "fortran_order":
			bv, ok := kv.val.(bool)
			if !ok {
				return Header{}, formatErr("malformed header: fortran_order is %s, not True or False", describe(kv.val))
			}
			h.Fortran = bv
		case "shape":
			t, ok := kv.val.(tuple)
			if !ok {
				return Header{}, formatErr("malformed header: shape is %s, not a tuple of ints", describe(kv.val))
			}
			if len(t) > MaxDims {
				return Header{}, torchloss.Errorf(torchloss.ErrLimit, "npy", "", "the shape has %d dimensions, more than %d", len(t), MaxDims)
			}
			h.Shape = make([]int, len(t))
			for i, x := range t {
				n, ok := x.(int)
				if !ok {
					return Header{}, formatErr("malformed header: shape[%d] is %s, not an int", i, describe(x))
				}
				if n < 0 {
					return Header{}, torchloss.Errorf(torchloss.ErrShape, "npy", "", "negative dimension %d in the shape", n)
				}
				h.Shape[i] = n
			}
		default:
			return Header{}, formatErr("malformed header: unexpected key %s (numpy writes descr, fortran_order and shape)", strconv.Quote(kv.key))
		}
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return Header{}, formatErr("malformed header: no %s", k)
		}
	}
	return h, nil
}

// quoteHeader shows a header in an error message, cut at 80 bytes.
func quoteHeader(b []byte) string {
	if len(b) > 80 {
		return strconv.Quote(string(b[:80])) + "..."
	}
	return strconv.Quote(string(b))
}

// The values of the Python literal subset a header is written in: a dict
// (kept in source order, a later key replacing an earlier one as in
// Python), a tuple, a list, a string, an int, a bool and None.
type (
	dict  []keyVal
	tuple []any
	list  []any
	none  struct{}
)

type keyVal struct {
	key string
	val any
}

func describe(v any) string {
	switch v := v.(type) {
	case dict:
		return "a dict"
	case tuple:
		return "a tuple"
	case list:
		return "a list"
	case string:
		return strconv.Quote(v)
	case int:
		return "the int " + strconv.Itoa(v)
	case bool:
		return "a bool"
	}
	return "None"
}

// litParser parses the Python literals numpy writes in a header:
// ast.literal_eval's grammar for dicts, tuples, lists, quoted strings
// (with backslash escapes), decimal ints, True, False and None. Anything
// else is an error; nesting is bounded.
type litParser struct {
	s []byte
	i int
}

const maxNesting = 8

func (p *litParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.i++
		default:
			return
		}
	}
}

func (p *litParser) what() string {
	if p.i >= len(p.s) {
		return "end of header"
	}
	return strconv.QuoteRune(rune(p.s[p.i]))
}

func (p *litParser) expected(what string) error {
	return fmt.Errorf("expected %s at byte %d, found %s", what, p.i, p.what())
}

func (p *litParser) value(depth int) (any, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("nested deeper than %d", maxNesting)
	}
	p.space()
	if p.i >= len(p.s) {
		return nil, p.expected("a value")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		p.i++
		var d dict
		for {
			p.space()
			if p.i < len(p.s) && p.s[p.i] == '}' {
				p.i++
				return d, nil
			}
			k, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			key, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("a dict key is %s, not a string", describe(k))
			}
			p.space()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, p.expected("':'")
			}
			p.i++
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			replaced := false
			for j := range d {
				if d[j].key == key {
					d[j].val, replaced = v, true
				}
			}
			if !replaced {
				d = append(d, keyVal{key, v})
			}
			if err := p.sep('}'); err != nil {
				return nil, err
			}
		}
	case c == '(' || c == '[':
		end := byte(')')
		if c == '[' {
			end = ']'
		}
		p.i++
		var items []any
		commas := 0
		for {
			p.space()
			if p.i < len(p.s) && p.s[p.i] == end {
				p.i++
				break
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			items = append(items, v)
			p.space()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				commas++
			}
			if err := p.sep(end); err != nil {
				return nil, err
			}
		}
		if c == '[' {
			return list(items), nil
		}
		if len(items) == 1 && commas == 0 {
			return items[0], nil // (3) is 3 in Python
		}
		return tuple(items), nil
	case c == '\'' || c == '"':
		return p.str()
	case c == '-' || c == '+' || c >= '0' && c <= '9':
		return p.int()
	default:
		start := p.i
		for p.i < len(p.s) && (p.s[p.i] >= 'a' && p.s[p.i] <= 'z' || p.s[p.i] >= 'A' && p.s[p.i] <= 'Z' || p.s[p.i] == '_' || p.s[p.i] >= '0' && p.s[p.i] <= '9') {
			p.i++
		}
		switch string(p.s[start:p.i]) {
		case "True":
			return true, nil
		case "False":
			return false, nil
		case "None":
			return none{}, nil
		}
		p.i = start
		return nil, p.expected("a value")
	}
}

// sep consumes the ',' between items or stops before end.
func (p *litParser) sep(end byte) error {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ',' {
		p.i++
		return nil
	}
	if p.i < len(p.s) && p.s[p.i] == end {
		return nil
	}
	return p.expected(fmt.Sprintf("',' or %q", end))
}

func (p *litParser) int() (any, error) {
	start := p.i
	neg := false
	if p.s[p.i] == '-' || p.s[p.i] == '+' {
		neg = p.s[p.i] == '-'
		p.i++
		p.space()
	}
	digits := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	if p.i == digits {
		p.i = start
		return nil, p.expected("a number")
	}
	if p.i < len(p.s) && (p.s[p.i] == '.' || p.s[p.i] == 'e' || p.s[p.i] == 'E' || p.s[p.i] == 'x' || p.s[p.i] == '_' || p.s[p.i] == 'j') {
		p.i = start
		return nil, fmt.Errorf("unsupported number at byte %d (header numbers are decimal ints)", start)
	}
	ds := string(p.s[digits:p.i])
	if len(ds) > 1 && ds[0] == '0' {
		return nil, fmt.Errorf("int with a leading zero at byte %d (not Python)", digits)
	}
	n, err := strconv.ParseInt(ds, 10, 64)
	if err != nil || n > int64(^uint(0)>>1) {
		return nil, fmt.Errorf("int at byte %d is too large", digits)
	}
	if neg {
		n = -n
	}
	return int(n), nil
}

func (p *litParser) str() (any, error) {
	q := p.s[p.i]
	start := p.i
	p.i++
	var out []byte
	for {
		if p.i >= len(p.s) || p.s[p.i] == '\n' {
			return nil, fmt.Errorf("unterminated string at byte %d", start)
		}
		c := p.s[p.i]
		p.i++
		switch {
		case c == q:
			return string(out), nil
		case c == '\\':
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("unterminated string at byte %d", start)
			}
			e := p.s[p.i]
			p.i++
			switch e {
			case '\\', '\'', '"':
				out = append(out, e)
			case 'n':
				out = append(out, '\n')
			case 't':
				out = append(out, '\t')
			default:
				return nil, fmt.Errorf("unsupported escape \\%c in a string at byte %d", e, p.i-2)
			}
		case c == 0:
			return nil, fmt.Errorf("NUL byte in a string at byte %d", p.i-1)
		default:
			out = append(out, c)
		}
	}
}
