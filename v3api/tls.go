package v3api

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"

	"github.com/soheilhy/cmux"
	"google.golang.org/grpc/credentials"
)

// connTLS returns the TLS state of a client connection, looking through
// the wrappers the port's multiplexing puts around the *tls.Conn a TLS
// listener accepted; false for a plain connection.
func connTLS(c net.Conn) (tls.ConnectionState, bool) {
	for c != nil {
		switch cc := c.(type) {
		case *tls.Conn:
			return cc.ConnectionState(), true
		case *cmux.MuxConn:
			c = cc.Conn
		case *trackedConn:
			c = cc.Conn
		case *h2Conn:
			c = cc.Conn
		default:
			return tls.ConnectionState{}, false
		}
	}
	return tls.ConnectionState{}, false
}

// tlsPassthrough is the gRPC server's transport credentials: TLS, if any,
// is terminated by the listener before the port is split between gRPC
// and HTTP, so the handshake here only tells gRPC what that TLS was (the
// verified client certificate names a user, see callerOf).
type tlsPassthrough struct{}

type plainAuthInfo struct{ credentials.CommonAuthInfo }

func (plainAuthInfo) AuthType() string { return "insecure" }

func (tlsPassthrough) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if cs, ok := connTLS(c); ok {
		return c, credentials.TLSInfo{State: cs, CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
	}
	return c, plainAuthInfo{credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}}, nil
}

func (tlsPassthrough) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("v3api: server-side credentials")
}

func (tlsPassthrough) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "insecure"}
}

func (p tlsPassthrough) Clone() credentials.TransportCredentials { return p }

func (tlsPassthrough) OverrideServerName(string) error { return nil }

type connKey struct{}

// withConn remembers an HTTP request's connection, so that the handler
// can set the request's TLS state (net/http sets it only for a *tls.Conn
// it accepted itself).
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// tlsHandler gives a request the TLS state of its connection.
func tlsHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
				if cs, ok := connTLS(c); ok {
					r.TLS = &cs
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}
