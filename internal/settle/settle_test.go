package settle

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// node is a fake node with one connection that ends when released or
// closed.
type node struct {
	once   sync.Once
	ended  chan struct{}
	closed bool
}

func newNode() *node     { return &node{ended: make(chan struct{})} }
func (n *node) release() { n.once.Do(func() { close(n.ended) }) }
func (n *node) Wait()    { <-n.ended }
func (n *node) Close()   { n.closed = true; n.release() }

func TestWaitReturnsWhenConnectionsEnd(t *testing.T) {
	defer goleak.VerifyNone(t)
	a, b := newNode(), newNode()
	go func() { a.release(); b.release() }()
	Wait(context.Background(), a, b)
	if a.closed || b.closed {
		t.Error("Wait closed nodes whose connections ended on their own")
	}
}

func TestWaitClosesNodesWhenContextEnds(t *testing.T) {
	defer goleak.VerifyNone(t)
	a, b := newNode(), newNode()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	Wait(ctx, a, b) // neither ends by itself
	if !a.closed || !b.closed {
		t.Errorf("closed: %v %v; want both closed after the context ended", a.closed, b.closed)
	}
}
