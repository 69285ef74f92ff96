package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/larchkv/larch/tree/mvcc"
)

// Corruption checks compare the keyspace's HashKV across members at one
// revision, as etcd's --experimental-initial-corrupt-check and
// --experimental-corrupt-check-time do. Members that applied the same log
// hold the same keyspace, so the same hash at the same revision and
// compaction; a difference means one of them diverged (a bad disk, a bug).

// hashKVPath is the peer endpoint answering a member's HashKV at ?rev=.
const hashKVPath = "/larch/hashkv"

// ErrCorruptPeers is returned by CheckInitialHashKV when this member's
// keyspace differs from a peer's at the same revision.
var ErrCorruptPeers = errors.New("cluster: found data inconsistency with peers")

type peerHash struct {
	Hash       uint32 `json:"hash"`
	Revision   int64  `json:"revision"`
	CompactRev int64  `json:"compactRevision"`
	// FutureRev is set when the peer has not reached the revision yet.
	FutureRev bool `json:"futureRevision,omitempty"`
}

func (s *Server) serveHashKV(w http.ResponseWriter, r *http.Request) {
	rev, err := strconv.ParseInt(r.URL.Query().Get("rev"), 10, 64)
	if err != nil {
		http.Error(w, "bad rev", http.StatusBadRequest)
		return
	}
	var out peerHash
	hash, hashRev, compactRev, err := s.kv.HashKV(rev)
	switch {
	case errors.Is(err, mvcc.ErrFutureRev):
		out.FutureRev = true
	case err != nil:
		http.Error(w, err.Error(), http.StatusConflict)
		return
	default:
		out = peerHash{Hash: hash, Revision: hashRev, CompactRev: compactRev}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// peerHashes asks every other member for its HashKV at rev; members that
// do not answer or cannot hash that revision are left out.
func (s *Server) peerHashes(ctx context.Context, rev int64) map[MemberID]peerHash {
	client := s.peerHTTPClient()
	defer client.CloseIdleConnections()
	out := map[MemberID]peerHash{}
	for _, m := range s.Members() {
		if m.ID == s.id {
			continue
		}
		for _, u := range m.PeerURLs {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s%s?rev=%d", u, hashKVPath, rev), nil)
			if err != nil {
				continue
			}
			resp, err := client.Do(req)
			if err != nil {
				continue
			}
			var h peerHash
			err = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK && !h.FutureRev {
				out[m.ID] = h
			}
			break
		}
	}
	return out
}

// CheckInitialHashKV compares this member's keyspace with its peers' at
// its own revision before it serves clients
// (--experimental-initial-corrupt-check): a peer at that revision and
// compaction with another hash stops this member from starting.
func (s *Server) CheckInitialHashKV(ctx context.Context) error {
	hash, rev, compactRev, err := s.kv.HashKV(0)
	if err != nil {
		return err
	}
	for id, h := range s.peerHashes(ctx, rev) {
		if h.CompactRev == compactRev && h.Hash != hash {
			return fmt.Errorf("%w: local member %s has hash %d at revision %d, peer %s has %d", ErrCorruptPeers, s.id, hash, rev, id, h.Hash)
		}
	}
	s.logger.Info("initial corruption checking passed; no corruption", "member-id", s.id.String(), "revision", rev)
	return nil
}

// runCorruptCheck is the periodic check (--experimental-corrupt-check-time):
// the leader compares its hash at its revision with every follower's and
// raises CORRUPT for a follower that differs at the same compaction.
func (s *Server) runCorruptCheck() {
	defer s.wg.Done()
	if s.cfg.CorruptCheckTime <= 0 {
		return
	}
	for s.wait(s.cfg.CorruptCheckTime) {
		if s.Leader() != s.id || s.HasAlarm(pb.AlarmType_CORRUPT) {
			continue
		}
		hash, rev, compactRev, err := s.kv.HashKV(0)
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.RequestTimeout())
		for id, h := range s.peerHashes(ctx, rev) {
			if h.CompactRev != compactRev || h.Hash == hash {
				continue
			}
			s.logger.Error("found data inconsistency with peers", "leader-member-id", s.id.String(), "member-id", id.String(),
				"revision", rev, "leader-hash", hash, "member-hash", h.Hash)
			if _, err := s.Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_ACTIVATE, MemberID: uint64(id), Alarm: pb.AlarmType_CORRUPT}); err != nil {
				s.logger.Warn("raising the CORRUPT alarm", "member-id", id.String(), "error", err)
			}
		}
		cancel()
	}
}

// DefaultCorruptCheckTimeout bounds the initial check.
const DefaultCorruptCheckTimeout = 5 * time.Second
