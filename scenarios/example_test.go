package scenarios_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/scenarios"
)

// Run a scenario the attacker wins: Mallory runs one X25519 exchange with
// Alice and another with Bob, and reads every message while both victims
// see a normal chat.
func ExampleRun() {
	o, err := scenarios.Run(context.Background(), "unauth-ecdh", nil)
	if err != nil {
		fmt.Println("could not run:", err)
		return
	}
	fmt.Println(o.Summary())
	fmt.Printf("attacker read %d, delivered %d, misread %d\n", o.AttackerRead(), o.MessagesDelivered(), o.Misread())
	m := o.Messages[1]
	fmt.Printf("Alice sent %q; Mallory recovered %q\n", m.Text, m.Recovered)
	// Output:
	// attacker read 6/6 messages · victims noticed nothing
	// attacker read 6, delivered 6, misread 0
	// Alice sent "my card PIN is 4921"; Mallory recovered "my card PIN is 4921"
}

// Run the scenario the attacker loses: Alice has pinned Bob's key, so
// Mallory's certificate is refused before she sends a word.
func ExampleRun_pinned() {
	o, err := scenarios.Run(context.Background(), "pinned-ecdh", &scenarios.Options{
		Messages: []string{"my card PIN is 4921"},
	})
	if err != nil {
		fmt.Println("could not run:", err)
		return
	}
	fmt.Println("pin mismatch:", errors.Is(o.ClientErr, kex.ErrPinMismatch))
	fmt.Println("detected by:", o.DetectedBy)
	fmt.Println("reason:", o.Reason)
	fmt.Printf("attacker read %d, sent %d\n", o.AttackerRead(), o.MessagesSent())
	// Output:
	// pin mismatch: true
	// detected by: client
	// reason: key does not match pin
	// attacker read 0, sent 0
}
