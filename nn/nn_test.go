package nn_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/torchloss/torchloss"
	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/nn"
	"github.com/torchloss/torchloss/tensor"
)

// must is a module built from options known to be valid.
func must[M any](m M, err error) M {
	if err != nil {
		panic(err)
	}
	return m
}

// pair is a module of (input, target) and the functional call it must equal.
type pairCase struct {
	name   string
	module interface {
		Forward(a, b *tensor.Tensor) (*tensor.Tensor, error)
	}
	fn            func(a, b *tensor.Tensor, o ...F.Option) (*tensor.Tensor, error)
	opts          []F.Option
	input, target *tensor.Tensor
}

func fixtures() []pairCase {
	g := tensor.NewGenerator(11)
	rn := func(s ...int) *tensor.Tensor { t, _ := g.Randn(s...); return t }
	ru := func(s ...int) *tensor.Tensor { t, _ := g.Rand(s...); return t }
	cls, _ := g.RandInt(0, 4, 5)
	lp, _ := F.LogSoftmax(rn(5, 4), 1)
	pr, _ := F.Softmax(rn(5, 4), 1)
	bin, _ := g.Random(2, 5, 4)
	sign := tensor.MustNew([]float32{1, -1, 1, 1, -1}, 5)
	ml := tensor.MustNew([]int64{0, 2, -1, 0, 1, 3, -1, 0, 3, -1, 0, 0, 1, 2, 3, -1, 2, -1, 0, 0}, 5, 4)
	w := tensor.MustNew([]float32{1, 2, 0.5, 1.5}, 4)
	return []pairCase{
		{"L1Loss", must(nn.NewL1Loss(F.Sum)), F.L1Loss, []F.Option{F.Sum}, rn(5, 4), rn(5, 4)},
		{"MSELoss", must(nn.NewMSELoss()), F.MSELoss, nil, rn(5, 4), rn(5, 4)},
		{"SmoothL1Loss", must(nn.NewSmoothL1Loss(F.Beta(0.5))), F.SmoothL1Loss, []F.Option{F.Beta(0.5)}, rn(5, 4), rn(5, 4)},
		{"HuberLoss", must(nn.NewHuberLoss(F.Delta(0.5))), F.HuberLoss, []F.Option{F.Delta(0.5)}, rn(5, 4), rn(5, 4)},
		{"BCELoss", must(nn.NewBCELoss(F.Weight(w))), F.BinaryCrossEntropy, []F.Option{F.Weight(w)}, ru(5, 4), ru(5, 4)},
		{"BCEWithLogitsLoss", must(nn.NewBCEWithLogitsLoss(F.PosWeight(w))), F.BinaryCrossEntropyWithLogits, []F.Option{F.PosWeight(w)}, rn(5, 4), bin},
		{"PoissonNLLLoss", must(nn.NewPoissonNLLLoss(F.Full(true))), F.PoissonNLLLoss, []F.Option{F.Full(true)}, rn(5, 4), bin},
		{"KLDivLoss", must(nn.NewKLDivLoss(F.BatchMean)), F.KLDiv, []F.Option{F.BatchMean}, lp, pr},
		{"NLLLoss", must(nn.NewNLLLoss(F.Weight(w))), F.NLLLoss, []F.Option{F.Weight(w)}, lp, cls},
		{"CrossEntropyLoss", must(nn.NewCrossEntropyLoss(F.LabelSmoothing(0.1))), F.CrossEntropy, []F.Option{F.LabelSmoothing(0.1)}, rn(5, 4), cls},
		{"HingeEmbeddingLoss", must(nn.NewHingeEmbeddingLoss(F.Margin(2))), F.HingeEmbeddingLoss, []F.Option{F.Margin(2)}, rn(5), sign},
		{"SoftMarginLoss", must(nn.NewSoftMarginLoss()), F.SoftMarginLoss, nil, rn(5), sign},
		{"MultiLabelSoftMarginLoss", must(nn.NewMultiLabelSoftMarginLoss(F.Weight(w))), F.MultilabelSoftMarginLoss, []F.Option{F.Weight(w)}, rn(5, 4), bin},
		{"MultiMarginLoss", must(nn.NewMultiMarginLoss(F.P(2))), F.MultiMarginLoss, []F.Option{F.P(2)}, rn(5, 4), cls},
		{"MultiLabelMarginLoss", must(nn.NewMultiLabelMarginLoss()), F.MultilabelMarginLoss, nil, rn(5, 4), ml},
	}
}

// TestModulesEqualFunctional checks that every pair module's Forward gives
// the functional loss with the same options, bit for bit, and that a module
// shared by 16 goroutines gives that value to each.
func TestModulesEqualFunctional(t *testing.T) {
	for _, c := range fixtures() {
		want, err := c.fn(c.input, c.target, c.opts...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var wg sync.WaitGroup
		errs := make(chan string, 16)
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := c.module.Forward(c.input, c.target)
				if err != nil {
					errs <- err.Error()
					return
				}
				if !reflect.DeepEqual(got.Values(), want.Values()) {
					errs <- fmt.Sprintf("got %v, want %v", got, want)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("%s: %s", c.name, e)
		}
	}
}

func TestTripleModules(t *testing.T) {
	g := tensor.NewGenerator(12)
	rn := func(s ...int) *tensor.Tensor { x, _ := g.Randn(s...); return x }
	a, b, c := rn(4, 3), rn(4, 3), rn(4, 3)
	y := tensor.MustNew([]float32{1, -1, 1, -1}, 4)
	check := func(name string, got *tensor.Tensor, err error, want *tensor.Tensor, werr error) {
		t.Helper()
		if err != nil || werr != nil {
			t.Fatalf("%s: %v %v", name, err, werr)
		}
		if !reflect.DeepEqual(got.Values(), want.Values()) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	got, err := must(nn.NewCosineEmbeddingLoss(F.Margin(0.2))).Forward(a, b, y)
	want, werr := F.CosineEmbeddingLoss(a, b, y, F.Margin(0.2))
	check("CosineEmbeddingLoss", got, err, want, werr)
	r1, r2 := rn(4), rn(4)
	got, err = must(nn.NewMarginRankingLoss(F.Margin(0.5))).Forward(r1, r2, y)
	want, werr = F.MarginRankingLoss(r1, r2, y, F.Margin(0.5))
	check("MarginRankingLoss", got, err, want, werr)
	got, err = must(nn.NewTripletMarginLoss(F.Swap(true))).Forward(a, b, c)
	want, werr = F.TripletMarginLoss(a, b, c, F.Swap(true))
	check("TripletMarginLoss", got, err, want, werr)
	got, err = must(nn.NewTripletMarginWithDistanceLoss()).Forward(a, b, c)
	want, werr = F.TripletMarginWithDistanceLoss(a, b, c)
	check("TripletMarginWithDistanceLoss", got, err, want, werr)
	v, _ := tensor.Full(0.5, tensor.Float32, 4, 3)
	got, err = must(nn.NewGaussianNLLLoss(F.Full(true))).Forward(a, b, v)
	want, werr = F.GaussianNLLLoss(a, b, v, F.Full(true))
	check("GaussianNLLLoss", got, err, want, werr)
	got, err = must(nn.NewGaussianNLLLoss(F.Full(true))).ForwardScalarVar(a, b, 0.5)
	check("GaussianNLLLoss scalar var", got, err, want, werr)
	lp, _ := F.LogSoftmax(rn(6, 2, 5), 2)
	tg := tensor.MustNew([]int64{1, 2, 3, 4, 1, 1}, 2, 3)
	got, err = must(nn.NewCTCLoss(F.Sum)).ForwardInts(lp, tg, []int64{6, 5}, []int64{3, 2})
	want, werr = must(nn.NewCTCLoss(F.Sum)).Forward(lp, tg, tensor.MustNew([]int64{6, 5}, 2), tensor.MustNew([]int64{3, 2}, 2))
	check("CTCLoss", got, err, want, werr)
}

// TestModuleOptionsAreCopied checks that changing the caller's option slice
// after construction does not change the module.
func TestModuleOptionsAreCopied(t *testing.T) {
	opts := []F.Option{F.Sum}
	m := must(nn.NewL1Loss(opts...))
	opts[0] = F.None
	x := tensor.MustNew([]float32{1, 2}, 2)
	y := tensor.MustNew([]float32{0, 0}, 2)
	got, err := m.Forward(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dim() != 0 {
		t.Errorf("module reduction changed with the caller's slice: shape %v", got.Shape())
	}
}

func ExampleCrossEntropyLoss() {
	lossFn, err := nn.NewCrossEntropyLoss(F.LabelSmoothing(0.1))
	if err != nil {
		fmt.Println(err)
		return
	}
	logits := tensor.MustNew([]float32{2, 0.5, -1, 0.1, 1.5, 0.3}, 2, 3)
	_ = logits.SetRequiresGrad(true)
	target := tensor.MustNew([]int64{0, 1}, 2)
	loss, _ := lossFn.Forward(logits, target)
	_ = loss.Backward()
	fmt.Println(loss)
	fmt.Println(logits.Grad())
	// Output:
	// tensor(0.4574, grad_fn=<AddBackward0>)
	// tensor([[-0.0739,  0.0710,  0.0029],
	//         [ 0.0630, -0.1436,  0.0806]])
}

// TestConstructorsCheckOptions: a constructor rejects, with ErrOption and a
// nil module, what PyTorch's constructor or the loss would reject of the
// options alone (issue 13 item 13: NewMSELoss(Margin(3)) was built and then
// failed on every Forward); valid options build.
func TestConstructorsCheckOptions(t *testing.T) {
	type built struct {
		m   any
		err error
	}
	b := func(m any, err error) built { return built{m, err} }
	for _, tc := range []struct {
		name string
		got  built
	}{
		{"MSELoss Margin", b(nn.NewMSELoss(F.Margin(3)))},
		{"MSELoss Sum, Mean", b(nn.NewMSELoss(F.Sum, F.Mean))},
		{"MSELoss Sum twice", b(nn.NewMSELoss(F.Sum, F.Sum))},
		{"MSELoss BatchMean", b(nn.NewMSELoss(F.BatchMean))},
		{"L1Loss bad reduction", b(nn.NewL1Loss(F.Reduction("average")))},
		{"SmoothL1Loss negative beta", b(nn.NewSmoothL1Loss(F.Beta(-1)))},
		{"HuberLoss zero delta", b(nn.NewHuberLoss(F.Delta(0)))},
		{"BCELoss PosWeight", b(nn.NewBCELoss(F.PosWeight(nil)))},
		{"BCEWithLogitsLoss Margin", b(nn.NewBCEWithLogitsLoss(F.Margin(1)))},
		{"PoissonNLLLoss Eps twice", b(nn.NewPoissonNLLLoss(F.Eps(1e-8), F.Eps(1e-6)))},
		{"KLDivLoss Weight", b(nn.NewKLDivLoss(F.Weight(nil)))},
		{"NLLLoss LabelSmoothing", b(nn.NewNLLLoss(F.LabelSmoothing(0.1)))},
		{"CrossEntropyLoss label_smoothing 1.5", b(nn.NewCrossEntropyLoss(F.LabelSmoothing(1.5)))},
		{"HingeEmbeddingLoss P", b(nn.NewHingeEmbeddingLoss(F.P(2)))},
		{"SoftMarginLoss Margin", b(nn.NewSoftMarginLoss(F.Margin(1)))},
		{"MultiLabelSoftMarginLoss Margin", b(nn.NewMultiLabelSoftMarginLoss(F.Margin(1)))},
		{"MultiMarginLoss p 3", b(nn.NewMultiMarginLoss(F.P(3)))},
		{"MultiLabelMarginLoss Weight", b(nn.NewMultiLabelMarginLoss(F.Weight(nil)))},
		{"CosineEmbeddingLoss Swap", b(nn.NewCosineEmbeddingLoss(F.Swap(true)))},
		{"MarginRankingLoss Margin twice", b(nn.NewMarginRankingLoss(F.Margin(1), F.Margin(2)))},
		{"TripletMarginLoss Blank", b(nn.NewTripletMarginLoss(F.Blank(0)))},
		{"TripletMarginLoss margin 0", b(nn.NewTripletMarginLoss(F.Margin(0)))},
		{"TripletMarginWithDistanceLoss margin 0", b(nn.NewTripletMarginWithDistanceLoss(F.Margin(0)))},
		{"TripletMarginWithDistanceLoss elementwise_mean", b(nn.NewTripletMarginWithDistanceLoss(F.Reduction("elementwise_mean")))},
		{"GaussianNLLLoss Margin", b(nn.NewGaussianNLLLoss(F.Margin(1)))},
		{"CTCLoss Full", b(nn.NewCTCLoss(F.Full(true)))},
		{"CTCLoss Blank twice", b(nn.NewCTCLoss(F.Blank(0), F.Blank(1)))},
	} {
		if !errors.Is(tc.got.err, torchloss.ErrOption) {
			t.Errorf("%s: error %v, want ErrOption", tc.name, tc.got.err)
		}
		if !reflect.ValueOf(tc.got.m).IsNil() {
			t.Errorf("%s: a module came with the error", tc.name)
		}
	}
	for _, tc := range []struct {
		name string
		got  built
	}{
		{"MSELoss Sum", b(nn.NewMSELoss(F.Sum))},
		{"KLDivLoss BatchMean LogTarget", b(nn.NewKLDivLoss(F.BatchMean, F.LogTarget(true)))},
		{"CrossEntropyLoss all options", b(nn.NewCrossEntropyLoss(F.Weight(nil), F.IgnoreIndex(1), F.LabelSmoothing(1), F.None))},
		{"CrossEntropyLoss negative smoothing (counts as 0)", b(nn.NewCrossEntropyLoss(F.LabelSmoothing(-0.5)))},
		{"MultiMarginLoss p 2", b(nn.NewMultiMarginLoss(F.P(2), F.Margin(0.5)))},
		{"TripletMarginLoss", b(nn.NewTripletMarginLoss(F.Margin(2), F.P(1), F.Eps(1e-3), F.Swap(true), F.Sum))},
		{"CTCLoss", b(nn.NewCTCLoss(F.Blank(3), F.ZeroInfinity(true), F.Mean))},
		{"nil options", b(nn.NewL1Loss(nil, F.Sum, nil))},
	} {
		if tc.got.err != nil || reflect.ValueOf(tc.got.m).IsNil() {
			t.Errorf("%s: %v", tc.name, tc.got.err)
		}
	}
}
