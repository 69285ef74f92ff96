package v2api

import (
	"net/http"
	"strings"

	"github.com/larchkv/larch/tree"
)

// The checks etcd v2's handlers make before they serve a request
// (v2http's client_auth.go, spec/v2.md §5.4). Nothing is checked while auth
// is off. Once it is on, a request names its user with HTTP basic
// credentials, or, with no Authorization header, with the common name of a
// verified client certificate; a request with neither is a guest's.
// Credentials that are present but wrong never fall back to the guest.

// requestUser tells who r comes from: its user and the auth revision the
// user was looked up at, guest true for a request without credentials or a
// certificate that names a user. ok is false for credentials that do not
// check out.
func (h *Handler) requestUser(r *http.Request) (user string, rev uint64, guest, ok bool) {
	st := h.member.Auth()
	if r.Header.Get("Authorization") == "" {
		// The revision is read before the state it stands for, so that a
		// change in between makes a proposal at rev fail, never pass.
		rev = st.Revision()
		if r.TLS != nil && h.certAuth {
			// etcd v2 tried every certificate of every verified chain, CAs
			// included, which makes a user named after a CA anyone that CA
			// signed for: only a chain's leaf names the user here.
			for _, chain := range r.TLS.VerifiedChains {
				if len(chain) == 0 {
					continue
				}
				if cn := chain[0].Subject.CommonName; cn != "" {
					if _, exists := st.User(cn); exists {
						return cn, rev, false, true
					}
				}
			}
		}
		return "", rev, true, true
	}
	name, password, ok := r.BasicAuth()
	if !ok {
		return "", 0, false, false
	}
	rev, err := h.member.Passwords().Authenticate(st, name, password)
	if err != nil {
		return "", 0, false, false
	}
	return name, rev, false, true
}

// keyAccess tells whether r may read (GET, HEAD) or write (any other
// method) the v2 key at path, the raw URL path after /v2/keys, as etcd's
// hasKeyPrefixAccess does. It returns the user to propose a write as and
// the auth revision the check was made at: 0 while auth is off.
func (h *Handler) keyAccess(r *http.Request, path string, recursive bool) (user string, rev uint64, ok bool) {
	st := h.member.Auth()
	if !st.Enabled() {
		return "", 0, true
	}
	user, rev, guest, ok := h.requestUser(r)
	if !ok {
		return "", 0, false
	}
	// The check matches the raw path (etcd's rule), the store acts on the
	// cleaned one: a path with "." or ".." segments would match one and
	// reach another (/pub/%2e%2e/secret), so it is refused outright.
	if hasDotSegment(path) {
		return "", 0, false
	}
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	if guest {
		user = "" // CheckV2's guest
	}
	if !st.CheckV2(user, path, recursive, write) {
		return "", 0, false
	}
	return user, rev, true
}

// rootAccess tells whether r may do what only root may (etcd's
// hasRootAccess): anyone while auth is off, otherwise a user holding the
// root role; user is who asks ("" while auth is off), for the proposals
// that check it again when they apply.
func (h *Handler) rootAccess(r *http.Request) (user string, ok bool) {
	st := h.member.Auth()
	if !st.Enabled() {
		return "", true
	}
	user, _, guest, ok := h.requestUser(r)
	if !ok || guest || st.CheckAdmin(user) != nil {
		return "", false
	}
	return user, true
}

// writeRootAccess is etcd's hasWriteRootAccess: GET and HEAD are open.
func (h *Handler) writeRootAccess(r *http.Request) (user string, ok bool) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return "", true
	}
	return h.rootAccess(r)
}

// writeNoAuth is etcd's answer to a request that needs root.
func writeNoAuth(w http.ResponseWriter) {
	writeMessage(w, http.StatusUnauthorized, "Insufficient credentials")
}

// writeKeyNoAuth is etcd's answer to a keys request the caller may not
// make: a keys error with index 0.
func writeKeyNoAuth(w http.ResponseWriter) {
	writeKeyError(w, tree.NewError(tree.EcodeUnauthorized, "Insufficient credentials", 0))
}

// hasDotSegment tells whether a slash-separated path has a "." or ".."
// segment.
func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
