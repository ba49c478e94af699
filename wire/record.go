package wire

// The record layer's messages. Every scheme's connection carries them after
// its handshake; package channel seals and opens them.

// Record message types.
const (
	TypeData Type = "data"
	TypeEnd  Type = "end"
)

// TagSize is the size of an AES-GCM tag, the shortest ct an authenticated
// record can have.
const TagSize = 16

// Data is one record of chat: {"type":"data","seq":N,"ct":B64}.
type Data struct {
	Seq uint64
	CT  []byte // the sealed plaintext; for AEAD suites, ciphertext and tag
}

// MessageType returns "data".
func (*Data) MessageType() Type { return TypeData }

// Fields lists seq and ct. ct may be empty for the null suite; an AEAD
// suite refuses anything shorter than its tag when it opens the record.
func (m *Data) Fields() []Field {
	f := m.fields()
	return f[:]
}

func (m *Data) fields() [2]Field {
	return [2]Field{Uint("seq", &m.Seq), Bytes("ct", &m.CT, 0, MaxMessageSize)}
}

// End is a side's authenticated end of conversation:
// {"type":"end","seq":N,"ct":B64}. It is sealed like a data record, at the
// next sequence number, with "end" in its additional data, so only a holder
// of the keys can make one and a data record cannot be turned into one.
type End struct {
	Seq uint64
	CT  []byte
}

// MessageType returns "end".
func (*End) MessageType() Type { return TypeEnd }

// Fields lists seq and ct.
func (m *End) Fields() []Field {
	f := m.fields()
	return f[:]
}

func (m *End) fields() [2]Field {
	return [2]Field{Uint("seq", &m.Seq), Bytes("ct", &m.CT, 0, MaxMessageSize)}
}

// fieldsOf returns m's fields. The record layer's messages, which cross
// the wire once for every chat message, fill buf instead of allocating a
// slice; every other message answers its Fields.
func fieldsOf(m Message, buf *[2]Field) []Field {
	switch r := m.(type) {
	case *Data:
		*buf = r.fields()
	case *End:
		*buf = r.fields()
	default:
		return m.Fields()
	}
	return buf[:]
}

// Records is a codec for the record layer's messages alone.
func Records() *Codec { return MustCodec(&Data{}, &End{}) }
