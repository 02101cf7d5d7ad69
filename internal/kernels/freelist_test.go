package kernels

import "testing"

// TestFreeList: LIFO, the zero value keeps everything, MaxItems and
// MaxBytes drop what would go past them, and Get frees the bytes.
func TestFreeList(t *testing.T) {
	var l FreeList[int]
	for i := 1; i <= 5; i++ {
		l.Put(i, 100)
	}
	if l.Len() != 5 || l.Bytes() != 500 {
		t.Fatalf("zero value holds %d, %d bytes; want 5, 500", l.Len(), l.Bytes())
	}
	if p, ok := l.Get(); !ok || p != 5 || l.Bytes() != 400 {
		t.Fatalf("Get = %d %v, %d bytes left; want 5 true, 400", p, ok, l.Bytes())
	}
	b := FreeList[int]{MaxItems: func() int { return 2 }, MaxBytes: 250}
	b.Put(1, 100)
	b.Put(2, 200) // 300 > 250: dropped
	b.Put(3, 100)
	b.Put(4, 10) // a third item: dropped
	if b.Len() != 2 || b.Bytes() != 200 {
		t.Fatalf("bounded list holds %d, %d bytes; want 2, 200", b.Len(), b.Bytes())
	}
	for _, want := range []int{3, 1} {
		if p, ok := b.Get(); !ok || p != want {
			t.Fatalf("Get = %d %v, want %d", p, ok, want)
		}
	}
	if _, ok := b.Get(); ok {
		t.Fatal("Get on an empty list")
	}
}
