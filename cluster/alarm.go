package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// Alarms are replicated state: raised and cleared by Raft entries (an
// InternalRaftRequest with an AlarmRequest, as in etcd), kept in snapshots,
// so every member agrees on them and they survive restarts. While one is
// raised the apply loop refuses the writes it forbids, on every member alike.

var (
	// ErrNoSpace is returned for a write that would grow the state while
	// a NOSPACE alarm is raised (or that the quota refuses).
	ErrNoSpace = errors.New("etcdserver: mvcc: database space exceeded")
	// ErrCorrupt is returned for every write while a CORRUPT alarm is raised.
	ErrCorrupt = errors.New("etcdserver: corrupt cluster")
)

// Alarm is one raised alarm: a member and what it reports.
type Alarm struct {
	Member MemberID     `json:"member"`
	Type   pb.AlarmType `json:"type"`
}

// alarmSet is the replicated set of raised alarms. The apply loop changes
// it; anyone reads it.
type alarmSet struct {
	mu sync.RWMutex
	// raised is kept sorted by member, then type, so listings and
	// snapshots do not depend on the order alarms came in.
	raised []Alarm
}

func compareAlarms(a, b Alarm) int {
	if c := cmp.Compare(a.Member, b.Member); c != 0 {
		return c
	}
	return cmp.Compare(a.Type, b.Type)
}

// activate raises a; it reports false if a was raised already.
func (as *alarmSet) activate(a Alarm) bool {
	as.mu.Lock()
	defer as.mu.Unlock()
	i, found := slices.BinarySearchFunc(as.raised, a, compareAlarms)
	if found {
		return false
	}
	as.raised = slices.Insert(as.raised, i, a)
	return true
}

// deactivate clears a; it reports false if a was not raised.
func (as *alarmSet) deactivate(a Alarm) bool {
	as.mu.Lock()
	defer as.mu.Unlock()
	i, found := slices.BinarySearchFunc(as.raised, a, compareAlarms)
	if !found {
		return false
	}
	as.raised = slices.Delete(as.raised, i, i+1)
	return true
}

// list returns the raised alarms of type t, all of them for NONE.
func (as *alarmSet) list(t pb.AlarmType) []Alarm {
	as.mu.RLock()
	defer as.mu.RUnlock()
	var out []Alarm
	for _, a := range as.raised {
		if t == pb.AlarmType_NONE || a.Type == t {
			out = append(out, a)
		}
	}
	return out
}

func (as *alarmSet) has(t pb.AlarmType) bool {
	as.mu.RLock()
	defer as.mu.RUnlock()
	for _, a := range as.raised {
		if a.Type == t {
			return true
		}
	}
	return false
}

func (as *alarmSet) replaceWith(alarms []Alarm) {
	alarms = slices.Clone(alarms)
	slices.SortFunc(alarms, compareAlarms)
	alarms = slices.Compact(alarms)
	as.mu.Lock()
	as.raised = alarms
	as.mu.Unlock()
}

func (as *alarmSet) encode() ([]byte, error) {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return json.Marshal(as.raised)
}

// Alarms returns the raised alarms, as this member has applied them.
func (s *Server) Alarms() []Alarm { return s.alarms.list(pb.AlarmType_NONE) }

// HasAlarm reports whether an alarm of type t is raised.
func (s *Server) HasAlarm(t pb.AlarmType) bool { return s.alarms.has(t) }

// Alarm raises, clears or lists alarms through Raft, as etcd does, so that
// a listing follows every change acknowledged before it.
func (s *Server) Alarm(ctx context.Context, r *pb.AlarmRequest) (*pb.AlarmResponse, error) {
	res, err := s.Propose(ctx, &pb.InternalRaftRequest{Alarm: r})
	if err != nil {
		return nil, err
	}
	if res.Err != nil {
		return nil, res.Err
	}
	return res.Resp.(*pb.AlarmResponse), nil
}

func alarmsToPB(alarms []Alarm) []*pb.AlarmMember {
	out := make([]*pb.AlarmMember, len(alarms))
	for i, a := range alarms {
		out[i] = &pb.AlarmMember{MemberID: uint64(a.Member), Alarm: a.Type}
	}
	return out
}

func (s *Server) applyAlarm(r *pb.AlarmRequest) Result {
	resp := &pb.AlarmResponse{Header: &pb.ResponseHeader{}}
	a := Alarm{Member: MemberID(r.MemberID), Type: r.Alarm}
	switch r.Action {
	case pb.AlarmRequest_GET:
		resp.Alarms = alarmsToPB(s.alarms.list(r.Alarm))
	case pb.AlarmRequest_ACTIVATE:
		if a.Type == pb.AlarmType_NONE {
			break
		}
		// etcd answers with the alarm whether or not it was raised already.
		resp.Alarms = alarmsToPB([]Alarm{a})
		if s.alarms.activate(a) {
			s.logger.Warn("alarm raised", "member-id", a.Member.String(), "alarm", a.Type.String())
		}
	case pb.AlarmRequest_DEACTIVATE:
		if !s.alarms.deactivate(a) {
			break
		}
		resp.Alarms = alarmsToPB([]Alarm{a})
		s.logger.Warn("alarm disarmed", "member-id", a.Member.String(), "alarm", a.Type.String())
	}
	return Result{Resp: resp}
}

// refusedByAlarm says which error a raised alarm makes the apply loop give
// r, nil if none: with CORRUPT every write fails, with NOSPACE every write
// that may grow the state (etcd's capped applier).
func (s *Server) refusedByAlarm(r *pb.InternalRaftRequest) error {
	if s.alarms.has(pb.AlarmType_CORRUPT) &&
		(r.Put != nil || r.DeleteRange != nil || r.Txn != nil || r.Compaction != nil || r.LeaseGrant != nil || r.LeaseRevoke != nil) {
		return ErrCorrupt
	}
	if s.alarms.has(pb.AlarmType_NOSPACE) && (r.Put != nil || r.LeaseGrant != nil || (r.Txn != nil && TxnCost(r.Txn) > 0)) {
		return ErrNoSpace
	}
	return nil
}

// The quota charges etcd's estimates, so a quota fills after about as
// many writes as on etcd.
const (
	kvOverhead    = 256
	leaseOverhead = 64
)

// PutCost is what a put is charged against the space quota.
func PutCost(r *pb.PutRequest) int64 { return kvOverhead + int64(len(r.Key)+len(r.Value)) }

// LeaseGrantCost is what a lease grant is charged against the space quota.
const LeaseGrantCost = leaseOverhead

// TxnCost is what a txn is charged against the space quota: the puts of
// its costlier branch (nested txns are free, as in etcd).
func TxnCost(r *pb.TxnRequest) int64 {
	branch := func(ops []*pb.RequestOp) int64 {
		var n int64
		for _, op := range ops {
			if p := op.GetRequestPut(); p != nil {
				n += PutCost(p)
			}
		}
		return n
	}
	return max(branch(r.Success), branch(r.Failure))
}
