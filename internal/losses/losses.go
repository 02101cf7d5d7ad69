// Package losses is the table of torchloss's losses: for each PyTorch loss
// function its names (PyTorch's, the Go function's, the module's), its
// tensor arguments, the options it accepts with PyTorch's defaults, the
// arguments it differentiates and the backward nodes of its output.
//
// Everything that lists losses derives from Table: option parsing in
// package functional, the conformance adapters and their differentiable
// arguments, the package documentation's list (go generate), the devices'
// coverage and the command line's lists. A new loss is a new row here.
package losses

//go:generate go run ./gen

// Loss describes one PyTorch loss function.
type Loss struct {
	Name string // torch.nn.functional's name: "cross_entropy"
	Func string // the function of package functional: "CrossEntropy"
	// Also are further functions of package functional for the loss,
	// taking some arguments as Go values: "CTCLossInts".
	Also   []string
	Module string   // the torch.nn module, and the type of package nn: "CrossEntropyLoss"
	Args   []string // the tensor arguments, in PyTorch's order and by its names
	// Differentiable are the arguments whose gradient PyTorch computes
	// (cross_entropy's target only as class probabilities).
	Differentiable []string
	// Options are the keyword arguments besides reduction, with PyTorch's
	// defaults.
	Options []Option
	// Legacy: the deprecated size_average and reduce arguments exist.
	Legacy bool
	// BatchMean: 'batchmean' is a valid reduction (kl_div).
	BatchMean bool
	// Backward is the grad_fn of the output per reduction; Variants
	// override it under conditions.
	Backward Nodes
	Variants []Variant
}

// Option is a keyword argument and its default: a float64, an int64, a
// bool, or nil for None (a tensor or a function).
type Option struct {
	Name    string
	Default any
}

// Nodes are the backward-node names of a loss's output (PyTorch's
// grad_fn), per reduction; BatchMean is empty where that reduction is
// invalid.
type Nodes struct{ Mean, Sum, None, BatchMean string }

// Variant is a condition that changes the backward nodes; its non-empty
// names replace Loss.Backward's.
type Variant struct {
	// When is an option's name (the option is given and not false or
	// zero), or one of Spatial, Probabilities, Scalar.
	When  string
	Nodes Nodes
}

// The conditions of a Variant that are not options.
const (
	Spatial       = "spatial"       // an input of three or more dimensions (nll_loss2d)
	Probabilities = "probabilities" // class probabilities as the target
	Scalar        = "scalar"        // a 0-d input
)

// The default values, named for the table's readability.
const (
	ignoreIndex int64 = -100
	blank       int64 = 0
)

// composite are the nodes of a loss PyTorch writes as a graph of
// operations: the reduction's node, or the last operation's (none).
func composite(none string) Nodes {
	return Nodes{Mean: "MeanBackward0", Sum: "SumBackward0", None: none}
}

// explicit are the nodes of a loss with its own backward function.
func explicit(node string) Nodes { return Nodes{Mean: node, Sum: node, None: node} }

// weighted are the nodes of l1_loss and mse_loss with a weight: e = ℓ·w,
// then sum(e) / sum(w) (mean) or sum(e).
var weighted = Nodes{Mean: "DivBackward0", Sum: "SumBackward0", None: "MulBackward0"}

// Table lists the losses in the order of PyTorch's documentation of
// torch.nn.functional.
var Table = []Loss{
	{Name: "binary_cross_entropy", Func: "BinaryCrossEntropy", Module: "BCELoss",
		Args: []string{"input", "target"}, Differentiable: []string{"input", "target"},
		Options: []Option{{"weight", nil}}, Legacy: true,
		Backward: explicit("BinaryCrossEntropyBackward0")},
	{Name: "binary_cross_entropy_with_logits", Func: "BinaryCrossEntropyWithLogits", Module: "BCEWithLogitsLoss",
		Args: []string{"input", "target"}, Differentiable: []string{"input", "target"},
		Options: []Option{{"weight", nil}, {"pos_weight", nil}}, Legacy: true,
		Backward: explicit("BinaryCrossEntropyWithLogitsBackward0")},
	{Name: "poisson_nll_loss", Func: "PoissonNLLLoss", Module: "PoissonNLLLoss",
		Args: []string{"input", "target"}, Differentiable: []string{"input", "target"},
		Options: []Option{{"log_input", true}, {"full", false}, {"eps", 1e-8}}, Legacy: true,
		Backward: composite("SubBackward0"),
		Variants: []Variant{{When: "full", Nodes: Nodes{None: "AddBackward0"}}}},
	{Name: "gaussian_nll_loss", Func: "GaussianNLLLoss", Also: []string{"GaussianNLLLossScalarVar"}, Module: "GaussianNLLLoss",
		Args: []string{"input", "target", "var"}, Differentiable: []string{"input", "target", "var"},
		Options:  []Option{{"full", false}, {"eps", 1e-6}},
		Backward: composite("MulBackward0"),
		Variants: []Variant{{When: "full", Nodes: Nodes{None: "AddBackward0"}}}},
	{Name: "cosine_embedding_loss", Func: "CosineEmbeddingLoss", Module: "CosineEmbeddingLoss",
		Args: []string{"input1", "input2", "target"}, Differentiable: []string{"input1", "input2"},
		Options: []Option{{"margin", 0.0}}, Legacy: true,
		Backward: composite("AddBackward0")},
	{Name: "cross_entropy", Func: "CrossEntropy", Module: "CrossEntropyLoss",
		Args: []string{"input", "target"}, Differentiable: []string{"input", "target"},
		Options: []Option{{"weight", nil}, {"ignore_index", ignoreIndex}, {"label_smoothing", 0.0}}, Legacy: true,
		Backward: explicit("NllLossBackward0"),
		Variants: []Variant{
			{When: Spatial, Nodes: explicit("NllLoss2DBackward0")},
			// (1 − ls)·nll + ls·smooth/C ends in an add.
			{When: "label_smoothing", Nodes: explicit("AddBackward0")},
			// −(…).sum() / samples, or −(…).
			{When: Probabilities, Nodes: Nodes{Mean: "DivBackward1", Sum: "NegBackward0", None: "NegBackward0"}},
		}},
	{Name: "nll_loss", Func: "NLLLoss", Module: "NLLLoss",
		Args: []string{"input", "target"}, Differentiable: []string{"input"},
		Options: []Option{{"weight", nil}, {"ignore_index", ignoreIndex}}, Legacy: true,
		Backward: explicit("NllLossBackward0"),
		Variants: []Variant{{When: Spatial, Nodes: explicit("NllLoss2DBackward0")}}},
	{Name: "ctc_loss", Func: "CTCLoss", Also: []string{"CTCLossInts"}, Module: "CTCLoss",
		Args: []string{"log_probs", "targets", "input_lengths", "target_lengths"}, Differentiable: []string{"log_probs"},
		Options:  []Option{{"blank", blank}, {"zero_infinity", false}},
		Backward: explicit("CtcLossBackward0")},
	{Name: "hinge_embedding_loss", Func: "HingeEmbeddingLoss", Module: "HingeEmbeddingLoss",
		Args: []string{"input", "target"}, Differentiable: []string{"input"},
		Options: []Option{{"margin", 1.0}}, Legacy: true,
		Backward: composite("AddBackward0")},
	{Name: "kl_div", Func: "KLDiv", Module: "KLDivLoss",
		Args: []string{"input", "target"}, Differentiable: []string{"input", "target"},
		Options: []Option{{"log_target", false}}, Legacy: true, BatchMean: true,
		Backward: Nodes{Mean: "MeanBackward0", Sum: "SumBackward0", None: "SubBackward0", BatchMean: "DivBackward0"},
		Variants: []Variant{
			{When: "log_target", Nodes: Nodes{None: "MulBackward0"}},
			{When: Scalar, Nodes: Nodes{BatchMean: "SumBackward0"}},
		}},
	{Name: "l1_loss", Func: "L1Loss", Module: "L1Loss",
		Args: []string{"input", "target"}, Differentiable: []string{"input", "target"},
		Options: []Option{{"weight", nil}}, Legacy: true,
		Backward: composite("AbsBackward0"),
		Variants: []Variant{{When: "weight", Nodes: weighted}}},
	{Name: "mse_loss", Func: "MSELoss", Module: "MSELoss",
		Args: []string{"input", "target"}, Differentiable: []string{"input", "target"},
		Options: []Option{{"weight", nil}}, Legacy: true,
		Backward: explicit("MseLossBackward0"),
		Variants: []Variant{{When: "weight", Nodes: weighted}}},
	{Name: "smooth_l1_loss", Func: "SmoothL1Loss", Module: "SmoothL1Loss",
		Args: []string{"input", "target"}, Differentiable: []string{"input", "target"},
		Options: []Option{{"beta", 1.0}}, Legacy: true,
		Backward: explicit("SmoothL1LossBackward0")},
	{Name: "huber_loss", Func: "HuberLoss", Module: "HuberLoss",
		Args: []string{"input", "target"}, Differentiable: []string{"input", "target"},
		Options:  []Option{{"delta", 1.0}, {"weight", nil}},
		Backward: explicit("HuberLossBackward0"),
		// (ℓ·w).mean(): divided by N, not by Σw.
		Variants: []Variant{{When: "weight", Nodes: composite("MulBackward0")}}},
	{Name: "soft_margin_loss", Func: "SoftMarginLoss", Module: "SoftMarginLoss",
		Args: []string{"input", "target"}, Differentiable: []string{"input"}, Legacy: true,
		Backward: explicit("SoftMarginLossBackward0")},
	{Name: "multilabel_soft_margin_loss", Func: "MultilabelSoftMarginLoss", Module: "MultiLabelSoftMarginLoss",
		Args: []string{"input", "target"}, Differentiable: []string{"input", "target"},
		Options: []Option{{"weight", nil}}, Legacy: true,
		Backward: composite("DivBackward0")},
	{Name: "margin_ranking_loss", Func: "MarginRankingLoss", Module: "MarginRankingLoss",
		Args: []string{"input1", "input2", "target"}, Differentiable: []string{"input1", "input2", "target"},
		Options: []Option{{"margin", 0.0}}, Legacy: true,
		Backward: composite("ClampMinBackward0")},
	{Name: "multi_margin_loss", Func: "MultiMarginLoss", Module: "MultiMarginLoss",
		Args: []string{"input", "target"}, Differentiable: []string{"input"},
		Options: []Option{{"p", 1.0}, {"margin", 1.0}, {"weight", nil}}, Legacy: true,
		Backward: explicit("MultiMarginLossBackward0")},
	{Name: "multilabel_margin_loss", Func: "MultilabelMarginLoss", Module: "MultiLabelMarginLoss",
		Args: []string{"input", "target"}, Differentiable: []string{"input"}, Legacy: true,
		Backward: explicit("MultilabelMarginLossBackward0")},
	{Name: "triplet_margin_loss", Func: "TripletMarginLoss", Module: "TripletMarginLoss",
		Args: []string{"anchor", "positive", "negative"}, Differentiable: []string{"anchor", "positive", "negative"},
		Options: []Option{{"margin", 1.0}, {"p", 2.0}, {"eps", 1e-6}, {"swap", false}}, Legacy: true,
		Backward: composite("ClampMinBackward0")},
	{Name: "triplet_margin_with_distance_loss", Func: "TripletMarginWithDistanceLoss", Module: "TripletMarginWithDistanceLoss",
		Args: []string{"anchor", "positive", "negative"}, Differentiable: []string{"anchor", "positive", "negative"},
		Options:  []Option{{"distance_function", nil}, {"margin", 1.0}, {"swap", false}},
		Backward: composite("ClampMinBackward0")},
	// linear_cross_entropy (issue 14) takes its row here when it lands
	// (with its adapter in conformance/adapters.go's special, a figure in
	// cmd/torchloss/plot.go and a call in functional/table_test.go):
	//
	//	{Name: "linear_cross_entropy", Func: "LinearCrossEntropy", Module: "LinearCrossEntropyLoss",
	//		Args: []string{"input", "linear_weight", "target"},
	//		Differentiable: []string{"input", "linear_weight", "target", "linear_bias"},
	//		Options: []Option{{"linear_bias", nil}, {"weight", nil}, {"ignore_index", ignoreIndex}, {"label_smoothing", 0.0}},
	//		Backward: explicit("LinearCrossEntropyBackward0")},
}

var byName = func() map[string]*Loss {
	m := make(map[string]*Loss, len(Table))
	for i := range Table {
		m[Table[i].Name] = &Table[i]
	}
	return m
}()

// Lookup returns the loss of PyTorch's name, or nil.
func Lookup(name string) *Loss { return byName[name] }

// Names returns the PyTorch names of the losses in the table's order.
func Names() []string {
	names := make([]string, len(Table))
	for i, l := range Table {
		names[i] = l.Name
	}
	return names
}

// Node returns the backward-node name of the output for a reduction
// ("mean", "sum", "none", "batchmean") under the conditions when (bool
// options that are true, or Spatial, Probabilities, Scalar); later
// conditions win.
func (l *Loss) Node(reduction string, when ...string) string {
	pick := func(n Nodes) string {
		switch reduction {
		case "sum":
			return n.Sum
		case "none":
			return n.None
		case "batchmean":
			return n.BatchMean
		}
		return n.Mean
	}
	name := pick(l.Backward)
	for _, w := range when {
		for _, v := range l.Variants {
			if v.When == w {
				if s := pick(v.Nodes); s != "" {
					name = s
				}
			}
		}
	}
	return name
}
