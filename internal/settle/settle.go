// Package settle lets a run's nodes finish the connections that the victim
// client closed, without waiting forever.
package settle

import "context"

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
