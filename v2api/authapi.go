package v2api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"reflect"
	"slices"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/larchkv/larch/auth"
	"github.com/larchkv/larch/cluster"
)

// /v2/auth: users, roles and the auth switch as etcd v2 showed them
// (v2http's client_auth.go and v2auth, spec/v2.md §5.1–5.3), over the one
// auth.Store both APIs share. A role shows only its v2 path patterns here;
// the built-in root role always exists in this view, and a user named root
// always holds it.
//
// A change is worked out from the state read at an auth revision and
// proposed with that revision (cluster.ProposeAuthV2): if auth changed in
// between, the proposal fails with auth.ErrAuthOldRevision and the handler
// reads the state again. Deleting a user or a role and turning auth off are
// the v3 requests, which the apply loop checks for root again.

const authPrefix = "/v2/auth"

// v2User is etcd's v2auth.User: a PUT body, and (without the password) an
// answer.
type v2User struct {
	User     string   `json:"user"`
	Password string   `json:"password,omitempty"`
	Roles    []string `json:"roles"`
	Grant    []string `json:"grant,omitempty"`
	Revoke   []string `json:"revoke,omitempty"`
}

// v2Role is etcd's v2auth.Role.
type v2Role struct {
	Role        string         `json:"role"`
	Permissions v2Permissions  `json:"permissions"`
	Grant       *v2Permissions `json:"grant,omitempty"`
	Revoke      *v2Permissions `json:"revoke,omitempty"`
}

type v2Permissions struct {
	KV v2RW `json:"kv"`
}

func (p *v2Permissions) isEmpty() bool {
	return p == nil || (len(p.KV.Read) == 0 && len(p.KV.Write) == 0)
}

// v2RW are path patterns; nil and empty lists show differently (null, []).
type v2RW struct {
	Read  []string `json:"read"`
	Write []string `json:"write"`
}

// userWithRoles is how etcd answers a user GET: the roles in full.
type userWithRoles struct {
	User  string   `json:"user"`
	Roles []v2Role `json:"roles,omitempty"`
}

// authError is an answer etcd's v2auth gives: a status and a message.
type authError struct {
	status int
	msg    string
}

// errInternal is etcd's answer to an error it does not expect.
var errInternal = &authError{http.StatusInternalServerError, "Internal Server Error"}

func authErrorf(status int, format string, args ...any) *authError {
	return &authError{status, fmt.Sprintf(format, args...)}
}

// v2Role returns the role as v2 shows it: root is always there, with every
// path.
func v2RoleOf(st *auth.Store, name string) (v2Role, bool) {
	if name == auth.RootRole {
		all := []string{"/*"}
		return v2Role{Role: name, Permissions: v2Permissions{KV: v2RW{Read: all, Write: slices.Clone(all)}}}, true
	}
	r, ok := st.Role(name)
	if !ok {
		return v2Role{}, false
	}
	return v2Role{Role: r.Name, Permissions: v2Permissions{KV: v2RW{Read: r.V2Read, Write: r.V2Write}}}, true
}

// v2UserOf returns the user as v2 reads it: root with the root role last
// if it lacks it (etcd's attachRootRole).
func v2UserOf(st *auth.Store, name string) (auth.User, bool) {
	u, ok := st.User(name)
	if ok {
		u.Roles = attachRootRole(u.Name, u.Roles)
	}
	return u, ok
}

func attachRootRole(user string, roles []string) []string {
	if user == auth.RootUser && !slices.Contains(roles, auth.RootRole) {
		return append(roles, auth.RootRole)
	}
	return roles
}

// serveAuth routes /v2/auth/enable, /v2/auth/users[/<u>] and
// /v2/auth/roles[/<r>] as etcd's handleAuth does.
func (h *Handler) serveAuth(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == authPrefix+"/enable" {
		h.serveAuthEnable(w, r)
		return
	}
	// /users and /roles with a subpath: cleaned and split, "/users/" is
	// the collection, anything deeper than one name a bad path.
	pieces := strings.Split(path.Clean(p[len(authPrefix):]), "/")
	users := pieces[1] == "users"
	switch len(pieces) {
	case 2:
		if _, ok := h.admit(w, r, h.rootAccess, http.MethodGet); !ok {
			return
		}
		if users {
			h.serveUsers(w, r)
		} else {
			h.serveRoles(w, r)
		}
	case 3:
		caller, ok := h.admit(w, r, h.rootAccess, http.MethodGet, http.MethodPut, http.MethodDelete)
		if !ok {
			return
		}
		if users {
			h.serveUser(w, r, caller, pieces[2])
		} else {
			h.serveRole(w, r, caller, pieces[2])
		}
	default:
		writeMessage(w, http.StatusBadRequest, "Invalid path")
	}
}

// admit does what etcd's auth handlers do before they serve a request: 405
// for a method not in methods, 401 unless access lets the caller in, then
// the headers of the answer. It returns who asks (see rootAccess).
func (h *Handler) admit(w http.ResponseWriter, r *http.Request, access func(*http.Request) (string, bool), methods ...string) (caller string, ok bool) {
	if !allowMethod(w, r, methods...) {
		return "", false
	}
	if caller, ok = access(r); !ok {
		writeNoAuth(w)
		return "", false
	}
	w.Header().Set("X-Etcd-Cluster-ID", h.member.ClusterID().String())
	w.Header().Set("Content-Type", "application/json")
	return caller, true
}

func (h *Handler) serveAuthEnable(w http.ResponseWriter, r *http.Request) {
	caller, ok := h.admit(w, r, h.writeRootAccess, http.MethodGet, http.MethodPut, http.MethodDelete)
	if !ok {
		return
	}
	st := h.member.Auth()
	switch r.Method {
	case http.MethodGet:
		json.NewEncoder(w).Encode(struct {
			Enabled bool `json:"enabled"`
		}{st.Enabled()})
	case http.MethodPut:
		h.changeAuth(w, r, caller, func() (*cluster.AuthV2Request, *authError) {
			if st.Enabled() {
				return nil, authErrorf(http.StatusConflict, "auth: already enabled")
			}
			root, ok := st.User(auth.RootUser)
			if !ok {
				return nil, authErrorf(http.StatusConflict, "auth: No root user available, please create one")
			}
			if !root.HasRole(auth.RootRole) {
				// In v2's view root always holds the root role; the
				// shared store needs it to turn auth on. Give it first,
				// then come round again to enable.
				root.Roles = append(root.Roles, auth.RootRole)
				return &cluster.AuthV2Request{PutUser: &root}, nil
			}
			return &cluster.AuthV2Request{Enable: true}, nil
		}, func(req *cluster.AuthV2Request) bool { return req.PutUser != nil })
	case http.MethodDelete:
		if !st.Enabled() {
			writeMessage(w, http.StatusConflict, "auth: already disabled")
			return
		}
		h.proposeAuthV3(w, r, caller, &pb.InternalRaftRequest{AuthDisable: &pb.AuthDisableRequest{}}, nil)
	}
}

// changeAuth works out a change with plan from the state at the current
// auth revision and proposes it, again from a fresh read while auth
// changes in between. again tells which successful changes are only a
// first step, after which plan runs once more. It reports whether the
// change applied; if not, it has answered (plan's error, or the cluster's).
func (h *Handler) changeAuth(w http.ResponseWriter, r *http.Request, caller string,
	plan func() (*cluster.AuthV2Request, *authError), again func(*cluster.AuthV2Request) bool) bool {
	ctx, cancel := context.WithTimeout(r.Context(), h.member.RequestTimeout())
	defer cancel()
	for {
		// The revision is read before the state plan reads.
		rev := h.member.Auth().Revision()
		req, aerr := plan()
		if aerr != nil {
			writeMessage(w, aerr.status, aerr.msg)
			return false
		}
		req.Caller, req.AuthRevision = caller, rev
		err := h.member.ProposeAuthV2(ctx, *req)
		switch {
		case errors.Is(err, auth.ErrAuthOldRevision):
			continue
		case err != nil:
			h.writeAuthChangeError(w, r, caller, err)
			return false
		case again != nil && again(req):
			continue
		}
		return true
	}
}

// proposeAuthV3 proposes a v3 auth request (a user or role deletion, auth
// off) as caller, which the apply loop checks for root while auth is on,
// and answers 200 with no body, or the answer known for its error. The
// refusal of a caller that lost root in between wins over the known ones.
func (h *Handler) proposeAuthV3(w http.ResponseWriter, r *http.Request, caller string, req *pb.InternalRaftRequest, known map[error]*authError) {
	ctx, cancel := context.WithTimeout(r.Context(), h.member.RequestTimeout())
	defer cancel()
	req.Header = &pb.RequestHeader{Username: caller, AuthRevision: h.member.Auth().Revision()}
	res, err := h.member.Propose(ctx, req)
	if err == nil {
		err = res.Err
	}
	if err == nil {
		return
	}
	if h.member.Auth().CheckAdmin(caller) == nil {
		for e, aerr := range known {
			if errors.Is(err, e) {
				writeMessage(w, aerr.status, aerr.msg)
				return
			}
		}
	}
	h.writeAuthChangeError(w, r, caller, err)
}

// writeAuthChangeError answers a change the cluster refused: for want of
// root when the caller no longer holds it (auth turned on or root taken
// away since the handler's check), otherwise as etcd answers an error it
// does not expect.
func (h *Handler) writeAuthChangeError(w http.ResponseWriter, r *http.Request, caller string, err error) {
	if h.member.Auth().CheckAdmin(caller) != nil {
		writeNoAuth(w)
		return
	}
	h.logger.Warn("v2 auth change failed", "method", r.Method, "path", r.URL.Path, "remote-addr", r.RemoteAddr, "error", err)
	writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
}

// serveUsers answers the users, sorted, each with its roles in full (the
// roles that no longer exist left out).
func (h *Handler) serveUsers(w http.ResponseWriter, r *http.Request) {
	st := h.member.Auth()
	names := st.Users()
	if err := r.ParseForm(); err != nil {
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	var out struct {
		Users []userWithRoles `json:"users"`
	}
	for _, name := range names {
		u, ok := v2UserOf(st, name)
		if !ok {
			continue
		}
		uwr := userWithRoles{User: name}
		for _, role := range u.Roles {
			if rr, ok := v2RoleOf(st, role); ok {
				uwr.Roles = append(uwr.Roles, rr)
			}
		}
		out.Users = append(out.Users, uwr)
	}
	json.NewEncoder(w).Encode(out)
}

func (h *Handler) serveUser(w http.ResponseWriter, r *http.Request, caller, name string) {
	st := h.member.Auth()
	switch r.Method {
	case http.MethodGet:
		u, ok := v2UserOf(st, name)
		if !ok {
			writeMessage(w, http.StatusNotFound, fmt.Sprintf("auth: User %s does not exist.", name))
			return
		}
		if err := r.ParseForm(); err != nil {
			writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		uwr := userWithRoles{User: u.Name}
		for _, role := range u.Roles {
			rr, ok := v2RoleOf(st, role)
			if !ok {
				writeMessage(w, http.StatusNotFound, fmt.Sprintf("auth: Role %s does not exist.", role))
				return
			}
			uwr.Roles = append(uwr.Roles, rr)
		}
		json.NewEncoder(w).Encode(uwr)
	case http.MethodPut:
		var in v2User
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeMessage(w, http.StatusBadRequest, "Invalid JSON in request body.")
			return
		}
		if in.User != name {
			writeMessage(w, http.StatusBadRequest, "User JSON name does not match the name in the URL")
			return
		}
		h.putUser(w, r, caller, in)
	case http.MethodDelete:
		if st.Enabled() && name == auth.RootUser {
			writeMessage(w, http.StatusForbidden, "auth: Cannot delete root user while auth is enabled.")
			return
		}
		missing := authErrorf(http.StatusNotFound, "auth: User %s does not exist", name)
		if _, ok := st.User(name); !ok {
			writeMessage(w, missing.status, missing.msg)
			return
		}
		h.proposeAuthV3(w, r, caller, &pb.InternalRaftRequest{AuthUserDelete: &pb.AuthUserDeleteRequest{Name: name}},
			map[error]*authError{
				auth.ErrUserNotFound:    missing,
				auth.ErrInvalidAuthMgmt: authErrorf(http.StatusForbidden, "auth: Cannot delete root user while auth is enabled."),
			})
	}
}

// putUser makes, updates, grants or revokes as etcd's forUser PUT does
// (spec/v2.md §5.3), with etcd's order of checks.
func (h *Handler) putUser(w http.ResponseWriter, r *http.Request, caller string, in v2User) {
	st := h.member.Auth()
	// The bcrypt hash is worked out once, outside the retries.
	var hash []byte
	hashPassword := func() ([]byte, error) {
		if hash == nil {
			var err error
			if hash, err = h.member.Passwords().Hash(in.Password); err != nil {
				return nil, err
			}
		}
		return hash, nil
	}
	var (
		status int
		out    v2User
	)
	plan := func() (*cluster.AuthV2Request, *authError) {
		old, exists := v2UserOf(st, in.User)
		var next *auth.User
		var aerr *authError
		switch {
		case len(in.Grant) == 0 && len(in.Revoke) == 0 && (len(in.Roles) != 0 || !exists):
			// With roles: create only (200); without: create (201) or
			// update (below).
			status = http.StatusCreated
			if len(in.Roles) != 0 {
				status = http.StatusOK
			}
			next, out, aerr = createUser(in, exists, hashPassword)
		case len(in.Grant) == 0 && len(in.Revoke) == 0:
			status = http.StatusOK
			next, out, aerr = updateUser(old, in, hashPassword)
		case len(in.Roles) != 0:
			return nil, authErrorf(http.StatusBadRequest, "User JSON contains both roles and grant/revoke")
		case !exists:
			return nil, authErrorf(http.StatusNotFound, "auth: User %s does not exist.", in.User)
		default:
			status = http.StatusOK
			next, out, aerr = updateUser(old, in, hashPassword)
		}
		if aerr != nil {
			return nil, aerr
		}
		return &cluster.AuthV2Request{PutUser: next}, nil
	}
	if h.changeAuth(w, r, caller, plan, nil) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(out)
	}
}

// createUser is etcd's CreateUser: root gets the root role, a password is
// required, the user must be new. It returns the user to store and the
// answer: the user as sent, without the password.
func createUser(in v2User, exists bool, hashPassword func() ([]byte, error)) (*auth.User, v2User, *authError) {
	in.Roles = attachRootRole(in.User, in.Roles)
	if in.Password == "" {
		return nil, v2User{}, authErrorf(http.StatusBadRequest, "auth: Cannot create user %s with an empty password", in.User)
	}
	if exists {
		return nil, v2User{}, authErrorf(http.StatusConflict, "auth: User %s already exists.", in.User)
	}
	hash, err := hashPassword()
	if err != nil {
		return nil, v2User{}, errInternal
	}
	out := in
	out.Password = ""
	return &auth.User{Name: in.User, Password: hash, Roles: slices.Clone(in.Roles)}, out, nil
}

// updateUser is etcd's UpdateUser: the roles granted (each one new), then
// the roles revoked (each one held), sorted; a new password if one is
// given. A change that changes nothing is refused. The answer is the new
// user without its password.
func updateUser(old auth.User, in v2User, hashPassword func() ([]byte, error)) (*auth.User, v2User, *authError) {
	roles := slices.Clone(old.Roles)
	for _, g := range in.Grant {
		if slices.Contains(roles, g) {
			return nil, v2User{}, authErrorf(http.StatusConflict, "auth: Granting duplicate role %s for user %s", g, in.User)
		}
		roles = append(roles, g)
	}
	for _, rv := range in.Revoke {
		i := slices.Index(roles, rv)
		if i < 0 {
			return nil, v2User{}, authErrorf(http.StatusConflict, "auth: Revoking ungranted role %s for user %s", rv, in.User)
		}
		roles = slices.Delete(roles, i, i+1)
	}
	if roles == nil {
		roles = []string{} // etcd's set gives an empty list, never none
	}
	slices.Sort(roles)
	next := auth.User{Name: old.Name, Password: old.Password, NoPassword: old.NoPassword, Roles: roles}
	if in.Password != "" {
		hash, err := hashPassword()
		if err != nil {
			return nil, v2User{}, errInternal
		}
		next.Password, next.NoPassword = hash, false
	} else if reflect.DeepEqual(old.Roles, roles) {
		return nil, v2User{}, authErrorf(http.StatusBadRequest, "auth: User not updated. Use grant/revoke/password to update the user.")
	}
	return &next, v2User{User: old.Name, Roles: roles}, nil
}

// serveRoles answers every role, sorted, root included.
func (h *Handler) serveRoles(w http.ResponseWriter, r *http.Request) {
	st := h.member.Auth()
	names := st.Roles()
	if !slices.Contains(names, auth.RootRole) {
		names = append(names, auth.RootRole)
		slices.Sort(names)
	}
	if err := r.ParseForm(); err != nil {
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	var out struct {
		Roles []v2Role `json:"roles"`
	}
	for _, name := range names {
		if role, ok := v2RoleOf(st, name); ok {
			out.Roles = append(out.Roles, role)
		}
	}
	json.NewEncoder(w).Encode(out)
}

func (h *Handler) serveRole(w http.ResponseWriter, r *http.Request, caller, name string) {
	st := h.member.Auth()
	isRoot := authErrorf(http.StatusForbidden, "auth: Cannot modify role %s: is root role.", name)
	switch r.Method {
	case http.MethodGet:
		role, ok := v2RoleOf(st, name)
		if !ok {
			writeMessage(w, http.StatusNotFound, fmt.Sprintf("auth: Role %s does not exist.", name))
			return
		}
		json.NewEncoder(w).Encode(role)
	case http.MethodPut:
		var in v2Role
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeMessage(w, http.StatusBadRequest, "Invalid JSON in request body.")
			return
		}
		if in.Role != name {
			writeMessage(w, http.StatusBadRequest, "Role JSON name does not match the name in the URL")
			return
		}
		create := in.Grant.isEmpty() && in.Revoke.isEmpty()
		if !create && !in.Permissions.isEmpty() {
			writeMessage(w, http.StatusBadRequest, "Role JSON contains both permissions and grant/revoke")
			return
		}
		var out v2Role
		plan := func() (*cluster.AuthV2Request, *authError) {
			if name == auth.RootRole {
				return nil, isRoot
			}
			old, exists := v2RoleOf(st, name)
			if create {
				// Made as sent, and echoed as sent.
				if exists {
					return nil, authErrorf(http.StatusConflict, "auth: Role %s already exists.", name)
				}
				out = in
				return &cluster.AuthV2Request{PutRole: &cluster.AuthV2Role{Name: name, Read: in.Permissions.KV.Read, Write: in.Permissions.KV.Write}}, nil
			}
			if !exists {
				return nil, authErrorf(http.StatusNotFound, "auth: Role %s does not exist.", name)
			}
			next, aerr := mergeRole(old, in)
			if aerr != nil {
				return nil, aerr
			}
			out = next
			return &cluster.AuthV2Request{PutRole: &cluster.AuthV2Role{Name: name, Read: next.Permissions.KV.Read, Write: next.Permissions.KV.Write}}, nil
		}
		if h.changeAuth(w, r, caller, plan, nil) {
			if create {
				w.WriteHeader(http.StatusCreated)
			}
			json.NewEncoder(w).Encode(out)
		}
	case http.MethodDelete:
		if name == auth.RootRole {
			writeMessage(w, isRoot.status, isRoot.msg)
			return
		}
		missing := authErrorf(http.StatusNotFound, "auth: Role %s doesn't exist.", name)
		if _, ok := st.Role(name); !ok {
			writeMessage(w, missing.status, missing.msg)
			return
		}
		h.proposeAuthV3(w, r, caller, &pb.InternalRaftRequest{AuthRoleDelete: &pb.AuthRoleDeleteRequest{Role: name}},
			map[error]*authError{auth.ErrRoleNotFound: missing, auth.ErrInvalidAuthMgmt: isRoot})
	}
}

// mergeRole is etcd's Role.merge: the granted patterns added (each one
// new), then the revoked ones taken (absent ones ignored); a list that a
// grant or revoke touched comes out sorted, de-duplicated and never null.
// A change that changes nothing is refused.
func mergeRole(old, in v2Role) (v2Role, *authError) {
	perms := old.Permissions.KV
	if in.Grant != nil {
		var aerr *authError
		if perms.Read, aerr = grantPatterns(perms.Read, in.Grant.KV.Read, "read"); aerr != nil {
			return v2Role{}, aerr
		}
		if perms.Write, aerr = grantPatterns(perms.Write, in.Grant.KV.Write, "write"); aerr != nil {
			return v2Role{}, aerr
		}
	}
	if in.Revoke != nil {
		perms.Read = revokePatterns(perms.Read, in.Revoke.KV.Read)
		perms.Write = revokePatterns(perms.Write, in.Revoke.KV.Write)
	}
	next := v2Role{Role: old.Role, Permissions: v2Permissions{KV: perms}}
	if reflect.DeepEqual(old, next) {
		return v2Role{}, authErrorf(http.StatusBadRequest, "auth: Role not updated. Use grant/revoke to update the role.")
	}
	return next, nil
}

func grantPatterns(have, grant []string, kind string) ([]string, *authError) {
	set := patternSet(have)
	for _, p := range grant {
		if set[p] {
			return nil, authErrorf(http.StatusConflict, "auth: Granting duplicate %s permission %s", kind, p)
		}
		set[p] = true
	}
	return setValues(set), nil
}

func revokePatterns(have, revoke []string) []string {
	set := patternSet(have)
	for _, p := range revoke {
		delete(set, p)
	}
	return setValues(set)
}

func patternSet(patterns []string) map[string]bool {
	set := make(map[string]bool, len(patterns))
	for _, p := range patterns {
		set[p] = true
	}
	return set
}

// setValues returns the set sorted, an empty list rather than none.
func setValues(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
