// Package attacker is Mallory: a [Node] that accepts the victim client's
// WebSocket (leg A), dials the one upstream server it is given (leg B),
// and runs an [Attack] on each connection, keeping a ledger of every frame
// on both legs with what it could do with it.
//
// The attacks are one table ([Attacks]): each entry is a name, the
// message fields it needs, a summary and the function that runs it. Every
// attack is built from the honest halves of the scheme and its exported
// steps, so the attacker holds no power the victims lack: what stops him
// in a secure scheme is authentication and nothing else.
//
// A verdict of read is earned: it is recorded only after a real
// [channel.Opener] opened the record, or a real RSA key unwrapped the
// secret, with keys the node holds, and the event carries the bytes.
package attacker
