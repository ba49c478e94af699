package tlslab

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"

	"github.com/coder/websocket"
	"github.com/mitmlab/mitmlab/channel"
	"github.com/mitmlab/mitmlab/kex"
	"github.com/mitmlab/mitmlab/victim"
	"github.com/mitmlab/mitmlab/wire"
)

// DialFunc opens a TCP-like connection to addr, "host:port". Its signature
// matches net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Client is Alice over TLS. She always asks for https://bob.lab and
// wss://bob.lab; where "bob.lab" really leads is up to Dial, the network,
// which is how an attacker on the path gets in: DNS, ARP or a rogue Wi-Fi
// access point send her to him.
type Client struct {
	Flow Flow
	// TLS is her TLS configuration, from [Trust.ClientConfig].
	TLS *tls.Config
	// Dial opens her connections to bob.lab:443.
	Dial DialFunc
	// Wrap, if not nil, wraps each raw connection she opens, before TLS:
	// the lab uses it to put an eavesdropper on the wire.
	Wrap func(net.Conn) net.Conn
}

// Chat runs the flow with messages and returns what Alice saw: the
// messages she sent, the replies she accepted and the first error. A
// refused certificate comes back as the real crypto/tls error, wrapped by
// net/http or the WebSocket library; [Refusal] names it.
func (c *Client) Chat(ctx context.Context, messages [][]byte) *victim.ChatResult {
	res := &victim.ChatResult{}
	if err := c.Flow.check(); err != nil {
		res.Err = err
		return res
	}
	if c.TLS == nil || c.Dial == nil {
		res.Err = errors.New("tlslab: client needs TLS and Dial")
		return res
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := c.Dial(ctx, network, addr)
			if err != nil || c.Wrap == nil {
				return conn, err
			}
			return c.Wrap(conn), nil
		},
		TLSClientConfig:   c.TLS.Clone(),
		ForceAttemptHTTP2: false, // WebSocket upgrades need HTTP/1.1
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	var query string
	var secrets *channel.Secrets
	if c.Flow == FlowHTTPSKey {
		sid, s, err := c.openSession(ctx, hc)
		if err != nil {
			res.Err = err
			return res
		}
		query, secrets = "?session="+url.QueryEscape(sid), s
	}
	ws, _, err := websocket.Dial(ctx, "wss://"+ServerName+PathChat+query, &websocket.DialOptions{
		HTTPClient:   hc,
		Subprotocols: []string{c.Flow.Subprotocol()},
	})
	if err != nil {
		res.Err = fmt.Errorf("dial wss://%s%s: %w", ServerName, PathChat, err)
		return res
	}
	defer ws.CloseNow() // after a normal Close, a no-op
	if ws.Subprotocol() != c.Flow.Subprotocol() {
		ws.Close(websocket.StatusProtocolError, "protocol mismatch")
		res.Err = fmt.Errorf("protocol mismatch: server chose subprotocol %q, want %q", ws.Subprotocol(), c.Flow.Subprotocol())
		return res
	}
	var s chatConn = plainChat{ws}
	if secrets != nil {
		conn := wire.NewConn(ws, nil)
		ch, err := channel.New(conn, secrets, channel.Client)
		if err != nil {
			res.Err = conn.Fail(err)
			return res
		}
		s = sealedChat{ch}
	}
	for _, m := range messages {
		if err := s.send(ctx, m); err != nil {
			res.Err = err
			return res
		}
		res.Sent = append(res.Sent, m)
		r, err := s.receive(ctx)
		if err != nil {
			res.Err = err
			return res
		}
		res.Replies = append(res.Replies, r)
	}
	if err := ws.Close(websocket.StatusNormalClosure, "bye"); err != nil && !errors.Is(err, context.Canceled) && !peerGone(err) {
		res.Err = fmt.Errorf("close: %w", err)
	}
	return res
}

// peerGone reports whether err is a write to a peer that has already
// closed. After the WebSocket close handshake the server closes its TLS
// connection at once, so Alice's own close_notify alert may find the
// socket gone: the chat is over by then and nothing was lost.
func peerGone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

// openSession is the first answer's key exchange: fetch Bob's RSA key over
// HTTPS, make an AES key, wrap it to his key and POST it. Every byte of it
// is exactly as safe as the HTTPS connection it travels on.
func (c *Client) openSession(ctx context.Context, hc *http.Client) (string, *channel.Secrets, error) {
	pemKey, err := do(ctx, hc, http.MethodGet, PathKey, "", nil)
	if err != nil {
		return "", nil, err
	}
	pub, err := ParsePublicKeyPEM(pemKey)
	if err != nil {
		return "", nil, err
	}
	secret := make([]byte, kex.SecretSize)
	rand.Read(secret)
	wrapped, err := kex.WrapSecret(pub, secret)
	if err != nil {
		return "", nil, fmt.Errorf("wrap the AES key: %w", err)
	}
	body, err := json.Marshal(sessionRequest{WrappedKey: wrapped})
	if err != nil {
		return "", nil, err
	}
	out, err := do(ctx, hc, http.MethodPost, PathSession, "application/json", body)
	if err != nil {
		return "", nil, err
	}
	var resp sessionResponse
	if err := decodeJSON(bytes.NewReader(out), &resp); err != nil || resp.Session == "" {
		return "", nil, fmt.Errorf("POST %s: the server's answer has no session: %v", PathSession, err)
	}
	// The same derivation as plaintext-rsa: the traffic keys come from the
	// 32-byte secret alone.
	return resp.Session, kex.RSASecrets(secret), nil
}

// do makes one HTTPS request to bob.lab and returns the body of a 200.
func do(ctx context.Context, hc *http.Client, method, path, contentType string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, "https://"+ServerName+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err // a *url.Error; a refused certificate is inside it
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("%s %s: response over %d bytes", method, path, maxBody)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %q", method, path, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

// ParsePublicKeyPEM parses a PEM "PUBLIC KEY" block holding an RSA-2048
// key, as GET /key serves it.
func ParsePublicKeyPEM(b []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("tlslab: %w: no PUBLIC KEY block", kex.ErrBadKey)
	}
	return kex.ParseRSAPublicKey(block.Bytes)
}

// chatConn sends and receives chat messages over the WebSocket.
type chatConn interface {
	send(ctx context.Context, msg []byte) error
	receive(ctx context.Context) ([]byte, error)
}

// plainChat sends each message as one text message; only TLS protects it.
type plainChat struct{ ws *websocket.Conn }

func (p plainChat) send(ctx context.Context, msg []byte) error {
	return p.ws.Write(ctx, websocket.MessageText, msg)
}

func (p plainChat) receive(ctx context.Context) ([]byte, error) {
	p.ws.SetReadLimit(maxChatMessage)
	typ, b, err := p.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		p.ws.Close(websocket.StatusUnsupportedData, "text messages only")
		return nil, fmt.Errorf("tlslab: %w", wire.ErrBinaryMessage)
	}
	return b, nil
}

// sealedChat seals each message under the AES key with the lab's record
// layer.
type sealedChat struct{ ch *channel.Channel }

func (s sealedChat) send(ctx context.Context, msg []byte) error {
	if _, err := s.ch.Send(ctx, msg); err != nil {
		return s.ch.Conn().Fail(err)
	}
	return nil
}

func (s sealedChat) receive(ctx context.Context) ([]byte, error) {
	msg, _, err := s.ch.Receive(ctx)
	if err != nil {
		return nil, s.ch.Conn().Fail(err)
	}
	return nonNil(msg), nil
}
