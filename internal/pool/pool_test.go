package pool

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestEachBoundsParallelism(t *testing.T) {
	var running, peak atomic.Int32
	var mu sync.Mutex
	var seen []int
	items := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	release := make(chan struct{})
	go func() {
		for range items {
			release <- struct{}{}
		}
	}()
	left := Each(context.Background(), items, 3, nil, func(i int) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		mu.Lock()
		seen = append(seen, i)
		mu.Unlock()
		running.Add(-1)
	})
	if len(left) != 0 {
		t.Fatalf("not started: %v", left)
	}
	if p := peak.Load(); p > 3 || p < 1 {
		t.Fatalf("peak parallelism %d, want 1..3", p)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, items) {
		t.Fatalf("ran %v", seen)
	}
}

func TestEachStopsStartingAfterStop(t *testing.T) {
	var stopped atomic.Bool
	left := Each(context.Background(), []string{"a", "b", "c", "d"}, 1, stopped.Load, func(s string) {
		if s == "b" {
			stopped.Store(true)
		}
	})
	if !slices.Equal(left, []string{"c", "d"}) {
		t.Fatalf("not started %v, want [c d]", left)
	}
}

func TestEachStartsNothingOnDoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	left := All(ctx, []int{1, 2}, 2, func(int) { ran = true })
	if ran || !slices.Equal(left, []int{1, 2}) {
		t.Fatalf("ran=%v left=%v", ran, left)
	}
}

// A worker's panic reaches the caller's goroutine, where a recover can
// see it (the command turns it into exit 1), after the others finished.
func TestEachCarriesAWorkerPanicToTheCaller(t *testing.T) {
	var finished atomic.Int32
	defer func() {
		v := recover()
		if v == nil {
			t.Fatal("the panic was lost")
		}
		if s := fmt.Sprint(v); !strings.Contains(s, "boom") {
			t.Errorf("panic value %q does not carry the worker's", s)
		}
		if finished.Load() != 2 {
			t.Errorf("%d other workers finished, want 2", finished.Load())
		}
	}()
	All(context.Background(), []int{1, 2, 3}, 3, func(i int) {
		if i == 2 {
			panic("boom")
		}
		finished.Add(1)
	})
}
