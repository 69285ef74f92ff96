package transport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// peer is the sending side towards one other member: a queue and the
// goroutine that drains it into a stream.
type peer struct {
	t  *Transport
	id uint64

	urlsMu sync.Mutex // guards urls and next
	urls   []string
	next   int // the URL to dial next; advanced after a failure

	msgc chan raftpb.Message
	// ctx ends when the peer is stopped; every request to it uses it.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	activeSince     atomic.Int64 // unix nanoseconds; 0 while the stream is down
	lastOpenError   string       // run's goroutine only: the last failure logged loudly
	lastUnreachable atomic.Int64 // unix nanoseconds of the last report
	// wg counts the goroutines that stop waits for besides run: the
	// snapshot sender and the readers of the streams.
	wg sync.WaitGroup
	// snapshotting is set while a snapshot is on its way to the peer.
	snapshotting atomic.Bool
}

func newPeer(t *Transport, id uint64, urls []string) *peer {
	ctx, cancel := context.WithCancel(context.Background())
	return &peer{
		t:      t,
		id:     id,
		urls:   slices.Clone(urls),
		msgc:   make(chan raftpb.Message, queueSize),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
}

func (p *peer) setURLs(urls []string) {
	p.urlsMu.Lock()
	p.urls, p.next = slices.Clone(urls), 0
	p.urlsMu.Unlock()
}

func (p *peer) url() string {
	p.urlsMu.Lock()
	defer p.urlsMu.Unlock()
	if len(p.urls) == 0 {
		return ""
	}
	return p.urls[p.next%len(p.urls)]
}

func (p *peer) failedURL() {
	p.urlsMu.Lock()
	p.next++
	p.urlsMu.Unlock()
}

// stop stops the peer's goroutines and waits for them. Ending run closes
// the stream, which ends its reader.
func (p *peer) stop() {
	p.cancel()
	<-p.done
	p.wg.Wait()
}

// reportUnreachable tells Raft that a message to the peer was lost, at
// most once per retry interval: the report makes Raft probe the peer, and
// repeating it while the peer stays down tells Raft nothing new.
func (p *peer) reportUnreachable() {
	now := time.Now().UnixNano()
	last := p.lastUnreachable.Load()
	if now-last < int64(retryInterval) || !p.lastUnreachable.CompareAndSwap(last, now) {
		return
	}
	p.t.cfg.Raft.ReportUnreachable(p.id)
}

// run keeps a stream to the peer open, reopening it after a failure, and
// drains the queue into it. The stream is opened before there is anything
// to send, so that ActiveSince says whether the peer is reachable.
func (p *peer) run() {
	defer p.t.wg.Done()
	defer close(p.done)
	var s *stream
	defer func() {
		if s != nil {
			s.close()
		}
	}()
	var retryAt time.Time
	var buf []byte
	for {
		if s == nil && !time.Now().Before(retryAt) {
			var err error
			if s, err = p.open(); err != nil {
				if p.ctx.Err() != nil {
					return
				}
				p.logOpenFailure(err)
				p.failedURL()
				retryAt = time.Now().Add(retryInterval)
			}
		}
		var retry <-chan time.Time
		var dead <-chan struct{}
		var timer *time.Timer
		if s == nil {
			timer = time.NewTimer(time.Until(retryAt))
			retry = timer.C
		} else {
			dead = s.dead
		}
		var m raftpb.Message
		got, died := false, false
		select {
		case m = <-p.msgc:
			got = true
		case <-retry:
		case <-dead:
			died = true
		case <-p.ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		}
		if timer != nil {
			timer.Stop()
		}
		if died {
			s.close()
			s = nil
			retryAt = time.Now().Add(retryInterval)
		}
		if !got {
			continue
		}
		if s == nil {
			p.reportUnreachable()
			continue
		}
		// Everything queued meanwhile goes into the same write.
		var err error
		buf, err = appendFrame(buf[:0], &m)
		for err == nil && len(buf) < maxBatchBytes {
			select {
			case m = <-p.msgc:
				buf, err = appendFrame(buf, &m)
				continue
			default:
			}
			break
		}
		if err == nil {
			err = s.write(buf)
		}
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			p.t.logger.Debug("stream to peer broke", "peer-id", fmt.Sprintf("%x", p.id), "error", err)
			s.close()
			s = nil
			retryAt = time.Now().Add(retryInterval)
			p.reportUnreachable()
		}
		if cap(buf) > 4*maxBatchBytes {
			buf = nil
		}
	}
}

// logOpenFailure logs why a stream could not be opened: a refusal (another
// cluster, a removed member) as an error each time its reason changes,
// since it will not heal by itself; anything else (the peer is down) at
// debug level, since it is retried every retryInterval.
func (p *peer) logOpenFailure(err error) {
	var r *refusal
	if !errors.As(err, &r) {
		p.t.logger.Debug("cannot open stream to peer", "peer-id", fmt.Sprintf("%x", p.id), "error", err)
		return
	}
	if msg := err.Error(); msg != p.lastOpenError {
		p.lastOpenError = msg
		p.t.logger.Error("peer refused the stream", "peer-id", fmt.Sprintf("%x", p.id), "local-member-cluster-id", fmt.Sprintf("%x", p.t.cfg.ClusterID), "error", err)
	}
}

// stream is one open connection to the peer's /raft/stream, upgraded
// from HTTP to a raw byte stream of frames. A plain streaming POST body
// would do as well on the wire, but net/http's client cannot give up on a
// request whose body is still open, so a refused stream would hang.
type stream struct {
	p    *peer
	conn net.Conn
	// dead is closed when the peer closed the connection.
	dead chan struct{}
	sent prometheus.Counter
}

// streamUpgrade names the protocol a stream upgrades to; its version
// changes whenever the framing does.
const streamUpgrade = "larch-raft/1"

func (p *peer) open() (*stream, error) {
	u := p.url()
	if u == "" {
		return nil, errors.New("peer has no URL")
	}
	req, err := http.NewRequestWithContext(p.ctx, http.MethodPost, u+streamPath, nil)
	if err != nil {
		return nil, err
	}
	p.t.setHeaders(req.Header, p.id)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", streamUpgrade)
	ctx, cancel := context.WithTimeout(p.ctx, dialTimeout)
	dial := p.t.cfg.Dial
	if req.URL.Scheme == "https" {
		dial = p.t.cfg.DialTLS
	}
	conn, err := dial(ctx, "tcp", req.URL.Host)
	cancel()
	if err != nil {
		return nil, err
	}
	// Closing the connection is the only way to interrupt the handshake
	// or a write once the peer is stopped.
	stopWatch := context.AfterFunc(p.ctx, func() { conn.Close() })
	fail := func(err error) (*stream, error) {
		stopWatch()
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(responseTimeout))
	if err := req.Write(conn); err != nil {
		return fail(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		err := p.t.refused(resp, p.id)
		resp.Body.Close()
		return fail(err)
	}
	_ = conn.SetDeadline(time.Time{})
	p.activeSince.Store(time.Now().UnixNano())
	p.t.logger.Info("established stream to peer", "peer-id", fmt.Sprintf("%x", p.id), "url", u)
	// The peer never writes on the stream: a read returns only when the
	// connection is gone.
	st := &stream{p: p, conn: conn, dead: make(chan struct{}), sent: peerSentBytes.WithLabelValues(fmt.Sprintf("%x", p.id))}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_, _ = io.Copy(io.Discard, br)
		stopWatch()
		conn.Close()
		close(st.dead)
	}()
	return st, nil
}

// streamWriteTimeout bounds one write: a peer that takes longer is treated
// as gone, and its stream reopened.
const streamWriteTimeout = 5 * time.Second

func (s *stream) write(b []byte) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	n, err := s.conn.Write(b)
	s.sent.Add(float64(n))
	return err
}

func (s *stream) close() {
	s.p.activeSince.Store(0)
	s.conn.Close()
}

// sendSnapshot streams the snapshot file named by m to the peer on its own
// goroutine and reports the outcome to Raft. While one is on its way,
// another is reported failed at once rather than sent beside it: Raft
// resends a snapshot whenever a rejection sends the follower back to
// probing, and two transfers would only share the bandwidth.
func (p *peer) sendSnapshot(m raftpb.Message) {
	meta := m.Snapshot.Metadata
	if !p.snapshotting.CompareAndSwap(false, true) {
		p.t.logger.Debug("a snapshot is already on its way to the peer, dropping another", "peer-id", fmt.Sprintf("%x", p.id), "index", meta.Index)
		p.t.cfg.Raft.ReportSnapshot(p.id, raft.SnapshotFailure)
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		start := time.Now()
		err := p.postSnapshot(m)
		// Before the report: Raft may send the next one at once.
		p.snapshotting.Store(false)
		if err != nil {
			if p.ctx.Err() == nil {
				p.t.logger.Warn("failed to send snapshot", "peer-id", fmt.Sprintf("%x", p.id), "index", meta.Index, "error", err)
			}
			p.t.cfg.Raft.ReportUnreachable(p.id)
			p.t.cfg.Raft.ReportSnapshot(p.id, raft.SnapshotFailure)
			return
		}
		p.t.logger.Info("sent snapshot", "peer-id", fmt.Sprintf("%x", p.id), "index", meta.Index, "term", meta.Term, "took", time.Since(start).String())
		p.t.cfg.Raft.ReportSnapshot(p.id, raft.SnapshotFinish)
	}()
}

func (p *peer) postSnapshot(m raftpb.Message) error {
	meta := m.Snapshot.Metadata
	file, size, err := p.t.cfg.Snapshots.Open(meta.Index, meta.Term)
	if err != nil {
		return err
	}
	defer file.Close()
	// The file travels beside the message, not in it.
	m.Snapshot.Data = nil
	head, err := appendFrame(nil, &m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(p.ctx, http.MethodPost, p.url()+snapshotPath, io.MultiReader(bytes.NewReader(head), file))
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(head)) + size
	p.t.setHeaders(req.Header, p.id)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := p.t.client.Do(req)
	if err != nil {
		p.failedURL()
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return p.t.refused(resp, p.id)
	}
	return nil
}

// frameReader reads length-prefixed messages from a stream.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
	// last is the size of the frame next read last, header included.
	last int
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10)}
}

func (f *frameReader) next() (raftpb.Message, error) {
	var m raftpb.Message
	var lenBuf [8]byte
	f.last = 0
	if _, err := io.ReadFull(f.r, lenBuf[:]); err != nil {
		return m, err
	}
	n := binary.BigEndian.Uint64(lenBuf[:])
	if n > maxFrameSize {
		return m, fmt.Errorf("transport: frame of %d bytes", n)
	}
	if uint64(cap(f.buf)) < n {
		f.buf = make([]byte, n)
	}
	b := f.buf[:n]
	if _, err := io.ReadFull(f.r, b); err != nil {
		return m, fmt.Errorf("transport: truncated frame: %w", err)
	}
	f.last = len(lenBuf) + len(b)
	// Unmarshal copies what it keeps, so the buffer is reused.
	if err := m.Unmarshal(b); err != nil {
		return m, fmt.Errorf("transport: bad frame: %w", err)
	}
	if cap(f.buf) > 4*maxBatchBytes {
		f.buf = nil
	}
	return m, nil
}

// rest returns what follows the frames read so far.
func (f *frameReader) rest() io.Reader { return f.r }

// stallConn is a connection of the snapshot client whose writes fail once
// they have moved nothing for stall: a peer that stops reading, without
// closing the connection, fails the transfer instead of holding it until
// TCP gives up.
type stallConn struct {
	net.Conn
	stall time.Duration
}

func (c *stallConn) Write(p []byte) (int, error) {
	var done int
	for {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.stall))
		n, err := c.Conn.Write(p[done:])
		done += n
		// A write cut by the deadline after some progress goes on. (A
		// TLS connection refuses every write after a timeout; it then
		// fails here, as it should.)
		if err == nil || n == 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			return done, err
		}
	}
}
