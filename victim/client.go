package victim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
)

// Default timeouts, used when an option is zero.
const (
	DefaultTimeout          = 10 * time.Second // a client's dial and handshake
	DefaultHandshakeTimeout = 10 * time.Second // a server's handshake
	DefaultIdleTimeout      = 5 * time.Minute  // an established session's quiet
)

// SchemeMismatchError reports that the server speaks another scheme.
type SchemeMismatchError struct {
	Client string // the scheme the client speaks
	Server string // the scheme the server named, if it named one
	Detail string
}

func (e *SchemeMismatchError) Error() string {
	if e.Server == "" {
		return fmt.Sprintf("protocol mismatch: client speaks %s; the server did not agree (%s)", e.Client, e.Detail)
	}
	return fmt.Sprintf("protocol mismatch: client speaks %s, server speaks %s", e.Client, e.Server)
}

// DialError reports a WebSocket upgrade that failed before any lab message:
// the server answered with another HTTP status, or not at all.
type DialError struct {
	URL    string
	Status int    // the HTTP status the server answered with, or 0
	Body   string // the start of its body
	Err    error
}

func (e *DialError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("dial %s: the server answered HTTP %d %s", e.URL, e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("dial %s: %v", e.URL, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// Client is Alice.
type Client struct {
	Scheme *kex.Scheme
	// Config is passed to the scheme's client half; a scheme with an
	// Identity needs Pin.
	Config *kex.ClientConfig
	// Records configures the record layer; nil means the defaults.
	Records *channel.Options
	// HTTPClient dials the server; nil means http.DefaultClient. Over
	// wss:// its transport makes the TLS checks.
	HTTPClient *http.Client
	// Header is sent with the upgrade request, for example an Origin.
	Header http.Header
	// Name, if not empty, is sent as the query parameter "name", so that
	// a shared attacker can tell students apart.
	Name string
	// Timeout bounds the dial and the handshake; IdleTimeout, the wait for
	// each reply. Zero means DefaultTimeout and DefaultIdleTimeout.
	Timeout, IdleTimeout time.Duration
	// Tap, if not nil, sees every message on the wire.
	Tap wire.Tap
	// CloseTap, if not nil, sees the close frames on the wire.
	CloseTap wire.CloseTap
}

// Session is an established, encrypted chat with the server.
type Session struct {
	ch   *channel.Channel
	idle *wire.Watchdog
	late [][]byte
}

// Dial connects to rawURL, runs the handshake and returns the session.
func (c *Client) Dial(ctx context.Context, rawURL string) (*Session, error) {
	if err := c.Scheme.Check(); err != nil {
		return nil, err
	}
	name := c.Scheme.Name
	target, err := c.target(rawURL)
	if err != nil {
		return nil, err
	}
	timeout := or(c.Timeout, DefaultTimeout)
	dctx, cancel := context.WithTimeout(ctx, timeout)
	ws, resp, err := websocket.Dial(dctx, target, &websocket.DialOptions{
		HTTPClient:   c.HTTPClient,
		HTTPHeader:   c.Header,
		Subprotocols: []string{wire.Subprotocol(name)},
	})
	cancel()
	if err != nil {
		return nil, c.dialError(ctx, rawURL, resp, err, timeout)
	}
	if ws.Subprotocol() != wire.Subprotocol(name) {
		ws.Close(websocket.StatusProtocolError, "protocol mismatch")
		return nil, &SchemeMismatchError{Client: name, Detail: fmt.Sprintf("server chose subprotocol %q", ws.Subprotocol())}
	}
	conn := wire.NewConn(ws, c.Scheme.Codec())
	conn.SetTap(c.Tap)
	conn.OnClose(c.CloseTap)
	// The handshake's reads are not cancelled by ctx, which would drop the
	// connection without a word: a watchdog bounds them, and a cancelled
	// ctx closes with 1001.
	dog := conn.Watch(timeout, wire.ErrHandshakeTimeout)
	stop := context.AfterFunc(ctx, func() { conn.Fail(ErrInterrupted) })
	secrets, err := c.Scheme.Client(context.WithoutCancel(ctx), conn, c.Config)
	stop()
	dog.Stop()
	if err != nil {
		conn.CloseNow()
		return nil, err
	}
	secrets.Suite = c.Scheme.Suite
	ch, err := channel.New(conn, secrets, channel.Client, c.Records)
	if err != nil {
		return nil, conn.Fail(err)
	}
	return &Session{ch: ch, idle: conn.Watch(or(c.IdleTimeout, DefaultIdleTimeout), wire.ErrIdleTimeout)}, nil
}

func or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// target adds the name to rawURL.
func (c *Client) target(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("dial: %w", err)
	}
	if c.Name != "" {
		q := u.Query()
		q.Set("name", c.Name)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

func (c *Client) dialError(ctx context.Context, rawURL string, resp *http.Response, err error, timeout time.Duration) error {
	if resp != nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode == http.StatusBadRequest && resp.Header.Get(SchemeHeader) != "" {
			return &SchemeMismatchError{Client: c.Scheme.Name, Server: resp.Header.Get(SchemeHeader), Detail: strings.TrimSpace(string(body))}
		}
		return &DialError{URL: rawURL, Status: resp.StatusCode, Body: strings.TrimSpace(string(body)), Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		err = fmt.Errorf("%w within %s", wire.ErrDialTimeout, timeout)
	}
	return &DialError{URL: rawURL, Err: err}
}

// Send encrypts and sends one message.
func (s *Session) Send(ctx context.Context, msg []byte) error {
	if _, err := s.ch.Send(ctx, msg); err != nil {
		return s.ch.Conn().Fail(err)
	}
	return nil
}

// Receive returns the next message from the server. It returns io.EOF
// once the server has ended the conversation with its end record.
func (s *Session) Receive(ctx context.Context) ([]byte, error) {
	msg, _, err := s.ch.Receive(ctx)
	s.idle.Kick()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, s.ch.Conn().Fail(err)
	}
	return msg, nil
}

// Close ends the conversation in order: it sends the client's end record,
// reads until the server's end record, and closes with 1000. Messages the
// server sent in between are kept ([Session.Late]). An error means the end
// was not clean: for example [channel.ErrTruncated] when the connection
// ended without the server's end record.
func (s *Session) Close(ctx context.Context) error {
	defer s.idle.Stop()
	if !s.ch.EndsWithRecords() {
		// INSECURE(truncation): an ordinary close ends the conversation.
		return s.ch.Conn().Close(websocket.StatusNormalClosure, "bye")
	}
	if err := s.ch.End(ctx); err != nil {
		return s.ch.Conn().Fail(err)
	}
	for !s.ch.PeerEnded() {
		msg, _, err := s.ch.Receive(ctx)
		s.idle.Kick()
		switch {
		case errors.Is(err, io.EOF):
		case err != nil:
			return s.ch.Conn().Fail(err)
		default:
			s.late = append(s.late, msg)
		}
	}
	// Both ends are in: nothing can be lost now, so a close frame that
	// does not make it back (a peer that already hung up) is no error.
	s.ch.Conn().Close(websocket.StatusNormalClosure, "bye")
	return nil
}

// End sends the client's end record: it will send nothing more. The
// server answers with its own, which Receive reports as io.EOF.
func (s *Session) End(ctx context.Context) error {
	if err := s.ch.End(ctx); err != nil {
		return s.ch.Conn().Fail(err)
	}
	return nil
}

// Hangup closes the connection with code and reason, once the
// conversation is over (or abandoned).
func (s *Session) Hangup(code websocket.StatusCode, reason string) {
	s.idle.Stop()
	s.ch.Conn().Close(code, reason)
}

// Drop drops the connection without a close frame, if it is still open.
func (s *Session) Drop() {
	s.idle.Stop()
	s.ch.Conn().CloseNow()
}

// Leave ends this side of the conversation at once, for a client that is
// interrupted: it sends its end record, so the server knows nothing was
// cut, and closes with 1001 without waiting for the server's.
func (s *Session) Leave(ctx context.Context, reason string) error {
	defer s.idle.Stop()
	err := s.ch.End(ctx)
	s.ch.Conn().Close(websocket.StatusGoingAway, reason)
	return err
}

// Late returns the messages that arrived while Close waited for the
// server's end record.
func (s *Session) Late() [][]byte { return s.late }

// ErrInterrupted is how a client that is stopped (Ctrl-C) leaves: with
// 1001, going away.
var ErrInterrupted error = &wire.CodedError{Msg: "client interrupted", Code: websocket.StatusGoingAway}

// ErrServerEnded is returned by Chat when the server ended the
// conversation, with its authenticated end record, before it had answered
// every message: the server's own choice, not an attack.
var ErrServerEnded = errors.New("the server ended the conversation before answering")

// ChatResult is what the client saw in a chat.
type ChatResult struct {
	Sent    [][]byte // messages the client sent, in order
	Replies [][]byte // replies the client accepted, in order
	Err     error    // the first error; nil if the chat ended cleanly
}

// Chat dials url, sends each message and waits for its reply, then ends
// the conversation with [Session.Close]. The result always holds what
// happened before any error.
func (c *Client) Chat(ctx context.Context, url string, messages [][]byte) *ChatResult {
	res := &ChatResult{}
	s, err := c.Dial(ctx, url)
	if err != nil {
		res.Err = err
		return res
	}
	for _, m := range messages {
		if err := s.Send(ctx, m); err != nil {
			res.Err = err
			s.idle.Stop()
			return res
		}
		res.Sent = append(res.Sent, m)
		r, err := s.Receive(ctx)
		if errors.Is(err, io.EOF) {
			res.Err = ErrServerEnded
			s.Close(ctx)
			return res
		}
		if err != nil {
			res.Err = err
			s.idle.Stop()
			return res
		}
		res.Replies = append(res.Replies, r)
	}
	err = s.Close(ctx)
	res.Replies = append(res.Replies, s.Late()...)
	if err != nil {
		res.Err = err
	}
	return res
}
