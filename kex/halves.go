package kex

import "io"

// ecdhServer is what every X25519 server half in this package shares: the
// client's hello, the server's own key share and the shared secret, and
// the three steps that produce them. A scheme's server state embeds it
// and adds its own steps; a method of the state with the same name takes
// its place.
type ecdhServer struct {
	h      *hs
	rand   io.Reader // nil: crypto/rand
	keyLog io.Writer // if not nil, each ephemeral share is logged here (KeyLogServerEphemeral)

	chm    *ClientHello
	ch     []byte // raw client_hello as received
	ks     *KeyShare
	shared []byte
}

func newECDHServer(h *hs, cfg *ServerConfig) ecdhServer {
	return ecdhServer{h: h, rand: cfg.Rand}
}

func (e *ecdhServer) readClientHello() (err error) {
	e.chm, e.ch, err = readAs[*ClientHello](e.h)
	return err
}

func (e *ecdhServer) generateKeyShare() (err error) {
	if e.ks, err = NewKeyShare(e.rand); err == nil {
		logEphemeral(e.keyLog, e.chm.Nonce, e.ks)
	}
	return err
}

func (e *ecdhServer) computeShared() (err error) {
	e.shared, err = e.ks.Shared(e.chm.KeyShare)
	return err
}

// ecdhClient is the client's counterpart of ecdhServer.
type ecdhClient struct {
	h       *hs
	rand    io.Reader // nil: crypto/rand
	offered []string  // client_hello's offered schemes, if any

	ks     *KeyShare
	ch     []byte // raw client_hello as sent
	shm    *ServerHello
	sh     []byte // raw server_hello as received
	shared []byte
}

func newECDHClient(h *hs, cfg *ClientConfig) ecdhClient {
	return ecdhClient{h: h, rand: cfg.Rand}
}

func (e *ecdhClient) generateKeyShare() (err error) {
	e.ks, err = NewKeyShare(e.rand)
	return err
}

func (e *ecdhClient) sendClientHello() (err error) {
	e.ch, err = e.h.write(&ClientHello{Nonce: e.ks.Nonce, KeyShare: e.ks.Public(), Offered: e.offered})
	return err
}

func (e *ecdhClient) readServerHello() (err error) {
	e.shm, e.sh, err = readAs[*ServerHello](e.h)
	return err
}

func (e *ecdhClient) computeShared() (err error) {
	e.shared, err = e.ks.Shared(e.shm.KeyShare)
	return err
}
