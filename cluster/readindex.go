package cluster

import (
	"context"
	"encoding/binary"
	"time"

	"go.etcd.io/raft/v3"
)

// readNotifier is shared by every linearizable read that joined one round
// of the read loop; one ReadIndex serves them all.
type readNotifier struct {
	done chan struct{}
	err  error
}

func newReadNotifier() *readNotifier { return &readNotifier{done: make(chan struct{})} }

func (n *readNotifier) notify(err error) {
	n.err = err
	close(n.done)
}

// LinearizableReadNotify returns once this member has applied everything
// committed before the call: a read served afterwards from the local state
// is linearizable. Concurrent callers share one ReadIndex round trip.
func (s *Server) LinearizableReadNotify(ctx context.Context) error {
	s.readMu.Lock()
	nr := s.readPending
	s.readMu.Unlock()
	select {
	case s.readwaitc <- struct{}{}:
	default:
	}
	select {
	case <-nr.done:
		return nr.err
	case <-ctx.Done():
		return s.contextError(ctx, ctx.Err())
	case <-s.stopping:
		return ErrStopped
	}
}

// publishReadState hands the newest read state to the read loop without
// ever blocking the raft loop: a stale unread one is replaced.
func (s *Server) publishReadState(rs raft.ReadState) {
	for {
		select {
		case s.readStatec <- rs:
			return
		default:
		}
		select {
		case <-s.readStatec:
		default:
		}
	}
}

// runReadIndex is the read loop: each round takes every reader waiting so
// far, asks Raft for one read index, waits until it is applied, and releases
// them together.
func (s *Server) runReadIndex() {
	defer s.wg.Done()
	for {
		select {
		case <-s.readwaitc:
		case <-s.stopping:
			return
		}
		s.readMu.Lock()
		nr := s.readPending
		s.readPending = newReadNotifier()
		s.readMu.Unlock()
		index, err := s.requestReadIndex()
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), s.RequestTimeout())
			err = s.applied.wait(ctx, s.stopping, index)
			cancel()
			if err == context.DeadlineExceeded {
				err = ErrTimeout
			}
		}
		nr.notify(err)
	}
}

func (s *Server) requestReadIndex() (uint64, error) {
	id := s.reqIDs.next()
	s.pendingReadID.Store(id)
	rctx := binary.BigEndian.AppendUint64(nil, id)
	deadline := time.NewTimer(s.RequestTimeout())
	defer deadline.Stop()
	// Raft drops a ReadIndex it cannot serve (no leader yet, leader not yet
	// committed in its term), so it is retried until an answer comes.
	retry := time.NewTicker(2 * s.cfg.TickInterval * time.Duration(max(1, s.cfg.ElectionTicks/2)))
	defer retry.Stop()
	send := func() error {
		return s.withRaft(func(rn *raft.RawNode) { rn.ReadIndex(rctx) })
	}
	if err := send(); err != nil {
		return 0, err
	}
	for {
		select {
		case rs := <-s.readStatec:
			if len(rs.RequestCtx) == 8 && binary.BigEndian.Uint64(rs.RequestCtx) == id {
				return rs.Index, nil
			}
		case <-retry.C:
			if err := send(); err != nil {
				return 0, err
			}
		case <-deadline.C:
			if s.Leader() == 0 {
				return 0, ErrNoLeader
			}
			return 0, ErrTimeout
		case <-s.stopping:
			return 0, ErrStopped
		}
	}
}
