package v3api

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// chunkedConn returns its data in the given read sizes, as a network would.
type chunkedConn struct {
	net.Conn
	data   []byte
	chunks []int
}

func (c *chunkedConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.chunks) > 0 {
		n, c.chunks = max(1, min(n, c.chunks[0])), c.chunks[1:]
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func h2Frame(kind, flags byte, payload []byte) []byte {
	n := len(payload)
	return append([]byte{byte(n >> 16), byte(n >> 8), byte(n), kind, flags, 0, 0, 0, 1}, payload...)
}

// FuzzH2Conn: from a stream of frames read in arbitrary pieces, h2Conn
// removes exactly the acknowledgements of the SETTINGS cmux wrote (one per
// client SETTINGS before the first HEADERS, cmux's matcher answering each
// until it has read a HEADERS frame), the earliest (empty) ones, and
// passes every other byte unchanged.
func FuzzH2Conn(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, []byte{5, 1, 30})
	f.Add([]byte{0, 2, 1, 1, 2, 3, 0}, []byte{9, 9, 9})
	f.Add([]byte{0, 0, 1, 1, 1, 3}, []byte{1})
	f.Add([]byte{0, 4, 1, 2, 4, 1}, []byte{7, 200})
	f.Add([]byte{0, 254, 251, 2, 1, 3}, []byte{255, 3})
	f.Fuzz(func(t *testing.T, script, chunks []byte) {
		in := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
		want := bytes.Clone(in)
		headers, skip := false, 0
		for i, op := range script {
			// Lengths that use all three bytes of the frame header's length.
			n := int(op>>3) * 277
			if i%3 == 2 {
				n += 1 << 16
			}
			payload := bytes.Repeat([]byte{byte(i)}, n)
			var frame []byte
			switch op % 5 {
			case 0: // the client's SETTINGS
				frame = h2Frame(h2FrameSettings, 0, payload)
				if !headers {
					skip++
				}
			case 1: // an acknowledgement
				frame = h2Frame(h2FrameSettings, h2FlagAck, nil)
				if skip > 0 {
					skip--
					in = append(in, frame...)
					continue
				}
			case 2:
				frame = h2Frame(h2FrameHeaders, 0x4, payload)
				headers = true
			case 3: // DATA, with bytes that look like frame headers
				frame = h2Frame(0x0, 0, append(h2Frame(h2FrameSettings, h2FlagAck, nil), payload...))
			case 4: // a malformed, non-empty acknowledgement: the server's to refuse
				frame = h2Frame(h2FrameSettings, h2FlagAck, append([]byte{1}, payload...))
			}
			in = append(in, frame...)
			want = append(want, frame...)
		}
		sizes := make([]int, len(chunks))
		for i, c := range chunks {
			sizes[i] = int(c)
		}
		got, err := io.ReadAll(newH2Conn(&chunkedConn{data: in, chunks: sizes}))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("script %v chunks %v:\n got %x\nwant %x", script, chunks, got, want)
		}
	})
}
