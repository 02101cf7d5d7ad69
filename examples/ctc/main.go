// Command ctc trains a per-frame linear model with ctc_loss on synthetic
// sequences, printing the loss of every epoch.
//
// Each sequence is a few labels from {1, ..., C−1}; its frames are the
// embedding of the label being spoken (each label lasts a few frames, with
// blank frames between) plus noise. The model maps each frame to C logits
// with one weight matrix (logits = frame·W); log_softmax and ctc_loss come
// from torchloss, whose gradient with respect to the logits drives plain
// gradient descent on W.
//
//	go run ./examples/ctc
package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

func main() {
	if _, err := train(25, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ctc:", err)
		os.Exit(1)
	}
}

const (
	batch    = 16 // sequences
	frames   = 40 // T
	classes  = 6  // C, blank = 0
	features = 8  // per frame
)

// data returns frames (T, N, features) row-major, padded targets (N, S) and
// the lengths.
func data(r *rand.Rand) (x []float64, targets []int64, inLen, tgtLen []int64, maxS int) {
	emb := make([][]float64, classes)
	for c := range emb {
		emb[c] = make([]float64, features)
		for j := range emb[c] {
			emb[c][j] = r.NormFloat64()
		}
	}
	x = make([]float64, frames*batch*features)
	maxS = 6
	targets = make([]int64, batch*maxS)
	for b := 0; b < batch; b++ {
		s := 3 + r.IntN(maxS-2)
		t := 0
		for k := 0; k < s; k++ {
			label := int64(1 + r.IntN(classes-1))
			targets[b*maxS+k] = label
			// a blank gap, then the label for 3–4 frames
			for _, c := range []int64{0, label, label, label} {
				for j := 0; j < features; j++ {
					x[(t*batch+b)*features+j] = emb[c][j] + 0.3*r.NormFloat64()
				}
				t++
			}
		}
		for ; t < frames; t++ { // trailing blanks
			for j := 0; j < features; j++ {
				x[(t*batch+b)*features+j] = emb[0][j] + 0.3*r.NormFloat64()
			}
		}
		inLen = append(inLen, frames)
		tgtLen = append(tgtLen, int64(s))
	}
	return x, targets, inLen, tgtLen, maxS
}

// train runs full-batch gradient descent on W and returns each epoch's loss.
func train(epochs int, out io.Writer) ([]float64, error) {
	const lr = 0.5
	r := rand.New(rand.NewPCG(3, 4))
	x, targets, inLen, tgtLen, maxS := data(r)
	tgt := tensor.MustNew(targets, batch, maxS)
	w := make([]float64, features*classes)
	var losses []float64
	for epoch := 1; epoch <= epochs; epoch++ {
		logits := make([]float64, frames*batch*classes)
		for row := 0; row < frames*batch; row++ {
			for c := 0; c < classes; c++ {
				var s float64
				for j := 0; j < features; j++ {
					s += x[row*features+j] * w[j*classes+c]
				}
				logits[row*classes+c] = s
			}
		}
		z := tensor.MustNew(logits, frames, batch, classes)
		if err := z.SetRequiresGrad(true); err != nil {
			return nil, err
		}
		lp, err := F.LogSoftmax(z, 2)
		if err != nil {
			return nil, err
		}
		loss, err := F.CTCLossInts(lp, tgt, inLen, tgtLen)
		if err != nil {
			return nil, err
		}
		if err := loss.Backward(); err != nil {
			return nil, err
		}
		// Chain rule through logits = frame·W.
		gz := z.Grad().Float64s()
		for j := 0; j < features; j++ {
			for c := 0; c < classes; c++ {
				var g float64
				for row := 0; row < frames*batch; row++ {
					g += x[row*features+j] * gz[row*classes+c]
				}
				w[j*classes+c] -= lr * g
			}
		}
		v, _ := loss.Item()
		losses = append(losses, v)
		fmt.Fprintf(out, "epoch %2d  ctc loss %.4f\n", epoch, v)
	}
	return losses, nil
}
