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
// eval builds the call for x with the options opts (the curve's keyword
// arguments kw with the user's --kw over them); the plotted gradient
// d loss/dx is the sum of the gradients of the elements idx of the tensor
// leaf, which hold x. A curve of another loss than the figure's (huber's
// comparison curves) names it in fn and takes no --kw.
type curve struct {
	label string            // what the curve fixes besides kw ("target 0"); may be empty
	kw    map[string]string // keyword arguments the curve sets, by PyTorch name
	fn    string
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

// kw builds a curve's keyword arguments from key, value pairs.
func kw(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// pair plots fn(input = [x], target = [t]) with keyword arguments kws and
// further options extra (tensors, which --kw cannot set).
func pair(fn func(a, b *tensor.Tensor, o ...F.Option) (*tensor.Tensor, error), label string, t float64, kws map[string]string, extra ...F.Option) curve {
	return curve{label, kws, "", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
		in := leaf([]float64{x}, 1)
		l, err := fn(in, f64(t), append(append([]F.Option{}, extra...), opts...)...)
		return l, in, []int{0}, err
	}}
}

// other marks a curve as one of the loss fn, drawn for comparison.
func other(fn string, c curve) curve { c.fn = fn; return c }

var figures = map[string]func() figure{
	"binary_cross_entropy": func() figure {
		return figure{"p (predicted probability)", 0.001, 0.999, []curve{
			pair(F.BinaryCrossEntropy, "target 0", 0, nil), pair(F.BinaryCrossEntropy, "target 1", 1, nil), pair(F.BinaryCrossEntropy, "target 0.3", 0.3, nil)}}
	},
	"binary_cross_entropy_with_logits": func() figure {
		return figure{"x (logit)", -6, 6, []curve{
			pair(F.BinaryCrossEntropyWithLogits, "target 0", 0, nil), pair(F.BinaryCrossEntropyWithLogits, "target 1", 1, nil),
			pair(F.BinaryCrossEntropyWithLogits, "target 1, pos_weight 3", 1, nil, F.PosWeight(f64(3)))}}
	},
	"poisson_nll_loss": func() figure {
		return figure{"log rate", -3, 3, []curve{
			pair(F.PoissonNLLLoss, "target 0", 0, nil), pair(F.PoissonNLLLoss, "target 1", 1, nil), pair(F.PoissonNLLLoss, "target 3", 3, nil)}}
	},
	"gaussian_nll_loss": func() figure {
		c := func(v float64) curve {
			return curve{fmt.Sprintf("var %g", v), nil, "", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				in := leaf([]float64{x}, 1)
				l, err := F.GaussianNLLLoss(in, f64(0), f64(v), opts...)
				return l, in, []int{0}, err
			}}
		}
		return figure{"input (target 0)", -3, 3, []curve{c(0.5), c(1), c(2)}}
	},
	"hinge_embedding_loss": func() figure {
		return figure{"x (distance)", -1, 3, []curve{
			pair(F.HingeEmbeddingLoss, "target -1", -1, kw("margin", "0.5")),
			pair(F.HingeEmbeddingLoss, "target -1", -1, kw("margin", "1")),
			pair(F.HingeEmbeddingLoss, "target -1", -1, kw("margin", "2")),
			pair(F.HingeEmbeddingLoss, "target 1", 1, nil)}}
	},
	"kl_div": func() figure {
		sum := kw("reduction", "sum")
		return figure{"input (log q)", -5, 0, []curve{
			pair(F.KLDiv, "target p = 0.2", 0.2, sum), pair(F.KLDiv, "target p = 0.5", 0.5, sum), pair(F.KLDiv, "target p = 0.9", 0.9, sum)}}
	},
	"l1_loss": func() figure {
		return figure{"input − target", -3, 3, []curve{pair(F.L1Loss, "", 0, nil)}}
	},
	"mse_loss": func() figure {
		return figure{"input − target", -3, 3, []curve{pair(F.MSELoss, "", 0, nil)}}
	},
	"smooth_l1_loss": func() figure {
		return figure{"input − target", -3, 3, []curve{
			pair(F.SmoothL1Loss, "", 0, kw("beta", "0.5")), pair(F.SmoothL1Loss, "", 0, kw("beta", "1")), pair(F.SmoothL1Loss, "", 0, kw("beta", "2"))}}
	},
	"huber_loss": func() figure {
		return figure{"input − target", -3, 3, []curve{
			pair(F.HuberLoss, "", 0, kw("delta", "0.5")), pair(F.HuberLoss, "", 0, kw("delta", "2")),
			other("smooth_l1_loss", pair(F.SmoothL1Loss, "", 0, kw("beta", "2"))), other("l1_loss", pair(F.L1Loss, "", 0, nil))}}
	},
	"soft_margin_loss": func() figure {
		return figure{"x (score)", -4, 4, []curve{pair(F.SoftMarginLoss, "target 1", 1, nil), pair(F.SoftMarginLoss, "target -1", -1, nil)}}
	},
	"multilabel_soft_margin_loss": func() figure {
		c := func(t float64) curve {
			return curve{fmt.Sprintf("target %g", t), nil, "", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				in := leaf([]float64{x}, 1, 1)
				l, err := F.MultilabelSoftMarginLoss(in, tensor.MustNew([]float64{t}, 1, 1), opts...)
				return l, in, []int{0}, err
			}}
		}
		return figure{"x (logit)", -4, 4, []curve{c(1), c(0)}}
	},
	"margin_ranking_loss": func() figure {
		c := func(t float64, m string) curve {
			return curve{fmt.Sprintf("target %g", t), kw("margin", m), "", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				in := leaf([]float64{x}, 1)
				l, err := F.MarginRankingLoss(in, f64(0), f64(t), opts...)
				return l, in, []int{0}, err
			}}
		}
		return figure{"input1 − input2", -3, 3, []curve{c(1, "0"), c(1, "1"), c(-1, "0")}}
	},
	"cross_entropy": func() figure {
		c := func(ls string) curve {
			return curve{"", kw("label_smoothing", ls), "", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				in := leaf([]float64{x, 0, 0}, 1, 3)
				l, err := F.CrossEntropy(in, tensor.MustNew([]int64{0}, 1), opts...)
				return l, in, []int{0}, err
			}}
		}
		return figure{"logit of the target class (2 others at 0)", -5, 5, []curve{c("0"), c("0.1"), c("0.3")}}
	},
	"nll_loss": func() figure {
		return figure{"log-probability of the target class", -5, 0, []curve{{"", nil, "", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
			in := leaf([]float64{x, -1}, 1, 2)
			l, err := F.NLLLoss(in, tensor.MustNew([]int64{0}, 1), opts...)
			return l, in, []int{0}, err
		}}}}
	},
	"multi_margin_loss": func() figure {
		c := func(p string) curve {
			return curve{"", kw("p", p), "", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				in := leaf([]float64{x, 0, 0}, 1, 3)
				l, err := F.MultiMarginLoss(in, tensor.MustNew([]int64{0}, 1), opts...)
				return l, in, []int{0}, err
			}}
		}
		return figure{"score of the target class (2 others at 0)", -3, 3, []curve{c("1"), c("2")}}
	},
	"multilabel_margin_loss": func() figure {
		return figure{"score of the label class (1 other at 0)", -3, 3, []curve{{"", nil, "", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
			in := leaf([]float64{x, 0}, 1, 2)
			l, err := F.MultilabelMarginLoss(in, tensor.MustNew([]int64{0, -1}, 1, 2), opts...)
			return l, in, []int{0}, err
		}}}}
	},
	"cosine_embedding_loss": func() figure {
		// input2 = (x, 1): the loss against input1 = (1, 0) as input2 turns.
		c := func(t float64, m string) curve {
			return curve{fmt.Sprintf("target %g", t), kw("margin", m), "", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				in := leaf([]float64{x, 1}, 1, 2)
				l, err := F.CosineEmbeddingLoss(tensor.MustNew([]float64{1, 0}, 1, 2), in, f64(t), opts...)
				return l, in, []int{0}, err
			}}
		}
		return figure{"x of input2 = (x, 1), input1 = (1, 0)", -4, 4, []curve{c(1, "0"), c(-1, "0"), c(-1, "0.5")}}
	},
	"triplet_margin_loss": func() figure {
		c := func(m string) curve {
			return curve{"", kw("margin", m), "", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				neg := leaf([]float64{x}, 1, 1)
				l, err := F.TripletMarginLoss(tensor.MustNew([]float64{0}, 1, 1), tensor.MustNew([]float64{1}, 1, 1), neg, opts...)
				return l, neg, []int{0}, err
			}}
		}
		return figure{"negative (anchor 0, positive 1)", -3, 3, []curve{c("0.5"), c("1"), c("2")}}
	},
	"triplet_margin_with_distance_loss": func() figure {
		// The default distance (pairwise_distance); swap takes the
		// positive–negative distance when it is the smaller.
		c := func(swap string) curve {
			return curve{"", kw("swap", swap), "", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
				neg := leaf([]float64{x}, 1, 1)
				l, err := F.TripletMarginWithDistanceLoss(tensor.MustNew([]float64{0}, 1, 1), tensor.MustNew([]float64{1}, 1, 1), neg, opts...)
				return l, neg, []int{0}, err
			}}
		}
		return figure{"negative (anchor 0, positive 1)", -3, 3, []curve{c("false"), c("true")}}
	},
	"ctc_loss": func() figure {
		// Two frames, two classes (blank 0, label 1), target [1]: the loss
		// as the label's logit x (the blank's is 0) rises in every frame.
		return figure{"logit of label 1 in both frames (blank at 0)", -5, 5, []curve{{"target [1], T = 2", nil, "", func(x float64, opts []F.Option) (*tensor.Tensor, *tensor.Tensor, []int, error) {
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

// plotCurve is a curve ready to draw: its label and options.
type plotCurve struct {
	label string
	opts  []F.Option
	eval  func(x float64, opts []F.Option) (loss, leaf *tensor.Tensor, idx []int, err error)
}

// buildCurves applies the user's keyword arguments to the figure of fn: a
// keyword the figure varies replaces the curve's value (curves that become
// the same are drawn once, so --kw label_smoothing=0.2 draws one
// cross_entropy curve at 0.2), the others apply to every curve of fn.
// Curves of other losses drawn for comparison keep their own keywords. It
// returns the curves and the title.
func buildCurves(fn string, fig figure, user map[string]string) ([]plotCurve, string, error) {
	title := fn
	var extra []string
	for _, k := range sortedKeys(user) {
		varied := false
		for _, c := range fig.curves {
			if _, ok := c.kw[k]; ok && c.fn == "" {
				varied = true
			}
		}
		if !varied {
			extra = append(extra, k+"="+user[k])
		}
	}
	if len(extra) > 0 {
		title += " (" + strings.Join(extra, ", ") + ")"
	}
	compared := false // the figure draws other losses: name fn's curves
	for _, c := range fig.curves {
		compared = compared || c.fn != ""
	}
	var out []plotCurve
	seen := map[string]bool{}
	for _, c := range fig.curves {
		name := fn
		merged := map[string]string{}
		for k, v := range c.kw {
			merged[k] = v
		}
		if c.fn != "" {
			name = c.fn
		} else {
			for k, v := range user {
				merged[k] = v
			}
		}
		raw := map[string]json.RawMessage{}
		for k, v := range merged {
			raw[k] = kwValue(v)
		}
		opts, err := conformance.OptionsFromKwargs(name, raw)
		if err != nil {
			return nil, "", err
		}
		parts := []string{}
		if compared {
			parts = append(parts, name)
		}
		if c.label != "" {
			parts = append(parts, c.label)
		}
		for _, k := range sortedKeys(c.kw) {
			if k != "reduction" {
				parts = append(parts, k+" "+merged[k])
			}
		}
		label := strings.Join(parts, ", ")
		if label == "" {
			label = fn
		}
		if seen[label] {
			continue
		}
		seen[label] = true
		out = append(out, plotCurve{label, opts, c.eval})
	}
	return out, title, nil
}

// plotCmd is `torchloss plot FN [--kw KEY=VALUE ...] [-o FILE.png]`.
func plotCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var kwFlags multiFlag
	fs.Var(&kwFlags, "kw", "a keyword argument `KEY=VALUE` of FN, applied to its curves; a keyword the figure varies (cross_entropy's label_smoothing, hinge_embedding_loss's margin) is drawn at that value alone; repeatable")
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
	user := map[string]string{}
	for _, kw := range kwFlags {
		k, v, ok := strings.Cut(kw, "=")
		if !ok || k == "" || v == "" {
			fmt.Fprintf(stderr, "torchloss plot: --kw %q: want KEY=VALUE\n", kw)
			return 2
		}
		if _, dup := user[k]; dup {
			fmt.Fprintf(stderr, "torchloss plot: --kw %s given twice\n", k)
			return 2
		}
		user[k] = v
	}
	fig := figures[fn]()
	curves, title, err := buildCurves(fn, fig, user)
	if err != nil {
		fmt.Fprintln(stderr, "torchloss plot:", oneLine(err))
		return 1
	}
	if *out == "" {
		*out = fn + ".png"
	}
	if err := drawFigure(title, fig.xlabel, fig.lo, fig.hi, curves, *out); err != nil {
		fmt.Fprintln(stderr, "torchloss plot:", oneLine(err))
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
func drawFigure(title, xlabel string, lo, hi float64, curves []plotCurve, name string) error {
	const n = 401
	top, bottom := plot.New(), plot.New()
	top.Title.Text = title
	top.Y.Label.Text = "loss"
	bottom.Y.Label.Text = "d loss / d x"
	bottom.X.Label.Text = xlabel
	top.X.Label.Text = xlabel
	top.Legend.Top = true
	for ci, c := range curves {
		var loss, grad plotter.XYs
		for i := 0; i < n; i++ {
			x := lo + (hi-lo)*float64(i)/(n-1)
			l, lf, idx, err := c.eval(x, c.opts)
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
