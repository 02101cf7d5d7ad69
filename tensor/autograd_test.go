package tensor

import (
	"testing"
)

// throughGraph builds, over a float64 scalar leaf a,
//
//	b = B(a), e = E(a), c = C(b, e), r = R(a, c)
//
// whose backward contributions to a are Ra = 1e16 (from R), B = 1 (from b)
// and E = −1e16 (from e), accumulated in the engine's order Ra, E, B:
// (1e16 − 1e16) + 1 = 1, where Ra, B, E would give (1e16 + 1) − 1e16 = 0.
// C offers Through for its input b (when through is true); calls counts the
// backward functions run, by node name.
func throughGraph(through, accept bool, calls map[string]int) (a, r *Tensor) {
	a = MustNew([]float64{0}, 1)
	_ = a.SetRequiresGrad(true)
	node := func(name string, ins []*Tensor, grads ...float64) *Tensor {
		return Record(MustNew([]float64{0}, 1), name, ins, func(*Tensor) ([]*Tensor, error) {
			calls[name]++
			out := make([]*Tensor, len(grads))
			for i, g := range grads {
				out[i] = MustNew([]float64{g}, 1)
			}
			return out, nil
		})
	}
	b := node("B", []*Tensor{a}, 1)
	e := node("E", []*Tensor{a}, -1e16)
	c := node("C", []*Tensor{b, e}, 1, 1)
	if through {
		c.GradFn().Through = func(g *Tensor, j int) ([]*Tensor, []*Tensor, bool, error) {
			calls["C.Through"]++
			if j != 0 || !accept {
				return nil, nil, false, nil
			}
			// What C's backward returns for e, and B's for a.
			return []*Tensor{nil, MustNew([]float64{1}, 1)}, []*Tensor{MustNew([]float64{1}, 1)}, true, nil
		}
	}
	r = node("R", []*Tensor{a, c}, 1e16, 1)
	return a, r
}

// TestBackwardThrough checks Node.Through: taken for an input whose only
// consumer is the node (its node's backward not run), its result handed to
// that node's inputs in the unfused order (the accumulation is not
// associative here: delivering it when C runs would give 0); declined, the
// engine runs both nodes.
func TestBackwardThrough(t *testing.T) {
	for _, c := range []struct {
		through, accept bool
		want            map[string]int
	}{
		{false, false, map[string]int{"R": 1, "C": 1, "B": 1, "E": 1}},
		{true, false, map[string]int{"R": 1, "C.Through": 2, "C": 1, "B": 1, "E": 1}}, // offered b, then e
		{true, true, map[string]int{"R": 1, "C.Through": 1, "E": 1}},
	} {
		calls := map[string]int{}
		a, r := throughGraph(c.through, c.accept, calls)
		if err := r.Backward(); err != nil {
			t.Fatal(err)
		}
		if g := a.Grad().Float64s()[0]; g != 1 {
			t.Errorf("through=%v accept=%v: grad %v, want 1 (the unfused order)", c.through, c.accept, g)
		}
		if len(calls) != len(c.want) {
			t.Errorf("through=%v accept=%v: calls %v, want %v", c.through, c.accept, calls, c.want)
		}
		for k, v := range c.want {
			if calls[k] != v {
				t.Errorf("through=%v accept=%v: calls %v, want %v", c.through, c.accept, calls, c.want)
				break
			}
		}
	}
}

// TestBackwardThroughConsumers checks that Through is offered only for an
// input with one consumer edge in the graph being differentiated: not when
// the node uses it twice, nor when another node uses it too; and that a
// consumer outside that graph does not count.
func TestBackwardThroughConsumers(t *testing.T) {
	mk := func(v float64) *Tensor { return MustNew([]float64{v}, 1) }
	pass := func(name string, calls map[string]int, ins ...*Tensor) *Tensor {
		return Record(mk(0), name, ins, func(g *Tensor) ([]*Tensor, error) {
			calls[name]++
			out := make([]*Tensor, len(ins))
			for i := range out {
				out[i] = mk(g.Float64s()[0])
			}
			return out, nil
		})
	}
	offer := func(n *Node, calls map[string]int) {
		n.Through = func(_ *Tensor, j int) ([]*Tensor, []*Tensor, bool, error) {
			calls["Through"]++
			ins := make([]*Tensor, len(n.Inputs))
			return ins, []*Tensor{mk(1)}, true, nil
		}
	}
	for _, c := range []struct {
		name    string
		build   func(a *Tensor, calls map[string]int) *Tensor
		through int
		grad    float64
	}{
		{"used twice by one node", func(a *Tensor, calls map[string]int) *Tensor {
			b := pass("B", calls, a)
			c := pass("C", calls, b, b)
			offer(c.GradFn(), calls)
			return c
		}, 0, 2},
		{"used by two nodes", func(a *Tensor, calls map[string]int) *Tensor {
			b := pass("B", calls, a)
			c := pass("C", calls, b)
			offer(c.GradFn(), calls)
			return pass("R", calls, c, b)
		}, 0, 2},
		{"other consumer outside the graph", func(a *Tensor, calls map[string]int) *Tensor {
			b := pass("B", calls, a)
			_ = pass("D", calls, b)
			c := pass("C", calls, b)
			offer(c.GradFn(), calls)
			return c
		}, 1, 1},
	} {
		calls := map[string]int{}
		a := mk(0)
		_ = a.SetRequiresGrad(true)
		r := c.build(a, calls)
		if err := r.Backward(); err != nil {
			t.Fatal(err)
		}
		if calls["Through"] != c.through {
			t.Errorf("%s: Through called %d times, want %d", c.name, calls["Through"], c.through)
		}
		if c.through == 1 && calls["B"] != 0 {
			t.Errorf("%s: B's backward ran after Through", c.name)
		}
		if g := a.Grad().Float64s()[0]; g != c.grad {
			t.Errorf("%s: grad %v, want %v", c.name, g, c.grad)
		}
	}
}
