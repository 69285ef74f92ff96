package cluster

import (
	"errors"
	"fmt"
)

// EnvelopeVersion is the format of the Raft entry envelope written by this
// build. Decoders accept every version up to it; the format is only appended to.
const EnvelopeVersion byte = 1

// Kind names the store an entry is for. Values are never renumbered.
type Kind byte

const (
	// KindV3 carries a marshalled etcdserverpb.InternalRaftRequest.
	KindV3 Kind = 1
	// KindV2 carries a marshalled etcdserverpb.Request of the v2 keyspace.
	KindV2 Kind = 2
	// KindAuthV2 carries a JSON AuthV2Request: a change of the auth state
	// made through the v2 API, which has no etcdserverpb message.
	KindAuthV2 Kind = 3
	// kindEnd is one past the last known kind.
	kindEnd Kind = 4
)

func (k Kind) String() string {
	switch k {
	case KindV3:
		return "v3"
	case KindV2:
		return "v2"
	case KindAuthV2:
		return "auth-v2"
	default:
		return fmt.Sprintf("kind(%d)", byte(k))
	}
}

// ErrBadEnvelope is returned for an entry that is not a valid envelope: the
// log holds something this build cannot apply, which must stop the member.
var ErrBadEnvelope = errors.New("cluster: bad entry envelope")

// Envelope is the payload of one normal Raft entry: one request for one store.
type Envelope struct {
	Kind    Kind
	Payload []byte
}

// envelopeHeaderSize is the version byte plus the kind byte.
const envelopeHeaderSize = 2

// Marshal encodes the envelope as version, kind, payload.
func (e Envelope) Marshal() []byte {
	b := make([]byte, envelopeHeaderSize+len(e.Payload))
	putEnvelopeHeader(b, e.Kind)
	copy(b[envelopeHeaderSize:], e.Payload)
	return b
}

// putEnvelopeHeader writes the header into the first bytes of b, for
// callers that marshal the payload in place behind it.
func putEnvelopeHeader(b []byte, k Kind) {
	b[0] = EnvelopeVersion
	b[1] = byte(k)
}

// UnmarshalEnvelope decodes an entry's data. The payload aliases data.
func UnmarshalEnvelope(data []byte) (Envelope, error) {
	if len(data) < envelopeHeaderSize {
		return Envelope{}, fmt.Errorf("%w: %d bytes", ErrBadEnvelope, len(data))
	}
	if v := data[0]; v == 0 || v > EnvelopeVersion {
		return Envelope{}, fmt.Errorf("%w: unknown version %d", ErrBadEnvelope, v)
	}
	k := Kind(data[1])
	if k == 0 || k >= kindEnd {
		return Envelope{}, fmt.Errorf("%w: unknown kind %d", ErrBadEnvelope, data[1])
	}
	return Envelope{Kind: k, Payload: data[envelopeHeaderSize:]}, nil
}
