// Package pool runs work over a list of servers with bounded parallelism:
// the one worker pool behind the rollout, doctor and status.
package pool

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// Each calls fn for every item, at most limit at once, starting them in list
// order. Once ctx is done or stop reports true (stop may be nil), nothing
// more starts; Each waits for what is running and returns, in list order,
// the items it never started. fn must honour ctx itself.
func Each[T any](ctx context.Context, items []T, limit int, stop func() bool, fn func(T)) (notStarted []T) {
	halted := func() bool { return ctx.Err() != nil || (stop != nil && stop()) }
	started := make([]bool, len(items)) // each goroutine writes only its own index
	// A worker's panic is carried to the caller's goroutine, where the
	// command's recover turns it into exit 1 and a report line; a panic
	// left on a worker would end the process with Go's exit 2.
	var caught atomic.Pointer[workerPanic]
	var g errgroup.Group
	g.SetLimit(max(limit, 1))
	for k, it := range items {
		if halted() {
			break
		}
		// Go waits for a free slot; failures or Ctrl-C may arrive meanwhile,
		// so the worker looks again before it starts.
		g.Go(func() error {
			if halted() {
				return nil
			}
			started[k] = true
			defer func() {
				if v := recover(); v != nil {
					caught.CompareAndSwap(nil, &workerPanic{value: v, stack: debug.Stack()})
				}
			}()
			fn(it)
			return nil
		})
	}
	_ = g.Wait() // workers return no errors: each records its own outcome
	if p := caught.Load(); p != nil {
		panic(p)
	}
	for k, it := range items {
		if !started[k] {
			notStarted = append(notStarted, it)
		}
	}
	return notStarted
}

// All calls fn for every item, at most limit at once, and waits for all of
// them. Items not started because ctx ended are returned, as with Each.
func All[T any](ctx context.Context, items []T, limit int, fn func(T)) (notStarted []T) {
	return Each(ctx, items, limit, nil, fn)
}

// workerPanic is a worker's panic, raised again on the caller's goroutine
// with the worker's stack.
type workerPanic struct {
	value any
	stack []byte
}

func (p *workerPanic) String() string {
	return fmt.Sprintf("%v\n\nworker goroutine:\n%s", p.value, p.stack)
}
func (p *workerPanic) Error() string { return p.String() }
