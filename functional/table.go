package functional

import (
	"fmt"

	"github.com/torchloss/torchloss/internal/losses"
)

// lossSpec is a loss's row of the table (internal/losses) as option
// parsing needs it: the accepted options and PyTorch's defaults.
type lossSpec struct {
	row      *losses.Loss
	accepted optSet
	defaults config
}

var lossSpecs = func() map[string]*lossSpec {
	m := make(map[string]*lossSpec, len(losses.Table))
	for i := range losses.Table {
		row := &losses.Table[i]
		s := &lossSpec{row: row}
		if row.BatchMean {
			s.accepted |= optBatchMean
		}
		for _, o := range row.Options {
			bit, ok := optBit(o.Name)
			if !ok {
				panic(fmt.Sprintf("functional: %s: unknown option %s in the table", row.Name, o.Name))
			}
			s.accepted |= bit
			setDefault(&s.defaults, row.Name, o)
		}
		m[row.Name] = s
	}
	return m
}()

// optBit is the bit of the option of PyTorch's name.
func optBit(name string) (optSet, bool) {
	for i, n := range optNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// setDefault stores the table's default of an option in c.
func setDefault(c *config, loss string, o losses.Option) {
	ok := true
	switch v := o.Default.(type) {
	case nil: // None: weight, pos_weight, distance_function
	case float64:
		switch o.Name {
		case "label_smoothing":
			c.labelSmoothing = v
		case "eps":
			c.eps = v
		case "margin":
			c.margin = v
		case "beta":
			c.beta = v
		case "delta":
			c.delta = v
		case "p":
			c.p = v
		default:
			ok = false
		}
	case int64:
		switch o.Name {
		case "ignore_index":
			c.ignoreIndex = v
		case "blank":
			c.blank = v
		default:
			ok = false
		}
	case bool:
		switch o.Name {
		case "log_input":
			c.logInput = v
		case "full":
			c.full = v
		case "zero_infinity":
			c.zeroInfinity = v
		case "log_target":
			c.logTarget = v
		case "swap":
			c.swap = v
		default:
			ok = false
		}
	default:
		ok = false
	}
	if !ok {
		panic(fmt.Sprintf("functional: %s: default %v (%T) of %s does not fit the option", loss, o.Default, o.Default, o.Name))
	}
}

// lossOptions parses the options of a call of the loss op (PyTorch's name)
// against the table: the options it accepts and PyTorch's defaults.
func lossOptions(op string, opts []Option) (config, error) {
	s := lossSpecs[op]
	return parseOptions(op, s.accepted, s.defaults, opts)
}

// nodeName is the backward-node name (PyTorch's grad_fn) of the output of
// the loss op for reduction r under the table's conditions when.
func nodeName(op string, r Reduction, when ...string) string {
	return lossSpecs[op].row.Node(string(r), when...)
}

// when returns the condition name if cond holds, for nodeName.
func when(cond bool, name string) string {
	if cond {
		return name
	}
	return ""
}

// The table's conditions on backward nodes that are not options.
const (
	condSpatial       = losses.Spatial
	condProbabilities = losses.Probabilities
	condScalar        = losses.Scalar
)
