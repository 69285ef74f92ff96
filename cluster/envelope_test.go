package cluster

import (
	"bytes"
	"errors"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, payload := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte{0xff}, 1000)} {
		e := Envelope{Kind: KindV3, Payload: payload}
		got, err := UnmarshalEnvelope(e.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != KindV3 || !bytes.Equal(got.Payload, payload) {
			t.Fatalf("round trip of %q gave %+v", payload, got)
		}
	}
}

func TestEnvelopeRejects(t *testing.T) {
	for _, data := range [][]byte{nil, {1}, {0, 1}, {EnvelopeVersion + 1, 1}, {1, 0}, {1, byte(kindEnd)}} {
		if _, err := UnmarshalEnvelope(data); !errors.Is(err, ErrBadEnvelope) {
			t.Errorf("UnmarshalEnvelope(%v) = %v, want ErrBadEnvelope", data, err)
		}
	}
}

func FuzzUnmarshalEnvelope(f *testing.F) {
	f.Add([]byte{1, 1, 'a'})
	f.Add([]byte{})
	f.Add([]byte{2, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := UnmarshalEnvelope(data)
		if err != nil {
			return
		}
		again, err := UnmarshalEnvelope(e.Marshal())
		if err != nil || again.Kind != e.Kind || !bytes.Equal(again.Payload, e.Payload) {
			t.Fatalf("re-encoding %v gave %+v, %v", data, again, err)
		}
	})
}

// FuzzDecodeEntry feeds arbitrary entry data through the decoding the apply
// loop does: it must never panic, and what decodes must re-encode to an
// entry that decodes to the same request.
func FuzzDecodeEntry(f *testing.F) {
	put := &pb.InternalRaftRequest{ID: 7, Put: &pb.PutRequest{Key: []byte("k"), Value: []byte("v"), PrevKv: true}}
	b, err := put.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(Envelope{Kind: KindV3, Payload: b}.Marshal())
	f.Add([]byte{1, 1, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := UnmarshalEnvelope(data)
		if err != nil {
			return
		}
		r, err := decodeV3(env.Payload)
		if err != nil {
			if !errors.Is(err, ErrBadEnvelope) {
				t.Fatalf("decode error %v is not ErrBadEnvelope", err)
			}
			return
		}
		again, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := decodeV3(again)
		if err != nil {
			t.Fatal(err)
		}
		if r2.String() != r.String() {
			t.Fatalf("re-decoding gave %v; want %v", r2, r)
		}
	})
}
