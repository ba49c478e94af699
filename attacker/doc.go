// Package attacker is Mallory: a man-in-the-middle node that accepts the
// victim client's WebSocket (leg A), dials the one upstream server it was
// given (leg B), and runs an [Attack] between them.
//
// The node is built from the honest halves of the same schemes in package
// kex; what stops it against pinned-ecdh is authentication and nothing else.
// It records every frame on both legs in a [trace.Log], with a verdict that
// says what it really did: a frame is [trace.Read] only if the node opened
// it with keys it derived itself, and the recovered bytes go into the event
// so that tests can compare them with what the victim sent.
package attacker
