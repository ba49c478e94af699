package kex

import "github.com/mitmlab/mitmlab/channel"

// NamePinnedECDHCTR is pinned-ecdh-ctr's name.
const NamePinnedECDHCTR = "pinned-ecdh-ctr"

// PinnedECDHCTR is pinned-ecdh's handshake, unchanged, with records in
// AES-256-CTR and no MAC ([channel.AES256CTR]). The attacker gets no key:
// the handshake is as strong as pinned-ecdh's. What he can still do is
// change records he cannot read.
func PinnedECDHCTR() *Scheme {
	s := PinnedECDH()
	s.Name = NamePinnedECDHCTR
	s.Summary = "pinned-ecdh's handshake; records in AES-256-CTR with no MAC"
	s.Client = renameClient(s.Name, s.Client)
	s.Server = renameServer(s.Name, s.Server)
	// INSECURE(tamper-ctr): the records are encrypted, not authenticated:
	// whoever flips a bit of a record's ct flips the same bit of what the
	// receiver accepts.
	s.Suite = channel.AES256CTR
	return s
}
