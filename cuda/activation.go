package cuda

import (
	"runtime"
	"unsafe"

	"github.com/torchloss/torchloss/internal/devhook"
	"github.com/torchloss/torchloss/tensor"
)

func init() {
	devhook.Register("sigmoid", tensor.CUDA, sigmoidRun)
	devhook.Register("softmax", tensor.CUDA, softmaxRun("softmax"))
	devhook.Register("log_softmax", tensor.CUDA, softmaxRun("log_softmax"))
}

// sigmoidRun is torch.sigmoid on the GPU: y = 1/(1 + exp(−x)) by the
// pointwise kernel sigmoid (as the CPU: exp in double, rounded to T), and
// its backward g·(1 − y)·y by sigmoid_backward, both one pass at the
// memory bandwidth. Without it the sigmoid → binary_cross_entropy chain of
// the tutorial went through host copies.
func sigmoidRun(c *devhook.Call) (*tensor.Tensor, devhook.Backward, bool, error) {
	if len(c.Args) != 1 || c.Args[0] == nil {
		return nil, nil, false, nil
	}
	x := c.Args[0]
	dt := x.DType()
	if x.Device() != tensor.CUDA || !dt.IsFloat() || x.Numel() == 0 {
		return nil, nil, false, nil
	}
	m, err := module()
	if err != nil {
		return nil, nil, false, nil
	}
	f32 := dt == tensor.Float32
	fwd, err := m.Function("sigmoid" + suffixOf(f32))
	if err != nil {
		return nil, nil, true, err
	}
	bwd, err := m.Function("sigmoid_backward" + suffixOf(f32))
	if err != nil {
		return nil, nil, true, err
	}
	shape, n := x.Shape(), x.Numel()
	y, err := tensor.Empty(tensor.CUDA, dt, shape...)
	if err != nil {
		return nil, nil, true, err
	}
	p := params{n: int64(n), a: ptrOf(x), loss: ptrOf(y)}
	err = launch(fwd, pointwiseGrid(n, f32), &p)
	runtime.KeepAlive(x)
	if err != nil || len(c.Needs) == 0 || !c.Needs[0] {
		return y, nil, true, err
	}
	return y, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, err := tensor.Empty(tensor.CUDA, dt, shape...)
		if err != nil {
			return nil, err
		}
		q := params{n: int64(n), a: ptrOf(y), up: ptrOf(g), ga: ptrOf(gx)}
		err = launch(bwd, pointwiseGrid(n, f32), &q)
		runtime.KeepAlive(y)
		runtime.KeepAlive(g)
		return []*tensor.Tensor{gx}, err
	}, true, nil
}

// softmaxRun returns the forward kernel of softmax or log_softmax (kernel)
// along a last dimension (or one after which every size is 1): the row
// kernels of that name, one block per row, and their backward. Another
// dimension is declined (the host path runs).
func softmaxRun(kernel string) devhook.Forward {
	return func(c *devhook.Call) (*tensor.Tensor, devhook.Backward, bool, error) {
		if len(c.Args) != 1 || c.Args[0] == nil {
			return nil, nil, false, nil
		}
		x := c.Args[0]
		dt := x.DType()
		if x.Device() != tensor.CUDA || !dt.IsFloat() || x.Numel() == 0 {
			return nil, nil, false, nil
		}
		shape := x.Shape()
		cols := 1
		if len(shape) > 0 {
			d := c.Options.Dim
			if d < 0 || d >= len(shape) {
				return nil, nil, false, nil
			}
			for _, s := range shape[d+1:] {
				if s != 1 {
					return nil, nil, false, nil
				}
			}
			cols = shape[d]
		}
		rows := x.Numel() / cols
		m, err := module()
		if err != nil {
			return nil, nil, false, nil
		}
		f32 := dt == tensor.Float32
		fwd, err := m.Function(kernel + suffixOf(f32))
		if err != nil {
			return nil, nil, true, err
		}
		bwd, err := m.Function(kernel + "_backward" + suffixOf(f32))
		if err != nil {
			return nil, nil, true, err
		}
		y, err := tensor.Empty(tensor.CUDA, dt, shape...)
		if err != nil {
			return nil, nil, true, err
		}
		threads := threadsFor(cols)
		p := rowParams{x: ptrOf(x), loss: ptrOf(y), rows: int64(rows), cols: int64(cols)}
		err = launchGeom(fwd, gridFor(rows), threads, unsafe.Pointer(&p))
		runtime.KeepAlive(x)
		if err != nil || len(c.Needs) == 0 || !c.Needs[0] {
			return y, nil, true, err
		}
		return y, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
			gx, err := tensor.Empty(tensor.CUDA, dt, shape...)
			if err != nil {
				return nil, err
			}
			q := rowParams{x: ptrOf(y), up: ptrOf(g), ga: ptrOf(gx), rows: int64(rows), cols: int64(cols)}
			err = launchGeom(bwd, gridFor(rows), threads, unsafe.Pointer(&q))
			runtime.KeepAlive(y)
			runtime.KeepAlive(g)
			return []*tensor.Tensor{gx}, err
		}, true, nil
	}
}
