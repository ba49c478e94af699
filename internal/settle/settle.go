// Package settle lets a run's nodes finish the connections that the victim
// client closed, without waiting forever.
package settle

import (
	"context"
	"sync"
)

// Node is a server or attacker node that tracks its own connections.
type Node interface {
	// Wait blocks until every connection the node serves has ended.
	Wait()
	// Close ends every connection (with 1001) and waits for them.
	Close()
}

// Wait waits for every node's connections to end. If ctx ends first, it
// closes every node and still waits, so no goroutine outlives the call.
func Wait(ctx context.Context, nodes ...Node) {
	done := make(chan struct{})
	go func() {
		for _, n := range nodes {
			n.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		for _, n := range nodes {
			n.Close()
		}
		<-done
	}
}

// Group counts a node's open connections, like a sync.WaitGroup, but Add
// may race with Wait: a connection that arrives while a run settles is
// simply waited for too. (A WaitGroup forbids an Add from zero during a
// Wait, which an HTTP handler cannot promise.)
type Group struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to zero
}

// Add counts one more connection.
func (g *Group) Add() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n == 0 {
		g.idle = make(chan struct{})
	}
	g.n++
}

// Done counts one connection less.
func (g *Group) Done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 {
		close(g.idle)
	}
}

// Wait blocks until no connection is open.
func (g *Group) Wait() {
	for {
		g.mu.Lock()
		if g.n == 0 {
			g.mu.Unlock()
			return
		}
		idle := g.idle
		g.mu.Unlock()
		<-idle
	}
}
