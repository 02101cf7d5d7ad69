package tensor

import (
	"math/rand/v2"
	"sync"

	"github.com/torchloss/torchloss"
)

// Generator is a seedable source of random tensors, in the spirit of
// torch.Generator. It is safe for concurrent use. The streams are
// torchloss's own (PCG): the same seed gives the same tensors on every
// platform, but not the numbers PyTorch's Mersenne Twister gives.
type Generator struct {
	mu sync.Mutex
	r  *rand.Rand
}

// NewGenerator returns a generator seeded with seed.
func NewGenerator(seed uint64) *Generator {
	return &Generator{r: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

// ManualSeed reseeds the default generator used by the package-level Randn,
// Rand, RandInt and Random, like torch.manual_seed.
func ManualSeed(seed uint64) {
	defaultGen.mu.Lock()
	defaultGen.r = rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	defaultGen.mu.Unlock()
}

var defaultGen = NewGenerator(0)

// fillFloat32 returns a float32 tensor of shape with values from f.
func (g *Generator) fillFloat32(shape []int, f func(r *rand.Rand) float64) (*Tensor, error) {
	n, err := Numel(shape)
	if err != nil {
		return nil, err
	}
	data := make([]float32, n)
	g.mu.Lock()
	for i := range data {
		data[i] = float32(f(g.r))
	}
	g.mu.Unlock()
	return FromData(data, shape)
}

// Randn returns a float32 tensor of standard normal samples, like
// torch.randn(*shape). Convert with To(Float64) for double precision.
func (g *Generator) Randn(shape ...int) (*Tensor, error) {
	return g.fillFloat32(shape, func(r *rand.Rand) float64 { return r.NormFloat64() })
}

// Rand returns a float32 tensor of samples uniform on [0, 1), like
// torch.rand(*shape).
func (g *Generator) Rand(shape ...int) (*Tensor, error) {
	return g.fillFloat32(shape, func(r *rand.Rand) float64 {
		// 24 random bits: every value is an exact float32 in [0, 1).
		return float64(r.Uint32()>>8) / (1 << 24)
	})
}

// Random returns a float32 tensor of integers drawn uniformly from
// [0, to), like torch.empty(*shape).random_(to): e.g. Random(2, 3) gives
// three values in {0, 1}, a binary target.
func (g *Generator) Random(to int64, shape ...int) (*Tensor, error) {
	if to <= 0 {
		return nil, torchloss.Errorf(torchloss.ErrValue, "random_", "to", "random_ expects 'from' to be less than 'to', but got from=0 >= to=%d", to)
	}
	return g.fillFloat32(shape, func(r *rand.Rand) float64 { return float64(r.Int64N(to)) })
}

// RandInt returns an int64 tensor of integers drawn uniformly from
// [low, high), like torch.randint(low, high, shape).
func (g *Generator) RandInt(low, high int64, shape ...int) (*Tensor, error) {
	if low >= high {
		return nil, torchloss.Errorf(torchloss.ErrValue, "randint", "high", "random_ expects 'from' to be less than 'to', but got from=%d >= to=%d", low, high)
	}
	n, err := Numel(shape)
	if err != nil {
		return nil, err
	}
	data := make([]int64, n)
	g.mu.Lock()
	for i := range data {
		data[i] = low + g.r.Int64N(high-low)
	}
	g.mu.Unlock()
	return FromData(data, shape)
}

// Randn draws from the default generator (see ManualSeed).
func Randn(shape ...int) (*Tensor, error) { return defaultGen.Randn(shape...) }

// Rand draws from the default generator (see ManualSeed).
func Rand(shape ...int) (*Tensor, error) { return defaultGen.Rand(shape...) }

// Random draws from the default generator (see ManualSeed).
func Random(to int64, shape ...int) (*Tensor, error) { return defaultGen.Random(to, shape...) }

// RandInt draws from the default generator (see ManualSeed).
func RandInt(low, high int64, shape ...int) (*Tensor, error) {
	return defaultGen.RandInt(low, high, shape...)
}
