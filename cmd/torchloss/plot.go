package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/torchloss/torchloss/conformance"
	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/internal/losses"
	"github.com/torchloss/torchloss/tensor"
)

// A curve is one series of a plot: the loss as a function of a scalar x.
// eval builds the call for x; the plotted gradient d loss/dx is the sum of
// the gradients of the elements idx of the tensor leaf, which hold x.
type curve struct {
	label string
	eval  func(x float64, opts []F.Option) (loss, leaf *tensor.Tensor, idx []int, err error)
}

// A figure is what `torchloss plot FN` draws for one function.
type figure struct {
	xlabel string
	lo, hi float64
	curves []curve
}

// leaf returns a float64 leaf tensor that requires a gradient.
func leaf(v []float64, shape ...int) *tensor.Tensor {
	t := tensor.MustNew(v, shape...)
	_ = t.SetRequiresGrad(true)
	return t
}

func f64(v ...float64) *tensor.Tensor { return tensor.MustNew(v, len(v)) }

// pair plots fn(input = [x], target = [t]) for each target, with extra
// options per curve.
func pair(fn func(a, b *tensor.Tensor, o ...F.Option) (*tensor.Tensor, error), label string, t float64, extra ...F.Option) curve {
	return curve{label, func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
		in := leaf([]float64{x}, 1)
		l, err := fn(in, f64(t), append(append([]F.Option{}, extra...), opts...)...)
		return l, in, []int{0}, err
	}}
}

var figures = map[string]func() figure{
	"binary_cross_entropy": func() figure {
		return figure{"p (predicted probability)", 0.001, 0.999, []curve{
			pair(F.BinaryCrossEntropy, "target 0", 0), pair(F.BinaryCrossEntropy, "target 1", 1), pair(F.BinaryCrossEntropy, "target 0.3", 0.3)}}
	},
	"binary_cross_entropy_with_logits": func() figure {
		return figure{"x (logit)", -6, 6, []curve{
			pair(F.BinaryCrossEntropyWithLogits, "target 0", 0), pair(F.BinaryCrossEntropyWithLogits, "target 1", 1),
			pair(F.BinaryCrossEntropyWithLogits, "target 1, pos_weight 3", 1, F.PosWeight(f64(3)))}}
	},
	"poisson_nll_loss": func() figure {
		return figure{"log rate", -3, 3, []curve{
			pair(F.PoissonNLLLoss, "target 0", 0), pair(F.PoissonNLLLoss, "target 1", 1), pair(F.PoissonNLLLoss, "target 3", 3)}}
	},
	"gaussian_nll_loss": func() figure {
		c := func(v float64) curve {
			return curve{fmt.Sprintf("var %g", v), func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				in := leaf([]float64{x}, 1)
				l, err := F.GaussianNLLLoss(in, f64(0), f64(v), opts...)
				return l, in, []int{0}, err
			}}
		}
		return figure{"input (target 0)", -3, 3, []curve{c(0.5), c(1), c(2)}}
	},
	"hinge_embedding_loss": func() figure {
		return figure{"x (distance)", -1, 3, []curve{
			pair(F.HingeEmbeddingLoss, "target -1, margin 0.5", -1, F.Margin(0.5)),
			pair(F.HingeEmbeddingLoss, "target -1, margin 1", -1, F.Margin(1)),
			pair(F.HingeEmbeddingLoss, "target -1, margin 2", -1, F.Margin(2)),
			pair(F.HingeEmbeddingLoss, "target 1", 1)}}
	},
	"kl_div": func() figure {
		return figure{"input (log q)", -5, 0, []curve{
			pair(F.KLDiv, "target p = 0.2", 0.2, F.Sum), pair(F.KLDiv, "target p = 0.5", 0.5, F.Sum), pair(F.KLDiv, "target p = 0.9", 0.9, F.Sum)}}
	},
	"l1_loss": func() figure {
		return figure{"input − target", -3, 3, []curve{pair(F.L1Loss, "l1_loss", 0)}}
	},
	"mse_loss": func() figure {
		return figure{"input − target", -3, 3, []curve{pair(F.MSELoss, "mse_loss", 0)}}
	},
	"smooth_l1_loss": func() figure {
		return figure{"input − target", -3, 3, []curve{
			pair(F.SmoothL1Loss, "beta 0.5", 0, F.Beta(0.5)), pair(F.SmoothL1Loss, "beta 1", 0, F.Beta(1)), pair(F.SmoothL1Loss, "beta 2", 0, F.Beta(2))}}
	},
	"huber_loss": func() figure {
		return figure{"input − target", -3, 3, []curve{
			pair(F.HuberLoss, "huber delta 0.5", 0, F.Delta(0.5)), pair(F.HuberLoss, "huber delta 2", 0, F.Delta(2)),
			pair(F.SmoothL1Loss, "smooth_l1 beta 2", 0, F.Beta(2)), pair(F.L1Loss, "l1", 0)}}
	},
	"soft_margin_loss": func() figure {
		return figure{"x (score)", -4, 4, []curve{pair(F.SoftMarginLoss, "target 1", 1), pair(F.SoftMarginLoss, "target -1", -1)}}
	},
	"multilabel_soft_margin_loss": func() figure {
		c := func(t float64) curve {
			return curve{fmt.Sprintf("target %g", t), func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				in := leaf([]float64{x}, 1, 1)
				l, err := F.MultilabelSoftMarginLoss(in, tensor.MustNew([]float64{t}, 1, 1), opts...)
				return l, in, []int{0}, err
			}}
		}
		return figure{"x (logit)", -4, 4, []curve{c(1), c(0)}}
	},
	"margin_ranking_loss": func() figure {
		c := func(t, m float64) curve {
			return curve{fmt.Sprintf("target %g, margin %g", t, m), func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				in := leaf([]float64{x}, 1)
				l, err := F.MarginRankingLoss(in, f64(0), f64(t), append([]F.Option{F.Margin(m)}, opts...)...)
				return l, in, []int{0}, err
			}}
		}
		return figure{"input1 − input2", -3, 3, []curve{c(1, 0), c(1, 1), c(-1, 0)}}
	},
	"cross_entropy": func() figure {
		c := func(ls float64) curve {
			return curve{fmt.Sprintf("label_smoothing %g", ls), func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				in := leaf([]float64{x, 0, 0}, 1, 3)
				l, err := F.CrossEntropy(in, tensor.MustNew([]int64{0}, 1), append([]F.Option{F.LabelSmoothing(ls)}, opts...)...)
				return l, in, []int{0}, err
			}}
		}
		return figure{"logit of the target class (2 others at 0)", -5, 5, []curve{c(0), c(0.1), c(0.3)}}
	},
	"nll_loss": func() figure {
		return figure{"log-probability of the target class", -5, 0, []curve{{"nll_loss", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
			in := leaf([]float64{x, -1}, 1, 2)
			l, err := F.NLLLoss(in, tensor.MustNew([]int64{0}, 1), opts...)
			return l, in, []int{0}, err
		}}}}
	},
	"multi_margin_loss": func() figure {
		c := func(p float64) curve {
			return curve{fmt.Sprintf("p %g", p), func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				in := leaf([]float64{x, 0, 0}, 1, 3)
				l, err := F.MultiMarginLoss(in, tensor.MustNew([]int64{0}, 1), append([]F.Option{F.P(p)}, opts...)...)
				return l, in, []int{0}, err
			}}
		}
		return figure{"score of the target class (2 others at 0)", -3, 3, []curve{c(1), c(2)}}
	},
	"multilabel_margin_loss": func() figure {
		return figure{"score of the label class (1 other at 0)", -3, 3, []curve{{"multilabel_margin_loss", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
			in := leaf([]float64{x, 0}, 1, 2)
			l, err := F.MultilabelMarginLoss(in, tensor.MustNew([]int64{0, -1}, 1, 2), opts...)
			return l, in, []int{0}, err
		}}}}
	},
	"cosine_embedding_loss": func() figure {
		// input2 = (x, 1): the loss against input1 = (1, 0) as input2 turns.
		c := func(t, m float64) curve {
			return curve{fmt.Sprintf("target %g, margin %g", t, m), func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				in := leaf([]float64{x, 1}, 1, 2)
				l, err := F.CosineEmbeddingLoss(tensor.MustNew([]float64{1, 0}, 1, 2), in, f64(t), append([]F.Option{F.Margin(m)}, opts...)...)
				return l, in, []int{0}, err
			}}
		}
		return figure{"x of input2 = (x, 1), input1 = (1, 0)", -4, 4, []curve{c(1, 0), c(-1, 0), c(-1, 0.5)}}
	},
	"triplet_margin_loss": func() figure {
		c := func(m float64) curve {
			return curve{fmt.Sprintf("margin %g", m), func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				neg := leaf([]float64{x}, 1, 1)
				l, err := F.TripletMarginLoss(tensor.MustNew([]float64{0}, 1, 1), tensor.MustNew([]float64{1}, 1, 1), neg, append([]F.Option{F.Margin(m)}, opts...)...)
				return l, neg, []int{0}, err
			}}
		}
		return figure{"negative (anchor 0, positive 1)", -3, 3, []curve{c(0.5), c(1), c(2)}}
	},
	"triplet_margin_with_distance_loss": func() figure {
		// The default distance (pairwise_distance); swap takes the
		// positive–negative distance when it is the smaller.
		c := func(swap bool) curve {
			return curve{fmt.Sprintf("margin 1, swap %v", swap), func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				neg := leaf([]float64{x}, 1, 1)
				l, err := F.TripletMarginWithDistanceLoss(tensor.MustNew([]float64{0}, 1, 1), tensor.MustNew([]float64{1}, 1, 1), neg, append([]F.Option{F.Swap(swap)}, opts...)...)
				return l, neg, []int{0}, err
			}}
		}
		return figure{"negative (anchor 0, positive 1)", -3, 3, []curve{c(false), c(true)}}
	},
	"ctc_loss": func() figure {
		// Two frames, two classes (blank 0, label 1), target [1]: the loss
		// as the label's logit x (the blank's is 0) rises in every frame.
		return figure{"logit of label 1 in both frames (blank at 0)", -5, 5, []curve{{"target [1], T = 2", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
			logits := leaf([]float64{0, x, 0, x}, 2, 1, 2)
			lp, err := F.LogSoftmax(logits, 2)
			if err != nil {
				return nil, nil, nil, err
			}
			l, err := F.CTCLossInts(lp, tensor.MustNew([]int64{1}, 1, 1), []int64{2}, []int64{1}, opts...)
			return l, logits, []int{1, 3}, err
		}}}}
	},
}

// plotCmd is `torchloss plot FN [--kw KEY=VALUE ...] [-o FILE.png]`.
func plotCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var kwFlags multiFlag
	fs.Var(&kwFlags, "kw", "a keyword argument `KEY=VALUE` applied to every curve (e.g. reduction=sum); repeatable")
	out := fs.String("o", "", "the `FILE.png` to write (default FN.png)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 || figures[pos[0]] == nil {
		fmt.Fprintf(stderr, "usage: torchloss plot FN [--kw KEY=VALUE ...] [-o FILE.png]\nFN is one of: %s\n", strings.Join(plotNames(), ", "))
		return 2
	}
	fn := pos[0]
	kwargs := map[string]json.RawMessage{}
	for _, kw := range kwFlags {
		k, v, ok := strings.Cut(kw, "=")
		if !ok {
			fmt.Fprintf(stderr, "torchloss plot: --kw %q: want KEY=VALUE\n", kw)
			return 2
		}
		kwargs[k] = kwValue(v)
	}
	opts, err := conformance.OptionsFromKwargs(fn, kwargs)
	if err != nil {
		fmt.Fprintln(stderr, "torchloss plot:", err)
		return 1
	}
	if *out == "" {
		*out = fn + ".png"
	}
	if err := drawFigure(fn, figures[fn](), opts, *out); err != nil {
		fmt.Fprintln(stderr, "torchloss plot:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return 0
}

// plotNames lists the losses that have a figure, in the table's order.
func plotNames() []string {
	var names []string
	for _, name := range losses.Names() {
		if figures[name] != nil {
			names = append(names, name)
		}
	}
	return names
}

// drawFigure samples every curve at 401 points and draws the loss (top) and
// its gradient (bottom) into a 900×900 PNG.
func drawFigure(fn string, fig figure, opts []F.Option, name string) error {
	const n = 401
	top, bottom := plot.New(), plot.New()
	top.Title.Text = fn
	top.Y.Label.Text = "loss"
	bottom.Y.Label.Text = "d loss / d x"
	bottom.X.Label.Text = fig.xlabel
	top.X.Label.Text = fig.xlabel
	top.Legend.Top = true
	for ci, c := range fig.curves {
		var loss, grad plotter.XYs
		for i := 0; i < n; i++ {
			x := fig.lo + (fig.hi-fig.lo)*float64(i)/(n-1)
			l, lf, idx, err := c.eval(x, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", c.label, err)
			}
			v, err := l.Item()
			if err != nil {
				return fmt.Errorf("%s: the plotted loss must be a scalar (reduction mean or sum): %w", c.label, err)
			}
			if err := l.Backward(); err != nil {
				return fmt.Errorf("%s: %w", c.label, err)
			}
			var g float64
			for _, i := range idx {
				g += lf.Grad().Values()[i]
			}
			if !math.IsInf(v, 0) && !math.IsNaN(v) {
				loss = append(loss, plotter.XY{X: x, Y: v})
			}
			if !math.IsInf(g, 0) && !math.IsNaN(g) {
				grad = append(grad, plotter.XY{X: x, Y: g})
			}
		}
		col := plotColors[ci%len(plotColors)]
		for _, p := range []struct {
			pl  *plot.Plot
			xys plotter.XYs
		}{{top, loss}, {bottom, grad}} {
			line, err := plotter.NewLine(p.xys)
			if err != nil {
				return err
			}
			line.Color = col
			line.Width = vg.Points(1.5)
			p.pl.Add(line)
			if p.pl == top {
				top.Legend.Add(c.label, line)
			}
		}
	}
	top.Add(plotter.NewGrid())
	bottom.Add(plotter.NewGrid())
	img := vgimg.New(9*vg.Inch, 9*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(4), PadY: vg.Points(8)}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var plotColors = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255},
}
