// Command lmhead trains a language model's output layer with
// nn.LinearCrossEntropyLoss: hidden states (here fixed random features of
// the current token, standing in for a transformer's last layer) times the
// vocabulary's weight, then cross_entropy against the next token, without
// ever holding the tokens × vocabulary logits. It prints the loss of every
// epoch and what the step allocated, then the peak extra memory of a step
// next to the size of the logits and their gradient that the unfused
// computation would hold.
//
//	go run ./examples/lmhead
package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"

	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/nn"
	"github.com/torchloss/torchloss/tensor"
)

func main() {
	if _, err := train(8, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lmhead:", err)
		os.Exit(1)
	}
}

// train runs full-batch gradient descent on the output layer for the
// given epochs and returns the loss of each epoch.
func train(epochs int, out io.Writer) ([]float64, error) {
	const (
		tokens = 2048 // tokens per batch (N)
		hidden = 64   // hidden size (H)
		vocab  = 5000 // vocabulary (V)
		lr     = 20.0
	)
	r := rand.New(rand.NewPCG(3, 4))
	// A toy corpus: the next token is a fixed function of the current one
	// most of the time, random otherwise.
	next := make([]int64, vocab)
	for i := range next {
		next[i] = r.Int64N(vocab)
	}
	emb := make([]float32, vocab*hidden) // the current token's features
	for i := range emb {
		emb[i] = float32(r.NormFloat64())
	}
	x := make([]float32, tokens*hidden)
	tg := make([]int64, tokens)
	for i := range tg {
		cur := r.Int64N(200) // a small working vocabulary of current tokens
		copy(x[i*hidden:(i+1)*hidden], emb[cur*hidden:])
		tg[i] = next[cur]
		if r.Float64() < 0.2 {
			tg[i] = r.Int64N(vocab)
		}
	}
	input := tensor.MustNew(x, tokens, hidden)
	target := tensor.MustNew(tg, tokens)

	head, err := nn.NewLinearCrossEntropyLoss(hidden, vocab,
		nn.LinearCrossEntropyConfig{Bias: true, Generator: tensor.NewGenerator(5)},
		F.LabelSmoothing(0.05))
	if err != nil {
		return nil, err
	}
	params := []*tensor.Tensor{head.Weight(), head.Bias()}
	logitBytes := 2 * tokens * vocab * 4
	gradBytes := (vocab*hidden + vocab) * 4
	var losses []float64
	peak := 0
	for epoch := 1; epoch <= epochs; epoch++ {
		for _, p := range params {
			p.ZeroGrad() // keeps the gradient buffers, zeroed
		}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		loss, err := head.Forward(input, target)
		if err != nil {
			return nil, err
		}
		if err := loss.Backward(); err != nil {
			return nil, err
		}
		runtime.ReadMemStats(&m1)
		// What the step allocated, less the gradients the first step
		// allocates (later steps write them in place and take the
		// scratch back from free lists): a bound on its peak extra memory.
		step := int(m1.TotalAlloc - m0.TotalAlloc)
		if epoch == 1 {
			step -= gradBytes
		}
		peak = max(peak, step)
		for _, p := range params { // plain SGD
			w, g := p.Float32s(), p.Grad().Float32s()
			for i := range w {
				w[i] -= lr * g[i]
			}
		}
		v, err := loss.Item()
		if err != nil {
			return nil, err
		}
		losses = append(losses, v)
		fmt.Fprintf(out, "epoch %2d  loss %.4f  allocated %6.2f MB\n", epoch, v, float64(step)/1e6)
	}
	fmt.Fprintf(out, "peak extra memory of a step: %.2f MB (the logits and their gradient: %.1f MB)\n", float64(peak)/1e6, float64(logitBytes)/1e6)
	return losses, nil
}
