package wal

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// streamed returns the bytes OpenFile streams for the snapshot at m.
func streamed(t *testing.T, s *Snapshotter, m SnapshotMark) []byte {
	t.Helper()
	rc, size, err := s.OpenFile(m)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != size {
		t.Fatalf("OpenFile size %d, streamed %d bytes", size, len(b))
	}
	return b
}

func TestSnapshotterStreamToPeer(t *testing.T) {
	src, _, _ := newTestSnapshotter(t)
	dst, dir, _ := newTestSnapshotter(t)
	m := SnapshotMark{Index: 42, Term: 3}
	data := bytes.Repeat([]byte("larch"), 200_000) // larger than Receive's buffer
	if err := src.Save(m, data); err != nil {
		t.Fatal(err)
	}
	if err := dst.Receive(m, bytes.NewReader(streamed(t, src, m))); err != nil {
		t.Fatal(err)
	}
	got, err := dst.LoadAt(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("received snapshot holds %d bytes, want the %d sent", len(got), len(data))
	}
	if tmps := snapFiles(t, dir, tmpExt); len(tmps) != 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}
}

func TestSnapshotterReceiveRefusesDamage(t *testing.T) {
	src, _, _ := newTestSnapshotter(t)
	m := SnapshotMark{Index: 7, Term: 2}
	if err := src.Save(m, bytes.Repeat([]byte{9}, 10_000)); err != nil {
		t.Fatal(err)
	}
	good := streamed(t, src, m)
	flipped := bytes.Clone(good)
	flipped[snapHeaderSize+5000] ^= 1
	for _, tc := range []struct {
		name   string
		stream []byte
		mark   SnapshotMark
		want   error
	}{
		{"truncated in the data", good[:snapHeaderSize+100], m, ErrSnapshotMismatch},
		{"truncated in the checksum", good[:len(good)-2], m, ErrSnapshotMismatch},
		{"flipped byte", flipped, m, ErrSnapshotMismatch},
		{"another mark", good, SnapshotMark{Index: 8, Term: 2}, ErrSnapshotMismatch},
		{"trailing bytes", append(bytes.Clone(good), 0), m, ErrSnapshotMismatch},
		{"not a snapshot", []byte("GET / HTTP/1.1\r\n\r\n and some more bytes to fill a header"), m, ErrSnapshotMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst, dir, _ := newTestSnapshotter(t)
			err := dst.Receive(tc.mark, bytes.NewReader(tc.stream))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Receive = %v, want %v", err, tc.want)
			}
			if files := snapFiles(t, dir, snapExt); len(files) != 0 {
				t.Fatalf("a refused stream left %v", files)
			}
			if tmps := snapFiles(t, dir, tmpExt); len(tmps) != 0 {
				t.Fatalf("temporary files left: %v", tmps)
			}
		})
	}
}
