// Package v2api serves etcd's v2 HTTP API on the client port: /v2/keys,
// /v2/members, /v2/machines, /v2/stats/{self,leader,store} and /v2/auth/*,
// byte for byte as etcd 3.5 with --enable-v2 answers them (spec/v2.md). /version and
// /health are v3api's; the CORS headers and OPTIONS come from v3api's
// access handler, which wraps every handler of the client port.
//
// # Data flow
//
// A keys request is validated first (etcd's parseKeyRequest order: form,
// prevIndex, waitIndex, the booleans, wait on a non-GET, prevValue,
// noValueOnSuccess, ttl, prevExist, refresh), every failure answered with
// index 0 before anything else is touched. Then:
//
//   - PUT, POST and DELETE become one etcdserverpb.Request proposed with
//     cluster.ProposeV2; the TTL is turned into an absolute expiration here,
//     from this member's clock when the request arrives, as etcd does, so
//     the replicated entry carries the same time to every member.
//   - GET with quorum=true waits for cluster.LinearizableReadNotify, then
//     reads the local tree (etcd sends a QGET through Raft; the answer is
//     the same, without a log entry). quorum wins over wait.
//   - GET with wait=true registers a tree.Watcher; other GETs and HEAD read
//     the local tree.
//
// A membership change (POST, PUT or DELETE on /v2/members) is checked as
// etcd checks it (the ID, then the Content-Type and the body with its peer
// URLs) and handed to cluster.AddMember, UpdateMember or RemoveMember,
// which run the strict reconfiguration checks and replicate the change.
// Like etcd, the handler maps only a few of their errors (a taken peer URL
// 409, an unknown ID 404, a removed ID 410 on DELETE); anything else, a
// refused reconfiguration included, is a bare 500.
//
// # Auth
//
// One auth.Store holds the users and roles of both APIs (the cluster
// replicates it). Once auth is on, a request names its user with HTTP basic
// credentials (or, without an Authorization header, a verified client
// certificate's common name); a request with neither is the guest's. The
// checks are etcd v2's (auth.go): /v2/keys after the validation, on the raw
// path (auth.Store.CheckV2), answering 401 with errorCode 110 and index 0;
// changes of /v2/members and everything of /v2/auth but GET /v2/auth/enable
// need root, answering 401 {"message":"Insufficient credentials"}; stats,
// machines, /version and /health are open.
//
// A read is checked against the current auth state. A write is checked
// against the state at an auth revision and proposed with it
// (cluster.ProposeV2As): if auth changed before it applies, it fails with
// auth.ErrAuthOldRevision and is checked again, so a permission revoked in
// between is never used. (While auth is off a write is proposed without a
// revision.) /v2/auth (authapi.go) shows users and the v2 path patterns of
// roles in etcd v2's shapes; a change is worked out from the state read at
// a revision and proposed with it (cluster.ProposeAuthV2), again from a
// fresh read when auth moved on. Deleting a user or a role and turning auth
// off are the v3 requests, which the apply loop checks for root once more.
//
// # Indexes
//
// Every index the API shows (X-Etcd-Index, createdIndex, modifiedIndex,
// error indexes, in-order key names, the "[a != b]" and "[oldest/asked]"
// causes) is the tree's own, and prevIndex and waitIndex are taken as tree
// indexes. The member starts its tree at 3 (tree.NewAt), where etcd's
// internal writes put a fresh etcd, so the numbers a user sees are etcd's.
//
// # Goroutines
//
// None of its own. A watch runs on its request's goroutine: it waits on the
// watcher's channel, the request's context (client gone, server shut down)
// and the member's Stopping channel, and removes the watcher when it
// returns. The tree's hub only does non-blocking sends, so a slow watch
// never holds up the apply loop.
package v2api
