package kex

import "github.com/mitmlab/mitmlab/channel"

// NamePinnedECDHNoSeq is pinned-ecdh-noseq's name.
const NamePinnedECDHNoSeq = "pinned-ecdh-noseq"

// PinnedECDHNoSeq is pinned-ecdh's handshake, unchanged, with records
// sealed by AES-256-GCM under a fresh random nonce each and no sequence
// check ([channel.RandomNonce]). Every record authenticates; nothing says
// it is the first time it arrives.
func PinnedECDHNoSeq() *Scheme {
	s := PinnedECDH()
	s.Name = NamePinnedECDHNoSeq
	s.Summary = "pinned-ecdh's handshake; records under random nonces with no sequence check"
	s.Client = renameClient(s.Name, s.Client)
	s.Server = renameServer(s.Name, s.Server)
	// INSECURE(replay-no-seq): a record is bound to its direction and to
	// nothing else, so a copy of it is accepted again as new.
	s.Suite = channel.RandomNonce
	return s
}
