package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeRaft records what the transport hands it.
type fakeRaft struct {
	recv        chan raftpb.Message
	mu          sync.Mutex
	unreachable map[uint64]int
	snapStatus  chan raft.SnapshotStatus
	removed     map[uint64]bool
}

func newFakeRaft() *fakeRaft {
	return &fakeRaft{recv: make(chan raftpb.Message, 10000), unreachable: map[uint64]int{}, snapStatus: make(chan raft.SnapshotStatus, 10), removed: map[uint64]bool{}}
}

func (f *fakeRaft) Process(ctx context.Context, m raftpb.Message) error {
	select {
	case f.recv <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeRaft) ReportUnreachable(id uint64) {
	f.mu.Lock()
	f.unreachable[id]++
	f.mu.Unlock()
}

func (f *fakeRaft) ReportSnapshot(id uint64, status raft.SnapshotStatus) { f.snapStatus <- status }

func (f *fakeRaft) IsIDRemoved(id uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.removed[id]
}

func (f *fakeRaft) unreachableCount(id uint64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unreachable[id]
}

// memSnapshots keeps snapshot "files" in memory.
type memSnapshots struct {
	mu    sync.Mutex
	files map[[2]uint64][]byte
}

func (m *memSnapshots) Open(index, term uint64) (io.ReadCloser, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[[2]uint64{index, term}]
	if !ok {
		return nil, 0, errors.New("no such snapshot")
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

func (m *memSnapshots) Receive(index, term uint64, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files == nil {
		m.files = map[[2]uint64][]byte{}
	}
	m.files[[2]uint64{index, term}] = b
	return nil
}

type node struct {
	t    *Transport
	raft *fakeRaft
	snap *memSnapshots
	url  string
}

func newNode(t *testing.T, id, clusterID uint64, opts ...func(*Config)) *node {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &node{raft: newFakeRaft(), snap: &memSnapshots{}, url: "http://" + l.Addr().String()}
	cfg := Config{ID: id, ClusterID: clusterID, Raft: n.raft, Snapshots: n.snap, Logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr.Serve(l, tr.Handler())
	n.t = tr
	t.Cleanup(tr.Stop)
	return n
}

func recvN(t *testing.T, f *fakeRaft, n int) []raftpb.Message {
	t.Helper()
	var out []raftpb.Message
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case m := <-f.recv:
			out = append(out, m)
		case <-timeout:
			t.Fatalf("received %d of %d messages", len(out), n)
		}
	}
	return out
}

func TestStreamDeliversInOrder(t *testing.T) {
	a, b := newNode(t, 1, 100), newNode(t, 2, 100)
	a.t.AddPeer(2, []string{b.url})
	waitActive(t, a.t, 2)
	const n = 3000
	for i := range n {
		a.t.Send([]raftpb.Message{{Type: raftpb.MsgApp, From: 1, To: 2, Index: uint64(i), Entries: []raftpb.Entry{{Index: uint64(i), Data: []byte("payload")}}}})
	}
	var got []raftpb.Message
	for len(got) < n {
		if m := recvN(t, b.raft, 1)[0]; m.Type == raftpb.MsgApp {
			got = append(got, m)
		}
	}
	for i, m := range got {
		if m.Index != uint64(i) || m.From != 1 || len(m.Entries) != 1 || string(m.Entries[0].Data) != "payload" {
			t.Fatalf("message %d = %+v", i, m)
		}
	}
}

func waitActive(t *testing.T, tr *Transport, id uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tr.ActiveSince(id).IsZero() {
		if time.Now().After(deadline) {
			t.Fatalf("stream to %x never came up", id)
		}
		time.Sleep(5 * time.Millisecond) // polling a state with no event to wait on
		tr.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: tr.cfg.ID, To: id}})
	}
}

func TestRefusesAnotherCluster(t *testing.T) {
	removed := make(chan struct{})
	a := newNode(t, 1, 100, func(c *Config) { c.OnRemoved = func() { close(removed) } })
	b := newNode(t, 2, 200)
	a.t.AddPeer(2, []string{b.url})
	for range 5 {
		a.t.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 1, To: 2}})
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.raft.unreachableCount(2) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a refused stream was not reported unreachable")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case m := <-b.raft.recv:
		t.Fatalf("a member of another cluster received %+v", m)
	default:
	}
	select {
	case <-removed:
		t.Fatal("a cluster mismatch was taken for a removal")
	default:
	}
}

func TestRemovedMemberIsTold(t *testing.T) {
	removed := make(chan struct{})
	a := newNode(t, 1, 100, func(c *Config) { c.OnRemoved = func() { close(removed) } })
	b := newNode(t, 2, 100)
	b.raft.removed[1] = true
	a.t.AddPeer(2, []string{b.url})
	a.t.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 1, To: 2}})
	select {
	case <-removed:
	case <-time.After(10 * time.Second):
		t.Fatal("OnRemoved was not called")
	}
}

func TestSendNeverBlocksOnDeadPeer(t *testing.T) {
	// A listener that accepts and never answers: the worst kind of peer.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, b := newNode(t, 1, 100), newNode(t, 3, 100)
	a.t.AddPeer(2, []string{"http://" + l.Addr().String()})
	a.t.AddPeer(3, []string{b.url})
	waitActive(t, a.t, 3)
	for i := range 2 * queueSize {
		a.t.Send([]raftpb.Message{{Type: raftpb.MsgApp, From: 1, To: 2, Index: uint64(i)}})
	}
	a.t.Send([]raftpb.Message{{Type: raftpb.MsgApp, From: 1, To: 3, Index: 77}})
	for m := recvN(t, b.raft, 1)[0]; m.Index != 77; m = recvN(t, b.raft, 1)[0] {
	}
	if a.raft.unreachableCount(2) == 0 {
		t.Fatal("an overflowing queue was not reported unreachable")
	}
}

func TestSnapshotTransfer(t *testing.T) {
	a, b := newNode(t, 1, 100), newNode(t, 2, 100)
	data := bytes.Repeat([]byte("snapshot"), 1<<17)
	a.snap.files = map[[2]uint64][]byte{{50, 3}: data}
	a.t.AddPeer(2, []string{b.url})
	a.t.Send([]raftpb.Message{{Type: raftpb.MsgSnap, From: 1, To: 2, Snapshot: &raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 50, Term: 3}}}})
	if st := <-a.raft.snapStatus; st != raft.SnapshotFinish {
		t.Fatalf("snapshot status %v", st)
	}
	m := recvN(t, b.raft, 1)[0]
	if m.Type != raftpb.MsgSnap || m.Snapshot.Metadata.Index != 50 {
		t.Fatalf("received %+v", m)
	}
	if got := b.snap.files[[2]uint64{50, 3}]; !bytes.Equal(got, data) {
		t.Fatalf("received %d snapshot bytes, want %d", len(got), len(data))
	}
	// A snapshot the sender no longer has fails and is reported so.
	a.t.Send([]raftpb.Message{{Type: raftpb.MsgSnap, From: 1, To: 2, Snapshot: &raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 60, Term: 3}}}})
	if st := <-a.raft.snapStatus; st != raft.SnapshotFailure {
		t.Fatalf("snapshot status of a missing file %v", st)
	}
}

func TestDropLosesMessages(t *testing.T) {
	var mu sync.Mutex
	blocked := true
	a := newNode(t, 1, 100, func(c *Config) {
		c.Drop = func(to uint64) bool { mu.Lock(); defer mu.Unlock(); return blocked && to == 2 }
	})
	b := newNode(t, 2, 100)
	a.t.AddPeer(2, []string{b.url})
	for i := range 10 {
		a.t.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 1, To: 2, Index: uint64(i)}})
	}
	mu.Lock()
	blocked = false
	mu.Unlock()
	waitActive(t, a.t, 2)
	a.t.Send([]raftpb.Message{{Type: raftpb.MsgApp, From: 1, To: 2, Index: 99}})
	for m := recvN(t, b.raft, 1)[0]; m.Type != raftpb.MsgApp; m = recvN(t, b.raft, 1)[0] {
		if m.Type == raftpb.MsgHeartbeat && m.Index != 0 {
			t.Fatalf("a dropped message arrived: %+v", m)
		}
	}
}

func TestRemovedPeerStreamIsCut(t *testing.T) {
	removed := make(chan struct{})
	a := newNode(t, 1, 100, func(c *Config) { c.OnRemoved = func() { close(removed) } })
	b := newNode(t, 2, 100)
	a.t.AddPeer(2, []string{b.url})
	waitActive(t, a.t, 2)
	// b learns that a was removed: the stream a opened before must end,
	// and a, dialling again, hears why.
	b.raft.mu.Lock()
	b.raft.removed[1] = true
	b.raft.mu.Unlock()
	b.t.RemovePeer(1)
	select {
	case <-removed:
	case <-time.After(10 * time.Second):
		t.Fatal("the removed member was never told")
	}
}

// Raft keeps a follower in StateSnapshot until the transfer is reported, so
// a snapshot that cannot even be sent is reported as failed.
func TestSnapshotToUnknownPeerIsReported(t *testing.T) {
	a := newNode(t, 1, 100)
	a.t.Send([]raftpb.Message{{Type: raftpb.MsgSnap, From: 1, To: 9, Snapshot: &raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 50, Term: 3}}}})
	select {
	case st := <-a.raft.snapStatus:
		if st != raft.SnapshotFailure {
			t.Fatalf("snapshot status %v", st)
		}
	default:
		t.Fatal("a snapshot to an unknown peer was not reported")
	}
}

// sendPartialSnapshot posts a snapshot at index and term from member from
// to member to at url, as a sender that stalls would: the message frame
// and part of a body announced as size bytes long, then nothing. The
// connection is closed when the test ends.
func sendPartialSnapshot(t *testing.T, url string, from, to, clusterID, index, term uint64, sent []byte, size int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	frame, err := appendFrame(nil, &raftpb.Message{Type: raftpb.MsgSnap, From: from, To: to,
		Snapshot: &raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: index, Term: term}}})
	if err != nil {
		t.Fatal(err)
	}
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: peer\r\nContent-Type: application/octet-stream\r\n"+
		"%s: %x\r\n%s: %x\r\n%s: %x\r\nContent-Length: %d\r\n\r\n",
		snapshotPath, headerClusterID, clusterID, headerFrom, from, headerTo, to, len(frame)+size)
	if _, err := conn.Write(slices.Concat([]byte(head), frame, sent)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// slowSnapshots is a Snapshots whose Receive reads until the stream
// breaks, then takes a while to finish, as writing out a file does.
type slowSnapshots struct {
	memSnapshots
	entered  chan struct{}
	finished atomic.Bool
}

func (s *slowSnapshots) Receive(index, term uint64, r io.Reader) error {
	close(s.entered)
	_, err := io.Copy(io.Discard, r)
	time.Sleep(50 * time.Millisecond) // the work a handler does after its last read
	s.finished.Store(true)
	return err
}

// Stop waits for the snapshot handlers: once it returns, none of them is
// still writing to the member's snapshot directory.
func TestStopWaitsForSnapshotHandlers(t *testing.T) {
	snaps := &slowSnapshots{entered: make(chan struct{})}
	b := newNode(t, 2, 100, func(c *Config) { c.Snapshots = snaps })
	sendPartialSnapshot(t, b.url, 1, 2, 100, 50, 3, []byte("larchsnp"), 1<<20)
	select {
	case <-snaps.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the snapshot never reached Receive")
	}
	b.t.Stop()
	if !snaps.finished.Load() {
		t.Fatal("Stop returned while a snapshot handler was still in Receive")
	}
}

// lingeringConn is a connection whose reads, once it is closed, take a
// while to return, so that a reader goroutine outlives the close: readers
// counts the reads that ended that way.
type lingeringConn struct {
	net.Conn
	readers *atomic.Int32
}

func (c lingeringConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if errors.Is(err, net.ErrClosed) {
		time.Sleep(50 * time.Millisecond) // the reader is slow to notice
		c.readers.Add(1)
	}
	return n, err
}

// Stopping a peer waits for the goroutine that reads its stream.
func TestRemovePeerWaitsForStreamReader(t *testing.T) {
	var readers atomic.Int32
	a := newNode(t, 1, 100, func(c *Config) {
		c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return lingeringConn{conn, &readers}, nil
		}
	})
	b := newNode(t, 2, 100)
	a.t.AddPeer(2, []string{b.url})
	waitActive(t, a.t, 2)
	a.t.RemovePeer(2)
	if readers.Load() == 0 {
		t.Fatal("RemovePeer returned while the stream's reader was still running")
	}
}

// A sender that goes silent in the middle of a snapshot, without closing
// the connection, fails the transfer once it has sent nothing for
// SnapshotStall; nothing reaches Raft.
func TestSnapshotReceiveFailsWhenSenderStalls(t *testing.T) {
	b := newNode(t, 2, 100, func(c *Config) { c.SnapshotStall = 100 * time.Millisecond })
	conn := sendPartialSnapshot(t, b.url, 1, 2, 100, 50, 3, []byte("larchsnp"), 1<<20)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled snapshot: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a stalled snapshot was answered %s", resp.Status)
	}
	select {
	case m := <-b.raft.recv:
		t.Fatalf("a stalled snapshot reached Raft: %+v", m)
	default:
	}
}

// stallingPeer listens as a peer that reads the start of a snapshot and
// then goes silent without closing the connection. Other requests find
// their connection closed. Each snapshot request read sends on the
// returned channel.
func stallingPeer(t *testing.T) (url string, snapshots <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	snaps := make(chan struct{}, 100)
	var wg sync.WaitGroup
	var mu sync.Mutex // guards conns
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil || !strings.Contains(line, snapshotPath) {
					c.Close()
					return
				}
				snaps <- struct{}{}
			})
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + l.Addr().String(), snaps
}

// smallBuffers dials with a small send buffer, so that a peer that stops
// reading blocks the writer soon.
func smallBuffers(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	_ = c.(*net.TCPConn).SetWriteBuffer(4 << 10)
	return c, nil
}

// senderToStallingPeer returns member 1, with the given SnapshotStall,
// sending its snapshot m to a stallingPeer (member 2), once the peer has
// read the start of it.
func senderToStallingPeer(t *testing.T, stall time.Duration) (a *node, m raftpb.Message, snapshots <-chan struct{}) {
	t.Helper()
	url, snapshots := stallingPeer(t)
	a = newNode(t, 1, 100, func(c *Config) {
		c.SnapshotStall = stall
		c.Dial = smallBuffers
	})
	a.snap.files = map[[2]uint64][]byte{{50, 3}: bytes.Repeat([]byte("snapshot"), 1<<20)}
	a.t.AddPeer(2, []string{url})
	m = raftpb.Message{Type: raftpb.MsgSnap, From: 1, To: 2, Snapshot: &raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 50, Term: 3}}}
	a.t.Send([]raftpb.Message{m})
	select {
	case <-snapshots:
	case <-time.After(10 * time.Second):
		t.Fatal("the snapshot never reached the peer")
	}
	return a, m, snapshots
}

// wantSnapshotStatus waits up to 10 s for the next snapshot report to f.
func wantSnapshotStatus(t *testing.T, f *fakeRaft, want raft.SnapshotStatus, what string) {
	t.Helper()
	select {
	case st := <-f.snapStatus:
		if st != want {
			t.Fatalf("%s: snapshot status %v, want %v", what, st, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not reported within 10 s", what)
	}
}

// A peer that stops reading a snapshot, without closing the connection,
// fails the transfer once nothing could be written for SnapshotStall, and
// the failure is reported to Raft.
func TestSnapshotSendFailsWhenPeerStalls(t *testing.T) {
	a, _, _ := senderToStallingPeer(t, 200*time.Millisecond)
	wantSnapshotStatus(t, a.raft, raft.SnapshotFailure, "a snapshot to a stalled peer")
}

// While a snapshot is on its way to a peer, another one for the same peer
// (Raft resends when a rejection sends the follower back to probing) is
// not sent beside it but reported failed at once; Raft tries again later.
func TestOneSnapshotAtATimePerPeer(t *testing.T) {
	a, m, snapshots := senderToStallingPeer(t, time.Minute) // the first stays stuck
	a.t.Send([]raftpb.Message{m})
	wantSnapshotStatus(t, a.raft, raft.SnapshotFailure, "a second snapshot while one is on its way")
	select {
	case <-snapshots:
		t.Fatal("two snapshots were sent to the same peer at once")
	default:
	}
}
