// Command logistic trains a logistic regression with
// binary_cross_entropy_with_logits on synthetic data, printing the loss of
// every epoch. The model (logits = X·w + b) is written by hand; torchloss
// gives the loss and its gradient with respect to the logits, and the chain
// rule through the linear model is three lines of Go.
//
//	go run ./examples/logistic
package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

func main() {
	if _, err := train(30, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "logistic:", err)
		os.Exit(1)
	}
}

// train fits w, b by full-batch gradient descent for the given epochs and
// returns the loss of each epoch.
func train(epochs int, out io.Writer) ([]float64, error) {
	const n, d, lr = 512, 4, 2.0
	r := rand.New(rand.NewPCG(1, 2))
	trueW := []float64{1.5, -2, 0.5, 1}
	x := make([]float32, n*d)
	y := make([]float32, n)
	for i := 0; i < n; i++ {
		z := 0.3
		for j := 0; j < d; j++ {
			x[i*d+j] = float32(r.NormFloat64())
			z += trueW[j] * float64(x[i*d+j])
		}
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	target := tensor.MustNew(y, n)
	w := make([]float32, d)
	var b float32
	var losses []float64
	for epoch := 1; epoch <= epochs; epoch++ {
		logits := make([]float32, n)
		for i := range logits {
			s := b
			for j := 0; j < d; j++ {
				s += x[i*d+j] * w[j]
			}
			logits[i] = s
		}
		z := tensor.MustNew(logits, n)
		if err := z.SetRequiresGrad(true); err != nil {
			return nil, err
		}
		loss, err := F.BinaryCrossEntropyWithLogits(z, target)
		if err != nil {
			return nil, err
		}
		if err := loss.Backward(); err != nil {
			return nil, err
		}
		// Chain rule through logits = X·w + b.
		gz := z.Grad().Float32s()
		for j := 0; j < d; j++ {
			var gw float32
			for i := 0; i < n; i++ {
				gw += gz[i] * x[i*d+j]
			}
			w[j] -= lr * gw
		}
		var gb float32
		for _, g := range gz {
			gb += g
		}
		b -= lr * gb
		v, _ := loss.Item()
		losses = append(losses, v)
		fmt.Fprintf(out, "epoch %2d  loss %.4f  w %.2f  b %.2f\n", epoch, v, w, b)
	}
	return losses, nil
}
