package mallory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// NodeEnv, if set, names the JavaScript file a [Node] client runs instead
// of the one it was given: the proof test points it at the pristine
// starter and at the reference solution, and leaves the student's file
// alone.
const NodeEnv = "MITMLAB_EXERCISE_JS"

// NeedNode returns the node binary, or fails t saying how to get one: a
// JavaScript exercise cannot be checked without it.
func NeedNode(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("this exercise runs your JavaScript with Node 20 or later: install it (apt-get install nodejs) and check again")
	}
	return node
}

var nodeVersion = regexp.MustCompile(`^v(\d+)\.`)

// NodeFlags returns the flags node needs for a global WebSocket: Node 20
// and 21 have one only behind --experimental-websocket.
func NodeFlags(ctx context.Context, node string) ([]string, error) {
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("mallory: %s --version: %w", node, err)
	}
	m := nodeVersion.FindSubmatch(bytes.TrimSpace(out))
	if m == nil {
		return nil, fmt.Errorf("mallory: node says it is %q", bytes.TrimSpace(out))
	}
	switch v, _ := strconv.Atoi(string(m[1])); {
	case v < 20:
		return nil, fmt.Errorf("mallory: node %s is too old; the exercise needs Node 20 or later", bytes.TrimSpace(out))
	case v < 22:
		return []string{"--experimental-websocket"}, nil
	}
	return nil, nil
}

// Node is a client written in JavaScript: node runs the script run (an
// exercise's run.mjs) with the student's module student, once per
// connection, and the script prints {"sent":[...],"received":[...],
// "error":"..."} as one line.
func Node(node, run, student string) Client {
	if s := os.Getenv(NodeEnv); s != "" {
		student = s
	}
	return func(ctx context.Context, c Conn) Chat {
		flags, err := NodeFlags(ctx, node)
		if err != nil {
			return Chat{Err: err}
		}
		args := append(flags, run, "--url", c.URL, "--pin", c.Pin, "--student", student, "--timeout", strconv.FormatInt(c.Timeout.Milliseconds(), 10))
		for _, m := range c.Messages {
			args = append(args, "--message", m)
		}
		cmd := exec.CommandContext(ctx, node, args...)
		cmd.WaitDelay = time.Second
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return Chat{Err: fmt.Errorf("node %s: %w: %s", run, err, strings.TrimSpace(stderr.String()))}
		}
		var r struct {
			Sent, Received []string
			Error          string
		}
		if err := json.Unmarshal(out, &r); err != nil {
			return Chat{Err: fmt.Errorf("node %s printed %q, not its result: %w", run, out, err)}
		}
		chat := Chat{}
		for _, s := range r.Sent {
			chat.Sent = append(chat.Sent, []byte(s))
		}
		for _, s := range r.Received {
			chat.Received = append(chat.Received, []byte(s))
		}
		if r.Error != "" {
			chat.Err = errors.New(r.Error)
		}
		return chat
	}
}
