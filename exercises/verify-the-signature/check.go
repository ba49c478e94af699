//go:build exercise

package exercise

import "github.com/mitmlab/mitmlab/exercises/mallory"

// Under is what Mallory checks: your Client, run by the lab's victim
// client, then the lab's record layer.
func Under() mallory.Client { return mallory.Half(Client) }
