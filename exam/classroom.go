package exam

import (
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/mitmlab/mitmlab/attacker"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/trace"
)

// Classroom returns an attacker.Options.Choose for a room of students on
// one attacker: each student (told apart by the ?name= their client
// sends) gets the exam's plan in order, one attack per connection, round
// after round, whatever the others do.
func Classroom(s *kex.Scheme, hold time.Duration) func(int, *http.Request) *attacker.Attack {
	plan := Plan(s, hold)
	var mu sync.Mutex
	next := map[string]int{}
	return func(_ int, r *http.Request) *attacker.Attack {
		name := r.URL.Query().Get("name")
		mu.Lock()
		defer mu.Unlock()
		a := plan[next[name]%len(plan)]
		next[name]++
		return a
	}
}

// Student is one student's tally: their connections through the
// attacker, graded as the exam grades them.
type Student struct {
	Name        string   `json:"name"` // "" for a client that sent none
	Connections int      `json:"connections"`
	Read        int      `json:"read"`     // messages Mallory recovered, over all connections
	Refused     int      `json:"refused"`  // connections the student's client refused
	Detected    int      `json:"detected"` // record-layer changes it noticed
	Failed      []string `json:"failed"`   // attacks that got through, once each
}

// Passed reports whether no attack got through.
func (s Student) Passed() bool { return len(s.Failed) == 0 && s.Read == 0 }

// Tally grades every connection in events (each by the attack its events
// name) and sums them per student, by name. It works on a live stream:
// a connection still open is graded on what it has done so far.
func Tally(events []trace.Event) []Student {
	conns := map[int][]trace.Event{}
	var order []int
	for _, e := range events {
		if e.Conn == 0 {
			continue
		}
		if _, ok := conns[e.Conn]; !ok {
			order = append(order, e.Conn)
		}
		conns[e.Conn] = append(conns[e.Conn], e)
	}
	byName := map[string]*Student{}
	var names []string
	for _, c := range order {
		ev := conns[c]
		name, attack := ev[0].Name, ev[0].Attack
		st := byName[name]
		if st == nil {
			st = &Student{Name: name}
			byName[name] = st
			names = append(names, name)
		}
		a := Grade(attack, ev)
		st.Connections++
		st.Read += a.Read
		if a.Refused {
			st.Refused++
		}
		if a.Detected {
			st.Detected++
		}
		if !a.Passed && !contains(st.Failed, attack) {
			st.Failed = append(st.Failed, attack)
		}
	}
	sort.Strings(names)
	out := make([]Student, 0, len(names))
	for _, n := range names {
		out = append(out, *byName[n])
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
