package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
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
			if len(dst.receiving) != 0 {
				t.Fatalf("a refused Receive is still recorded: %v", dst.receiving)
			}
		})
	}
}

// pipedReceive runs Receive at m on s, fed through a pipe by the test.
// The test's clean-up cuts the pipe, so a test that fails while Receive
// waits for bytes ends at once; wg counts the Receive.
type pipedReceive struct {
	pw   *io.PipeWriter
	done chan error
}

func startReceive(t *testing.T, wg *sync.WaitGroup, s *Snapshotter, m SnapshotMark) *pipedReceive {
	pr, pw := io.Pipe()
	r := &pipedReceive{pw: pw, done: make(chan error, 1)}
	wg.Go(func() { r.done <- s.Receive(m, pr) })
	t.Cleanup(func() { pw.CloseWithError(errors.New("the test ended")) })
	return r
}

// feed writes b into the pipe; it fails the test if Receive has not read
// it within 10 s.
func (r *pipedReceive) feed(t *testing.T, what string, b []byte) {
	t.Helper()
	fed := make(chan error, 1)
	go func() { _, err := r.pw.Write(b); fed <- err }()
	select {
	case err := <-fed:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: Receive did not read within 10 s", what)
	}
}

// end closes the pipe and returns Receive's result.
func (r *pipedReceive) end() error {
	r.pw.Close()
	return <-r.done
}

// A Receive waits for the network with nothing locked: the member's own
// Save, LoadAt and Load go on meanwhile, Load's clean-up of unfinished
// files leaves the one being received alone, and a second Receive of the
// same mark (a resent snapshot) does not collide with the first.
func TestSnapshotterReceiveDoesNotBlockOthers(t *testing.T) {
	src, _, _ := newTestSnapshotter(t)
	dst, dir, _ := newTestSnapshotter(t)
	m := SnapshotMark{Index: 42, Term: 3}
	data := bytes.Repeat([]byte("larch"), 200_000)
	if err := src.Save(m, data); err != nil {
		t.Fatal(err)
	}
	stream := streamed(t, src, m)
	half := len(stream) / 2
	older := SnapshotMark{Index: 10, Term: 2}
	if err := dst.Save(older, []byte("older")); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup // the test's goroutines, waited for after the pipes are cut
	t.Cleanup(wg.Wait)
	r1, r2 := startReceive(t, &wg, dst, m), startReceive(t, &wg, dst, m)
	r1.feed(t, "first half to the first Receive", stream[:half])
	r2.feed(t, "first half to the second Receive", stream[:half])
	others := make(chan error, 1)
	wg.Go(func() {
		err := dst.Save(SnapshotMark{Index: 20, Term: 2}, []byte("own"))
		if err == nil {
			err = dst.Save(m, data) // a temporary file of its own for the same mark
		}
		if err == nil {
			_, err = dst.LoadAt(older)
		}
		if err == nil {
			var got SnapshotMark
			if got, _, err = dst.Load(); err == nil && got != m {
				err = fmt.Errorf("Load found %+v, want %+v", got, m)
			}
		}
		others <- err
	})
	select {
	case err := <-others:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Save, LoadAt and Load waited for a Receive in progress")
	}
	r1.feed(t, "second half to the first Receive", stream[half:])
	if err := r1.end(); err != nil {
		t.Fatalf("first Receive: %v", err)
	}
	r2.feed(t, "second half to the second Receive", stream[half:])
	if err := r2.end(); err != nil {
		t.Fatalf("second Receive: %v", err)
	}
	if got, err := dst.LoadAt(m); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("LoadAt after Receive = %d bytes, %v; want %d bytes", len(got), err, len(data))
	}
	if tmps := snapFiles(t, dir, tmpExt); len(tmps) != 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}
}

// A Receive cut short by a crash leaves its temporary file; the next
// start's Load removes it.
func TestSnapshotterRemovesUnfinishedReceive(t *testing.T) {
	s, dir, _ := newTestSnapshotter(t)
	if err := s.Save(SnapshotMark{Index: 1, Term: 1}, []byte("a")); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, snapName(SnapshotMark{Index: 2, Term: 1})+".recv-00c0ffee00c0ffee"+tmpExt)
	if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if m, _, err := s.Load(); err != nil || m.Index != 1 {
		t.Fatalf("Load = %+v, %v", m, err)
	}
	if tmps := snapFiles(t, dir, tmpExt); len(tmps) != 0 {
		t.Fatalf("unfinished received snapshot still there: %v", tmps)
	}
}
