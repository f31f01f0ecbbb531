// Package pool runs work over a list of servers with bounded parallelism:
// the one worker pool behind the rollout, doctor and status.
package pool

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// Each calls fn for every item, at most limit at once, starting them in list
// order. Once ctx is done or stop reports true (stop may be nil), nothing
// more starts; Each waits for what is running and returns, in list order,
// the items it never started. fn must honour ctx itself.
func Each[T any](ctx context.Context, items []T, limit int, stop func() bool, fn func(T)) (notStarted []T) {
	halted := func() bool { return ctx.Err() != nil || (stop != nil && stop()) }
	started := make([]bool, len(items)) // each goroutine writes only its own index
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
			fn(it)
			return nil
		})
	}
	_ = g.Wait() // workers return no errors: each records its own outcome
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
