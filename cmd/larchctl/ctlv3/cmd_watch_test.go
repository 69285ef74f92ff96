package ctlv3

import (
	"bytes"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/grpc"
)

// fakeWatchServer answers every watch creation with a created response and one event on
// the watched key (value "v", revision 5), and every progress request with a progress
// notification at revision 5. The end-to-end test (TestE2EWatch) runs watch against real
// servers; this one runs it in-process, where the race detector sees its goroutines.
type fakeWatchServer struct {
	pb.UnimplementedWatchServer
}

func (fakeWatchServer) Watch(stream pb.Watch_WatchServer) error {
	next := int64(0)
	for {
		req, err := stream.Recv()
		if err != nil {
			return nil
		}
		var resps []*pb.WatchResponse
		switch {
		case req.GetCreateRequest() != nil:
			id, key := next, req.GetCreateRequest().Key
			next++
			resps = append(resps,
				&pb.WatchResponse{Header: &pb.ResponseHeader{Revision: 4}, WatchId: id, Created: true},
				&pb.WatchResponse{Header: &pb.ResponseHeader{Revision: 5}, WatchId: id, Events: []*mvccpb.Event{
					{Kv: &mvccpb.KeyValue{Key: key, Value: []byte("v"), CreateRevision: 5, ModRevision: 5, Version: 1}},
				}})
		case req.GetProgressRequest() != nil:
			resps = append(resps, &pb.WatchResponse{Header: &pb.ResponseHeader{Revision: 5}, WatchId: -1})
		}
		for _, r := range resps {
			if err := stream.Send(r); err != nil {
				return nil
			}
		}
	}
}

func startFakeWatchServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	pb.RegisterWatchServer(s, fakeWatchServer{})
	go s.Serve(l)
	t.Cleanup(s.Stop)
	return l.Addr().String()
}

// lockedBuffer is a bytes.Buffer that a test reads while Run writes to it.
type lockedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // one slot: a write since the last look
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{changed: make(chan struct{}, 1)} }

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits until b holds n copies of text.
func (b *lockedBuffer) waitFor(t *testing.T, text string, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for strings.Count(b.String(), text) < n {
		select {
		case <-b.changed:
		case <-timeout:
			t.Fatalf("no %d×%q in the output after 10s:\n%s", n, text, b.String())
		}
	}
}

// runWatch runs larchctl in-process with stdin fed by the returned writer, and returns
// its exit code on the channel when it ends.
func runWatch(addr string, args []string, stdout, stderr io.Writer) (*io.PipeWriter, <-chan int) {
	in, w := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- Run(Env{
			Args:    append([]string{"--endpoints=" + addr}, args...),
			Environ: []string{"PATH=/usr/bin:/bin"},
			Stdin:   in, Stdout: stdout, Stderr: stderr,
		})
	}()
	return w, code
}

// Two watches of watch -i print on goroutines of their own, one of them runs a command
// per event, and a progress request reaches both; the end of stdin ends them all.
func TestWatchInteractive(t *testing.T) {
	addr := startFakeWatchServer(t)
	stdout, stderr := newLockedBuffer(), newLockedBuffer()
	w, code := runWatch(addr, []string{"watch", "-i"}, stdout, stderr)

	io.WriteString(w, "watch a -- sh -c \"echo key=$ETCD_WATCH_KEY rev=$ETCD_WATCH_REVISION\"\n")
	stdout.waitFor(t, `key="a" rev=5`, 1)
	io.WriteString(w, "watch b\nbogus\nprogress\n")
	stdout.waitFor(t, "progress notify: 5", 2)
	w.Close()

	if c := <-code; c != exitInvalidInput {
		t.Errorf("exit code %d, want %d", c, exitInvalidInput)
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	slices.Sort(lines)
	want := []string{"PUT", "PUT", "a", "b", `key="a" rev=5`, "progress notify: 5", "progress notify: 5", "v", "v"}
	if !slices.Equal(lines, want) {
		t.Errorf("stdout lines (sorted) %q, want %q", lines, want)
	}
	if want := "Invalid command bogus (only support watch)\nError: error reading watch request line: EOF\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

// A watch whose goroutine fails ends watch -i while it waits for a line, as etcdctl's
// exit from that goroutine does.
func TestWatchInteractiveFailure(t *testing.T) {
	addr := startFakeWatchServer(t)
	for _, tc := range []struct {
		name, line string
		args       []string
		code       int
		stderr     string
	}{
		{"table", "watch a\n", []string{"watch", "-i", "-w", "table"}, exitBadFeature,
			"Error: table not supported as output format\n"},
		{"command", "watch a -- false\n", []string{"watch", "-i"}, exitError,
			"command [\"false\"] error (exit status 1)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr := newLockedBuffer(), newLockedBuffer()
			w, code := runWatch(addr, tc.args, stdout, stderr)
			defer w.Close() // lets the line reader end
			io.WriteString(w, tc.line)
			select {
			case c := <-code:
				if c != tc.code {
					t.Errorf("exit code %d, want %d", c, tc.code)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("still running after 10s; stderr:\n%s", stderr.String())
			}
			if stderr.String() != tc.stderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
		})
	}
}
