package v3api

import (
	"context"
	"crypto/sha256"
	"hash"
	"net/url"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/larchkv/larch/cluster"
)

type maintenanceServer struct {
	pb.UnimplementedMaintenanceServer
	s *Server
}

func (m *maintenanceServer) Status(ctx context.Context, r *pb.StatusRequest) (*pb.StatusResponse, error) {
	if err := m.s.checkAdmin(ctx); err != nil {
		return nil, err
	}
	member := m.s.member
	resp := &pb.StatusResponse{
		Header:           &pb.ResponseHeader{},
		Version:          ServerVersion,
		DbSize:           member.DBSize(),
		DbSizeInUse:      member.DBSizeInUse(),
		Leader:           uint64(member.Leader()),
		RaftIndex:        member.CommittedIndex(),
		RaftTerm:         member.Term(),
		RaftAppliedIndex: member.AppliedIndex(),
		StorageVersion:   StorageVersion,
		DbSizeQuota:      m.s.cfg.QuotaBackendBytes,
		DowngradeInfo:    &pb.DowngradeInfo{},
		IsLearner:        member.IsLearner(),
	}
	if resp.Leader == 0 {
		resp.Errors = append(resp.Errors, rpctypes.ErrGRPCNoLeader.Error())
	}
	for _, a := range member.Alarms() {
		resp.Errors = append(resp.Errors, alarmToPB(a).String())
	}
	m.s.fillHeader(resp.Header)
	return resp, nil
}

func alarmToPB(a cluster.Alarm) *pb.AlarmMember {
	return &pb.AlarmMember{MemberID: uint64(a.Member), Alarm: a.Type}
}

func (m *maintenanceServer) Hash(ctx context.Context, r *pb.HashRequest) (*pb.HashResponse, error) {
	if err := m.s.checkAdmin(ctx); err != nil {
		return nil, err
	}
	resp := &pb.HashResponse{Header: &pb.ResponseHeader{}, Hash: m.s.member.KV().Hash()}
	m.s.fillHeader(resp.Header)
	return resp, nil
}

func (m *maintenanceServer) HashKV(ctx context.Context, r *pb.HashKVRequest) (*pb.HashKVResponse, error) {
	if err := m.s.checkAdmin(ctx); err != nil {
		return nil, err
	}
	kv := m.s.member.KV()
	// etcd answers from the hashes its last compactions took whenever the
	// revision is one of theirs, before it checks the revision at all.
	if hash, compactRev, ok := kv.CompactionHash(r.Revision); ok {
		resp := &pb.HashKVResponse{Header: &pb.ResponseHeader{}, Hash: hash, HashRevision: r.Revision, CompactRevision: compactRev}
		m.s.fillHeader(resp.Header)
		return resp, nil
	}
	hash, hashRev, compactRev, err := kv.HashKV(r.Revision)
	if err != nil {
		return nil, togRPCError(err)
	}
	resp := &pb.HashKVResponse{Header: &pb.ResponseHeader{}, Hash: hash, HashRevision: hashRev, CompactRevision: compactRev}
	m.s.fillHeader(resp.Header)
	return resp, nil
}

type clusterServer struct {
	pb.UnimplementedClusterServer
	s *Server
}

func (c *clusterServer) MemberList(ctx context.Context, r *pb.MemberListRequest) (*pb.MemberListResponse, error) {
	if r.Linearizable {
		if err := c.s.member.LinearizableReadNotify(ctx); err != nil {
			return nil, togRPCError(err)
		}
	}
	resp := &pb.MemberListResponse{Header: c.header(), Members: membersToPB(c.s.member.Members())}
	return resp, nil
}

// header is the header of the Cluster service's answers: membership has
// no keyspace revision, and etcd leaves it out.
func (c *clusterServer) header() *pb.ResponseHeader {
	h := &pb.ResponseHeader{}
	c.s.fillHeader(h)
	h.Revision = 0
	return h
}

func memberToPB(m cluster.Member) *pb.Member {
	return &pb.Member{ID: uint64(m.ID), Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs, IsLearner: m.IsLearner}
}

func membersToPB(members []cluster.Member) []*pb.Member {
	out := make([]*pb.Member, len(members))
	for i, m := range members {
		out[i] = memberToPB(m)
	}
	return out
}

// checkPeerURLs refuses what etcd's types.NewURLs refuses.
func checkPeerURLs(urls []string) error {
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "unix" && u.Scheme != "unixs") ||
			u.Host == "" || (u.Path != "" && u.Path != "/") {
			return rpctypes.ErrGRPCMemberBadURLs
		}
	}
	return nil
}

func (c *clusterServer) MemberAdd(ctx context.Context, r *pb.MemberAddRequest) (*pb.MemberAddResponse, error) {
	if err := checkPeerURLs(r.PeerURLs); err != nil {
		return nil, err
	}
	if err := c.s.checkAdmin(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.member.RequestTimeout())
	defer cancel()
	m, members, err := c.s.member.AddMember(ctx, r.PeerURLs, r.IsLearner)
	if err != nil {
		return nil, togRPCError(err)
	}
	return &pb.MemberAddResponse{Header: c.header(), Member: memberToPB(m), Members: membersToPB(members)}, nil
}

func (c *clusterServer) MemberRemove(ctx context.Context, r *pb.MemberRemoveRequest) (*pb.MemberRemoveResponse, error) {
	if err := c.s.checkAdmin(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.member.RequestTimeout())
	defer cancel()
	members, err := c.s.member.RemoveMember(ctx, cluster.MemberID(r.ID))
	if err != nil {
		return nil, togRPCError(err)
	}
	return &pb.MemberRemoveResponse{Header: c.header(), Members: membersToPB(members)}, nil
}

func (c *clusterServer) MemberUpdate(ctx context.Context, r *pb.MemberUpdateRequest) (*pb.MemberUpdateResponse, error) {
	if err := checkPeerURLs(r.PeerURLs); err != nil {
		return nil, err
	}
	if err := c.s.checkAdmin(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.member.RequestTimeout())
	defer cancel()
	members, err := c.s.member.UpdateMember(ctx, cluster.MemberID(r.ID), r.PeerURLs)
	if err != nil {
		return nil, togRPCError(err)
	}
	return &pb.MemberUpdateResponse{Header: c.header(), Members: membersToPB(members)}, nil
}

func (c *clusterServer) MemberPromote(ctx context.Context, r *pb.MemberPromoteRequest) (*pb.MemberPromoteResponse, error) {
	if err := c.s.checkAdmin(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.member.RequestTimeout())
	defer cancel()
	members, err := c.s.member.PromoteMember(ctx, cluster.MemberID(r.ID))
	if err != nil {
		return nil, togRPCError(err)
	}
	return &pb.MemberPromoteResponse{Header: c.header(), Members: membersToPB(members)}, nil
}

func (m *maintenanceServer) MoveLeader(ctx context.Context, r *pb.MoveLeaderRequest) (*pb.MoveLeaderResponse, error) {
	if err := m.s.checkAdmin(ctx); err != nil {
		return nil, err
	}
	if m.s.member.Leader() != m.s.member.ID() {
		return nil, rpctypes.ErrGRPCNotLeader
	}
	ctx, cancel := context.WithTimeout(ctx, m.s.member.RequestTimeout())
	defer cancel()
	if err := m.s.member.MoveLeader(ctx, cluster.MemberID(r.TargetID)); err != nil {
		return nil, togRPCError(err)
	}
	// etcd answers with an empty message, without a header.
	return &pb.MoveLeaderResponse{}, nil
}

// Alarm lists, raises and clears alarms, through Raft as in etcd.
func (m *maintenanceServer) Alarm(ctx context.Context, r *pb.AlarmRequest) (*pb.AlarmResponse, error) {
	if _, err := m.s.callerOf(ctx); err != nil {
		return nil, togRPCError(err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.s.member.RequestTimeout())
	defer cancel()
	resp, err := m.s.member.Alarm(ctx, r)
	if err != nil {
		return nil, togRPCError(err)
	}
	m.s.fillHeader(resp.Header)
	return resp, nil
}

// Defragment writes this member's state anew and gives back the space
// compaction freed (cluster.Server.Defragment). etcd answers with an empty
// message, without a header.
func (m *maintenanceServer) Defragment(ctx context.Context, r *pb.DefragmentRequest) (*pb.DefragmentResponse, error) {
	if err := m.s.checkAdmin(ctx); err != nil {
		return nil, err
	}
	if _, err := m.s.member.Defragment(ctx); err != nil {
		return nil, togRPCError(err)
	}
	return &pb.DefragmentResponse{}, nil
}

// snapshotChunkSize is how much of a snapshot one message carries, etcd's size.
const snapshotChunkSize = 32 << 10

// Snapshot streams a point-in-time copy of the whole state, as etcd streams
// its database: chunks with the bytes still to come, then one message with
// the SHA-256 of everything sent, which `snapshot restore` checks.
func (m *maintenanceServer) Snapshot(r *pb.SnapshotRequest, stream pb.Maintenance_SnapshotServer) error {
	ctx := stream.Context()
	if err := m.s.checkAdmin(ctx); err != nil {
		return err
	}
	snap, err := m.s.member.Snapshot(ctx)
	if err != nil {
		return togRPCError(err)
	}
	total := snap.Len()
	m.s.logger.Info("sending snapshot to client", "total-bytes", total, "revision", snap.Revision())
	start := time.Now()
	w := &snapshotSender{stream: stream, hash: sha256.New(), left: total, buf: make([]byte, 0, snapshotChunkSize)}
	if _, err := snap.WriteTo(w); err != nil {
		return togRPCError(err)
	}
	if err := w.flush(); err != nil {
		return togRPCError(err)
	}
	if w.left != 0 {
		return status.Errorf(codes.Internal, "v3api: snapshot wrote %d bytes fewer than announced", w.left)
	}
	if err := stream.Send(&pb.SnapshotResponse{Blob: w.hash.Sum(nil), Version: StorageVersion}); err != nil {
		return togRPCError(err)
	}
	m.s.logger.Info("sent snapshot to client", "total-bytes", total, "took", time.Since(start).String())
	return nil
}

// snapshotSender cuts what is written to it into SnapshotResponse messages.
type snapshotSender struct {
	stream pb.Maintenance_SnapshotServer
	hash   hash.Hash
	left   int64 // bytes not yet sent
	buf    []byte
}

func (w *snapshotSender) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), snapshotChunkSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == snapshotChunkSize {
			if err := w.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (w *snapshotSender) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	w.left -= int64(len(w.buf))
	w.hash.Write(w.buf)
	// Send may keep the message until it is written out: each message
	// gets a buffer of its own.
	err := w.stream.Send(&pb.SnapshotResponse{RemainingBytes: uint64(max(w.left, 0)), Blob: w.buf, Version: StorageVersion})
	w.buf = make([]byte, 0, snapshotChunkSize)
	return err
}

// Downgrade is not served: Larch has one storage version, so there is no
// downgrade to validate or run. The caller is checked first, as etcd does,
// so that only root learns that.
func (m *maintenanceServer) Downgrade(ctx context.Context, r *pb.DowngradeRequest) (*pb.DowngradeResponse, error) {
	if err := m.s.checkAdmin(ctx); err != nil {
		return nil, err
	}
	return nil, status.Error(codes.Unimplemented, "method Downgrade not implemented")
}
