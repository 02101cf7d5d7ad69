package tensor

import (
	"math"
	"slices"
	"testing"
)

// scaled records out = sum(x·w) over the float32 leaf x: its backward
// returns w·g (a new tensor) as x's gradient.
func scaled(x *Tensor, w []float32) *Tensor {
	return Record(Scalar(float32(0)), "Scaled", []*Tensor{x}, func(g *Tensor) ([]*Tensor, error) {
		gv := g.Float32s()[0]
		out := make([]float32, len(w))
		for i, v := range w {
			out[i] = v * gv
		}
		return []*Tensor{MustNew(out, x.Shape()...)}, nil
	})
}

// claiming records out over the leaf x the way a fused loss does: its
// forward pass claims x's zeroed gradient buffer (when it can) and writes
// w into it; its backward hands the claimed buffer out while the claim
// holds, and otherwise computes w·g anew.
func claiming(x *Tensor, w []float32) (*Tensor, bool) {
	buf, c := ClaimGrad[float32](x)
	if c != nil {
		copy(buf, w)
		c.Written()
	}
	out := Record(Scalar(float32(0)), "Claiming", []*Tensor{x}, func(g *Tensor) ([]*Tensor, error) {
		if c.Valid() && g.Float32s()[0] == 1 {
			return []*Tensor{MustNew(buf, x.Shape()...)}, nil
		}
		gv := g.Float32s()[0]
		out := make([]float32, len(w))
		for i, v := range w {
			out[i] = v * gv
		}
		return []*Tensor{MustNew(out, x.Shape()...)}, nil
	})
	out.GradFn().OwnsGrads = true
	return out, c != nil
}

func bits32(t *Tensor) []uint32 {
	var out []uint32
	for _, v := range t.Float32s() {
		out = append(out, math.Float32bits(v))
	}
	return out
}

func backward(t *testing.T, out *Tensor) {
	t.Helper()
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
}

// TestZeroGradKeepsBuffer: ZeroGrad zeroes the gradient in place (a
// reference taken before sees the zeros), the next Backward stores into
// the same tensor with the bits of a gradient that was None (−0 stays −0,
// where PyTorch's 0 + g after zero_grad(set_to_none=False) gives +0), and
// a Backward without ZeroGrad adds in place (a + g).
func TestZeroGradKeepsBuffer(t *testing.T) {
	negz := float32(math.Copysign(0, -1))
	w := []float32{negz, 1.5, -2, 3e-39}
	x := MustNew([]float32{1, 2, 3, 4}, 4)
	_ = x.SetRequiresGrad(true)
	backward(t, scaled(x, w))
	g := x.Grad()
	fresh := bits32(g)
	if want := bits32(MustNew(w)); !slices.Equal(fresh, want) {
		t.Fatalf("first gradient %x, want %x", fresh, want)
	}
	x.ZeroGrad()
	if x.Grad() != g {
		t.Fatal("ZeroGrad replaced the gradient tensor")
	}
	for i, v := range g.Float32s() {
		if math.Float32bits(v) != 0 {
			t.Fatalf("after ZeroGrad, grad[%d] = %v (bits %x), want +0", i, v, math.Float32bits(v))
		}
	}
	backward(t, scaled(x, w))
	if x.Grad() != g || !slices.Equal(bits32(g), fresh) {
		t.Fatalf("after ZeroGrad and Backward: same tensor %v, bits %x, want %x", x.Grad() == g, bits32(g), fresh)
	}
	// No ZeroGrad: accumulate in place, a + g.
	backward(t, scaled(x, []float32{1, 1, 1, 1}))
	want := []float32{negz + 1, 1.5 + 1, -2 + 1, 3e-39 + 1}
	if x.Grad() != g || !slices.Equal(bits32(g), bits32(MustNew(want))) {
		t.Fatalf("accumulated %v, want %v", g.Float32s(), want)
	}
	x.ClearGrad()
	if x.Grad() != nil {
		t.Fatal("ClearGrad left a gradient")
	}
	if g.Float32s()[1] != 2.5 {
		t.Fatal("ClearGrad changed the former gradient's values")
	}
}

// TestClaimGrad: a forward pass writes into the claimed buffer; Backward
// delivers it without a copy; a Grad between the forward pass and Backward
// reads zeros and revokes the claim (Backward then recomputes into the
// buffer); a buffer not zeroed by ZeroGrad cannot be claimed; a second
// claim on the same buffer fails.
func TestClaimGrad(t *testing.T) {
	w := []float32{float32(math.Copysign(0, -1)), 1.5, -2, 4}
	x := MustNew([]float32{1, 2, 3, 4}, 4)
	_ = x.SetRequiresGrad(true)
	if _, ok := claiming(x, w); ok {
		t.Fatal("claimed a leaf without a gradient buffer")
	}
	backward(t, scaled(x, w))
	if _, ok := claiming(x, w); ok {
		t.Fatal("claimed an accumulated gradient")
	}
	g := x.Grad()
	want := bits32(g)

	x.ZeroGrad()
	out, ok := claiming(x, w)
	if !ok {
		t.Fatal("could not claim a zeroed buffer")
	}
	if _, ok2 := claiming(x, w); ok2 {
		t.Fatal("claimed a buffer twice")
	}
	backward(t, out)
	if x.Grad() != g || !slices.Equal(bits32(g), want) {
		t.Fatalf("claimed step: same tensor %v, bits %x, want %x", x.Grad() == g, bits32(g), want)
	}

	// Grad between the forward pass and Backward.
	x.ZeroGrad()
	out, ok = claiming(x, w)
	if !ok {
		t.Fatal("could not claim")
	}
	for i, v := range x.Grad().Float32s() {
		if math.Float32bits(v) != 0 {
			t.Fatalf("claimed buffer read before Backward: grad[%d] = %v, want +0", i, v)
		}
	}
	backward(t, out)
	if x.Grad() != g || !slices.Equal(bits32(g), want) {
		t.Fatalf("after a revoked claim: bits %x, want %x", bits32(g), want)
	}

	// A forward pass without Backward, then another loss's Backward: the
	// pending values are not part of the gradient.
	x.ZeroGrad()
	if _, ok = claiming(x, []float32{9, 9, 9, 9}); !ok {
		t.Fatal("could not claim")
	}
	backward(t, scaled(x, w))
	if !slices.Equal(bits32(x.Grad()), want) {
		t.Fatalf("other loss after an unused claim: bits %x, want %x", bits32(x.Grad()), want)
	}

	// Two consumers of x, one of them claiming: the engine sums the two
	// (in its order) and stores the sum.
	x.ZeroGrad()
	a, ok := claiming(x, w)
	if !ok {
		t.Fatal("could not claim")
	}
	b := scaled(x, []float32{1, 1, 1, 1})
	sum := Record(Scalar(float32(0)), "Add", []*Tensor{a, b}, func(g *Tensor) ([]*Tensor, error) { return []*Tensor{g, g}, nil })
	backward(t, sum)
	ref := MustNew([]float32{1, 2, 3, 4}, 4)
	_ = ref.SetRequiresGrad(true)
	ra, rb := scaled(ref, w), scaled(ref, []float32{1, 1, 1, 1})
	backward(t, Record(Scalar(float32(0)), "Add", []*Tensor{ra, rb}, func(g *Tensor) ([]*Tensor, error) { return []*Tensor{g, g}, nil }))
	if !slices.Equal(bits32(x.Grad()), bits32(ref.Grad())) {
		t.Fatalf("two consumers: %v, want %v", x.Grad().Float32s(), ref.Grad().Float32s())
	}

	// Cancel returns the buffer to ZeroGrad's state.
	x.ZeroGrad()
	_, c := ClaimGrad[float32](x)
	c.Cancel()
	if c.Valid() {
		t.Fatal("a cancelled claim is valid")
	}
	if _, c2 := ClaimGrad[float32](x); c2 == nil {
		t.Fatal("could not claim after Cancel")
	}
}

// TestClaimWhileWriting: while a claimer may still be writing into the
// buffer (no Written yet: a forward pass running on another goroutine),
// a Backward of another graph, Grad and ZeroGrad leave the buffer to it
// and give the leaf a new one.
func TestClaimWhileWriting(t *testing.T) {
	w := []float32{1, 2, 3, 4}
	x := MustNew([]float32{1, 2, 3, 4}, 4)
	_ = x.SetRequiresGrad(true)
	backward(t, scaled(x, w))
	g := x.Grad()
	for _, revoke := range []string{"Backward", "Grad", "ZeroGrad"} {
		x.ZeroGrad()
		g = x.Grad()
		buf, c := ClaimGrad[float32](x)
		if c == nil {
			t.Fatalf("%s: could not claim", revoke)
		}
		switch revoke {
		case "Backward":
			backward(t, scaled(x, w))
		case "Grad":
			_ = x.Grad()
		case "ZeroGrad":
			x.ZeroGrad()
		}
		copy(buf, []float32{9, 9, 9, 9}) // the claimer still writing
		if c.Valid() {
			t.Fatalf("%s: the claim survived", revoke)
		}
		if x.Grad() == g {
			t.Fatalf("%s: the leaf kept the buffer being written", revoke)
		}
		want := []float32{0, 0, 0, 0}
		if revoke == "Backward" {
			want = w
		}
		if !slices.Equal(x.Grad().Float32s(), want) {
			t.Fatalf("%s: gradient %v, want %v", revoke, x.Grad().Float32s(), want)
		}
		// The next step reuses the new buffer.
		x.ZeroGrad()
		if _, c2 := ClaimGrad[float32](x); c2 == nil {
			t.Fatalf("%s: could not claim the new buffer", revoke)
		}
		x.ClearGrad()
		backward(t, scaled(x, w))
	}
}
