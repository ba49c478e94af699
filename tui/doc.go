// Package tui is the lab's interactive front end, a bubbletea v2 program:
// a scenario picker, a run view that draws every frame between Alice
// (client), Mallory (attacker) and Bob (server) as a live sequence diagram
// with the attacker's verdict on it, a detail pane for the selected frame,
// and a help screen.
//
// # Architecture
//
// [Model] routes messages between one model per view (picker, run, help).
// Every view embeds [Common]: its size, the [Styles] from [DefaultStyles]
// and the [KeyMap] from [DefaultKeyMap], which also drives the help bar,
// the help screen and the key table in docs/tui.md.
//
// A run is [scenarios.Run] in a goroutine that a tea.Cmd starts. Its trace
// events reach the model only as messages: OnEvent puts them on a channel
// that a second tea.Cmd reads, one event per message, issued again for
// the next. Restarting, switching scenario and quitting cancel the run and
// wait for it.
//
// [Run] opens the lab on a terminal; docs/tui.md shows every view and key.
package tui
