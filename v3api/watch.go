package v3api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/metadata"

	"github.com/larchkv/larch/cluster/watch"
	"github.com/larchkv/larch/tree/mvcc"
	"github.com/larchkv/larch/tree/mvcc/wire"
)

// The errors etcd cancels a watch creation with, in the cancel_reason.
var (
	errWatcherDuplicateID = errors.New("mvcc: duplicate watch ID provided on the WatchStream")
	errEmptyWatcherRange  = errors.New("mvcc: watcher range is empty")
)

// Watch IDs with a meaning of their own (clientv3's).
const (
	autoWatchID    = 0
	invalidWatchID = -1
)

// watchQueueSize is how many responses a stream holds before its watchers
// fall behind and catch up from history (etcd's chanBufLen is 128; a crowd
// of watchers of one key on one stream gets one response each per write).
const watchQueueSize = 512

type watchServer struct {
	pb.UnimplementedWatchServer
	s *Server
}

// watchStream is one client's Watch stream: a receive loop that creates
// and cancels watchers, and a send loop that writes what they get.
type watchStream struct {
	s      *Server
	hub    *watch.Hub
	stream pb.Watch_WatchServer
	// queue carries every response to the send loop: the creations and
	// cancellations of the receive loop and the hub's events, in order,
	// so that a watcher's "created" precedes its events.
	queue chan watch.Response

	mu       sync.Mutex // guards the fields below
	watchers map[int64]*streamWatcher
	nextID   int64
	// progressAll is set while a progress request waits for every watcher
	// to be synced.
	progressAll bool
	// closed is set by cancelAll: no watcher may be registered after it.
	closed bool
}

type streamWatcher struct {
	w        *watch.Watcher
	prevKV   bool
	fragment bool
	progress bool
	// quiet is set at each progress tick and cleared by events: a watcher
	// still quiet at the next tick gets a progress notification.
	quiet bool
}

func (ws *watchServer) Watch(stream pb.Watch_WatchServer) error {
	st := &watchStream{
		s:        ws.s,
		hub:      ws.s.member.Watchers(),
		stream:   stream,
		queue:    make(chan watch.Response, watchQueueSize),
		watchers: map[int64]*streamWatcher{},
	}
	defer st.cancelAll()
	// etcdctl and clientv3.WithRequireLeader ask that the stream end when
	// the member has no leader: it refuses to start without one, and
	// cancels once the leader has been gone for three election timeouts.
	var leaderCheck <-chan time.Time
	if requiresLeader(stream.Context()) {
		if ws.s.member.Leader() == 0 {
			return rpctypes.ErrGRPCNoLeader
		}
		t := time.NewTicker(ws.s.member.ElectionTimeout())
		defer t.Stop()
		leaderCheck = t.C
	}
	leaderless := 0
	errc := make(chan error, 2)
	go func() { errc <- st.recvLoop() }()
	go func() { errc <- st.sendLoop() }()
	for {
		select {
		case err := <-errc:
			return err
		case <-stream.Context().Done():
			return stream.Context().Err()
		case <-ws.s.stopc:
			return rpctypes.ErrGRPCStopped
		case <-leaderCheck:
			if ws.s.member.Leader() != 0 {
				leaderless = 0
				continue
			}
			if leaderless++; leaderless >= 3 {
				return rpctypes.ErrGRPCNoLeader
			}
		}
	}
}

// requiresLeader reports whether the client asked, in its metadata, that
// the stream need a leader (clientv3.WithRequireLeader).
func requiresLeader(ctx context.Context) bool {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return false
	}
	vs := md.Get(rpctypes.MetadataRequireLeaderKey)
	return len(vs) > 0 && vs[0] == rpctypes.MetadataHasLeader
}

func (st *watchStream) cancelAll() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closed = true
	for id, sw := range st.watchers {
		st.hub.Cancel(sw.w)
		delete(st.watchers, id)
	}
}

// control queues a response of the receive loop, waiting for room.
func (st *watchStream) control(r watch.Response) bool {
	select {
	case st.queue <- r:
		return true
	case <-st.stream.Context().Done():
		return false
	}
}

func (st *watchStream) recvLoop() error {
	for {
		req, err := st.stream.Recv()
		if errors.Is(err, io.EOF) {
			// The client closed its side; etcd keeps sending until the
			// stream ends.
			<-st.stream.Context().Done()
			return nil
		}
		if err != nil {
			return err
		}
		switch u := req.RequestUnion.(type) {
		case *pb.WatchRequest_CreateRequest:
			if u.CreateRequest != nil && !st.create(u.CreateRequest) {
				return nil
			}
		case *pb.WatchRequest_CancelRequest:
			if u.CancelRequest == nil {
				continue
			}
			id := u.CancelRequest.WatchId
			st.mu.Lock()
			sw, ok := st.watchers[id]
			delete(st.watchers, id)
			st.mu.Unlock()
			if ok {
				st.hub.Cancel(sw.w)
				if !st.control(watch.Response{WatchID: id, Canceled: true, Revision: st.hub.Rev()}) {
					return nil
				}
			}
		case *pb.WatchRequest_ProgressRequest:
			if u.ProgressRequest != nil {
				st.mu.Lock()
				st.progressAll = true
				st.mu.Unlock()
				st.maybeProgressAll()
			}
		}
	}
}

// create handles a creation request as etcd does; it returns false when
// the stream is gone.
func (st *watchStream) create(c *pb.WatchCreateRequest) bool {
	key, end := c.Key, c.RangeEnd
	if len(key) == 0 {
		key = []byte{0} // the smallest key
	}
	switch {
	case len(end) == 0:
		end = nil // one key
	case len(end) == 1 && end[0] == 0:
		end = []byte{} // every key from key on
	}
	// etcd checks the range as converted above, which checks a from-key
	// watch as its first key only: a user who may read one key would see
	// every key after it. Larch checks the whole range.
	checkEnd := end
	if end != nil && len(end) == 0 {
		checkEnd = []byte{0}
	}
	if err := st.s.checkRead(st.stream.Context(), key, checkEnd); err != nil {
		return st.control(watch.Response{WatchID: invalidWatchID, Created: true, Canceled: true,
			CancelReason: err.Error(), Revision: st.hub.Rev()})
	}
	if c.StartRevision < 0 {
		return st.control(watch.Response{WatchID: invalidWatchID, Created: true, Canceled: true,
			CancelReason: rpctypes.ErrCompacted.Error(), Revision: st.hub.Rev()})
	}
	if len(end) > 0 && bytes.Compare(end, key) <= 0 {
		return st.control(watch.Response{WatchID: invalidWatchID, Created: true, Canceled: true,
			CancelReason: errEmptyWatcherRange.Error(), Revision: st.hub.Rev()})
	}
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return false
	}
	id := c.WatchId
	if id == autoWatchID {
		for {
			id = st.nextID
			st.nextID++
			if _, taken := st.watchers[id]; !taken {
				break
			}
		}
	} else if _, taken := st.watchers[id]; taken {
		st.mu.Unlock()
		return st.control(watch.Response{WatchID: invalidWatchID, Created: true, Canceled: true,
			CancelReason: errWatcherDuplicateID.Error(), Revision: st.hub.Rev()})
	}
	var noPut, noDelete bool
	for _, f := range c.Filters {
		switch f {
		case pb.WatchCreateRequest_NOPUT:
			noPut = true
		case pb.WatchCreateRequest_NODELETE:
			noDelete = true
		}
	}
	sw := &streamWatcher{prevKV: c.PrevKv, fragment: c.Fragment, progress: c.ProgressNotify}
	st.watchers[id] = sw
	w, rev := st.hub.Watch(watch.Request{WatchID: id, Key: key, End: end, StartRevision: c.StartRevision,
		PrevKV: c.PrevKv, NoPut: noPut, NoDelete: noDelete}, st.queue)
	sw.w = w
	st.mu.Unlock()
	// Events may be queued before this answer; the send loop holds them
	// back until the creation is announced, as etcd's does.
	return st.control(watch.Response{WatchID: id, Created: true, Revision: rev})
}

// maybeProgressAll answers a pending progress request once every watcher
// of the stream is synced (etcd answers with watch ID -1).
func (st *watchStream) maybeProgressAll() {
	st.mu.Lock()
	if !st.progressAll {
		st.mu.Unlock()
		return
	}
	ws := make([]*watch.Watcher, 0, len(st.watchers))
	for _, sw := range st.watchers {
		if sw.w != nil {
			ws = append(ws, sw.w)
		}
	}
	st.mu.Unlock()
	st.mu.Lock()
	st.progressAll = false
	st.mu.Unlock()
	// As etcd, a request that finds a watcher behind (or none) is dropped.
	rev, ok := st.hub.ProgressAll(ws)
	if !ok {
		return
	}
	select {
	case st.queue <- watch.Response{WatchID: invalidWatchID, Revision: rev, Progress: true}:
	default:
	}
}

func (st *watchStream) sendLoop() error {
	tick := time.NewTicker(st.s.cfg.WatchProgressNotifyInterval)
	defer tick.Stop()
	// announced are the watch IDs whose creation was sent; pending holds
	// the responses of the others until it is.
	announced := map[int64]bool{}
	pending := map[int64][]watch.Response{}
	for {
		select {
		case r := <-st.queue:
			if len(st.queue) == cap(st.queue)-1 {
				// The queue was full: watchers that found it so can go on.
				st.hub.Kick(st.queue)
			}
			var batch []watch.Response
			switch {
			case r.Created && !r.Canceled:
				announced[r.WatchID] = true
				batch = append([]watch.Response{r}, pending[r.WatchID]...)
				delete(pending, r.WatchID)
			case r.WatchID != invalidWatchID && !announced[r.WatchID]:
				pending[r.WatchID] = append(pending[r.WatchID], r)
				continue
			default:
				batch = []watch.Response{r}
				if r.Canceled || r.CompactRevision != 0 {
					delete(announced, r.WatchID)
				}
			}
			for _, r := range batch {
				if err := st.send(r); err != nil {
					return err
				}
			}
		case <-tick.C:
			st.progressTick()
		case <-st.stream.Context().Done():
			return nil
		}
	}
}

// progressTick sends a progress notification to every watcher that asked
// for them and had no event since the last tick, if it is synced.
func (st *watchStream) progressTick() {
	st.mu.Lock()
	var due []*streamWatcher
	for _, sw := range st.watchers {
		if !sw.progress || sw.w == nil {
			continue
		}
		if sw.quiet {
			due = append(due, sw)
		}
		sw.quiet = true
	}
	st.mu.Unlock()
	for _, sw := range due {
		st.hub.SendProgress(sw.w)
	}
}

func (st *watchStream) send(r watch.Response) error {
	resp := &pb.WatchResponse{
		Header:          &pb.ResponseHeader{},
		WatchId:         r.WatchID,
		Created:         r.Created,
		Canceled:        r.Canceled || r.CompactRevision != 0,
		CompactRevision: r.CompactRevision,
		CancelReason:    r.CancelReason,
	}
	st.s.fillHeader(resp.Header)
	// The response's own revision, not the store's now; none for a
	// cancellation by compaction, as etcd sends it.
	resp.Header.Revision = r.Revision
	st.mu.Lock()
	sw := st.watchers[r.WatchID]
	if sw != nil && len(r.Events) > 0 {
		sw.quiet = false
	}
	if r.CompactRevision != 0 {
		delete(st.watchers, r.WatchID)
	}
	st.mu.Unlock()
	if len(r.Events) > 0 {
		if sw == nil {
			return nil // cancelled meanwhile: etcd sends nothing more for it
		}
		resp.Events = make([]*mvccpb.Event, len(r.Events))
		for i := range r.Events {
			resp.Events[i] = toPBEvent(&r.Events[i], sw.prevKV)
		}
		if sw.fragment {
			return sendFragments(resp, st.s.cfg.MaxRequestBytes+grpcOverheadBytes, st.stream.Send)
		}
	}
	return st.stream.Send(resp)
}

func toPBEvent(ev *mvcc.Event, prevKV bool) *mvccpb.Event {
	out := &mvccpb.Event{Kv: wire.KeyValue(&ev.KV)}
	if ev.Type == mvcc.EventDelete {
		out.Type = mvccpb.DELETE
	}
	if prevKV && ev.PrevKV != nil {
		out.PrevKv = wire.KeyValue(ev.PrevKV)
	}
	return out
}

// sendFragments splits a response whose events exceed max bytes into
// several, each but the last marked as a fragment, as etcd does for a
// watcher created with fragment set. etcd's max is the request limit plus
// the gRPC overhead it allows, and it measures a part with the fragment
// flag already set: both decide where the parts end, so both are kept.
func sendFragments(wr *pb.WatchResponse, max int, send func(*pb.WatchResponse) error) error {
	if wr.Size() < max || len(wr.Events) < 2 {
		return send(wr)
	}
	events := wr.Events
	for len(events) > 0 {
		cur := *wr
		cur.Events = nil
		cur.Fragment = true
		n := 0
		for n < len(events) {
			cur.Events = append(cur.Events, events[n])
			if len(cur.Events) > 1 && cur.Size() >= max {
				cur.Events = cur.Events[:len(cur.Events)-1]
				break
			}
			n++
		}
		events = events[n:]
		cur.Fragment = len(events) > 0
		if err := send(&cur); err != nil {
			return err
		}
	}
	return nil
}
