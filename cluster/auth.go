package cluster

import (
	"context"
	"encoding/base64"
	"errors"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/larchkv/larch/auth"
	"github.com/larchkv/larch/auth/token"
	"github.com/larchkv/larch/tree/lease"
)

// Auth returns the auth store. Callers read it; the apply loop writes it.
func (s *Server) Auth() *auth.Store { return s.authStore }

// Passwords returns the member's password checker.
func (s *Server) Passwords() *auth.Passwords { return s.passwords }

// TokenInfo returns the user a token stands for and the auth revision the
// user is authorised at: auth.ErrInvalidAuthToken for a token that names
// no session. While auth is off, tokens are ignored: ("", 0, nil).
func (s *Server) TokenInfo(tok string) (user string, rev uint64, err error) {
	if !s.authStore.Enabled() {
		return "", 0, nil
	}
	user, rev, ok := s.tokens.Info(tok, s.authStore.Revision(), s.cfg.AuthClock())
	if !ok {
		return "", 0, auth.ErrInvalidAuthToken
	}
	return user, rev, nil
}

// Authenticate checks a user's password and opens a session through Raft,
// so that every member knows the token. As etcd does, it checks the
// password again if auth changed between the check and the entry.
func (s *Server) Authenticate(ctx context.Context, name, password string) (string, error) {
	// As etcd: the password is checked against state at least as new as
	// what the client saw (a user added just now through another member).
	if err := s.LinearizableReadNotify(ctx); err != nil {
		return "", err
	}
	for {
		if !s.authStore.Enabled() {
			return "", auth.ErrAuthNotEnabled
		}
		rev, err := s.passwords.Authenticate(s.authStore, name, password)
		if err != nil {
			return "", err
		}
		var prefix string
		if s.tokens.WantsPrefix() {
			if prefix, err = token.NewPrefix(); err != nil {
				return "", err
			}
		}
		// The password stays out of the log; the revision it was checked
		// at goes in the header, and the entry fails if auth moved on.
		r := &pb.InternalRaftRequest{
			Header:       &pb.RequestHeader{AuthRevision: rev},
			Authenticate: &pb.InternalAuthenticateRequest{Name: name, SimpleToken: prefix},
		}
		res, err := s.Propose(ctx, r)
		if err != nil {
			return "", err
		}
		if errors.Is(res.Err, auth.ErrAuthOldRevision) {
			continue
		}
		if res.Err != nil {
			return "", res.Err
		}
		return res.Resp.(*pb.AuthenticateResponse).Token, nil
	}
}

// HashPassword hashes a password for a UserAdd or UserChangePassword
// entry, in the form etcd's entries carry it (base64 of the bcrypt hash).
func (s *Server) HashPassword(password string) (string, error) {
	h, err := s.passwords.Hash(password)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(h), nil
}

// applyAuthRequest applies the auth requests of the v3 API; ok is false
// when r is not one.
func (s *Server) applyAuthRequest(index uint64, r *pb.InternalRaftRequest) (res Result, ok bool) {
	st := s.authStore
	hdr := &pb.ResponseHeader{}
	done := func(resp any, err error) (Result, bool) {
		if err != nil {
			return Result{Err: err}, true
		}
		return Result{Resp: resp}, true
	}
	switch {
	case r.Authenticate != nil:
		return done(s.applyAuthenticate(index, r))
	case r.AuthEnable != nil:
		return done(&pb.AuthEnableResponse{Header: hdr}, st.Enable())
	case r.AuthDisable != nil:
		st.Disable()
		s.tokens.Clear()
		return done(&pb.AuthDisableResponse{Header: hdr}, nil)
	case r.AuthStatus != nil:
		return done(&pb.AuthStatusResponse{Header: hdr, Enabled: st.Enabled(), AuthRevision: st.Revision()}, nil)
	case r.AuthUserAdd != nil:
		a := r.AuthUserAdd
		noPassword := a.Options != nil && a.Options.NoPassword
		var hash []byte
		if !noPassword {
			var err error
			if hash, err = base64.StdEncoding.DecodeString(a.HashedPassword); err != nil || a.HashedPassword == "" {
				// Entries carry hashes only: etcd refuses a user without one.
				return done(nil, auth.ErrNoPasswordUser)
			}
		}
		return done(&pb.AuthUserAddResponse{Header: hdr}, st.AddUser(a.Name, hash, noPassword))
	case r.AuthUserDelete != nil:
		err := st.DeleteUser(r.AuthUserDelete.Name)
		if err == nil {
			s.tokens.InvalidateUser(r.AuthUserDelete.Name)
		}
		return done(&pb.AuthUserDeleteResponse{Header: hdr}, err)
	case r.AuthUserChangePassword != nil:
		a := r.AuthUserChangePassword
		hash, err := base64.StdEncoding.DecodeString(a.HashedPassword)
		if err != nil {
			return done(nil, auth.ErrNoPasswordUser)
		}
		if err := st.ChangePassword(a.Name, hash); err != nil {
			return done(nil, err)
		}
		s.tokens.InvalidateUser(a.Name)
		return done(&pb.AuthUserChangePasswordResponse{Header: hdr}, nil)
	case r.AuthUserGrantRole != nil:
		return done(&pb.AuthUserGrantRoleResponse{Header: hdr}, st.GrantRole(r.AuthUserGrantRole.User, r.AuthUserGrantRole.Role))
	case r.AuthUserRevokeRole != nil:
		return done(&pb.AuthUserRevokeRoleResponse{Header: hdr}, st.RevokeRole(r.AuthUserRevokeRole.Name, r.AuthUserRevokeRole.Role))
	case r.AuthUserGet != nil:
		u, ok := st.User(r.AuthUserGet.Name)
		if !ok {
			return done(nil, auth.ErrUserNotFound)
		}
		return done(&pb.AuthUserGetResponse{Header: hdr, Roles: u.Roles}, nil)
	case r.AuthUserList != nil:
		return done(&pb.AuthUserListResponse{Header: hdr, Users: st.Users()}, nil)
	case r.AuthRoleAdd != nil:
		return done(&pb.AuthRoleAddResponse{Header: hdr}, st.AddRole(r.AuthRoleAdd.Name))
	case r.AuthRoleDelete != nil:
		return done(&pb.AuthRoleDeleteResponse{Header: hdr}, st.DeleteRole(r.AuthRoleDelete.Role))
	case r.AuthRoleGet != nil:
		role, ok := st.Role(r.AuthRoleGet.Role)
		if !ok {
			return done(nil, auth.ErrRoleNotFound)
		}
		return done(&pb.AuthRoleGetResponse{Header: hdr, Perm: WirePermissions(role)}, nil)
	case r.AuthRoleList != nil:
		return done(&pb.AuthRoleListResponse{Header: hdr, Roles: st.Roles()}, nil)
	case r.AuthRoleGrantPermission != nil:
		p := r.AuthRoleGrantPermission.Perm
		if p == nil {
			return done(nil, auth.ErrPermissionNotGiven)
		}
		return done(&pb.AuthRoleGrantPermissionResponse{Header: hdr}, st.GrantPermission(r.AuthRoleGrantPermission.Name,
			auth.Permission{Type: auth.PermType(p.PermType), Key: p.Key, RangeEnd: p.RangeEnd}))
	case r.AuthRoleRevokePermission != nil:
		a := r.AuthRoleRevokePermission
		return done(&pb.AuthRoleRevokePermissionResponse{Header: hdr}, st.RevokePermission(a.Role, []byte(a.Key), []byte(a.RangeEnd)))
	}
	return Result{}, false
}

// WirePermissions are a role's key ranges as the v3 API shows them; the
// root role shows the one range of every key (etcd's).
func WirePermissions(role auth.Role) []*authpb.Permission {
	if role.Name == auth.RootRole {
		return []*authpb.Permission{{PermType: authpb.READWRITE, Key: []byte{}, RangeEnd: []byte{0}}}
	}
	var out []*authpb.Permission
	for _, p := range role.KV {
		out = append(out, &authpb.Permission{PermType: authpb.Permission_Type(p.Type), Key: p.Key, RangeEnd: p.RangeEnd})
	}
	return out
}

func (s *Server) applyAuthenticate(index uint64, r *pb.InternalRaftRequest) (*pb.AuthenticateResponse, error) {
	st := s.authStore
	if !st.Enabled() {
		return nil, auth.ErrAuthNotEnabled
	}
	if r.Header != nil && r.Header.AuthRevision != 0 && r.Header.AuthRevision < st.Revision() {
		return nil, auth.ErrAuthOldRevision
	}
	u, ok := st.User(r.Authenticate.Name)
	if !ok || u.NoPassword {
		return nil, auth.ErrAuthFailed
	}
	if index <= s.replayedTo {
		// Replayed after a restart: the session was opened before it,
		// and tokens, like etcd's, do not outlive the member's memory.
		return &pb.AuthenticateResponse{Header: &pb.ResponseHeader{}}, nil
	}
	tok, err := s.tokens.Assign(r.Authenticate.SimpleToken, index, u.Name, st.Revision(), s.cfg.AuthClock())
	if err != nil {
		return nil, err
	}
	return &pb.AuthenticateResponse{Header: &pb.ResponseHeader{}, Token: tok}, nil
}

// checkAuth checks, at the index the request applies at, that its user may
// make it (etcd's authApplierV3). Client requests always carry the auth
// revision they were authorised at, even while auth was off when they
// were made; revision 0 marks the member's own requests (lease expiry,
// checkpoints, member attributes), which are not checked.
func (s *Server) checkAuth(r *pb.InternalRaftRequest) error {
	st := s.authStore
	hdr := r.Header
	if hdr == nil || hdr.AuthRevision == 0 || !st.Enabled() {
		return nil
	}
	user, rev := hdr.Username, hdr.AuthRevision
	if needsAdmin(r, user, st) {
		if err := st.CheckAdmin(user); err != nil {
			return err
		}
		// Unlike etcd, a token older than an auth change (a root JWT
		// from before root's password changed) manages nothing.
		if rev < st.Revision() {
			return auth.ErrAuthOldRevision
		}
		return nil
	}
	switch {
	case r.Put != nil:
		if err := st.Check(user, rev, r.Put.Key, nil, auth.Write); err != nil {
			return err
		}
		if err := s.checkLeaseKeys(user, rev, lease.ID(r.Put.Lease)); err != nil {
			return err
		}
		if r.Put.PrevKv {
			return st.Check(user, rev, r.Put.Key, nil, auth.Read)
		}
	case r.DeleteRange != nil:
		if err := st.Check(user, rev, r.DeleteRange.Key, r.DeleteRange.RangeEnd, auth.Write); err != nil {
			return err
		}
		if r.DeleteRange.PrevKv {
			return st.Check(user, rev, r.DeleteRange.Key, r.DeleteRange.RangeEnd, auth.Read)
		}
	case r.Txn != nil:
		return CheckTxn(st, user, rev, r.Txn)
	case r.LeaseRevoke != nil:
		return s.checkLeaseKeys(user, rev, lease.ID(r.LeaseRevoke.ID))
	case r.V2 != nil:
		// The v2 API checked the path against the state at rev; the
		// state must not have changed since.
		if rev < st.Revision() {
			return auth.ErrAuthOldRevision
		}
	}
	return nil
}

// needsAdmin tells which requests only root may make (etcd's
// needAdminPermission): every auth change and listing, and the reads of
// another user or of a role the user does not hold.
func needsAdmin(r *pb.InternalRaftRequest, user string, st *auth.Store) bool {
	switch {
	case r.AuthEnable != nil, r.AuthDisable != nil, r.AuthStatus != nil,
		r.AuthUserAdd != nil, r.AuthUserDelete != nil, r.AuthUserChangePassword != nil,
		r.AuthUserGrantRole != nil, r.AuthUserRevokeRole != nil, r.AuthUserList != nil,
		r.AuthRoleAdd != nil, r.AuthRoleDelete != nil, r.AuthRoleGrantPermission != nil,
		r.AuthRoleRevokePermission != nil, r.AuthRoleList != nil:
		return true
	case r.AuthUserGet != nil:
		return r.AuthUserGet.Name != user
	case r.AuthRoleGet != nil:
		return !st.HasRole(user, r.AuthRoleGet.Role)
	}
	return false
}

// checkLeaseKeys checks that the user may write every key attached to a
// lease, which revoking it deletes: root may always.
func (s *Server) checkLeaseKeys(user string, rev uint64, id lease.ID) error {
	if id == lease.NoLease || s.authStore.CheckAdmin(user) == nil {
		return nil
	}
	l, ok := s.leases.Get(id)
	if !ok {
		return nil
	}
	for _, k := range l.Keys {
		if err := s.authStore.Check(user, rev, []byte(k), nil, auth.Write); err != nil {
			return err
		}
	}
	return nil
}

// CheckTxn checks every compare and every operation of both branches of a
// txn, nested ones too (etcd's CheckTxnAuth).
func CheckTxn(st *auth.Store, user string, rev uint64, t *pb.TxnRequest) error {
	for _, c := range t.Compare {
		if err := st.Check(user, rev, c.Key, c.RangeEnd, auth.Read); err != nil {
			return err
		}
	}
	for _, ops := range [][]*pb.RequestOp{t.Success, t.Failure} {
		for _, op := range ops {
			var err error
			switch {
			case op.GetRequestRange() != nil:
				rr := op.GetRequestRange()
				err = st.Check(user, rev, rr.Key, rr.RangeEnd, auth.Read)
			case op.GetRequestPut() != nil:
				err = st.Check(user, rev, op.GetRequestPut().Key, nil, auth.Write)
			case op.GetRequestDeleteRange() != nil:
				dr := op.GetRequestDeleteRange()
				if dr.PrevKv {
					if err = st.Check(user, rev, dr.Key, dr.RangeEnd, auth.Read); err != nil {
						return err
					}
				}
				err = st.Check(user, rev, dr.Key, dr.RangeEnd, auth.Write)
			case op.GetRequestTxn() != nil:
				err = CheckTxn(st, user, rev, op.GetRequestTxn())
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}
