// Package v3api serves etcd's v3 client API for one member: the gRPC
// services of go.etcd.io/etcd/api/v3/etcdserverpb, etcd's JSON gateway
// (grpc-gateway, fed in-process through a loopback gRPC connection so
// streams work the same as unary calls), and the plain HTTP endpoints
// /version, /health, /livez, /readyz and /metrics, all on the same client
// listener, told apart per connection by cmux: HTTP/2 whose first request
// is gRPC goes to the gRPC server; other HTTP/2 (curl over TLS, where ALPN
// picks h2) and HTTP/1 go to the HTTP server, the HTTP/2 ones through
// h2Conn, which hides the SETTINGS cmux's matcher sent from the HTTP/2
// server. TLS, if any, is ended by the listener before the split.
//
// Requests are validated here with the store's own validators, writes go
// through cluster.Server.Propose, and reads wait for a linearizable read
// index (unless serializable) and then read the local store. Errors are
// mapped to the exact status values of etcd's rpctypes so that etcd's
// clients recognise them. RPCs that Larch does not implement yet answer
// codes.Unimplemented.
//
// Watch streams (watch.go) have a receive loop that creates and cancels
// watchers in the member's hub (cluster/watch) and a send loop that writes
// what the hub queues for them; the two share one queue per stream, so a
// watcher's creation is announced before its events. Lease keep-alive
// streams (lease.go) renew through the member, which forwards to the
// leader when it is not the leader.
package v3api
