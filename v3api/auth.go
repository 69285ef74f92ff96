package v3api

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/larchkv/larch/auth"
)

// caller is who makes a request, as its token tells: user is empty for a
// request without one; rev is the auth revision the user is authorised
// at (never 0: the apply loop takes 0 for the member's own requests).
type caller struct {
	user string
	rev  uint64
}

// callerOf reads the caller from a request's token (gRPC metadata "token",
// or "authorization" through the gateway). A token that names no session
// is auth.ErrInvalidAuthToken; while auth is off, tokens are ignored.
func (s *Server) callerOf(ctx context.Context) (caller, error) {
	enabled, rev := s.member.Auth().State()
	if !enabled {
		// Still stamped with the revision: if auth is on by the time a
		// write applies, it is checked there like any other (etcd's
		// "user name is empty"), never let through.
		return caller{rev: rev}, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	toks := md.Get(rpctypes.TokenFieldNameGRPC)
	if len(toks) == 0 {
		toks = md.Get(rpctypes.TokenFieldNameSwagger)
	}
	if len(toks) == 0 {
		c := caller{rev: rev}
		if s.cfg.ClientCertAuth {
			c.user = certUser(ctx)
		}
		return c, nil
	}
	user, rev, err := s.member.TokenInfo(toks[0])
	if err != nil {
		return caller{}, err
	}
	return caller{user: user, rev: rev}, nil
}

// certUser is the user a verified client certificate names: the CN of
// the first verified chain's leaf, as etcd's AuthInfoFromTLS; "" without
// one. Calls through the gateway carry none: they come over the loopback.
func certUser(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return ""
	}
	for _, chain := range info.State.VerifiedChains {
		if len(chain) > 0 {
			return chain[0].Subject.CommonName
		}
	}
	return ""
}

// checkAdmin lets only root through while auth is on: the maintenance and
// member calls etcd keeps for root.
func (s *Server) checkAdmin(ctx context.Context) error {
	c, err := s.callerOf(ctx)
	if err != nil {
		return togRPCError(err)
	}
	return togRPCError(checkAdminAt(s.member.Auth(), c))
}

// checkAdminAt is CheckAdmin, and refuses a token older than an auth
// change (a root JWT from before root's password changed, say), which
// etcd's admin check does not: the client authenticates again.
func checkAdminAt(st *auth.Store, c caller) error {
	if err := st.CheckAdmin(c.user); err != nil {
		return err
	}
	if enabled, rev := st.State(); enabled && c.rev < rev {
		return auth.ErrAuthOldRevision
	}
	return nil
}

// checkRead tells whether the caller may read the range (KV API meaning).
func (s *Server) checkRead(ctx context.Context, key, rangeEnd []byte) error {
	c, err := s.callerOf(ctx)
	if err != nil {
		return togRPCError(err)
	}
	return togRPCError(s.member.Auth().Check(c.user, c.rev, key, rangeEnd, auth.Read))
}

// readChecked serves a read the caller may make: checked before, and, as
// etcd's doSerialize, refused afterwards if auth changed meanwhile (a
// revoke that applied between the check and the read).
func (s *Server) readChecked(ctx context.Context, check func(caller) error, read func() error) error {
	c, err := s.callerOf(ctx)
	if err != nil {
		return togRPCError(err)
	}
	if err := check(c); err != nil {
		return togRPCError(err)
	}
	if err := read(); err != nil {
		return err
	}
	if enabled, rev := s.member.Auth().State(); enabled && c.rev != rev {
		return rpctypes.ErrGRPCAuthOldRevision
	}
	return nil
}

// authServer is etcd's Auth service. Every call but Authenticate goes
// through Raft, and the apply loop checks that the caller may make it.
type authServer struct {
	pb.UnimplementedAuthServer
	s *Server
}

func (a *authServer) Authenticate(ctx context.Context, r *pb.AuthenticateRequest) (*pb.AuthenticateResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, a.s.member.RequestTimeout())
	defer cancel()
	tok, err := a.s.member.Authenticate(ctx, r.Name, r.Password)
	if err != nil {
		return nil, togRPCError(err)
	}
	resp := &pb.AuthenticateResponse{Header: &pb.ResponseHeader{}, Token: tok}
	a.s.fillHeader(resp.Header)
	return resp, nil
}

// authCall proposes one Auth request and fills the response's header.
func authCall[T interface{ GetHeader() *pb.ResponseHeader }](ctx context.Context, s *Server, r *pb.InternalRaftRequest) (T, error) {
	resp, err := propose[T](ctx, s, r)
	if err != nil {
		return resp, err
	}
	s.fillHeader(resp.GetHeader())
	return resp, nil
}

func (a *authServer) AuthEnable(ctx context.Context, r *pb.AuthEnableRequest) (*pb.AuthEnableResponse, error) {
	return authCall[*pb.AuthEnableResponse](ctx, a.s, &pb.InternalRaftRequest{AuthEnable: r})
}

func (a *authServer) AuthDisable(ctx context.Context, r *pb.AuthDisableRequest) (*pb.AuthDisableResponse, error) {
	return authCall[*pb.AuthDisableResponse](ctx, a.s, &pb.InternalRaftRequest{AuthDisable: r})
}

func (a *authServer) AuthStatus(ctx context.Context, r *pb.AuthStatusRequest) (*pb.AuthStatusResponse, error) {
	return authCall[*pb.AuthStatusResponse](ctx, a.s, &pb.InternalRaftRequest{AuthStatus: r})
}

// hashed replaces a plain password with its hash, so that the password
// never enters the log (etcd's rule since 3.5).
func (a *authServer) hashed(password string) (string, error) {
	h, err := a.s.member.HashPassword(password)
	return h, togRPCError(err)
}

func (a *authServer) UserAdd(ctx context.Context, r *pb.AuthUserAddRequest) (*pb.AuthUserAddResponse, error) {
	req := &pb.AuthUserAddRequest{Name: r.Name, Options: r.Options}
	if r.Options == nil || !r.Options.NoPassword {
		h, err := a.hashed(r.Password)
		if err != nil {
			return nil, err
		}
		req.HashedPassword = h
	}
	return authCall[*pb.AuthUserAddResponse](ctx, a.s, &pb.InternalRaftRequest{AuthUserAdd: req})
}

func (a *authServer) UserGet(ctx context.Context, r *pb.AuthUserGetRequest) (*pb.AuthUserGetResponse, error) {
	return authCall[*pb.AuthUserGetResponse](ctx, a.s, &pb.InternalRaftRequest{AuthUserGet: r})
}

func (a *authServer) UserList(ctx context.Context, r *pb.AuthUserListRequest) (*pb.AuthUserListResponse, error) {
	return authCall[*pb.AuthUserListResponse](ctx, a.s, &pb.InternalRaftRequest{AuthUserList: r})
}

func (a *authServer) UserDelete(ctx context.Context, r *pb.AuthUserDeleteRequest) (*pb.AuthUserDeleteResponse, error) {
	return authCall[*pb.AuthUserDeleteResponse](ctx, a.s, &pb.InternalRaftRequest{AuthUserDelete: r})
}

func (a *authServer) UserChangePassword(ctx context.Context, r *pb.AuthUserChangePasswordRequest) (*pb.AuthUserChangePasswordResponse, error) {
	// As etcd: an empty password leaves the client's hash (none: the
	// user can no longer log in with a password).
	req := &pb.AuthUserChangePasswordRequest{Name: r.Name, HashedPassword: r.HashedPassword}
	if r.Password != "" {
		h, err := a.hashed(r.Password)
		if err != nil {
			return nil, err
		}
		req.HashedPassword = h
	}
	return authCall[*pb.AuthUserChangePasswordResponse](ctx, a.s, &pb.InternalRaftRequest{AuthUserChangePassword: req})
}

func (a *authServer) UserGrantRole(ctx context.Context, r *pb.AuthUserGrantRoleRequest) (*pb.AuthUserGrantRoleResponse, error) {
	return authCall[*pb.AuthUserGrantRoleResponse](ctx, a.s, &pb.InternalRaftRequest{AuthUserGrantRole: r})
}

func (a *authServer) UserRevokeRole(ctx context.Context, r *pb.AuthUserRevokeRoleRequest) (*pb.AuthUserRevokeRoleResponse, error) {
	return authCall[*pb.AuthUserRevokeRoleResponse](ctx, a.s, &pb.InternalRaftRequest{AuthUserRevokeRole: r})
}

func (a *authServer) RoleAdd(ctx context.Context, r *pb.AuthRoleAddRequest) (*pb.AuthRoleAddResponse, error) {
	return authCall[*pb.AuthRoleAddResponse](ctx, a.s, &pb.InternalRaftRequest{AuthRoleAdd: r})
}

func (a *authServer) RoleGet(ctx context.Context, r *pb.AuthRoleGetRequest) (*pb.AuthRoleGetResponse, error) {
	return authCall[*pb.AuthRoleGetResponse](ctx, a.s, &pb.InternalRaftRequest{AuthRoleGet: r})
}

func (a *authServer) RoleList(ctx context.Context, r *pb.AuthRoleListRequest) (*pb.AuthRoleListResponse, error) {
	return authCall[*pb.AuthRoleListResponse](ctx, a.s, &pb.InternalRaftRequest{AuthRoleList: r})
}

func (a *authServer) RoleDelete(ctx context.Context, r *pb.AuthRoleDeleteRequest) (*pb.AuthRoleDeleteResponse, error) {
	return authCall[*pb.AuthRoleDeleteResponse](ctx, a.s, &pb.InternalRaftRequest{AuthRoleDelete: r})
}

func (a *authServer) RoleGrantPermission(ctx context.Context, r *pb.AuthRoleGrantPermissionRequest) (*pb.AuthRoleGrantPermissionResponse, error) {
	return authCall[*pb.AuthRoleGrantPermissionResponse](ctx, a.s, &pb.InternalRaftRequest{AuthRoleGrantPermission: r})
}

func (a *authServer) RoleRevokePermission(ctx context.Context, r *pb.AuthRoleRevokePermissionRequest) (*pb.AuthRoleRevokePermissionResponse, error) {
	return authCall[*pb.AuthRoleRevokePermissionResponse](ctx, a.s, &pb.InternalRaftRequest{AuthRoleRevokePermission: r})
}

// The auth errors as etcd sends them.
var authErrors = []struct {
	err  error
	wire error
}{
	{auth.ErrRootUserNotExist, rpctypes.ErrGRPCRootUserNotExist},
	{auth.ErrRootRoleNotExist, rpctypes.ErrGRPCRootRoleNotExist},
	{auth.ErrUserAlreadyExist, rpctypes.ErrGRPCUserAlreadyExist},
	{auth.ErrUserEmpty, rpctypes.ErrGRPCUserEmpty},
	{auth.ErrUserNotFound, rpctypes.ErrGRPCUserNotFound},
	{auth.ErrRoleAlreadyExist, rpctypes.ErrGRPCRoleAlreadyExist},
	{auth.ErrRoleNotFound, rpctypes.ErrGRPCRoleNotFound},
	{auth.ErrRoleEmpty, rpctypes.ErrGRPCRoleEmpty},
	{auth.ErrAuthFailed, rpctypes.ErrGRPCAuthFailed},
	{auth.ErrPermissionNotGiven, rpctypes.ErrGRPCPermissionNotGiven},
	{auth.ErrPermissionDenied, rpctypes.ErrGRPCPermissionDenied},
	{auth.ErrRoleNotGranted, rpctypes.ErrGRPCRoleNotGranted},
	{auth.ErrPermissionNotGranted, rpctypes.ErrGRPCPermissionNotGranted},
	{auth.ErrAuthNotEnabled, rpctypes.ErrGRPCAuthNotEnabled},
	{auth.ErrInvalidAuthToken, rpctypes.ErrGRPCInvalidAuthToken},
	{auth.ErrInvalidAuthMgmt, rpctypes.ErrGRPCInvalidAuthMgmt},
	{auth.ErrAuthOldRevision, rpctypes.ErrGRPCAuthOldRevision},
}
