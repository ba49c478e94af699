// Package tui is the lab's interactive front end, a bubbletea v2 program:
// a scenario picker grouped by topic, a run view that draws every frame
// between Alice (client), Mallory (attacker) and Bob (server) as a live
// sequence diagram with the attacker's verdict on it, a detail pane for
// the selected frame, and a help screen.
//
// # Architecture
//
// [Model] routes messages between one model per view (picker, run, help).
// Every view embeds [Common]: its size, the [Styles] from [DefaultStyles]
// and the [KeyMap] from [DefaultKeyMap], which also drives the help bar,
// the help screen and the key table in docs/tui.md. The run view answers
// keys through one table (runkeys.go) that pairs each binding with its
// action; the actions live with what they act on (playback, the frame
// list and its filters, switching scenario, typing as Alice).
//
// A run is [scenarios.Run] in a goroutine that a tea.Cmd starts. Its trace
// events reach the model only as messages: OnEvent puts them on a channel
// that a second tea.Cmd reads, one event per message, issued again for
// the next. Restarting, switching scenario and quitting cancel the run and
// wait for it.
//
// # Verdicts in words
//
// Each [trace.Verdict] has one meaning, and the detail pane says it in a
// sentence (explain.go). What a READ recovered depends on the frame: a
// chat message's text, the end of a victim's conversation, the session
// secret a handshake message wrapped, or a TLS record's content (an HTTP
// upgrade in full, WebSocket frames one a line). Nothing in the package
// knows a scheme by name: a handshake message's fields come from the
// scheme's codec.
//
// # Playing Mallory
//
// With intercept on (i), the run's attack is wrapped in
// [attacker.Intercept]: every record Mallory receives is held until the
// person says what becomes of it, and the answer goes back to the run's
// goroutine on a channel of its own (intercept.go). After each run a
// lesson card (cards.go) gives the takeaway, the fix and the scenario's
// page; attached to a live attacker, t tallies the classroom per student
// (tally.go); x exports the run (package export).
//
// [Run] opens the lab on a terminal; docs/tui.md shows every view and key.
package tui
