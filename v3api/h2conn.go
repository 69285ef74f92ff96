package v3api

import (
	"net"
)

// An HTTP/2 connection that is not gRPC (curl or a browser reaching
// /version, /health, /v2/keys or the JSON gateway over TLS, where ALPN
// picks h2) reaches the HTTP server only after cmux's gRPC matcher read
// its first request. To make gRPC clients send that request, the matcher
// answered each client SETTINGS frame with a SETTINGS frame of its own;
// the client acknowledges those, and Go's HTTP/2 server, which never sent
// them, treats the surplus acknowledgements as a protocol error and drops
// the connection. h2Conn removes them from what the server reads.

const (
	// h2PrefaceLen is the length of the client connection preface
	// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113, section 3.4).
	h2PrefaceLen = 24
	// h2FrameHeaderLen: length (3 bytes), type, flags, stream (4 bytes).
	h2FrameHeaderLen = 9
	h2FrameHeaders   = 0x1
	h2FrameSettings  = 0x4
	h2FlagAck        = 0x1
)

// h2Conn is an HTTP/2 client connection, replayed from its first byte by
// cmux, whose reads skip the acknowledgements of the SETTINGS frames cmux
// wrote: one per non-ACK SETTINGS frame the client sent before its first
// HEADERS frame, as cmux's matcher stops at that frame. Once those are
// skipped it reads straight through.
type h2Conn struct {
	net.Conn
	in, out  []byte // read and not yet examined; examined and not yet returned
	buf      []byte
	err      error // the connection's read error, returned once out is drained
	preface  int   // preface bytes still to pass
	payload  int   // payload bytes of the current frame still to pass
	written  int   // SETTINGS frames cmux wrote to the client
	skipped  int   // acknowledgements skipped so far
	headers  bool
	straight bool
}

func newH2Conn(c net.Conn) *h2Conn {
	return &h2Conn{Conn: c, preface: h2PrefaceLen, buf: make([]byte, 4096)}
}

func (c *h2Conn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if c.straight && len(c.in) == 0 {
			c.in, c.out = nil, nil
			return c.Conn.Read(p)
		}
		c.examine()
		if len(c.out) > 0 {
			break
		}
		n, err := c.Conn.Read(c.buf)
		c.in = append(c.in, c.buf[:n]...)
		if err != nil {
			// What came with the error is still passed on; a partial frame
			// header left in c.in is lost with the connection.
			c.err = err
			c.examine()
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// examine moves the bytes of c.in that are complete enough to judge into
// c.out, leaving out the acknowledgements of cmux's SETTINGS.
func (c *h2Conn) examine() {
	pass := func(n int) {
		c.out = append(c.out, c.in[:n]...)
		c.in = c.in[n:]
	}
	for len(c.in) > 0 {
		switch {
		case c.straight:
			pass(len(c.in))
		case c.preface > 0:
			n := min(c.preface, len(c.in))
			c.preface -= n
			pass(n)
		case c.payload > 0:
			n := min(c.payload, len(c.in))
			c.payload -= n
			pass(n)
		case len(c.in) < h2FrameHeaderLen:
			return
		default:
			length := int(c.in[0])<<16 | int(c.in[1])<<8 | int(c.in[2])
			kind, flags := c.in[3], c.in[4]
			switch {
			case kind == h2FrameSettings && flags&h2FlagAck != 0 && length == 0 && c.skipped < c.written:
				// A non-empty ACK is a protocol error the server reports;
				// it passes through like any other frame.
				c.in = c.in[h2FrameHeaderLen:]
				c.skipped++
			case kind == h2FrameSettings && flags&h2FlagAck == 0 && !c.headers:
				c.written++
				c.payload = length
				pass(h2FrameHeaderLen)
			default:
				c.headers = c.headers || kind == h2FrameHeaders
				c.payload = length
				pass(h2FrameHeaderLen)
			}
		}
		if c.headers && c.skipped == c.written && c.payload == 0 {
			c.straight = true
			c.buf = nil
		}
	}
}

// h2Listener hands out its HTTP/2 connections as h2Conns.
type h2Listener struct{ net.Listener }

func (l h2Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newH2Conn(c), nil
}
