package victim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/wire"
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

// Client is Alice.
type Client struct {
	Scheme kex.Scheme
	// Config is passed to the scheme's client half; pinned-ecdh needs Pin.
	Config *kex.ClientConfig
	// HTTPClient dials the server; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Tap, if not nil, sees every message on the wire.
	Tap wire.Tap
	// CloseTap, if not nil, sees the close frames on the wire.
	CloseTap wire.CloseTap
}

// Session is an established, encrypted chat with the server.
type Session struct {
	ch *channel.Channel
}

// Dial connects to url, runs the handshake and returns the session.
func (c *Client) Dial(ctx context.Context, url string) (*Session, error) {
	name := c.Scheme.Name()
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient:   c.HTTPClient,
		Subprotocols: []string{wire.Subprotocol(name)},
	})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusBadRequest {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return nil, &SchemeMismatchError{Client: name, Server: resp.Header.Get(SchemeHeader), Detail: strings.TrimSpace(string(body))}
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	if ws.Subprotocol() != wire.Subprotocol(name) {
		ws.Close(websocket.StatusProtocolError, "protocol mismatch")
		return nil, &SchemeMismatchError{Client: name, Detail: fmt.Sprintf("server chose subprotocol %q", ws.Subprotocol())}
	}
	conn := wire.NewConn(ws, c.Tap)
	conn.OnClose(c.CloseTap)
	secrets, err := c.Scheme.Client(ctx, conn, c.Config)
	if err != nil {
		return nil, err
	}
	ch, err := channel.New(conn, secrets, channel.Client)
	if err != nil {
		return nil, conn.Fail(err)
	}
	return &Session{ch: ch}, nil
}

// Send encrypts and sends one message.
func (s *Session) Send(ctx context.Context, msg []byte) error {
	_, err := s.ch.Send(ctx, msg)
	if err != nil {
		return s.ch.Conn().Fail(err)
	}
	return nil
}

// Receive returns the next message from the server.
func (s *Session) Receive(ctx context.Context) ([]byte, error) {
	msg, _, err := s.ch.Receive(ctx)
	if err != nil {
		return nil, s.ch.Conn().Fail(err)
	}
	return msg, nil
}

// Close ends the session with a normal closure.
func (s *Session) Close() error {
	return s.ch.Conn().Close(websocket.StatusNormalClosure, "bye")
}

// ChatResult is what the client saw in a chat.
type ChatResult struct {
	Sent    [][]byte // messages the client sent, in order
	Replies [][]byte // replies the client accepted, in order
	Err     error    // the first error; nil if the chat ended normally
}

// Chat dials url, sends each message and waits for its reply, then closes.
// The result always holds what happened before any error.
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
			return res
		}
		res.Sent = append(res.Sent, m)
		r, err := s.Receive(ctx)
		if err != nil {
			res.Err = err
			return res
		}
		res.Replies = append(res.Replies, r)
	}
	if err := s.Close(); err != nil && !errors.Is(err, context.Canceled) {
		res.Err = fmt.Errorf("close: %w", err)
	}
	return res
}

func isNormalClose(err error) bool {
	var ce *wire.CloseError
	return errors.As(err, &ce) && (ce.Code == websocket.StatusNormalClosure || ce.Code == websocket.StatusGoingAway)
}
