package mvcc

import (
	"fmt"
	"testing"
)

const benchKeys = 10000

func benchStore(b *testing.B) (*Store, [][]byte) {
	s := New()
	keys := make([][]byte, benchKeys)
	value := make([]byte, 64)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "/registry/pods/ns/pod-%05d", i)
		if _, _, err := s.Put(PutRequest{Key: keys[i], Value: value}, nil); err != nil {
			b.Fatal(err)
		}
	}
	return s, keys
}

// BenchmarkPut overwrites existing keys with 64-byte values, events
// included; history grows as it would between compactions.
func BenchmarkPut(b *testing.B) {
	s, keys := benchStore(b)
	value := make([]byte, 64)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := s.Put(PutRequest{Key: keys[i%benchKeys], Value: value}, nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkRange(b *testing.B) {
	s, keys := benchStore(b)
	b.Run("key", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if r, err := s.Range(RangeRequest{Key: keys[i%benchKeys]}); err != nil || len(r.KVs) != 1 {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("prefix100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := s.Range(RangeRequest{Key: []byte("/registry/pods/ns/pod-001"), End: []byte("/registry/pods/ns/pod-002")})
			if err != nil || len(r.KVs) != 100 {
				b.Fatal(err)
			}
		}
	})
	b.Run("count-all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if r, err := s.Range(RangeRequest{Key: []byte{0}, End: []byte{0}, CountOnly: true}); err != nil || r.Count != benchKeys {
				b.Fatal(err)
			}
		}
	})
}
