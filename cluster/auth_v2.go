package cluster

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/larchkv/larch/auth"
)

// AuthV2Request is a change of the auth state made through the v2 API.
// The v2 API works out the new user or role from the state it read at
// auth revision AuthRevision; the change applies only if the state is
// still at that revision (auth.ErrAuthOldRevision otherwise: read again).
// Exactly one of PutUser, PutRole and Enable is set.
type AuthV2Request struct {
	ID uint64 `json:"id"`
	// Caller is the user who asks; while auth is on it must hold root.
	Caller       string `json:"caller,omitempty"`
	AuthRevision uint64 `json:"authRevision"`

	// PutUser makes or replaces a whole user (its password as a hash).
	PutUser *auth.User `json:"putUser,omitempty"`
	// PutRole makes a role or sets its v2 path patterns.
	PutRole *AuthV2Role `json:"putRole,omitempty"`
	// Enable turns auth on as etcd v2 did, making the guest role.
	Enable bool `json:"enable,omitempty"`
}

// AuthV2Role is a role's name and v2 path patterns.
type AuthV2Role struct {
	Name  string   `json:"name"`
	Read  []string `json:"read"`
	Write []string `json:"write"`
}

// ProposeAuthV2 replicates a v2 auth change.
func (s *Server) ProposeAuthV2(ctx context.Context, r AuthV2Request) error {
	r.ID = s.reqIDs.next()
	payload, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("cluster: marshal v2 auth request: %w", err)
	}
	if len(payload) > s.cfg.MaxRequestBytes {
		return ErrRequestTooLarge
	}
	res, err := s.proposeEntry(ctx, r.ID, Envelope{Kind: KindAuthV2, Payload: payload}.Marshal())
	if err != nil {
		return err
	}
	return res.Err
}

func decodeAuthV2(payload []byte) (*AuthV2Request, error) {
	r := &AuthV2Request{}
	if err := json.Unmarshal(payload, r); err != nil {
		return nil, fmt.Errorf("%w: bad v2 auth request: %v", ErrBadEnvelope, err)
	}
	return r, nil
}

func (s *Server) applyAuthV2(r *AuthV2Request) Result {
	st := s.authStore
	if st.Enabled() {
		if err := st.CheckAdmin(r.Caller); err != nil {
			return Result{Err: err}
		}
	}
	var err error
	switch {
	case r.PutUser != nil:
		old, existed := st.User(r.PutUser.Name)
		if err = st.PutUser(*r.PutUser, r.AuthRevision); err == nil && existed && string(old.Password) != string(r.PutUser.Password) {
			s.tokens.InvalidateUser(r.PutUser.Name)
		}
	case r.PutRole != nil:
		err = st.PutRoleV2(r.PutRole.Name, r.PutRole.Read, r.PutRole.Write, r.AuthRevision)
	case r.Enable:
		err = st.EnableV2(r.AuthRevision)
	default:
		err = fmt.Errorf("cluster: v2 auth request %d names no change", r.ID)
	}
	return Result{Err: err}
}
